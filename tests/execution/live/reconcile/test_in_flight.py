"""In-flight timeouts, driven directly: the ack and cancel timeouts and the resolution table.

The expected resolution table is written out here independently of the module's, so a changed row
in either place fails a test.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import (
    Ack,
    CancelBehaviour,
    MockBrokerSpec,
    OrderScript,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import CancelOrder, NewOrder, OrderStatus, Side
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.reconcile.in_flight import (
    RESOLUTION_TABLE,
    BrokerFinding,
    InFlight,
    Resolution,
    find_timeouts,
    resolve_timeouts,
)
from tests.execution.live.reconcile.support import book, ours, snap, theirs

S = OrderStatus
D = Decimal


# ----------------------------------------------------------------------------- timeouts

# Written out independently of RESOLUTION_TABLE.
EXPECTED_RESOLUTIONS = {
    (InFlight.AWAITING_ACK, BrokerFinding.NOT_FOUND): Resolution.MARK_REJECTED,
    (InFlight.AWAITING_ACK, BrokerFinding.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,
    (InFlight.AWAITING_ACK, BrokerFinding.WORKING): Resolution.ESCALATE,
    (InFlight.AWAITING_CANCEL, BrokerFinding.NOT_FOUND): Resolution.MARK_CANCELED,
    (InFlight.AWAITING_CANCEL, BrokerFinding.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,
    (InFlight.AWAITING_CANCEL, BrokerFinding.WORKING): Resolution.ESCALATE,
}


def test_resolution_table_is_total_and_as_documented():
    assert set(RESOLUTION_TABLE) == set(itertools.product(InFlight, BrokerFinding))
    assert RESOLUTION_TABLE == EXPECTED_RESOLUTIONS


# Per finding: the session's order and position, and a snapshot that shows that finding.
AWAITING = {
    InFlight.AWAITING_ACK: ours(status=S.PENDING_NEW),
    InFlight.AWAITING_CANCEL: ours(status=S.PARTIALLY_FILLED, cum="30"),
}
FINDINGS = {
    BrokerFinding.NOT_FOUND: lambda o: snap(positions={"AAPL": o.cum_qty}),
    BrokerFinding.NOT_FOUND_POSITION_DIFFERS: lambda o: snap(positions={"AAPL": o.cum_qty + 10}),
    BrokerFinding.WORKING: lambda o: snap(
        theirs(status=o.status, cum=str(o.cum_qty)), positions={"AAPL": o.cum_qty}
    ),
}


@pytest.mark.parametrize(
    ("in_flight", "finding"),
    list(itertools.product(InFlight, BrokerFinding)),
    ids=lambda v: v.value,
)
def test_every_row_of_the_resolution_table(in_flight, finding):
    order = AWAITING[in_flight]
    [resolution] = resolve_timeouts(
        [("o-1", in_flight)],
        FINDINGS[finding](order),
        open_orders=book(order),
        positions={"AAPL": order.cum_qty},
    )
    assert (resolution.in_flight, resolution.finding) == (in_flight, finding)
    assert resolution.resolution is EXPECTED_RESOLUTIONS[(in_flight, finding)]
    assert resolution.to_payload()["resolution"] == resolution.resolution.value
    assert "o-1" in resolution.detail


@pytest.mark.parametrize(
    ("our_position", "broker_positions", "finding"),
    [
        (None, {}, BrokerFinding.NOT_FOUND),  # neither side ever traded AAPL
        (None, {"AAPL": D("0")}, BrokerFinding.NOT_FOUND),
        (D("30"), {"AAPL": D("30")}, BrokerFinding.NOT_FOUND),
        (D("30"), {"AAPL": D("40")}, BrokerFinding.NOT_FOUND_POSITION_DIFFERS),  # unseen fill
        (D("30"), {"AAPL": D("20")}, BrokerFinding.NOT_FOUND_POSITION_DIFFERS),
        (D("30"), {}, BrokerFinding.NOT_FOUND_POSITION_DIFFERS),  # broker absent is not "30"
        (None, {"AAPL": D("10")}, BrokerFinding.NOT_FOUND_POSITION_DIFFERS),
    ],
)
def test_missing_report_override_for_a_cancel(our_position, broker_positions, finding):
    positions = {} if our_position is None else {"AAPL": our_position}
    [resolution] = resolve_timeouts(
        [("o-1", InFlight.AWAITING_CANCEL)],
        snap(positions=broker_positions),
        open_orders=book(ours(status=S.PENDING_CANCEL)),
        positions=positions,
    )
    assert resolution.finding is finding
    expected = (
        Resolution.MARK_CANCELED if finding is BrokerFinding.NOT_FOUND else Resolution.ESCALATE
    )
    assert resolution.resolution is expected


def test_resolution_detail_says_why():
    [resolution] = resolve_timeouts(
        [("o-1", InFlight.AWAITING_CANCEL)],
        snap(positions={"AAPL": D("40")}),
        open_orders=book(ours(status=S.PENDING_CANCEL, cum="30")),
        positions={"AAPL": D("30")},
    )
    assert resolution.detail == (
        "o-1 (pending_cancel): no canceled or cancel-rejected report; the broker has no open "
        "order o-1; its AAPL position 40 differs from the session's 30: fills the session has "
        "not seen: escalate: an operator must reconcile it"
    )


def test_resolve_keeps_the_given_order_and_refuses_unknown_orders():
    open_orders = book(ours("o-2", status=S.PENDING_NEW), ours("o-1", status=S.PENDING_NEW))
    timeouts = [("o-2", InFlight.AWAITING_ACK), ("o-1", InFlight.AWAITING_CANCEL)]
    resolved = resolve_timeouts(timeouts, snap(), open_orders=open_orders, positions={})
    assert [(r.client_order_id, r.resolution) for r in resolved] == [
        ("o-2", Resolution.MARK_REJECTED),
        ("o-1", Resolution.MARK_CANCELED),
    ]
    with pytest.raises(ValueError, match="o-9"):
        resolve_timeouts([("o-9", InFlight.AWAITING_ACK)], snap(), open_orders={}, positions={})


@pytest.mark.parametrize(
    ("age", "timed_out"), [(0, False), (2, False), (3, True), (4, True), (100, True)]
)
def test_ack_timeout_edge(age, timed_out):
    # K = 3: submitted at step 10, still pending_new after the poll of step 10 + age.
    open_orders = book(ours(status=S.PENDING_NEW, submitted=10))
    found = find_timeouts(open_orders, {}, 10 + age, 3, None)
    assert found == ([("o-1", InFlight.AWAITING_ACK)] if timed_out else [])


@pytest.mark.parametrize(("age", "timed_out"), [(0, False), (1, False), (2, True), (3, True)])
def test_cancel_timeout_edge(age, timed_out):
    # K = 2: cancel sent at step 20, no canceled or cancel-rejected report by step 20 + age.
    open_orders = book(ours(status=S.NEW, submitted=1))
    found = find_timeouts(open_orders, {"o-1": 20}, 20 + age, None, 2)
    assert found == ([("o-1", InFlight.AWAITING_CANCEL)] if timed_out else [])


def test_find_timeouts_rules():
    open_orders = book(
        ours("o-1", status=S.PENDING_NEW, submitted=1),  # ack overdue and cancel overdue: ack
        ours("o-2", status=S.NEW, submitted=1),  # acked: no ack timeout
        ours("o-3", status=S.PENDING_NEW, submitted=9),  # ack not yet due, cancel overdue
        ours("o-4", status=S.PENDING_CANCEL, submitted=1),  # broker says pending: still waiting
        ours("o-5", status=S.PARTIALLY_FILLED, submitted=1),  # no cancel sent
    )
    cancels = {"o-1": 1, "o-3": 5, "o-4": 5, "gone": 1}  # "gone" closed: ignored
    assert find_timeouts(open_orders, cancels, 10, 5, 5) == [
        ("o-1", InFlight.AWAITING_ACK),
        ("o-3", InFlight.AWAITING_CANCEL),
        ("o-4", InFlight.AWAITING_CANCEL),
    ]
    assert find_timeouts(open_orders, cancels, 10, None, None) == []
    with pytest.raises(ValueError, match="ack_timeout_steps"):
        find_timeouts(open_orders, cancels, 10, -1, None)


def test_find_timeouts_is_sorted_whatever_the_book_order():
    orders = [ours(f"o-{i}", status=S.PENDING_NEW, submitted=0) for i in (3, 1, 2)]
    assert [cid for cid, _ in find_timeouts(book(*orders), {}, 5, 1, None)] == [
        "o-1",
        "o-2",
        "o-3",
    ]


# ----------------------------------------------------------------------------- against the mock


def test_cancel_timeout_against_the_mock_broker():
    # The broker ignores the cancel: after the timeout the order is still working there.
    spec = MockBrokerSpec(
        reference_prices={"AAPL": D("100")},
        default=OrderScript(actions=(Ack(),), on_cancel=CancelBehaviour.IGNORE),
    )
    broker, session = MockBroker(spec), SessionBook()
    order = NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=D("100"))
    session.add(order, 1)
    broker.submit(order, 1)
    broker.cancel(CancelOrder(client_order_id="o-1"), 1)
    for step in (1, 2, 3):
        for report in broker.poll(step):
            session.apply(report)
    timeouts = find_timeouts(session.open_orders, {"o-1": 1}, 3, 2, 2)
    assert timeouts == [("o-1", InFlight.AWAITING_CANCEL)]
    [resolution] = resolve_timeouts(
        timeouts, broker.snapshot(3), open_orders=session.open_orders, positions=session.positions
    )
    assert (resolution.finding, resolution.resolution) == (
        BrokerFinding.WORKING,
        Resolution.ESCALATE,
    )
