"""The reconciler, driven directly: differences, the status rule, grace.

Expected tables are written out here independently of the module's tables, so a changed row in
either place fails a test.
"""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.account import AccountSpec, AccountStatement
from peak_trade.execution.broker.fill_script import (
    Ack,
    MockBrokerSpec,
    OrderScript,
    SilentFill,
    Wait,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, OrderStatus, Side
from peak_trade.execution.broker.protocol import BrokerSnapshot
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.reconcile.compare import (
    STATUS_COMPATIBLE,
    Difference,
    DifferenceKind,
    ReconcileState,
    books_agree,
    diff_books,
    reconcile,
)
from peak_trade.execution.live.reconcile.in_flight import (
    InFlight,
    Resolution,
    resolve_timeouts,
)
from tests.execution.live.reconcile.support import book, ours, snap, theirs

K = DifferenceKind
S = OrderStatus
D = Decimal
OPEN = (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE)


# ----------------------------------------------------------------------------- builders


def kinds(differences: list[Difference]) -> list[tuple[DifferenceKind, str]]:
    return [(d.kind, d.key) for d in differences]


def diff(kind: DifferenceKind = K.POSITION_MISMATCH, key: str = "AAPL") -> Difference:
    return Difference(kind=kind, key=key, ours="1", theirs="2")


# ----------------------------------------------------------------------------- diff_books

# (ours open orders, our positions, snapshot, expected (kind, key) in order)
DIFF_CASES = {
    "empty": ({}, {}, snap(), []),
    "in sync working": (book(ours()), {}, snap(theirs()), []),
    "in sync partial with positions": (
        book(ours(status=S.PARTIALLY_FILLED, cum="40")),
        {"AAPL": D("40")},
        snap(theirs(status=S.PARTIALLY_FILLED, cum="40"), positions={"AAPL": D("40")}),
        [],
    ),
    "equal decimals written differently": (
        book(ours(qty="100", cum="0")),
        {"AAPL": D("40")},
        snap(theirs(qty="100.00", cum="0.0"), positions={"AAPL": D("40.000")}),
        [],
    ),
    "flat absent on the broker side": ({}, {"AAPL": D("0")}, snap(), []),
    "flat absent on the session side": ({}, {}, snap(positions={"AAPL": D("0")}), []),
    "pending_new just submitted, not yet at the broker": (
        book(ours(status=S.PENDING_NEW)),
        {},
        snap(),
        [(K.ORDER_UNKNOWN_TO_BROKER, "o-1")],
    ),
    "working order gone at the broker": (
        book(ours(status=S.PARTIALLY_FILLED, cum="10")),
        {"AAPL": D("10")},
        snap(positions={"AAPL": D("10")}),
        [(K.ORDER_UNKNOWN_TO_BROKER, "o-1")],
    ),
    "broker order the session does not know": (
        {},
        {},
        snap(theirs("ghost")),
        [(K.ORDER_UNKNOWN_TO_SESSION, "ghost")],
    ),
    "side differs": (
        book(ours()),
        {},
        snap(theirs(side=Side.SELL)),
        [(K.IDENTITY_MISMATCH, "o-1")],
    ),
    "symbol differs": (
        book(ours()),
        {},
        snap(theirs(symbol="MSFT")),
        [(K.IDENTITY_MISMATCH, "o-1")],
    ),
    "order_qty differs": (
        book(ours(qty="100")),
        {},
        snap(theirs(qty="50")),
        [(K.QUANTITY_MISMATCH, "o-1")],
    ),
    "session counts a fill the broker does not show": (
        book(ours(status=S.PARTIALLY_FILLED, cum="20")),
        {"AAPL": D("20")},
        snap(theirs(status=S.PARTIALLY_FILLED, cum="10"), positions={"AAPL": D("20")}),
        [(K.QUANTITY_MISMATCH, "o-1")],
    ),
    "leaves differ with equal cum": (
        book(ours(leaves="90")),
        {},
        snap(theirs(leaves="100")),
        [(K.QUANTITY_MISMATCH, "o-1")],
    ),
    "broker cum above ours is a missing report, not a quantity mismatch": (
        book(ours(status=S.PARTIALLY_FILLED, cum="10")),
        {"AAPL": D("10")},
        snap(theirs(status=S.PARTIALLY_FILLED, cum="30"), positions={"AAPL": D("30")}),
        [(K.MISSING_REPORT, "o-1"), (K.POSITION_MISMATCH, "AAPL")],
    ),
    "missing report with order_qty differing too": (
        book(ours(status=S.PARTIALLY_FILLED, cum="10")),
        {"AAPL": D("30")},
        snap(theirs(status=S.PARTIALLY_FILLED, qty="50", cum="30"), positions={"AAPL": D("30")}),
        [(K.QUANTITY_MISMATCH, "o-1"), (K.MISSING_REPORT, "o-1")],
    ),
    "session ahead: acked here, pending_new at the broker": (
        book(ours(status=S.NEW)),
        {},
        snap(theirs(status=S.PENDING_NEW)),
        [(K.STATUS_MISMATCH, "o-1")],
    ),
    "closed status listed open at the broker": (
        book(ours(status=S.NEW)),
        {},
        snap(theirs(status=S.CANCELED, leaves="0")),
        [(K.QUANTITY_MISMATCH, "o-1"), (K.STATUS_MISMATCH, "o-1")],
    ),
    "broker working while our cancel is pending: fine": (
        book(ours(status=S.PENDING_CANCEL)),
        {},
        snap(theirs(status=S.NEW)),
        [],
    ),
    "position differs": (
        {},
        {"AAPL": D("100")},
        snap(positions={"AAPL": D("90")}),
        [(K.POSITION_MISMATCH, "AAPL")],
    ),
    "session position where the broker lists none": (
        {},
        {"AAPL": D("100")},
        snap(),
        [(K.POSITION_MISMATCH, "AAPL")],
    ),
    "broker position where the session lists none": (
        {},
        {},
        snap(positions={"MSFT": D("-5")}),
        [(K.POSITION_MISMATCH, "MSFT")],
    ),
    "many at once, sorted by kind then key": (
        book(
            ours("o-3", status=S.PENDING_NEW),
            ours("o-1", status=S.PENDING_NEW),
            ours("o-2", status=S.NEW),
            ours("o-4", status=S.PARTIALLY_FILLED, cum="5"),
        ),
        {"MSFT": D("1"), "AAPL": D("5")},
        snap(
            theirs("o-4", status=S.PARTIALLY_FILLED, cum="7"),
            theirs("o-2", status=S.PENDING_NEW),
            theirs("z-9"),
            theirs("a-0"),
            positions={"AAPL": D("7"), "IBM": D("3")},
        ),
        [
            (K.ORDER_UNKNOWN_TO_BROKER, "o-1"),
            (K.ORDER_UNKNOWN_TO_BROKER, "o-3"),
            (K.ORDER_UNKNOWN_TO_SESSION, "a-0"),
            (K.ORDER_UNKNOWN_TO_SESSION, "z-9"),
            (K.MISSING_REPORT, "o-4"),
            (K.STATUS_MISMATCH, "o-2"),
            (K.POSITION_MISMATCH, "AAPL"),
            (K.POSITION_MISMATCH, "IBM"),
            (K.POSITION_MISMATCH, "MSFT"),
        ],
    ),
}


@pytest.mark.parametrize(
    ("open_orders", "positions", "snapshot", "expected"), DIFF_CASES.values(), ids=DIFF_CASES.keys()
)
def test_diff_books(open_orders, positions, snapshot, expected):
    assert kinds(diff_books(open_orders, positions, snapshot)) == expected


def _statement(cash: str, currency: str = "USD") -> AccountStatement:
    terms = AccountSpec(currency=currency, cash=D("1000"))
    return AccountStatement(terms=terms, cash=D(cash), buying_power=D(cash), fees_paid=D(0))


# (session cash, broker account) -> the differences: cash is compared like a position.
CASH_CASES = {
    "cash agrees": (("USD", D("999.50")), _statement("999.500"), []),
    "cash differs": (("USD", D("1000")), _statement("999.50"), [(K.CASH_MISMATCH, "USD")]),
    "broker reports no account": (("USD", D("1000")), None, [(K.CASH_MISMATCH, "USD")]),
    "currency differs": (("USD", D("1000")), _statement("1000", "EUR"), [(K.CASH_MISMATCH, "USD")]),
}


@pytest.mark.parametrize(("cash", "statement", "expected"), CASH_CASES.values(), ids=CASH_CASES)
def test_cash_is_compared_like_positions(cash, statement, expected):
    snapshot = BrokerSnapshot(step=1, account=statement)
    assert kinds(diff_books({}, {}, snapshot, cash)) == expected
    assert books_agree({}, {}, snapshot, cash) is (expected == [])


def test_no_session_account_compares_no_cash():
    snapshot = BrokerSnapshot(step=1, account=_statement("5"))
    assert diff_books({}, {}, snapshot) == []
    assert books_agree({}, {}, snapshot)


def test_cash_mismatch_names_both_sides():
    (found,) = diff_books(
        {}, {}, BrokerSnapshot(step=1, account=_statement("5999.00")), ("USD", D("10000"))
    )
    assert found.to_payload() == {
        "kind": "cash_mismatch",
        "key": "USD",
        "ours": "10000 USD",
        "theirs": "5999.00 USD",
    }


def test_every_kind_is_exercised_by_the_table():
    seen = {kind for *_, expected in DIFF_CASES.values() for kind, _ in expected}
    seen |= {kind for *_, expected in CASH_CASES.values() for kind, _ in expected}
    assert seen == set(DifferenceKind)


def test_difference_texts_name_both_sides():
    found = diff_books(
        book(ours(status=S.PARTIALLY_FILLED, cum="10")),
        {"AAPL": D("10")},
        snap(theirs(status=S.PARTIALLY_FILLED, cum="30"), positions={"MSFT": D("2")}),
    )
    assert [d.to_payload() for d in found] == [
        {
            "kind": "missing_report",
            "key": "o-1",
            "ours": "cum_qty=10",
            "theirs": "cum_qty=30 (20 filled without a report)",
        },
        {
            "kind": "position_mismatch",
            "key": "AAPL",
            "ours": "10",
            "theirs": "absent (compared as 0)",
        },
        {
            "kind": "position_mismatch",
            "key": "MSFT",
            "ours": "absent (compared as 0)",
            "theirs": "2",
        },
    ]


# ----------------------------------------------------------------------------- status rule

# The (ours, theirs) pairs that are NOT a status mismatch, written out independently.
FINE = {
    (S.PENDING_NEW, S.PENDING_NEW),
    (S.PENDING_NEW, S.NEW),
    (S.PENDING_NEW, S.PARTIALLY_FILLED),
    (S.PENDING_NEW, S.PENDING_CANCEL),
    (S.PENDING_NEW, S.PENDING_REPLACE),
    (S.NEW, S.NEW),
    (S.NEW, S.PARTIALLY_FILLED),
    (S.NEW, S.PENDING_CANCEL),
    (S.NEW, S.PENDING_REPLACE),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, S.PENDING_CANCEL),
    (S.PARTIALLY_FILLED, S.PENDING_REPLACE),
    (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_CANCEL, S.NEW),
    (S.PENDING_CANCEL, S.PARTIALLY_FILLED),
    (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.PENDING_REPLACE, S.NEW),
    (S.PENDING_REPLACE, S.PARTIALLY_FILLED),
    # FIX working statuses beyond those: agree, or the session one report behind
    (S.NEW, S.STOPPED),
    (S.PARTIALLY_FILLED, S.STOPPED),
    (S.STOPPED, S.STOPPED),
    (S.STOPPED, S.PENDING_CANCEL),
    (S.NEW, S.SUSPENDED),
    (S.PARTIALLY_FILLED, S.SUSPENDED),
    (S.SUSPENDED, S.SUSPENDED),
    (S.SUSPENDED, S.NEW),
    (S.SUSPENDED, S.PARTIALLY_FILLED),
    (S.NEW, S.DONE_FOR_DAY),
    (S.PARTIALLY_FILLED, S.DONE_FOR_DAY),
    (S.DONE_FOR_DAY, S.DONE_FOR_DAY),
    (S.DONE_FOR_DAY, S.NEW),
    (S.DONE_FOR_DAY, S.PARTIALLY_FILLED),
}


def test_status_table_is_the_documented_rule():
    assert set(STATUS_COMPATIBLE) == FINE


@pytest.mark.parametrize(
    ("ours_status", "theirs_status"),
    list(itertools.product(OrderStatus, OrderStatus)),
    ids=lambda s: s.value,
)
def test_status_pairs(ours_status, theirs_status):
    # Equal quantities on both sides, so only the status rule can produce a difference.
    found = diff_books(book(ours(status=ours_status)), {}, snap(theirs(status=theirs_status)))
    expected = [] if (ours_status, theirs_status) in FINE else [(K.STATUS_MISMATCH, "o-1")]
    assert kinds(found) == expected


# ----------------------------------------------------------------------------- never flat


def test_a_missing_report_is_never_flat():
    # The broker filled o-1 completely and closed it; every report was lost. The session still
    # shows it working, flat. Nothing may read as "flat, fine".
    found = diff_books(book(ours(status=S.NEW)), {}, snap(positions={"AAPL": D("100")}))
    assert kinds(found) == [(K.ORDER_UNKNOWN_TO_BROKER, "o-1"), (K.POSITION_MISMATCH, "AAPL")]
    position = found[1]
    assert (position.ours, position.theirs) == ("absent (compared as 0)", "100")
    # And a timeout on it escalates instead of marking it rejected (see the resolution tests).
    [resolution] = resolve_timeouts(
        [("o-1", InFlight.AWAITING_ACK)],
        snap(positions={"AAPL": D("100")}),
        open_orders=book(ours(status=S.PENDING_NEW)),
        positions={},
    )
    assert resolution.resolution is Resolution.ESCALATE


def test_an_empty_broker_position_map_is_not_agreement():
    found = diff_books({}, {"AAPL": D("100"), "MSFT": D("-3")}, snap())
    assert kinds(found) == [(K.POSITION_MISMATCH, "AAPL"), (K.POSITION_MISMATCH, "MSFT")]


@pytest.mark.parametrize(
    ("positions", "snapshot", "where"),
    [
        ({"AAPL": 1.5}, snap(), "session position of AAPL"),
        ({}, snap(positions={"AAPL": 3}), "broker position of AAPL"),
        ({}, snap(positions={"AAPL": D("NaN")}), "broker position of AAPL"),
    ],
    ids=["float", "int", "nan"],
)
def test_quantities_must_be_finite_decimals(positions, snapshot, where):
    with pytest.raises(TypeError, match=where):
        diff_books({}, positions, snapshot)


def test_a_snapshot_listing_one_order_twice_is_refused():
    with pytest.raises(ValueError, match="o-1 twice"):
        diff_books(book(ours()), {}, snap(theirs(), theirs(cum="10")))


# ----------------------------------------------------------------------------- grace


def verdict(outcome) -> str:
    if outcome.escalated:
        return "escalated"
    if outcome.new_pending:
        return "new"
    if outcome.cleared:
        return "cleared"
    return "pending" if outcome.state.first_seen else "-"


def run(grace: int, steps: range, present: set[int]) -> dict[int, str]:
    """Observe one difference at the steps in `present`; say per step what reconcile made of it."""
    state, verdicts = ReconcileState(), {}
    for step in steps:
        outcome = reconcile(state, [diff()] if step in present else [], step, grace)
        state = outcome.state
        verdicts[step] = verdict(outcome)
    return verdicts


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        (0, ["escalated", "escalated", "escalated", "escalated", "escalated"]),
        (1, ["new", "escalated", "escalated", "escalated", "escalated"]),
        (2, ["new", "pending", "escalated", "escalated", "escalated"]),
        (3, ["new", "pending", "pending", "escalated", "escalated"]),
        (5, ["new", "pending", "pending", "pending", "pending"]),
    ],
)
def test_grace_edge_is_age_at_least_grace(grace, expected):
    # First seen at step 10: age 0..4. Pending while age < grace, escalated from age == grace.
    verdicts = run(grace, range(10, 15), present=set(range(10, 15)))
    assert list(verdicts.values()) == expected


def test_just_submitted_order_stays_pending_within_grace():
    submitted = book(ours(status=S.PENDING_NEW, submitted=5))
    first = reconcile(ReconcileState(), diff_books(submitted, {}, snap()), 5, 2)
    assert kinds(list(first.new_pending)) == [(K.ORDER_UNKNOWN_TO_BROKER, "o-1")]
    assert first.escalated == ()
    second = reconcile(first.state, diff_books(submitted, {}, snap()), 6, 2)
    assert (second.new_pending, second.escalated) == ((), ())
    # The broker lists it at step 7 (ack still in flight): the difference clears.
    third = reconcile(second.state, diff_books(submitted, {}, snap(theirs())), 7, 2)
    assert third.cleared == ((K.ORDER_UNKNOWN_TO_BROKER, "o-1"),)
    assert (third.new_pending, third.escalated, dict(third.state.first_seen)) == ((), (), {})


def test_grace_zero_escalates_at_first_sight_and_never_lists_it_as_pending():
    outcome = reconcile(ReconcileState(), [diff()], 3, 0)
    assert outcome.new_pending == ()
    assert [(d.first_seen_step, d.age) for d in outcome.escalated] == [(3, 0)]


def test_escalated_difference_carries_its_age():
    state = reconcile(ReconcileState(), [diff()], 7, 2).state
    state = reconcile(state, [diff()], 8, 2).state
    outcome = reconcile(state, [diff()], 9, 2)
    [escalated] = outcome.escalated
    assert escalated.to_payload() == {
        "kind": "position_mismatch",
        "key": "AAPL",
        "ours": "1",
        "theirs": "2",
        "first_seen_step": 7,
        "age": 2,
    }
    assert outcome.new_pending == ()


def test_age_counts_steps_not_reconciliations():
    # Reconciling every 5 steps with grace 2: the second sighting is already 5 steps old.
    state = reconcile(ReconcileState(), [diff()], 5, 2).state
    assert [d.age for d in reconcile(state, [diff()], 10, 2).escalated] == [5]


def test_cleared_differences_leave_the_state():
    first = reconcile(ReconcileState(), [diff(key="AAPL"), diff(key="MSFT")], 1, 2)
    second = reconcile(first.state, [diff(key="MSFT")], 2, 2)
    assert second.cleared == ((K.POSITION_MISMATCH, "AAPL"),)
    assert dict(second.state.first_seen) == {(K.POSITION_MISMATCH, "MSFT"): 1}
    third = reconcile(second.state, [], 3, 2)
    assert third.cleared == ((K.POSITION_MISMATCH, "MSFT"),)
    assert dict(third.state.first_seen) == {}


def test_a_difference_that_comes_back_starts_a_new_grace():
    verdicts = run(2, range(1, 7), present={1, 2, 4, 5, 6})
    assert verdicts == {
        1: "new",
        2: "pending",
        3: "cleared",
        4: "new",
        5: "pending",
        6: "escalated",
    }


def test_state_stays_bounded_over_a_long_run():
    state, largest = ReconcileState(), 0
    for step in range(1, 2001):
        present = [diff(key=f"S{(step + i) % 997}") for i in range(3)]
        state = reconcile(state, present, step, 5).state
        largest = max(largest, len(state.first_seen))
    assert largest == 3


def test_reconcile_is_deterministic_whatever_the_input_order():
    differences = [diff(kind, f"k{i}") for kind in DifferenceKind for i in range(3)]
    baseline = reconcile(ReconcileState(), differences, 1, 0)
    for seed in range(5):
        shuffled = differences[:]
        random.Random(seed).shuffle(shuffled)
        assert reconcile(ReconcileState(), shuffled, 1, 0) == baseline
    ranks = [list(DifferenceKind).index(d.kind) for d in baseline.escalated]
    assert ranks == sorted(ranks)


def test_reconcile_never_touches_its_inputs():
    state = reconcile(ReconcileState(), [diff()], 1, 2).state
    before = dict(state.first_seen)
    reconcile(state, [], 2, 2)
    assert dict(state.first_seen) == before
    with pytest.raises(TypeError):
        state.first_seen[(K.MISSING_REPORT, "x")] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("step", "grace", "message"),
    [(4, 2, "clock went backwards"), (6, -1, "grace_steps"), (6, True, "grace_steps")],
)
def test_reconcile_refuses_bad_arguments(step, grace, message):
    state = reconcile(ReconcileState(), [diff()], 5, 2).state
    with pytest.raises(ValueError, match=message):
        reconcile(state, [diff()], step, grace)


def test_outcome_payload():
    state = reconcile(ReconcileState(), [diff(K.MISSING_REPORT, "o-1")], 1, 2).state
    outcome = reconcile(state, [diff(key="AAPL")], 2, 2)
    assert outcome.to_payload() == {
        "new_pending": [
            {
                "kind": "position_mismatch",
                "key": "AAPL",
                "ours": "1",
                "theirs": "2",
                "first_seen_step": 2,
                "age": 0,
            }
        ],
        "escalated": [],
        "cleared": [{"kind": "missing_report", "key": "o-1"}],
    }
    assert outcome.state.to_payload() == [
        {"kind": "position_mismatch", "key": "AAPL", "first_seen_step": 2}
    ]


# ----------------------------------------------------------------------------- against the mock


def test_against_the_mock_broker():
    # o-1 runs the default script [ack, fill]; o-2 is acked, then fills 10 with its report lost.
    spec = MockBrokerSpec(
        reference_prices={"AAPL": D("100")},
        by_order={"o-2": OrderScript(actions=(Ack(), SilentFill(qty=D("10")), Wait(steps=50)))},
    )
    broker, session, state = MockBroker(spec), SessionBook(), ReconcileState()
    seen: dict[int, tuple[list, list]] = {}
    for step in range(1, 5):
        if step == 1:
            for cid in ("o-1", "o-2"):
                order = NewOrder(client_order_id=cid, symbol="AAPL", side=Side.BUY, qty=D("100"))
                session.add(order, step)
                broker.submit(order, step)
        for report in broker.poll(step):
            session.apply(report)
        found = diff_books(session.open_orders, session.positions, broker.snapshot(step))
        outcome = reconcile(state, found, step, 2)
        state = outcome.state
        seen[step] = (kinds(list(outcome.new_pending)), kinds(list(outcome.escalated)))
    missed = [(K.MISSING_REPORT, "o-2"), (K.POSITION_MISMATCH, "AAPL")]
    assert seen == {1: ([], []), 2: (missed, []), 3: ([], []), 4: ([], missed)}


# ----------------------------------------------------------------------------- property

quantities = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)


@st.composite
def synced_books(draw):
    orders = {}
    for i in range(draw(st.integers(0, 6))):
        qty = draw(quantities.filter(lambda q: q > 0))
        cum = draw(st.decimals(min_value=0, max_value=qty, places=2))
        status = draw(st.sampled_from(OPEN))
        side = draw(st.sampled_from(Side))
        symbol = draw(st.sampled_from(["AAPL", "MSFT", "BRK.B"]))
        cid = f"o-{i}"
        orders[cid] = (symbol, side, qty, cum, status)
    symbols = draw(st.lists(st.sampled_from(["AAPL", "MSFT", "IBM", "X"]), unique=True))
    positions = {s: draw(st.decimals(min_value=-1000, max_value=1000, places=3)) for s in symbols}
    return orders, positions, draw(st.randoms(use_true_random=False))


@settings(max_examples=200, deadline=None)
@given(synced_books())
def test_property_a_book_equal_to_the_snapshot_has_no_differences(data):
    orders, positions, rnd = data
    open_orders = {
        cid: ours(cid, status=st_, qty=str(q), cum=str(c), symbol=s, side=side)
        for cid, (s, side, q, c, st_) in orders.items()
    }
    views = [
        theirs(cid, status=st_, qty=str(q), cum=str(c), symbol=s, side=side)
        for cid, (s, side, q, c, st_) in orders.items()
    ]
    rnd.shuffle(views)
    # A zero position may be listed on one side only: still in sync.
    theirs_positions = {s: q for s, q in positions.items() if q != 0 or rnd.random() < 0.5}
    snapshot = BrokerSnapshot(step=1, open_orders=tuple(views), positions=theirs_positions)
    assert diff_books(open_orders, positions, snapshot) == []


@settings(max_examples=100, deadline=None)
@given(synced_books(), st.integers(0, 3))
def test_property_output_order_does_not_depend_on_input_order(data, drift):
    orders, positions, rnd = data
    open_orders = {
        cid: ours(cid, status=st_, qty=str(q), cum=str(c), symbol=s, side=side)
        for cid, (s, side, q, c, st_) in orders.items()
    }
    # Perturb: drop some broker views, shift some positions, add an unknown one.
    views = [
        theirs(cid, status=S.PENDING_NEW, qty=str(q), cum=str(c + drift), symbol=s, side=side)
        for cid, (s, side, q, c, st_) in orders.items()
        if rnd.random() < 0.7
    ] + [theirs("ghost")]
    moved = {s: q + drift for s, q in positions.items()}
    first = diff_books(
        open_orders, positions, BrokerSnapshot(step=1, open_orders=tuple(views), positions=moved)
    )
    rnd.shuffle(views)
    reordered_book = dict(reversed(list(open_orders.items())))
    second = diff_books(
        reordered_book,
        dict(reversed(list(positions.items()))),
        BrokerSnapshot(step=1, open_orders=tuple(views), positions=moved),
    )
    assert first == second
    keys = [(list(DifferenceKind).index(d.kind), d.key) for d in first]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
