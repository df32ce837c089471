"""MockBroker cancel/replace (amend): FIX semantics, exact reports, races and rejects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    ZERO,
    ExecType,
    ExecutionReport,
    OrderStatus,
    ReplaceOrder,
    Side,
    report_violations,
)
from peak_trade.execution.broker.protocol import BrokerOrderView
from tests.execution.broker.test_mock import PRICES, cancel, mock, order

D = Decimal


def amend(cid: str = "o-1", qty: str | None = None, price: str | None = None) -> ReplaceOrder:
    return ReplaceOrder(
        client_order_id=cid,
        new_qty=None if qty is None else D(qty),
        new_limit_price=None if price is None else D(price),
    )


def line(r: ExecutionReport) -> str:
    """A report as a line: exec id, exec type, status, qty/cum/leaves, then what is set."""
    text = (
        f"{r.exec_id} {r.exec_type.value} {r.status.value}"
        f" qty={r.order_qty} cum={r.cum_qty} leaves={r.leaves_qty}"
    )
    if r.exec_type is ExecType.TRADE:
        text += f" last={r.last_qty}@{r.last_px}"
    if r.limit_price is not None:
        text += f" px={r.limit_price}"
    if r.reason is not None:
        text += f" ({r.reason})"
    if r.poss_resend:
        text += " resend"
    return text


def timeline(broker: MockBroker, first: int, last: int) -> list[tuple[int, str]]:
    """Poll steps first..last; every report as (step, line), each checked for the invariants a
    report must keep on its own (leaves against its own order_qty, no overfill, ...)."""
    lines = []
    for step in range(first, last + 1):
        for r in broker.poll(step):
            previous = r.cum_qty - r.last_qty if not r.poss_resend else r.cum_qty
            assert report_violations(r, previous) == [], line(r)
            lines.append((step, line(r)))
    return lines


def started(script: object, *, limit: str | None = None, steps: int = 2) -> MockBroker:
    """A mock with o-1 (buy 100 AAPL) submitted at step 1 and polled for `steps` steps."""
    broker = mock(by_order={"o-1": script})
    broker.submit(order(limit=limit), step=1)
    for step in range(1, steps + 1):
        broker.poll(step)
    return broker


PARTIAL_30 = ["ack", {"fill": {"qty": "30"}}]  # ack at 1, 30 filled at 2, then rests


# ----------------------------------------------------------------------------- accepted at once


def test_amend_down_reports_the_new_qty_and_leaves_against_it() -> None:
    broker = started([*PARTIAL_30, {"wait": 2}, "fill"])
    broker.replace(amend(qty="60"), step=3)
    assert timeline(broker, 3, 6) == [
        (3, "o-1:3 replaced partially_filled qty=60 cum=30 leaves=30"),
        (5, "o-1:4 trade filled qty=60 cum=60 leaves=0 last=30@100"),  # all the new leaves
    ]
    assert broker.snapshot(6).positions == {"AAPL": D(60)}


def test_amend_up_reopens_room_to_fill() -> None:
    broker = started([*PARTIAL_30, "fill"])
    broker.replace(amend(qty="150"), step=3)
    assert timeline(broker, 3, 4) == [
        (3, "o-1:3 replaced partially_filled qty=150 cum=30 leaves=120"),
        (3, "o-1:4 trade filled qty=150 cum=150 leaves=0 last=120@100"),
    ]


def test_amend_price_of_a_limit_order_moves_later_fills_and_is_reported() -> None:
    broker = started([*PARTIAL_30, "fill"], limit="99.5")
    broker.replace(amend(price="98.25"), step=3)
    reports = broker.poll(3)
    assert [line(r) for r in reports] == [
        "o-1:3 replaced partially_filled qty=100 cum=30 leaves=70 px=98.25",
        "o-1:4 trade filled qty=100 cum=100 leaves=0 last=70@98.25",
    ]
    assert reports[0].to_payload()["limit_price"] == "98.25"
    assert "limit_price" not in reports[1].to_payload()  # set on REPLACED reports only
    assert reports[1].avg_px == D("98.625")  # (30 * 99.5 + 70 * 98.25) / 100


def test_amend_qty_and_price_together() -> None:
    broker = started(PARTIAL_30, limit="99.5")
    broker.replace(amend(qty="50", price="99"), step=3)
    assert timeline(broker, 3, 3) == [
        (3, "o-1:3 replaced partially_filled qty=50 cum=30 leaves=20 px=99")
    ]
    (view,) = broker.snapshot(3).open_orders
    assert view == BrokerOrderView(
        client_order_id="o-1",
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(50),
        cum_qty=D(30),
        leaves_qty=D(20),
        status=OrderStatus.PARTIALLY_FILLED,
    )


@pytest.mark.parametrize("new_qty", ["30", "10"])
def test_amend_at_or_below_cum_leaves_the_order_filled_at_cum(new_qty: str) -> None:
    broker = started([*PARTIAL_30, {"wait": 5}, "fill"])
    broker.replace(amend(qty=new_qty), step=3)
    assert timeline(broker, 3, 12) == [(3, "o-1:3 replaced filled qty=30 cum=30 leaves=0")]
    assert broker.snapshot(12).open_orders == ()
    assert broker.snapshot(12).positions == {"AAPL": D(30)}  # the rest of the script is dropped
    broker.cancel(cancel(), step=13)
    assert timeline(broker, 13, 13) == [
        (13, "o-1:4 cancel_rejected filled qty=30 cum=30 leaves=0 (order already filled)")
    ]


def test_amend_before_the_ack_wins_over_the_first_action() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    broker.replace(amend(qty="40"), step=1)
    assert timeline(broker, 1, 3) == [
        (1, "o-1:1 replaced pending_new qty=40 cum=0 leaves=40"),
        (1, "o-1:2 new new qty=40 cum=0 leaves=40"),
        (2, "o-1:3 trade filled qty=40 cum=40 leaves=0 last=40@100"),
    ]


def test_a_sell_order_is_amended_the_same_way() -> None:
    broker = mock(by_order={"o-1": [*PARTIAL_30, "fill"]})
    broker.submit(order(side=Side.SELL), step=1)
    timeline(broker, 1, 2)
    broker.replace(amend(qty="45"), step=3)
    assert [line(r) for r in broker.poll(3)][-1] == (
        "o-1:4 trade filled qty=45 cum=45 leaves=0 last=15@100"
    )
    assert broker.snapshot(3).positions == {"AAPL": D(-45)}


# ----------------------------------------------------------------------------- pending replace


def test_pending_replace_then_replaced_after_the_delay() -> None:
    broker = started({"actions": PARTIAL_30, "replace_delay": 2})
    broker.replace(amend(qty="80"), step=3)
    assert timeline(broker, 3, 3) == [
        (3, "o-1:3 pending_replace pending_replace qty=100 cum=30 leaves=70")
    ]
    (view,) = broker.snapshot(4).open_orders
    assert (view.status, view.order_qty, view.leaves_qty) == (
        OrderStatus.PENDING_REPLACE,
        D(100),
        D(70),
    )
    assert timeline(broker, 4, 6) == [
        (5, "o-1:4 replaced partially_filled qty=80 cum=30 leaves=50")
    ]
    (view,) = broker.snapshot(6).open_orders
    assert (view.status, view.order_qty, view.leaves_qty) == (
        OrderStatus.PARTIALLY_FILLED,
        D(80),
        D(50),
    )


def test_fills_racing_a_pending_replace_count_against_the_old_qty() -> None:
    """The racing fill is reported with status PENDING_REPLACE (it outranks partially filled)
    and leaves against the old 100; the amend to 50 then finds 70 filled: filled at 70."""
    script = {"actions": [*PARTIAL_30, {"fill": {"qty": "20"}}, {"fill": {"qty": "20"}}]}
    broker = started({**script, "replace_delay": 2})
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 8) == [
        (3, "o-1:3 pending_replace pending_replace qty=100 cum=30 leaves=70"),
        (3, "o-1:4 trade pending_replace qty=100 cum=50 leaves=50 last=20@100"),
        (4, "o-1:5 trade pending_replace qty=100 cum=70 leaves=30 last=20@100"),
        (5, "o-1:6 replaced filled qty=70 cum=70 leaves=0"),
    ]
    assert broker.snapshot(8).positions == {"AAPL": D(70)}


def test_a_racing_fill_that_completes_the_old_qty_makes_the_replace_too_late() -> None:
    broker = started({"actions": [*PARTIAL_30, "fill"], "replace_delay": 3})
    broker.replace(amend(qty="200"), step=3)
    assert timeline(broker, 3, 8) == [
        (3, "o-1:3 pending_replace pending_replace qty=100 cum=30 leaves=70"),
        (3, "o-1:4 trade pending_replace qty=100 cum=100 leaves=0 last=70@100"),
        (3, "o-1:5 replace_rejected filled qty=100 cum=100 leaves=0 (too late: order filled)"),
    ]


def test_expire_while_a_replace_is_pending_rejects_the_replace() -> None:
    broker = started({"actions": [*PARTIAL_30, "expire"], "replace_delay": 2})
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 6)[1:] == [
        (3, "o-1:4 expired expired qty=100 cum=30 leaves=0"),
        (3, "o-1:5 replace_rejected expired qty=100 cum=30 leaves=0 (too late: order expired)"),
    ]


def test_a_second_replace_while_one_is_pending_is_rejected() -> None:
    broker = started({"actions": PARTIAL_30, "replace_delay": 2})
    broker.replace(amend(qty="80"), step=3)
    broker.replace(amend(qty="90"), step=3)
    assert timeline(broker, 3, 5) == [
        (3, "o-1:3 pending_replace pending_replace qty=100 cum=30 leaves=70"),
        (
            3,
            "o-1:4 replace_rejected pending_replace qty=100 cum=30 leaves=70"
            " (replace already pending)",
        ),
        (5, "o-1:5 replaced partially_filled qty=80 cum=30 leaves=50"),
    ]


def test_pending_cancel_outranks_pending_replace_and_completes_first() -> None:
    broker = started(
        {"actions": [*PARTIAL_30, {"fill": {"qty": "5"}}], "replace_delay": 2, "cancel_delay": 1}
    )
    broker.replace(amend(qty="50"), step=3)
    broker.cancel(cancel(), step=3)
    assert timeline(broker, 3, 6) == [
        (3, "o-1:3 pending_replace pending_replace qty=100 cum=30 leaves=70"),
        (3, "o-1:4 pending_cancel pending_cancel qty=100 cum=30 leaves=70"),
        (3, "o-1:5 trade pending_cancel qty=100 cum=35 leaves=65 last=5@100"),
        (4, "o-1:6 canceled canceled qty=100 cum=35 leaves=0"),
        (4, "o-1:7 replace_rejected canceled qty=100 cum=35 leaves=0 (too late: order canceled)"),
    ]


def test_an_immediate_cancel_makes_a_pending_replace_too_late() -> None:
    broker = started({"actions": PARTIAL_30, "replace_delay": 2})
    broker.replace(amend(qty="50"), step=3)
    broker.poll(3)
    broker.cancel(cancel(), step=4)
    assert timeline(broker, 4, 6) == [
        (4, "o-1:4 canceled canceled qty=100 cum=30 leaves=0"),
        (4, "o-1:5 replace_rejected canceled qty=100 cum=30 leaves=0 (too late: order canceled)"),
    ]


def test_replace_while_a_cancel_is_pending_is_rejected() -> None:
    broker = started({"actions": PARTIAL_30, "cancel_delay": 2})
    broker.cancel(cancel(), step=3)
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 5) == [
        (3, "o-1:3 pending_cancel pending_cancel qty=100 cum=30 leaves=70"),
        (3, "o-1:4 replace_rejected pending_cancel qty=100 cum=30 leaves=70 (cancel pending)"),
        (5, "o-1:5 canceled canceled qty=100 cum=30 leaves=0"),
    ]


def test_a_replaced_amend_down_to_cum_while_a_cancel_is_pending_rejects_the_cancel() -> None:
    broker = started({"actions": PARTIAL_30, "replace_delay": 1, "cancel_delay": 5})
    broker.replace(amend(qty="20"), step=3)
    broker.poll(3)
    broker.cancel(cancel(), step=4)
    assert timeline(broker, 4, 10) == [
        (4, "o-1:4 pending_cancel pending_cancel qty=100 cum=30 leaves=70"),
        (4, "o-1:5 replaced filled qty=30 cum=30 leaves=0"),
        (4, "o-1:6 cancel_rejected filled qty=30 cum=30 leaves=0 (too late: order filled)"),
    ]


# ----------------------------------------------------------------------------- rejects


def test_amend_of_a_filled_order_is_rejected_with_status_filled() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.poll(2)
    broker.replace(amend(qty="50"), step=3)
    (report,) = broker.poll(3)
    assert line(report) == (
        "o-1:3 replace_rejected filled qty=100 cum=100 leaves=0 (order already filled)"
    )
    assert report_violations(report, D(100)) == []


def test_amend_of_an_order_that_closes_earlier_in_the_same_poll_is_rejected() -> None:
    broker = started(PARTIAL_30)
    broker.cancel(cancel(), step=3)
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 3) == [
        (3, "o-1:3 canceled canceled qty=100 cum=30 leaves=0"),
        (3, "o-1:4 replace_rejected canceled qty=100 cum=30 leaves=0 (order already canceled)"),
    ]


def test_replace_of_an_unknown_order_is_rejected() -> None:
    broker = mock()
    broker.replace(amend("nope", qty="5"), step=1)
    broker.cancel(cancel("nope"), step=1)
    reports = broker.poll(1)
    assert reports[0] == ExecutionReport(
        exec_id="nope:unknown:1",
        client_order_id="nope",
        exec_type=ExecType.REPLACE_REJECTED,
        status=OrderStatus.REJECTED,
        symbol="",
        side=Side.BUY,
        order_qty=ZERO,
        cum_qty=ZERO,
        leaves_qty=ZERO,
        reason="unknown order",
    )
    assert (reports[1].exec_id, reports[1].exec_type) == (
        "nope:unknown:2",
        ExecType.CANCEL_REJECTED,
    )
    assert all(report_violations(r) == [] for r in reports)


def test_replace_of_a_forgotten_closed_order_is_unknown() -> None:
    broker = MockBroker(parse_broker_spec({"reference_prices": PRICES}), closed_memory=1)
    broker.submit(order("o-1"), step=1)
    broker.submit(order("o-2"), step=1)
    broker.poll(1)
    broker.poll(2)
    broker.replace(amend("o-1", qty="5"), step=3)
    broker.replace(amend("o-2", qty="5"), step=3)
    assert [(r.exec_type, r.reason) for r in broker.poll(3)] == [
        (ExecType.REPLACE_REJECTED, "unknown order"),
        (ExecType.REPLACE_REJECTED, "order already filled"),
    ]


@pytest.mark.parametrize(
    ("request_", "limit", "reason"),
    [
        (amend(), "99", "replace changes nothing"),
        (amend(qty="0"), None, "new qty must be positive, got 0"),
        (amend(qty="-5"), None, "new qty must be positive, got -5"),
        (amend(price="99"), None, "a market order has no limit price to amend"),
        (amend(price="0"), "99", "new limit price must be positive, got 0"),
    ],
)
def test_malformed_amend_is_rejected_and_changes_nothing(
    request_: ReplaceOrder, limit: str | None, reason: str
) -> None:
    broker = started({"actions": [*PARTIAL_30, "fill"], "replace_delay": 3}, limit=limit)
    broker.replace(request_, step=3)
    reports = broker.poll(3)
    assert [(r.exec_type, r.status, r.order_qty, r.reason) for r in reports[:1]] == [
        (ExecType.REPLACE_REJECTED, OrderStatus.PARTIALLY_FILLED, D(100), reason)
    ]
    assert reports[1].order_qty == D(100)  # the script goes on with the order unchanged
    assert reports[1].status is OrderStatus.FILLED


def test_on_replace_reject_answers_with_the_current_status() -> None:
    broker = started({"actions": PARTIAL_30, "on_replace": "reject"})
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 3) == [
        (
            3,
            "o-1:3 replace_rejected partially_filled qty=100 cum=30 leaves=70"
            " (replace rejected by script)",
        )
    ]


def test_on_replace_ignore_gets_no_answer_and_changes_nothing() -> None:
    broker = started({"actions": PARTIAL_30, "on_replace": "ignore"})
    broker.replace(amend(qty="50"), step=3)
    assert timeline(broker, 3, 10) == []
    (view,) = broker.snapshot(10).open_orders
    assert (view.order_qty, view.status) == (D(100), OrderStatus.PARTIALLY_FILLED)
    broker.cancel(cancel(), step=11)  # the order still works normally
    assert timeline(broker, 11, 11) == [(11, "o-1:3 canceled canceled qty=100 cum=30 leaves=0")]


# ----------------------------------------------------------------------------- bookkeeping


def test_replace_commands_are_recorded_with_their_step() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    broker.replace(amend(qty="5"), step=2)
    broker.replace(amend("nope", price="1"), step=2)
    assert broker.commands == [(1, order()), (2, amend(qty="5")), (2, amend("nope", price="1"))]


def test_duplicate_resends_a_replaced_report_as_it_was() -> None:
    broker = started([*PARTIAL_30, {"wait": 1}, "duplicate"], limit="99")
    broker.replace(amend(qty="60", price="98"), step=3)
    assert timeline(broker, 3, 4) == [
        (3, "o-1:3 replaced partially_filled qty=60 cum=30 leaves=30 px=98"),
        (4, "o-1:3 replaced partially_filled qty=60 cum=30 leaves=30 px=98 resend"),
    ]


def test_replace_order_payload_names_only_what_changes() -> None:
    assert amend(qty="5").to_payload() == {"client_order_id": "o-1", "new_qty": "5"}
    assert amend(price="1.50").to_payload() == {"client_order_id": "o-1", "new_limit_price": "1.50"}
    assert amend(qty="5", price="2").to_payload() == {
        "client_order_id": "o-1",
        "new_qty": "5",
        "new_limit_price": "2",
    }
