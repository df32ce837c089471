"""MockBroker fault injection for the failure matrix: unsolicited reports, position drift,
silent fills and gateway restarts that replay reports."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import (
    GatewayRestart,
    MockBrokerSpec,
    PositionDrift,
    UnsolicitedReport,
    parse_broker_spec,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    ExecType,
    ExecutionReport,
    OrderStatus,
    ReplaceOrder,
    Side,
    report_violations,
)
from peak_trade.execution.broker.protocol import BrokerError
from tests.execution.broker.test_mock import (
    DRIVE_SPEC,
    PRICES,
    cancel,
    drive,
    line,
    mock,
    order,
    timeline,
)

D = Decimal
GHOST = {
    "step": 3,
    "client_order_id": "ghost",
    "symbol": "AAPL",
    "side": "buy",
    "qty": "10",
    "price": "101",
}


# ----------------------------------------------------------------------------- unsolicited


def test_unsolicited_report_is_a_full_fill_of_an_order_nobody_sent() -> None:
    broker = mock(unsolicited_reports=[GHOST])
    assert broker.poll(2) == []
    (report,) = broker.poll(3)
    assert report == ExecutionReport(
        exec_id="ghost:unsolicited:1",
        client_order_id="ghost",
        exec_type=ExecType.TRADE,
        status=OrderStatus.FILLED,
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(10),
        cum_qty=D(10),
        leaves_qty=D(0),
        last_qty=D(10),
        last_px=D(101),
        avg_px=D(101),
    )
    assert report_violations(report) == []
    assert broker.poll(4) == []  # sent once
    assert broker.snapshot(4).positions == {"AAPL": D(10)}  # the broker did trade
    assert broker.snapshot(4).open_orders == ()


def test_unsolicited_report_comes_after_the_orders_reports_of_its_step() -> None:
    broker = mock(unsolicited_reports=[{**GHOST, "side": "sell"}])
    broker.submit(order(), step=3)
    assert [r.exec_id for r in broker.poll(3)] == ["o-1:1", "ghost:unsolicited:1"]
    assert broker.snapshot(3).positions == {"AAPL": D(-10)}


def test_unsolicited_reports_due_in_skipped_steps_come_at_the_next_poll_in_step_order() -> None:
    later = {**GHOST, "step": 5, "client_order_id": "ghost-2", "symbol": "MSFT"}
    broker = mock(unsolicited_reports=[later, GHOST])
    broker.poll(1)
    assert [r.exec_id for r in broker.poll(9)] == [
        "ghost:unsolicited:1",
        "ghost-2:unsolicited:2",
    ]


def test_the_broker_remembers_the_unsolicited_order_as_filled() -> None:
    broker = mock(unsolicited_reports=[GHOST])
    broker.poll(3)
    broker.cancel(cancel("ghost"), step=4)
    broker.replace(ReplaceOrder(client_order_id="ghost", new_qty=D(1)), step=4)
    assert timeline(broker, 4, 4) == [
        (4, "ghost:1 cancel_rejected filled cum=10 leaves=0 avg=101 (order already filled)"),
        (4, "ghost:2 replace_rejected filled cum=10 leaves=0 avg=101 (order already filled)"),
    ]
    with pytest.raises(BrokerError, match="duplicate client_order_id 'ghost'"):
        broker.submit(order("ghost"), step=5)


def test_an_unsolicited_report_reusing_a_known_id_leaves_that_order_alone() -> None:
    broker = mock(
        by_order={"ghost": ["ack"]}, unsolicited_reports=[{**GHOST, "qty": "3", "step": 2}]
    )
    broker.submit(order("ghost", qty="50"), step=1)
    broker.poll(1)
    assert [line(r) for r in broker.poll(2)] == [
        "ghost:unsolicited:1 trade filled cum=3 leaves=0 last=3@101 avg=101"
    ]
    (view,) = broker.snapshot(2).open_orders
    assert (view.client_order_id, view.cum_qty, view.status) == ("ghost", D(0), OrderStatus.NEW)
    assert broker.snapshot(2).positions == {"AAPL": D(3)}


# ----------------------------------------------------------------------------- position drift


def test_position_drift_offsets_snapshot_positions_from_its_step_on() -> None:
    broker = mock(
        position_drift=[
            {"from_step": 4, "symbol": "AAPL", "qty": "10"},
            {"from_step": 6, "symbol": "AAPL", "qty": "-2.5"},
            {"from_step": 5, "symbol": "TSLA", "qty": "-1"},
        ]
    )
    broker.submit(order(qty="7"), step=1)
    reports = [r for s in range(1, 8) for r in broker.poll(s)]
    assert [r.cum_qty for r in reports] == [D(0), D(7)]  # reports are unaffected
    assert [dict(broker.snapshot(s).positions) for s in (3, 4, 5, 6)] == [
        {"AAPL": D(7)},
        {"AAPL": D(17)},
        {"AAPL": D(17), "TSLA": D(-1)},
        {"AAPL": D("14.5"), "TSLA": D(-1)},
    ]


def test_position_drift_leaves_open_order_views_alone() -> None:
    broker = mock(
        by_order={"o-1": ["ack", {"fill": {"qty": "30"}}]},
        position_drift=[{"from_step": 0, "symbol": "AAPL", "qty": "5"}],
    )
    broker.submit(order(), step=1)
    broker.poll(1)
    broker.poll(2)
    snapshot = broker.snapshot(2)
    (view,) = snapshot.open_orders
    assert (view.cum_qty, view.leaves_qty) == (D(30), D(70))
    assert snapshot.positions == {"AAPL": D(35)}


# ----------------------------------------------------------------------------- silent fill


def test_silent_fill_moves_the_book_but_sends_no_report() -> None:
    broker = mock(by_order={"o-1": ["ack", {"silent_fill": {"qty": "30"}}, {"wait": 2}, "fill"]})
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 2) == [(1, "o-1:1 new new cum=0 leaves=100")]
    snapshot = broker.snapshot(2)
    (view,) = snapshot.open_orders
    assert (view.cum_qty, view.leaves_qty, view.status) == (
        D(30),
        D(70),
        OrderStatus.PARTIALLY_FILLED,
    )
    assert snapshot.positions == {"AAPL": D(30)}
    assert broker.poll(3) == broker.poll(4) == []
    (report,) = broker.poll(5)
    # o-1:2 was the lost report: the next one skips its exec id and cum jumps past last_qty.
    assert line(report) == "o-1:3 trade filled cum=100 leaves=0 last=70@100 avg=100"
    assert report_violations(report, previous_cum=D(0)) == [
        "cum_qty 100 != previous cum_qty 0 + last_qty 70"
    ]


def test_a_silent_fill_that_completes_the_order_closes_it_silently() -> None:
    broker = mock(by_order={"o-1": ["ack", "silent_fill", "expire"]})
    broker.submit(order(qty="5"), step=1)
    assert timeline(broker, 1, 5) == [(1, "o-1:1 new new cum=0 leaves=5")]
    assert broker.snapshot(5).open_orders == ()
    assert broker.snapshot(5).positions == {"AAPL": D(5)}
    broker.cancel(cancel(), step=6)
    assert timeline(broker, 6, 6) == [
        (6, "o-1:3 cancel_rejected filled cum=5 leaves=0 avg=100 (order already filled)")
    ]


def test_a_duplicate_after_a_silent_fill_delivers_the_lost_report_as_a_resend() -> None:
    broker = mock(
        by_order={"o-1": ["ack", {"silent_fill": {"qty": "30", "price": "99"}}, "duplicate"]}
    )
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 3) == [
        (1, "o-1:1 new new cum=0 leaves=100"),
        (3, "o-1:2 trade partially_filled cum=30 leaves=70 last=30@99 avg=99 resend"),
    ]


def test_silent_fill_without_a_price_to_use_is_an_entry_reject() -> None:
    broker = mock(by_symbol={"TSLA": ["ack", "silent_fill"]})
    broker.submit(order(symbol="TSLA"), step=1)
    assert timeline(broker, 1, 2) == [
        (1, "o-1:1 rejected rejected cum=0 leaves=0 (no reference price for TSLA)")
    ]


# ----------------------------------------------------------------------------- restarts


def test_gateway_restart_replays_the_last_reports_with_their_exec_ids() -> None:
    broker = mock(
        by_order={"o-1": ["ack", {"fill": {"qty": "30"}}, {"fill": {"qty": "30"}}, "fill"]},
        restarts=[{"at_step": 4, "replay_last": 2}],
    )
    broker.submit(order(), step=1)
    assert timeline(broker, 1, 5) == [
        (1, "o-1:1 new new cum=0 leaves=100"),
        (2, "o-1:2 trade partially_filled cum=30 leaves=70 last=30@100 avg=100"),
        (3, "o-1:3 trade partially_filled cum=60 leaves=40 last=30@100 avg=100"),
        (4, "o-1:2 trade partially_filled cum=30 leaves=70 last=30@100 avg=100 resend"),
        (4, "o-1:3 trade partially_filled cum=60 leaves=40 last=30@100 avg=100 resend"),
        (4, "o-1:4 trade filled cum=100 leaves=0 last=40@100 avg=100"),  # the order survived
    ]
    assert broker.snapshot(5).positions == {"AAPL": D(100)}  # a replay moves nothing


def test_restart_replays_across_orders_and_replies_in_the_order_sent() -> None:
    broker = mock(restarts=[{"at_step": 3, "replay_last": 3}])
    broker.submit(order("o-1"), step=1)
    sent = broker.poll(1)
    broker.submit(order("o-2", symbol="MSFT"), step=2)
    broker.cancel(cancel("nope"), step=2)
    sent += broker.poll(2)
    assert [r.exec_id for r in sent] == ["o-1:1", "nope:unknown:1", "o-1:2", "o-2:1"]
    replayed = broker.poll(3)
    assert replayed[:3] == [replace(r, poss_resend=True) for r in sent[1:]]
    assert [r.exec_id for r in replayed[3:]] == ["o-2:2"]


def test_restart_replay_skips_resends_and_includes_lost_reports() -> None:
    broker = mock(
        by_order={"o-1": ["ack", "duplicate", {"silent_fill": {"qty": "1"}}]},
        restarts=[{"at_step": 4, "replay_last": 2}],
    )
    broker.submit(order(), step=1)
    assert [line(r) for s in range(1, 5) for r in broker.poll(s)] == [
        "o-1:1 new new cum=0 leaves=100",
        "o-1:1 new new cum=0 leaves=100 resend",
        "o-1:1 new new cum=0 leaves=100 resend",  # the replay: the last 2 sent, not resent
        "o-1:2 trade partially_filled cum=1 leaves=99 last=1@100 avg=100 resend",
    ]


def test_restart_due_in_a_skipped_step_plays_at_the_next_poll_and_once() -> None:
    broker = mock(
        restarts=[{"at_step": 2, "replay_last": 1}, {"at_step": 3, "replay_last": 5}],
    )
    broker.submit(order(), step=1)
    broker.poll(1)  # o-1:1 ack
    assert [(r.exec_id, r.poss_resend) for r in broker.poll(6)] == [
        ("o-1:1", True),  # restart at 2 replays one
        ("o-1:1", True),  # restart at 3 replays all it has: still one
        ("o-1:2", False),
    ]
    assert broker.poll(7) == []


def test_restart_memory_is_bounded_by_the_largest_replay() -> None:
    broker = MockBroker(
        MockBrokerSpec(
            reference_prices={"AAPL": D(1)},
            restarts=(GatewayRestart(at_step=10_000, replay_last=3),),
        ),
        record_commands=False,
        closed_memory=2,
    )
    for step in range(1, 200):
        broker.submit(order(f"o-{step}", qty="1"), step)
        broker.poll(step)
    assert len(broker._history) == 3
    assert [r.exec_id for r in broker._history] == ["o-198:1", "o-198:2", "o-199:1"]
    assert len(MockBroker(MockBrokerSpec())._history) == 0


def test_process_restart_plays_the_scripted_faults_again() -> None:
    spec = replace(
        parse_broker_spec({"reference_prices": PRICES, **DRIVE_SPEC}),
        unsolicited_reports=(
            UnsolicitedReport(
                step=2, client_order_id="g", symbol="AAPL", side=Side.SELL, qty=D(1), price=D(5)
            ),
        ),
        position_drift=(PositionDrift(from_step=3, symbol="AAPL", qty=D(1)),),
        restarts=(GatewayRestart(at_step=6, replay_last=2),),
    )
    broker = MockBroker(spec)
    before = drive(broker)
    snapshot = broker.snapshot(11)
    broker.restart()
    assert drive(broker) == before
    assert broker.snapshot(11) == snapshot
    assert sum(r.poss_resend for r in before) == 2 + 1  # the replay and MSFT's duplicate
