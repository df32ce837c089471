"""MockBroker: script timelines, cancels, faults, views, determinism, and a property test."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, localcontext

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from peak_trade.execution.broker.fill_script import (
    Ack,
    CancelBehaviour,
    CancelUnsolicited,
    Duplicate,
    Expire,
    Fill,
    GatewayRestart,
    MockBrokerSpec,
    OrderScript,
    Reject,
    ReplaceBehaviour,
    Wait,
    parse_broker_spec,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    ZERO,
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    ReplaceOrder,
    Side,
    report_violations,
)
from peak_trade.execution.broker.protocol import (
    BrokerAdapter,
    BrokerError,
    BrokerHealth,
    BrokerKind,
    BrokerOrderView,
)

D = Decimal
PRICES = {"AAPL": "100", "MSFT": "250.5"}


def mock(**spec: object) -> MockBroker:
    return MockBroker(parse_broker_spec({"reference_prices": PRICES, **spec}))


def order(
    cid: str = "o-1",
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    qty: str = "100",
    limit: str | None = None,
) -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
    )


def cancel(cid: str = "o-1") -> CancelOrder:
    return CancelOrder(client_order_id=cid)


def line(r: ExecutionReport) -> str:
    """One report as a line: exec id, exec type, status, cum/leaves, then what is set."""
    text = f"{r.exec_id} {r.exec_type.value} {r.status.value} cum={r.cum_qty} leaves={r.leaves_qty}"
    if r.exec_type is ExecType.TRADE:
        text += f" last={r.last_qty}@{r.last_px}"
    if r.avg_px is not None:
        text += f" avg={r.avg_px}"
    if r.reason is not None:
        text += f" ({r.reason})"
    if r.poss_resend:
        text += " resend"
    return text


def timeline(broker: MockBroker, first: int, last: int) -> list[tuple[int, str]]:
    """Poll steps first..last; every report as (step, line)."""
    return [(s, line(r)) for s in range(first, last + 1) for r in broker.poll(s)]


# ----------------------------------------------------------------------------- scripts


def test_default_script_acks_in_the_submit_step_and_fills_on_the_next() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 4) == [
        (1, "o-1:1 new new cum=0 leaves=100"),
        (2, "o-1:2 trade filled cum=100 leaves=0 last=100@100 avg=100"),
    ]


def test_partial_fills_give_exact_cum_leaves_and_avg_px() -> None:
    broker = mock(
        by_order={"o-1": ["ack", {"fill": {"qty": "30", "price": "100"}}, {"fill": {"price": 101}}]}
    )
    broker.submit(order(), step=1)
    reports = [r for s in (1, 2, 3) for r in broker.poll(s)]
    assert [line(r) for r in reports] == [
        "o-1:1 new new cum=0 leaves=100",
        "o-1:2 trade partially_filled cum=30 leaves=70 last=30@100 avg=100",
        "o-1:3 trade filled cum=100 leaves=0 last=70@101 avg=100.7",
    ]
    assert reports[-1].avg_px == D("100.7")
    assert reports[-1].avg_px.as_tuple() == D("100.7").as_tuple()


def test_avg_px_does_not_depend_on_the_callers_decimal_context() -> None:
    broker = mock(by_order={"o-1": [{"fill": {"qty": "30"}}, {"fill": {"price": "101"}}]})
    broker.submit(order(), step=1)
    with localcontext() as ctx:
        ctx.prec = 3
        reports = broker.poll(1) + broker.poll(2)
    assert reports[-1].avg_px == D("100.7")


def test_fill_price_defaults_to_limit_price_else_reference_price() -> None:
    broker = mock()
    broker.submit(order("o-1", limit="99.5"), step=1)
    broker.submit(order("o-2", symbol="MSFT", side=Side.SELL, qty="3"), step=1)
    broker.poll(1)
    assert [(r.client_order_id, r.last_px) for r in broker.poll(2)] == [
        ("o-1", D("99.5")),
        ("o-2", D("250.5")),
    ]


def test_reject_after_waiting() -> None:
    broker = mock(by_order={"o-1": [{"wait": 2}, {"reject": "insufficient margin"}]})
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 4) == [
        (3, "o-1:1 rejected rejected cum=0 leaves=0 (insufficient margin)")
    ]
    assert broker.snapshot(4).open_orders == ()


@pytest.mark.parametrize("k", [1, 2, 5])
def test_wait_k_means_no_ack_for_k_steps(k: int) -> None:
    broker = mock(by_order={"o-1": [{"wait": k}, "ack"]})
    broker.submit(order(), step=10)
    assert timeline(broker, 10, 10 + k + 2) == [(10 + k, "o-1:1 new new cum=0 leaves=100")]


def test_duplicate_resends_the_previous_report_with_the_same_exec_id() -> None:
    broker = mock(
        by_order={"o-1": ["duplicate", "ack", "duplicate", {"fill": {"qty": 10}}, "duplicate"]}
    )
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 6) == [
        (2, "o-1:1 new new cum=0 leaves=100"),
        (3, "o-1:1 new new cum=0 leaves=100 resend"),
        (4, "o-1:2 trade partially_filled cum=10 leaves=90 last=10@100 avg=100"),
        (5, "o-1:2 trade partially_filled cum=10 leaves=90 last=10@100 avg=100 resend"),
    ]
    assert broker.snapshot(6).positions == {"AAPL": D(10)}  # a resend moves nothing


def test_fill_before_ack_reports_the_current_numbers() -> None:
    broker = mock(by_order={"o-1": [{"fill": {"qty": "30"}}, "ack", "fill"]})
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 3) == [
        (1, "o-1:1 trade partially_filled cum=30 leaves=70 last=30@100 avg=100"),
        (2, "o-1:2 new partially_filled cum=30 leaves=70 avg=100"),
        (3, "o-1:3 trade filled cum=100 leaves=0 last=70@100 avg=100"),
    ]


def test_overfill_is_reported_honestly() -> None:
    broker = mock(by_order={"o-1": ["ack", {"fill": {"qty": "150"}}, "ack"]})
    broker.submit(order(), step=1)
    broker.poll(1)
    (report,) = broker.poll(2)
    assert line(report) == "o-1:2 trade filled cum=150 leaves=-50 last=150@100 avg=100"
    assert "overfill: cum_qty 150 exceeds order_qty 100" in report_violations(report, ZERO)
    assert broker.poll(3) == []  # closed: the rest of the script is dropped
    assert broker.snapshot(3).positions == {"AAPL": D(150)}


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("expire", "o-1:3 expired expired cum=30 leaves=0 avg=100"),
        (
            {"cancel_unsolicited": "halted"},
            "o-1:3 canceled canceled cum=30 leaves=0 avg=100 (halted)",
        ),
        (
            {"reject": "late reject"},
            "o-1:3 rejected rejected cum=30 leaves=0 avg=100 (late reject)",
        ),
    ],
)
def test_closing_actions_drop_the_rest_of_the_script(action: object, expected: str) -> None:
    broker = mock(by_order={"o-1": ["ack", {"fill": {"qty": "30"}}, action, "fill"]})
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 6)[2:] == [(3, expected)]
    assert broker.snapshot(6).open_orders == ()


def test_exhausted_script_rests_until_canceled() -> None:
    broker = mock(by_order={"o-1": ["ack", {"fill": {"qty": "30"}}]})
    broker.submit(order(), step=1)
    assert len(timeline(broker, 1, 50)) == 2
    broker.cancel(cancel(), step=51)
    assert timeline(broker, 51, 52) == [(51, "o-1:3 canceled canceled cum=30 leaves=0 avg=100")]


def test_a_script_may_be_built_directly() -> None:
    script = OrderScript(actions=(Ack(), Fill(qty=D(1)), Wait(steps=1), Duplicate(), Expire()))
    broker = MockBroker(MockBrokerSpec(reference_prices={"AAPL": D(5)}, default=script))
    broker.submit(order(), step=0)
    assert [r.exec_type for r in (*broker.poll(0), *broker.poll(1))] == [
        ExecType.NEW,
        ExecType.TRADE,
    ]
    assert broker.poll(2) == []
    assert [r.exec_type for r in broker.poll(3)] == [ExecType.TRADE]  # the resend
    assert [r.status for r in broker.poll(4)] == [OrderStatus.EXPIRED]


# ----------------------------------------------------------------------------- entry rejects


def test_market_order_without_reference_price_is_rejected() -> None:
    broker = mock()
    broker.submit(order("o-1", symbol="TSLA"), step=1)
    assert timeline(broker, 1, 3) == [
        (1, "o-1:1 rejected rejected cum=0 leaves=0 (no reference price for TSLA)")
    ]


def test_without_reference_price_an_explicit_or_limit_price_still_fills() -> None:
    broker = mock(by_symbol={"TSLA": ["ack", {"fill": {"price": "200"}}]})
    broker.submit(order("o-1", symbol="TSLA"), step=1)
    broker.submit(order("o-2", symbol="NVDA", limit="50"), step=1)
    lines = [line(r) for r in broker.poll(1) + broker.poll(2)]
    assert lines[2:] == [
        "o-1:2 trade filled cum=100 leaves=0 last=100@200 avg=200",
        "o-2:2 trade filled cum=100 leaves=0 last=100@50 avg=50",
    ]


def test_non_positive_order_qty_is_rejected() -> None:
    broker = mock()
    broker.submit(order(qty="0"), step=1)
    assert [line(r) for r in broker.poll(1)] == [
        "o-1:1 rejected rejected cum=0 leaves=0 (order qty must be positive, got 0)"
    ]


def test_fail_submit_raises_and_registers_nothing() -> None:
    broker = mock(by_order={"o-1": {"fail_submit": "connection reset"}})
    with pytest.raises(BrokerError, match=r"^connection reset$"):
        broker.submit(order(), step=1)
    assert broker.commands == [(1, order())]
    assert broker.poll(1) == []
    assert broker.snapshot(1).open_orders == ()


def test_duplicate_client_order_id_raises() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    with pytest.raises(BrokerError, match="duplicate client_order_id 'o-1'"):
        broker.submit(order(), step=1)  # still working
    timeline(broker, 1, 2)
    with pytest.raises(BrokerError, match="duplicate client_order_id 'o-1'"):
        broker.submit(order(), step=3)  # closed, still remembered


# ----------------------------------------------------------------------------- cancels


def test_cancel_accepted_at_once_keeps_cum() -> None:
    broker = mock(by_order={"o-1": ["ack", {"fill": {"qty": "30"}}, {"wait": 10}, "fill"]})
    broker.submit(order(), step=1)
    timeline(broker, 1, 3)
    broker.cancel(cancel(), step=4)
    assert timeline(broker, 4, 20) == [(4, "o-1:3 canceled canceled cum=30 leaves=0 avg=100")]


def test_cancel_in_the_submit_step_wins_over_the_first_action() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    broker.cancel(cancel(), step=1)
    assert timeline(broker, 1, 3) == [(1, "o-1:1 canceled canceled cum=0 leaves=0")]


def test_delayed_cancel_races_fills_reported_as_pending_cancel() -> None:
    script = {
        "actions": ["ack", {"fill": {"qty": "30"}}, {"fill": {"qty": "30"}}],
        "cancel_delay": 2,
    }
    broker = mock(by_order={"o-1": script})
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.poll(2)
    broker.cancel(cancel(), step=3)
    assert timeline(broker, 3, 8) == [
        (3, "o-1:3 pending_cancel pending_cancel cum=30 leaves=70 avg=100"),
        (3, "o-1:4 trade pending_cancel cum=60 leaves=40 last=30@100 avg=100"),
        (5, "o-1:5 canceled canceled cum=60 leaves=0 avg=100"),
    ]


def test_delayed_cancel_is_too_late_when_the_order_fills_first() -> None:
    script = {"actions": ["ack", {"fill": {"qty": "30"}}, "fill"], "cancel_delay": 3}
    broker = mock(by_order={"o-1": script})
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.cancel(cancel(), step=2)
    assert timeline(broker, 2, 8) == [
        (2, "o-1:2 pending_cancel pending_cancel cum=0 leaves=100"),
        (2, "o-1:3 trade pending_cancel cum=30 leaves=70 last=30@100 avg=100"),
        (3, "o-1:4 trade pending_cancel cum=100 leaves=0 last=70@100 avg=100"),
        (3, "o-1:5 cancel_rejected filled cum=100 leaves=0 avg=100 (too late: order filled)"),
    ]


def test_a_second_cancel_while_one_is_pending_is_rejected() -> None:
    broker = mock(by_order={"o-1": {"actions": ["ack"], "cancel_delay": 2}})
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.cancel(cancel(), step=2)
    broker.poll(2)
    broker.cancel(cancel(), step=3)
    assert timeline(broker, 3, 4) == [
        (3, "o-1:3 cancel_rejected pending_cancel cum=0 leaves=100 (cancel already pending)"),
        (4, "o-1:4 canceled canceled cum=0 leaves=0"),
    ]


def test_cancel_rejected_by_script_keeps_the_order_working() -> None:
    broker = mock(
        by_order={
            "o-1": {"actions": ["ack", {"fill": {"qty": "30"}}, "fill"], "on_cancel": "reject"}
        }
    )
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.poll(2)
    broker.cancel(cancel(), step=3)
    assert timeline(broker, 3, 4) == [
        (
            3,
            "o-1:3 cancel_rejected partially_filled cum=30 leaves=70 avg=100"
            " (cancel rejected by script)",
        ),
        (3, "o-1:4 trade filled cum=100 leaves=0 last=70@100 avg=100"),
    ]


def test_cancel_ignored_gets_no_answer() -> None:
    broker = mock(by_order={"o-1": {"actions": ["ack"], "on_cancel": "ignore"}})
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.cancel(cancel(), step=2)
    assert timeline(broker, 2, 10) == []
    (view,) = broker.snapshot(10).open_orders
    assert view.status is OrderStatus.NEW


def test_cancel_of_an_unknown_order_is_rejected() -> None:
    broker = mock()
    broker.cancel(cancel("nope"), step=1)
    broker.cancel(cancel("nope"), step=1)
    reports = broker.poll(1)
    assert reports[0] == ExecutionReport(
        exec_id="nope:unknown:1",
        client_order_id="nope",
        exec_type=ExecType.CANCEL_REJECTED,
        status=OrderStatus.REJECTED,
        symbol="",
        side=Side.BUY,
        order_qty=ZERO,
        cum_qty=ZERO,
        leaves_qty=ZERO,
        reason="unknown order",
    )
    assert reports[1].exec_id == "nope:unknown:2"
    assert all(report_violations(r) == [] for r in reports)


def test_cancel_of_a_closed_order_carries_its_status() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    timeline(broker, 1, 2)
    broker.cancel(cancel(), step=3)
    assert timeline(broker, 3, 3) == [
        (3, "o-1:3 cancel_rejected filled cum=100 leaves=0 avg=100 (order already filled)")
    ]


def test_closed_orders_are_remembered_only_up_to_closed_memory() -> None:
    broker = MockBroker(parse_broker_spec({"reference_prices": PRICES}), closed_memory=1)
    broker.submit(order("o-1"), step=1)
    broker.submit(order("o-2"), step=1)
    timeline(broker, 1, 2)
    broker.cancel(cancel("o-1"), step=3)
    broker.cancel(cancel("o-2"), step=3)
    assert [r.reason for r in broker.poll(3)] == ["unknown order", "order already filled"]


def test_reports_come_in_submission_order_after_replies_about_unknown_orders() -> None:
    broker = mock(by_order={"o-1": ["ack"], "o-2": ["ack", {"wait": 5}, "fill"]})
    broker.submit(order("o-1"), step=1)
    broker.submit(order("o-2"), step=1)
    timeline(broker, 1, 5)
    broker.cancel(cancel("o-2"), step=6)
    broker.cancel(cancel("o-1"), step=6)  # o-1 rested: it rejoins the active orders last
    broker.cancel(cancel("o-9"), step=6)
    assert [r.exec_id for r in broker.poll(6)] == ["o-9:unknown:1", "o-1:2", "o-2:2"]


# ----------------------------------------------------------------------------- views


def test_health_outage_window_edges() -> None:
    broker = mock(health=[{"from_step": 3, "steps": 2, "detail": "gateway down"}])
    down = BrokerHealth(ok=False, detail="gateway down")
    assert [broker.health(s) for s in (2, 3, 4, 5)] == [
        BrokerHealth(ok=True),
        down,
        down,
        BrokerHealth(ok=True),
    ]


def test_snapshot_lists_open_orders_in_submission_order_and_net_positions() -> None:
    broker = mock(
        by_order={
            "o-1": ["ack", {"fill": {"qty": "30"}}],
            "o-3": {"actions": ["ack", {"fill": {"qty": "2"}}], "cancel_delay": 5},
        }
    )
    broker.submit(order("o-1"), step=1)
    broker.submit(order("o-2", symbol="MSFT", side=Side.SELL, qty="2"), step=1)
    broker.submit(order("o-3", symbol="MSFT", qty="5"), step=1)
    timeline(broker, 1, 3)
    broker.cancel(cancel("o-3"), step=4)
    broker.poll(4)
    broker.submit(order("o-4", qty="7"), step=4)

    def view(cid: str, symbol: str, qty: str, cum: str, status: OrderStatus) -> BrokerOrderView:
        return BrokerOrderView(
            client_order_id=cid,
            symbol=symbol,
            side=Side.BUY,
            order_qty=D(qty),
            cum_qty=D(cum),
            leaves_qty=D(qty) - D(cum),
            status=status,
        )

    snapshot = broker.snapshot(4)
    assert snapshot.step == 4
    assert snapshot.open_orders == (
        view("o-1", "AAPL", "100", "30", OrderStatus.PARTIALLY_FILLED),
        view("o-3", "MSFT", "5", "2", OrderStatus.PENDING_CANCEL),
        view("o-4", "AAPL", "7", "0", OrderStatus.PENDING_NEW),
    )
    assert snapshot.positions == {"AAPL": D(30), "MSFT": D(0)}  # flat MSFT is kept


def test_commands_are_recorded_with_their_step() -> None:
    broker = mock()
    broker.submit(order(), step=1)
    broker.cancel(cancel(), step=2)
    broker.cancel(cancel("nope"), step=2)
    assert broker.commands == [(1, order()), (2, cancel()), (2, cancel("nope"))]
    quiet = MockBroker(record_commands=False)
    quiet.submit(order(), step=1)
    assert quiet.commands == []


def test_is_a_mock_broker_adapter() -> None:
    broker = MockBroker()
    assert isinstance(broker, BrokerAdapter)
    assert broker.kind is BrokerKind.MOCK


def test_poll_refuses_to_go_back_in_time() -> None:
    broker = mock()
    broker.poll(5)
    broker.poll(5)
    with pytest.raises(ValueError, match="poll step 4 is before the last polled step 5"):
        broker.poll(4)


# ----------------------------------------------------------------------------- determinism


def drive(broker: MockBroker) -> list[ExecutionReport]:
    """A fixed session: orders, a cancel, a duplicate, a fill race."""
    reports: list[ExecutionReport] = []
    for step in range(1, 12):
        if step <= 4:
            broker.submit(order(f"o-{step}", symbol=("AAPL", "MSFT")[step % 2], qty="10"), step)
        if step == 5:
            broker.cancel(cancel("o-3"), step)
        reports += broker.poll(step)
    return reports


DRIVE_SPEC = {
    "by_symbol": {"MSFT": ["ack", {"fill": {"qty": "4"}}, "duplicate", {"wait": 3}, "fill"]},
    "by_order": {"o-3": {"actions": ["ack", {"fill": {"qty": "4"}}], "cancel_delay": 1}},
}


def test_same_inputs_give_equal_reports() -> None:
    first, second = mock(**DRIVE_SPEC), mock(**DRIVE_SPEC)
    assert drive(first) == drive(second)
    assert first.snapshot(11) == second.snapshot(11)


def test_restart_forgets_orders_so_a_replay_repeats_exec_ids() -> None:
    broker = mock(**DRIVE_SPEC)
    before = drive(broker)
    commands = list(broker.commands)
    broker.restart()
    assert broker.snapshot(0).positions == {}
    assert broker.commands == commands  # the command log survives
    assert drive(broker) == before


def test_working_state_does_not_grow_with_the_number_of_orders() -> None:
    broker = MockBroker(
        MockBrokerSpec(reference_prices={"AAPL": D(100)}), record_commands=False, closed_memory=8
    )
    for step in range(1, 20_001):
        broker.submit(order(f"o-{step}", qty="1"), step)
        broker.poll(step)
    assert len(broker._working) == 1
    assert len(broker._active) == 1
    assert len(broker._closed) == 8
    assert broker.commands == []
    assert broker.snapshot(20_000).positions == {"AAPL": D(19_999)}


# ----------------------------------------------------------------------------- property


@st.composite
def sound_scripts(draw: st.DrawFn, qty: int) -> OrderScript:
    """A script that never breaks an invariant: no overfill, and a reject only before fills.
    (Amends keep it sound too, as long as they follow `SoundScriptSession.amend`.)"""
    actions: list = []
    remaining = qty
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["ack", "partial", "wait", "duplicate"]))
        if kind == "ack":
            actions.append(Ack())
        elif kind == "wait":
            actions.append(Wait(steps=draw(st.integers(1, 3))))
        elif kind == "duplicate":
            actions.append(Duplicate())
        elif remaining > 1:
            part = draw(st.integers(1, remaining - 1))
            remaining -= part
            price = draw(st.sampled_from([None, D("101"), D("99.75")]))
            actions.append(Fill(qty=D(part), price=price))
    end = draw(st.sampled_from(["rest", "fill", "expire", "cancel", "reject"]))
    if end == "reject" and remaining == qty:
        actions.append(Reject(reason="scripted reject"))
    elif end == "fill":
        actions.append(Fill())
    elif end == "expire":
        actions.append(Expire())
    elif end == "cancel":
        actions.append(CancelUnsolicited(reason="scripted cancel"))
    on_cancel = draw(st.sampled_from(CancelBehaviour))
    delay = draw(st.integers(0, 3)) if on_cancel is CancelBehaviour.ACCEPT else 0
    on_replace = draw(st.sampled_from(ReplaceBehaviour))
    replace_delay = draw(st.integers(0, 3)) if on_replace is ReplaceBehaviour.ACCEPT else 0
    return OrderScript(
        actions=tuple(actions),
        on_cancel=on_cancel,
        cancel_delay=delay,
        on_replace=on_replace,
        replace_delay=replace_delay,
    )


def explicit_fills(script: OrderScript) -> Decimal:
    """The quantity the script's fills with an explicit qty add up to."""
    return sum((a.qty for a in script.actions if isinstance(a, Fill) and a.qty), ZERO)


@st.composite
def planned_orders(draw: st.DrawFn, cid: str) -> tuple[NewOrder, OrderScript]:
    qty = draw(st.integers(1, 500))
    placed = order(
        cid,
        symbol=draw(st.sampled_from(["AAPL", "MSFT"])),
        side=draw(st.sampled_from(Side)),
        qty=str(qty),
        limit=draw(st.sampled_from([None, "99.5"])),
    )
    return placed, draw(sound_scripts(qty))


class SoundScriptSession(RuleBasedStateMachine):
    """Random sound scripts, submits, cancels, amends, gateway restarts and polls: every new
    report is sound (leaves against its own order_qty, which only a REPLACED changes), cum never
    falls, exec ids are unique unless resent and a resend repeats its original, and the mock's
    positions and open-order views equal what the applied reports say."""

    @initialize(
        plans=st.integers(1, 5).flatmap(
            lambda n: st.tuples(*(planned_orders(f"o-{i}") for i in range(n)))
        ),
        restarts=st.lists(
            st.builds(GatewayRestart, at_step=st.integers(1, 40), replay_last=st.integers(1, 4)),
            max_size=3,
        ),
    )
    def setup(
        self, plans: tuple[tuple[NewOrder, OrderScript], ...], restarts: list[GatewayRestart]
    ) -> None:
        spec = MockBrokerSpec(
            reference_prices={"AAPL": D("100"), "MSFT": D("250.5")},
            by_order={placed.client_order_id: script for placed, script in plans},
            restarts=tuple(restarts),
        )
        self.broker = MockBroker(spec)
        self.unsent = [placed for placed, _ in plans]
        self.explicit = {placed.client_order_id: explicit_fills(s) for placed, s in plans}
        self.step = 1
        self.applied: dict[str, Decimal] = {}
        self.sent: dict[str, ExecutionReport] = {}  # every new report, by exec id
        self.positions: dict[str, Decimal] = {}
        self.order_qty: dict[str, Decimal] = {}  # as the applied reports say
        self.requested: dict[str, set[Decimal]] = {}  # amended quantities asked for

    @precondition(lambda self: self.unsent)
    @rule()
    def submit(self) -> None:
        placed = self.unsent.pop(0)
        self.order_qty[placed.client_order_id] = placed.qty
        self.broker.submit(placed, self.step)

    @rule(index=st.integers(0, 6))
    def cancel(self, index: int) -> None:
        self.broker.cancel(cancel(f"o-{index}"), self.step)

    @precondition(lambda self: self.order_qty)
    @rule(data=st.data())
    def amend(self, data: st.DataObject) -> None:
        """An amend of a submitted order (or of one nobody sent) that keeps the script sound: to
        at or below the filled quantity (the order is then filled at cum), or above every
        explicit fill of the script (no later fill can overfill); or only the price; or a
        malformed one (rejected)."""
        cid = data.draw(st.sampled_from([*self.order_qty, "o-9"]))
        cum = self.applied.get(cid, ZERO)
        kind = data.draw(st.sampled_from(["down_to_cum", "up", "price", "malformed"]))
        qty = price = None
        if kind == "down_to_cum" and cum > ZERO:
            qty = D(data.draw(st.integers(1, int(cum))))
        elif kind == "price":
            price = data.draw(st.sampled_from([D("98"), D("99.5"), D("101.25")]))
        elif kind == "malformed":
            qty = data.draw(st.sampled_from([None, ZERO, D(-1)]))
        else:
            qty = self.explicit.get(cid, ZERO) + data.draw(st.integers(1, 300))
        if qty is not None and qty > ZERO:
            self.requested.setdefault(cid, set()).add(qty)
        request = ReplaceOrder(client_order_id=cid, new_qty=qty, new_limit_price=price)
        self.broker.replace(request, self.step)

    @rule(steps=st.integers(1, 3))
    def poll(self, steps: int) -> None:
        for _ in range(steps):
            for report in self.broker.poll(self.step):
                self.apply(report)
            self.step += 1

    def apply(self, r: ExecutionReport) -> None:
        if r.poss_resend:
            assert replace(r, poss_resend=False) == self.sent[r.exec_id], line(r)
            return
        assert r.exec_id not in self.sent
        self.sent[r.exec_id] = r
        cid = r.client_order_id
        previous = self.applied.get(cid, ZERO)
        assert report_violations(r, previous) == [], line(r)
        if r.status is OrderStatus.REJECTED and r.symbol == "":
            return  # a cancel/replace reject for an order the broker does not know
        if r.exec_type is ExecType.REPLACED:
            assert (
                r.order_qty in self.requested.get(cid, ())  # as asked
                or r.order_qty == self.order_qty[cid]  # a price-only amend
                or (r.order_qty == r.cum_qty and r.status is OrderStatus.FILLED)  # down to cum
            ), line(r)
            self.order_qty[cid] = r.order_qty
        else:  # fills racing a pending replace still count against the old qty
            assert r.order_qty == self.order_qty[cid], line(r)
        self.applied[cid] = r.cum_qty
        if r.exec_type is ExecType.TRADE:
            signed = r.last_qty if r.side is Side.BUY else -r.last_qty
            self.positions[r.symbol] = self.positions.get(r.symbol, ZERO) + signed

    @invariant()
    def positions_match_the_applied_trades(self) -> None:
        if hasattr(self, "broker"):
            assert self.broker.snapshot(self.step).positions == self.positions

    @invariant()
    def open_order_views_match_the_applied_reports(self) -> None:
        if hasattr(self, "broker"):
            for view in self.broker.snapshot(self.step).open_orders:
                cid = view.client_order_id
                assert view.order_qty == self.order_qty[cid]
                assert view.cum_qty == self.applied.get(cid, ZERO)
                assert view.leaves_qty == view.order_qty - view.cum_qty


SoundScriptSession.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None
)
TestSoundScriptSession = SoundScriptSession.TestCase
