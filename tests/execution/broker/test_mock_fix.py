"""MockBroker: the FIX Appendix D vocabulary, report by report (latency, chained ids, per-request
answers, rejects after pending, busts and corrections, restatements, guarantees, time in force,
end of day, status requests, PossResend and used ids)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import FillScriptError, parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
)

D = Decimal


def broker(**spec: object) -> MockBroker:
    return MockBroker(parse_broker_spec({"reference_prices": {"XYZ": "100"}, **spec}))


def order(cid: str = "X", qty: str = "10000", **fields: object) -> NewOrder:
    return NewOrder(client_order_id=cid, symbol="XYZ", side=Side.BUY, qty=D(qty), **fields)


def row(r: ExecutionReport) -> str:
    """exec type, status, qty/cum/leaves/last, then the ids when chained or referring."""
    text = (
        f"{r.exec_type.value} {r.status.value} "
        f"{r.order_qty}/{r.cum_qty}/{r.leaves_qty}/{r.last_qty}"
    )
    if r.orig_client_order_id is not None:
        text += f" ({r.client_order_id},{r.orig_client_order_id})"
    if r.exec_ref_id is not None:
        text += f" ref={r.exec_ref_id}"
    return text


def play(b: MockBroker, steps: range, at: dict[int, list] | None = None) -> list[tuple[int, str]]:
    """Poll each step; `at` maps a step to the commands sent in it before its poll."""
    out = []
    for step in steps:
        for command in (at or {}).get(step, []):
            if isinstance(command, NewOrder):
                b.submit(command, step)
            elif isinstance(command, CancelOrder):
                b.cancel(command, step)
            elif isinstance(command, ReplaceOrder):
                b.replace(command, step)
            elif isinstance(command, StatusRequest):
                b.request_status(command, step)
            elif command == "end_of_day":
                b.end_trading_day(step)
        out.extend((step, row(r)) for r in b.poll(step))
    return out


# ----------------------------------------------------------------------------- latency


def test_without_latency_nothing_is_in_flight() -> None:
    assert not broker()._in_flight
    assert broker(latency={"to_broker": 0})._in_flight is False
    assert broker(by_order={"X": {"latency": {"from_broker": 1}}})._in_flight


def test_to_broker_latency_delays_the_order_and_its_requests() -> None:
    b = broker(by_order={"X": ["ack", {"fill": {"qty": "2000"}}, "fill"]}, latency={"to_broker": 1})
    timeline = play(b, range(1, 5), {1: [order()], 3: [CancelOrder(client_order_id="X")]})
    # the order reaches the broker at step 2; the cancel sent at step 3 arrives at step 4, where
    # the broker answers it before that step's fill
    assert timeline == [
        (2, "new new 10000/0/10000/0"),
        (3, "trade partially_filled 10000/2000/8000/2000"),
        (4, "canceled canceled 10000/2000/0/0"),
    ]


def test_a_request_that_arrives_after_the_order_closed_is_answered_as_for_a_closed_order() -> None:
    b = broker(by_order={"X": {"actions": ["ack", "fill"], "latency": {"to_broker": 1}}})
    amend = ReplaceOrder(client_order_id="X", new_qty=D(5), new_client_order_id="Y")
    timeline = play(b, range(1, 5), {1: [order()], 3: [amend]})
    assert timeline == [  # FIX C.2.a: the amend crossed the fill
        (2, "new new 10000/0/10000/0"),
        (3, "trade filled 10000/10000/0/10000"),
        (4, "replace_rejected filled 10000/10000/0/0 (Y,X)"),
    ]


def test_from_broker_latency_lets_a_cancel_cross_the_ack() -> None:
    b = broker(by_order={"X": {"actions": ["ack"], "cancel_delay": 1,
                               "latency": {"from_broker": 1}}})  # fmt: skip
    cancel = CancelOrder(client_order_id="X", new_client_order_id="Y")
    timeline = play(b, range(1, 5), {1: [order()], 2: [cancel]})
    assert timeline == [  # FIX B.1.e
        (2, "new new 10000/0/10000/0"),
        (3, "pending_cancel pending_cancel 10000/0/10000/0 (Y,X)"),
        (4, "canceled canceled 10000/0/0/0 (Y,X)"),
    ]


# ----------------------------------------------------------------------------- chaining


def test_a_chained_replace_renames_the_order_and_later_requests_find_it_by_the_new_id() -> None:
    b = broker(by_order={"X": {"actions": ["ack"], "replace_delay": 1}})
    first = ReplaceOrder(client_order_id="X", new_qty=D(8000), new_client_order_id="Y")
    second = ReplaceOrder(client_order_id="Y", new_qty=D(6000), new_client_order_id="Z")
    timeline = play(b, range(1, 7), {1: [order()], 2: [first], 4: [second],
                                     6: [CancelOrder(client_order_id="Z")]})  # fmt: skip
    assert timeline == [
        (1, "new new 10000/0/10000/0"),
        (2, "pending_replace pending_replace 10000/0/10000/0 (Y,X)"),
        (3, "replaced new 8000/0/8000/0 (Y,X)"),
        (4, "pending_replace pending_replace 8000/0/8000/0 (Z,Y)"),
        (5, "replaced new 6000/0/6000/0 (Z,Y)"),
        (6, "canceled canceled 6000/0/0/0"),
    ]
    assert [v.client_order_id for v in b.snapshot(6).open_orders] == []
    assert b._closed["X"].order.client_order_id == "Z"


def test_an_unchained_request_keeps_todays_reports() -> None:
    b = broker(by_order={"X": {"actions": ["ack"], "cancel_delay": 1}})
    b.submit(order(), 1)
    b.poll(1)
    b.cancel(CancelOrder(client_order_id="X"), 2)
    pending = b.poll(2)[0]
    assert (pending.client_order_id, pending.orig_client_order_id) == ("X", None)


def test_a_request_for_an_unknown_order_is_rejected_with_its_own_ids() -> None:
    b = broker()
    b.cancel(CancelOrder(client_order_id="X", new_client_order_id="Y"), 1)
    b.request_status(StatusRequest(client_order_id="Q"), 1)
    cancel_reject, status = b.poll(1)
    assert row(cancel_reject) == "cancel_rejected rejected 0/0/0/0 (Y,X)"  # FIX B.1.f
    assert cancel_reject.reason == "unknown order"
    assert row(status) == "order_status rejected 0/0/0/0"  # FIX G.1.a
    assert status.reason == "unknown order"


# ----------------------------------------------------------------------------- answers


def test_answers_per_request_and_a_reject_after_pending() -> None:
    answers = ["reject", "reject_after_pending", "accept"]
    b = broker(by_order={"X": {"actions": ["ack"], "replace_delay": 1, "on_replace": answers}})

    def amend(n: int, qty: str) -> ReplaceOrder:
        return ReplaceOrder(client_order_id="X", new_qty=D(qty), new_client_order_id=f"R{n}")

    timeline = play(b, range(1, 6), {1: [order()], 2: [amend(1, "9000")], 3: [amend(2, "8000")],
                                     5: [amend(3, "7000")]})  # fmt: skip
    assert [line for _, line in timeline] == [
        "new new 10000/0/10000/0",
        "replace_rejected new 10000/0/10000/0 (R1,X)",
        "pending_replace pending_replace 10000/0/10000/0 (R2,X)",
        "replace_rejected new 10000/0/10000/0 (R2,X)",
        "pending_replace pending_replace 10000/0/10000/0 (R3,X)",
    ]
    assert [line for _, line in play(b, range(6, 7))] == ["replaced new 7000/0/7000/0 (R3,X)"]


def test_a_cancel_rejected_after_pending_leaves_the_order_working() -> None:
    script = {"actions": ["ack", {"wait": 2}, "fill"], "cancel_delay": 1}
    b = broker(by_order={"X": {**script, "on_cancel": "reject_after_pending"}})
    timeline = play(b, range(1, 5), {1: [order()], 2: [CancelOrder(client_order_id="X")]})
    assert [line for _, line in timeline] == [
        "new new 10000/0/10000/0",
        "pending_cancel pending_cancel 10000/0/10000/0",
        "cancel_rejected new 10000/0/10000/0",
        "trade filled 10000/10000/0/10000",
    ]


# ----------------------------------------------------------------------------- busts


def test_bust_and_correct_recompute_cum_avg_px_and_the_position() -> None:
    actions = [
        "ack",
        {"fill": {"qty": "1000", "price": "100", "label": "C"}},
        {"fill": {"qty": "9000", "price": "110", "label": "D"}},
        {"bust": "C"},
        {"correct": {"ref": "D", "price": "100", "label": "F"}},
        {"fill": {"qty": "1000", "price": "120"}},
        {"correct": {"ref": "F", "price": "120"}},
    ]
    b = broker(by_order={"X": actions})
    b.submit(order(), 1)
    seen = [r for step in range(1, 8) for r in b.poll(step)]
    assert [(row(r), r.avg_px) for r in seen[1:]] == [  # FIX J.1.a rows 3-8
        ("trade partially_filled 10000/1000/9000/1000", D(100)),
        ("trade filled 10000/10000/0/9000", D(109)),
        ("trade_cancel partially_filled 10000/9000/1000/0 ref=X:C", D(110)),
        ("trade_correct partially_filled 10000/9000/1000/9000 ref=X:D", D(100)),
        ("trade filled 10000/10000/0/1000", D(102)),
        ("trade_correct filled 10000/10000/0/9000 ref=X:F", D(120)),
    ]
    assert seen[3].last_px == 0
    assert [r.exec_id for r in seen[1:3]] == ["X:C", "X:D"]
    assert b.snapshot(7).positions == {"XYZ": D(10000)}


def test_a_bust_reopens_a_filled_order_but_not_a_canceled_one() -> None:
    b = broker(by_order={
        "X": ["ack", {"fill": {"qty": "10000", "label": "A"}}, {"bust": "A"}],
        "W": {"actions": ["ack", {"fill": {"qty": "5000", "label": "B"}}, {"wait": 2},
                          {"bust": "B"}, {"late_fill": {"qty": "4000", "price": "51"}}],
              "cancel_delay": 1},
    })  # fmt: skip
    cancel = CancelOrder(client_order_id="W")
    timeline = play(b, range(1, 4), {1: [order(), order("W")], 3: [cancel]})
    assert [v.client_order_id for v in b.snapshot(3).open_orders] == ["X", "W"]  # X reopened
    timeline += play(b, range(4, 7))
    assert "trade_cancel canceled 10000/0/0/0 ref=W:B" in [line for _, line in timeline]
    assert (6, "trade canceled 10000/4000/0/4000") in timeline  # FIX J.1.b: a late fill
    assert b.snapshot(6).positions == {"XYZ": D(4000)}


# ----------------------------------------------------------------------------- restatement


def test_restatements_change_the_qty_and_one_at_cum_fills_the_order() -> None:
    b = broker(by_order={
        "X": ["ack", {"restate": {"qty": "9000", "reason": "partial decline"}}, "fill"],
        "W": ["ack", {"fill": {"qty": "3000"}}, {"restate": {"qty": "2000"}}],
    })  # fmt: skip
    timeline = play(b, range(1, 4), {1: [order(), order("W")]})
    lines = [line for _, line in timeline]
    assert "restated new 9000/0/9000/0" in lines  # FIX E.1.d
    assert "trade filled 9000/9000/0/9000" in lines
    assert "restated filled 3000/3000/0/0" in lines  # never below what has filled
    assert b.snapshot(3).open_orders == ()


def test_a_guarantee_stops_the_order_until_it_fills() -> None:
    b = broker(by_order={"X": ["ack", {"guarantee": {"qty": "1000", "price": "50.10"}},
                               {"fill": {"qty": "1000", "price": "50"}}, "fill"]})  # fmt: skip
    reports = [r for step in range(1, 5) for r in (b.submit(order(), 1) if step == 1 else None,
                                                    *b.poll(step)) if r is not None]  # fmt: skip
    assert [row(r) for r in reports] == [  # FIX L.1.a, then filled outranks stopped
        "new new 10000/0/10000/0",
        "stopped stopped 10000/0/10000/1000",
        "trade stopped 10000/1000/9000/1000",
        "trade filled 10000/10000/0/9000",
    ]
    assert reports[1].last_px == D("50.10")


# ----------------------------------------------------------------------------- time in force


@pytest.mark.parametrize(
    ("tif", "actions", "expected", "position"),
    [
        ("ioc", ["ack", {"fill": {"qty": "4000"}}, {"wait": 1}, "fill"],
         ["new new", "trade partially_filled", "canceled canceled"], "4000"),
        ("ioc", ["ack"], ["new new", "canceled canceled"], "0"),
        ("fok", ["ack", {"fill": {"qty": "4000"}}], ["new new", "canceled canceled"], "0"),
        ("fok", ["ack", {"fill": {"qty": "4000"}}, {"fill": {"qty": "6000"}}],
         ["new new", "trade partially_filled", "trade filled"], "10000"),
        ("fok", ["ack", "fill"], ["new new", "trade filled"], "10000"),
    ],
)  # fmt: skip
def test_ioc_and_fok_play_only_what_is_available_at_once(tif, actions, expected, position) -> None:
    b = broker(by_order={"X": actions})
    b.submit(order(time_in_force=TimeInForce(tif)), 1)
    reports = b.poll(1)
    assert [f"{r.exec_type.value} {r.status.value}" for r in reports] == expected
    assert b.poll(2) == []
    assert b.snapshot(2).open_orders == ()
    assert b.snapshot(2).positions.get("XYZ", D(0)) == D(position)


def test_the_end_of_the_day_closes_day_orders_and_restates_gtc_ones_the_next_day() -> None:
    b = broker(by_order={"X": ["ack", {"fill": {"qty": "2000"}}],
                         "G": ["ack", {"fill": {"qty": "2000"}}],
                         "F": ["ack", "fill"]})  # fmt: skip
    b.submit(order(), 1)
    b.submit(order("G", time_in_force=TimeInForce.GTC), 1)
    b.submit(order("F"), 1)
    b.poll(1)
    b.end_trading_day(2)
    day_end = [row(r) for r in b.poll(2)]
    assert day_end[-2:] == [
        "done_for_day done_for_day 10000/2000/0/0",  # FIX A.1.b: a day order is done
        "done_for_day done_for_day 10000/2000/8000/0",  # FIX H.1.c: a GTC order keeps its leaves
    ]
    assert [v.client_order_id for v in b.snapshot(2).open_orders] == ["G"]
    (restated,) = b.poll(3)
    assert row(restated) == "restated partially_filled 10000/2000/8000/0"
    assert (restated.day_order_qty, restated.day_cum_qty) == (D(8000), D(0))


# ----------------------------------------------------------------------------- status, resends


def test_status_requests_and_poss_resends_answer_order_status_and_change_nothing() -> None:
    b = broker(by_order={"X": ["ack", {"wait": 5}]})
    b.submit(order(), 1)
    b.poll(1)
    b.request_status(StatusRequest(client_order_id="X"), 2)
    b.submit(order(poss_resend=True), 2)  # FIX F.1.b: X already received
    b.submit(order("N", qty="15000", poss_resend=True), 2)  # unknown: a new order
    reports = [row(r) for r in b.poll(2)]
    assert reports == [
        "order_status new 10000/0/10000/0",
        "order_status new 10000/0/10000/0",
        "new new 15000/0/15000/0",
    ]
    assert len(b.snapshot(2).open_orders) == 2


def test_a_used_client_order_id_is_rejected_as_a_duplicate_unless_poss_resend() -> None:
    b = broker(used_client_order_ids=["X", "W"])
    b.submit(order(), 1)
    b.submit(order("W", poss_resend=True), 1)
    first, *rest = b.poll(1)
    assert (row(first), first.reason) == ("rejected rejected 10000/0/0/0", "duplicate ClOrdID")
    assert [row(r) for r in rest] == ["new new 10000/0/10000/0"]


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (["ack", {"bust": "C"}], "/by_order/X/1/bust/ref: names no execution labelled before it"),
        ([{"fill": {"label": "A"}}, {"fill": {"label": "A"}}],
         "/by_order/X/1/fill/label: label 'A' is already used in this script"),
        ([{"fill": {"label": "1a"}}], "/by_order/X/0/fill/label: a label is letters and digits"),
        ([{"restate": {"reason": "x"}}], "/by_order/X/0/restate: needs qty or limit_price"),
        ({"actions": ["ack"], "latency": {"to": 1}}, "/by_order/X/latency/to: unknown key"),
        ({"on_cancel": []}, "/by_order/X/on_cancel: must be one of accept"),
        ({"on_cancel": ["accept", "never"]}, "/by_order/X/on_cancel/1: must be one of accept"),
    ],
)  # fmt: skip
def test_script_errors_name_their_path(script: object, message: str) -> None:
    with pytest.raises(FillScriptError, match=f"^{message}"):
        parse_broker_spec({"by_order": {"X": script}})
