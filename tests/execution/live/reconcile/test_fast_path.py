"""The reconciliation short-cuts against the full comparison they stand in for.

`books_agree` may only say True where `diff_books` finds nothing (and does not raise); the pass
and `reconcile` must hand out exactly what the full path would. Each property here compares the
short-cut with the full path on the same inputs, also for inputs that only just disagree.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.fill_script import (
    Ack,
    Fill,
    MockBrokerSpec,
    OrderScript,
    PositionDrift,
    SilentFill,
    Wait,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import CancelOrder, NewOrder, OrderStatus, Side
from peak_trade.execution.broker.protocol import BrokerOrderView, BrokerSnapshot
from peak_trade.execution.live.book import OrderState, SessionBook
from peak_trade.execution.live.reconcile import one_pass as reconcile_pass
from peak_trade.execution.live.reconcile.compare import (
    NOTHING_FOUND,
    Difference,
    DifferenceKind,
    ReconcileState,
    books_agree,
    diff_books,
    reconcile,
)
from peak_trade.execution.live.reconcile.config import ReconcilerConfig
from peak_trade.execution.live.reconcile.in_flight import find_timeouts
from peak_trade.execution.live.reconcile.one_pass import PassEffects, reconciliation_pass
from tests.execution.live.reconcile.support import ours, theirs

S = OrderStatus
D = Decimal
OPEN = (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE)
SYMBOLS = ("AAPL", "MSFT", "IBM")

# Values a quantity may take when perturbed: nearby decimals, and the malformed ones diff_books
# refuses with a TypeError (float, int, None, NaN, sNaN, infinity).
ODD_VALUES = (
    1.0,
    1,
    0,
    0.0,
    None,
    D("NaN"),
    D("sNaN"),
    D("Infinity"),
    D("-Infinity"),
)


def full_diff(open_orders, positions, snapshot):
    """diff_books' verdict: its differences, or the type of what it raised."""
    try:
        return diff_books(open_orders, positions, snapshot)
    except Exception as exc:
        return type(exc)


def assert_agreement_is_exact(open_orders, positions, snapshot):
    verdict = full_diff(open_orders, positions, snapshot)
    # Sound: True only where diff_books finds nothing. Complete: where diff_books finds
    # nothing, the short-cut says so too (else it would save nothing).
    assert books_agree(open_orders, positions, snapshot) is (verdict == [])


@st.composite
def near_synced_books(draw):
    """Both sides built from one truth, then perturbed: most examples agree, the rest differ by
    one field, one order, one position or one malformed value."""
    orders = {}
    for i in range(draw(st.integers(0, 4))):
        qty = draw(st.decimals(min_value=1, max_value=1000, places=2))
        cum = draw(st.decimals(min_value=0, max_value=qty, places=2))
        orders[f"o-{i}"] = {
            "symbol": draw(st.sampled_from(SYMBOLS)),
            "side": draw(st.sampled_from(Side)),
            "qty": str(qty),
            "cum": str(cum),
            "status": draw(st.sampled_from(OPEN)),
        }
    positions = {
        s: draw(st.decimals(min_value=-500, max_value=500, places=1))
        for s in draw(st.lists(st.sampled_from(SYMBOLS), unique=True))
    }
    open_orders = {cid: ours(cid, **fields) for cid, fields in orders.items()}
    views = [theirs(cid, **fields) for cid, fields in orders.items()]
    theirs_positions = dict(positions)
    perturbation = draw(
        st.sampled_from(
            [
                "none",
                "view_field",
                "our_field",
                "our_status",
                "drop_view",
                "extra_view",
                "duplicate_view",
                "drop_order",
                "position",
                "zero_position_one_side",
                "odd_position",
                "odd_their_position",
            ]
        )
    )
    if perturbation in ("view_field", "our_field", "our_status") and orders:
        i = draw(st.integers(0, len(views) - 1))
        cid = views[i].client_order_id
        if perturbation == "our_status":
            open_orders[cid] = _replace(open_orders[cid], status=draw(st.sampled_from(S)))
        else:
            name = draw(
                st.sampled_from(["order_qty", "cum_qty", "leaves_qty", "symbol", "side", "status"])
            )
            value = _perturbed(draw, name, getattr(views[i], name))
            if perturbation == "view_field":
                views[i] = _replace(views[i], **{name: value})
            elif name != "status":
                open_orders[cid] = _replace(open_orders[cid], **{name: value})
    elif perturbation == "drop_view" and views:
        views.pop(draw(st.integers(0, len(views) - 1)))
    elif perturbation == "extra_view":
        views.append(theirs("ghost", symbol=draw(st.sampled_from(SYMBOLS))))
    elif perturbation == "duplicate_view" and views:
        views.append(views[draw(st.integers(0, len(views) - 1))])
    elif perturbation == "drop_order" and open_orders:
        open_orders.pop(draw(st.sampled_from(sorted(open_orders))))
    elif perturbation == "position":
        symbol = draw(st.sampled_from(SYMBOLS))
        theirs_positions[symbol] = theirs_positions.get(symbol, D(0)) + draw(
            st.sampled_from([D("0.1"), D("-3"), D(0)])
        )
    elif perturbation == "zero_position_one_side":
        side = draw(st.sampled_from([positions, theirs_positions]))
        side[draw(st.sampled_from(SYMBOLS))] = draw(st.sampled_from([D(0), D("-0"), D("0.00")]))
    elif perturbation == "odd_position":
        positions[draw(st.sampled_from(SYMBOLS))] = draw(st.sampled_from(ODD_VALUES))
    elif perturbation == "odd_their_position":
        theirs_positions[draw(st.sampled_from(SYMBOLS))] = draw(st.sampled_from(ODD_VALUES))
    views = draw(st.permutations(views))
    snapshot = BrokerSnapshot(step=1, open_orders=tuple(views), positions=theirs_positions)
    return open_orders, positions, snapshot


def _replace(obj, **changes):
    return replace(obj, **changes)


def _perturbed(draw, name, value):
    if name == "symbol":
        return draw(st.sampled_from([s for s in SYMBOLS if s != value]))
    if name == "side":
        return Side.SELL if value is Side.BUY else Side.BUY
    if name == "status":
        return draw(st.sampled_from(S))
    return draw(
        st.sampled_from(
            [value + D("0.01"), value - D("0.01"), value * 2, D(str(value) + "0"), *ODD_VALUES]
        )
    )


@settings(max_examples=400, deadline=None)
@given(near_synced_books())
def test_property_books_agree_exactly_when_diff_books_finds_nothing(data):
    assert_agreement_is_exact(*data)


def test_books_agree_on_equal_books_written_differently():
    # Equal values written with other exponents (100 vs 100.00) agree, as they do in diff_books.
    open_orders = {"o-1": ours("o-1", qty="100", cum="40")}
    view = theirs("o-1", qty="100.00", cum="40.0", leaves="60.000")
    snapshot = BrokerSnapshot(
        step=1, open_orders=(view,), positions={"AAPL": D("40.0"), "IBM": D("0")}
    )
    assert_agreement_is_exact(open_orders, {"AAPL": D("40"), "MSFT": D("-0")}, snapshot)
    assert books_agree(open_orders, {"AAPL": D("40"), "MSFT": D("-0")}, snapshot)


@pytest.mark.parametrize("odd", ODD_VALUES)
@pytest.mark.parametrize(
    "where",
    [
        "order_qty",
        "cum_qty",
        "leaves_qty",
        "their_position",
        "our_position",
        "their_only_position",
        "our_only_position",
    ],
)
def test_books_agree_refuses_every_malformed_value(odd, where):
    # Even when both sides hold the same odd value, or the other side lists no such symbol (an
    # int 0 there equals the 0 an absent position is compared as): diff_books raises, so no
    # agreement.
    o, v = ours("o-1"), theirs("o-1")
    positions, theirs_positions = {"AAPL": D(0)}, {"AAPL": D(0)}
    if where == "their_position":
        theirs_positions["AAPL"] = odd
    elif where == "our_position":
        positions["AAPL"] = odd
    elif where == "their_only_position":
        theirs_positions["IBM"] = odd
    elif where == "our_only_position":
        positions["IBM"] = odd
    else:
        o, v = _replace(o, **{where: odd}), _replace(v, **{where: odd})
    snapshot = BrokerSnapshot(step=1, open_orders=(v,), positions=theirs_positions)
    assert books_agree({"o-1": o}, positions, snapshot) is False
    assert full_diff({"o-1": o}, positions, snapshot) is TypeError


@pytest.mark.parametrize(
    ("field", "ours_value", "theirs_value"),
    [
        ("order_qty", "100", "101"),
        ("cum_qty", "10", "20"),  # the broker filled more: MISSING_REPORT
        ("cum_qty", "20", "10"),  # the session counts more: QUANTITY_MISMATCH
        ("leaves_qty", "90", "80"),
    ],
)
def test_books_agree_refuses_one_quantity_apart(field, ours_value, theirs_value):
    # Only the one field differs (leaves are given, not derived), so only its check can see it.
    o = _replace(ours("o-1", cum="10", leaves="90"), **{field: D(ours_value)})
    v = _replace(theirs("o-1", cum="10", leaves="90"), **{field: D(theirs_value)})
    snapshot = BrokerSnapshot(step=1, open_orders=(v,), positions={})
    assert full_diff({"o-1": o}, {}, snapshot) != []
    assert books_agree({"o-1": o}, {}, snapshot) is False


def test_books_agree_refuses_a_snapshot_listing_an_order_twice():
    open_orders = {"o-1": ours("o-1"), "o-2": ours("o-2")}
    snapshot = BrokerSnapshot(step=1, open_orders=(theirs("o-1"), theirs("o-1")), positions={})
    assert books_agree(open_orders, {}, snapshot) is False
    assert full_diff(open_orders, {}, snapshot) is ValueError


def test_books_agree_never_raises():
    class Broken:
        def __len__(self):
            return 1

        def __iter__(self):
            raise RuntimeError("unreadable")

    snapshot = BrokerSnapshot(step=1, open_orders=Broken(), positions={})  # type: ignore[arg-type]
    assert books_agree({"o-1": ours("o-1")}, {}, snapshot) is False


# ----------------------------------------------------------------------------- against the mock


def test_property_agreement_is_exact_along_mock_sessions():
    # The mock's own book, with silent fills, drift, cancels and partial fills, step by step.
    spec = MockBrokerSpec(
        reference_prices={"AAPL": D("100"), "MSFT": D("50")},
        by_order={
            "o-3": OrderScript(actions=(Ack(), SilentFill(qty=D("10")), Wait(steps=3), Fill())),
            "o-5": OrderScript(actions=(Ack(), Fill(qty=D("30")), Wait(steps=4))),
            "o-6": OrderScript(actions=(Wait(steps=2), Ack())),
        },
        position_drift=(PositionDrift(from_step=17, symbol="MSFT", qty=D("5")),),
    )
    broker, session = MockBroker(spec), SessionBook()
    agreed = disagreed = 0
    for step in range(1, 25):
        if step <= 8:
            side = Side.BUY if step % 2 else Side.SELL
            order = NewOrder(
                client_order_id=f"o-{step}",
                symbol="AAPL" if step % 3 else "MSFT",
                side=side,
                qty=D(100),
            )
            session.add(order, step)
            broker.submit(order, step)
        if step == 9:
            broker.cancel(CancelOrder(client_order_id="o-5"), step)
        for report in broker.poll(step):
            session.apply(report)
        snapshot = broker.snapshot(step)
        assert_agreement_is_exact(session.open_orders, session.positions, snapshot)
        if books_agree(session.open_orders, session.positions, snapshot):
            agreed += 1
        else:
            disagreed += 1
    assert agreed
    assert disagreed


# ----------------------------------------------------------------------------- reconcile


@pytest.mark.parametrize("step", [0, 1, 10**6])
@pytest.mark.parametrize("grace", [0, 2])
def test_reconcile_with_nothing_found_and_nothing_pending(step, grace):
    for state in (ReconcileState(), NOTHING_FOUND.state):
        outcome = reconcile(state, [], step, grace)
        assert outcome == NOTHING_FOUND
        assert (outcome.new_pending, outcome.escalated, outcome.cleared) == ((), (), ())
        assert dict(outcome.state.first_seen) == {}
        assert outcome.to_payload() == {"new_pending": [], "escalated": [], "cleared": []}
    with pytest.raises(TypeError):  # the shared state cannot be written through
        NOTHING_FOUND.state.first_seen[(DifferenceKind.MISSING_REPORT, "x")] = 1  # type: ignore[index]


@pytest.mark.parametrize(("step", "grace"), [(1, -1), (1, True), (1.5, 2), (True, 2)])
def test_reconcile_short_cut_still_refuses_bad_arguments(step, grace):
    with pytest.raises(ValueError, match="whole number"):
        reconcile(ReconcileState(), [], step, grace)


def test_reconcile_with_nothing_found_clears_what_was_pending():
    pending = Difference(kind=DifferenceKind.POSITION_MISMATCH, key="AAPL", ours="1", theirs="2")
    state = reconcile(ReconcileState(), [pending], 3, 2).state
    outcome = reconcile(state, [], 4, 2)
    assert outcome.cleared == ((DifferenceKind.POSITION_MISMATCH, "AAPL"),)
    assert dict(outcome.state.first_seen) == {}


# ----------------------------------------------------------------------------- the pass


def full_pass(**kwargs) -> PassEffects:
    """The pass with the agreement short-cut switched off: diff_books decides every step."""
    with mock.patch.object(reconcile_pass, "books_agree", return_value=False):
        return reconciliation_pass(**kwargs)


timeouts = st.one_of(st.none(), st.integers(1, 3))


@settings(max_examples=300, deadline=None)
@given(
    near_synced_books(),
    st.integers(1, 3),
    st.integers(0, 3),
    timeouts,
    timeouts,
    st.integers(1, 12),
    st.dictionaries(st.sampled_from([f"o-{i}" for i in range(5)]), st.integers(0, 12)),
    st.lists(
        st.sampled_from(
            [
                (DifferenceKind.POSITION_MISMATCH, "AAPL"),
                (DifferenceKind.ORDER_UNKNOWN_TO_BROKER, "o-1"),
                (DifferenceKind.MISSING_REPORT, "o-0"),
            ]
        ),
        unique=True,
    ),
)
def test_property_the_pass_equals_the_full_pass(
    data, every, grace, ack_timeout, cancel_timeout, step, cancels, pending
):
    open_orders, positions, snapshot = data
    # Orders submitted at step 1 (the support default): the ack timeout can fire.
    config = ReconcilerConfig(
        every_steps=every,
        grace_steps=grace,
        ack_timeout_steps=ack_timeout,
        cancel_timeout_steps=cancel_timeout,
    )
    state = ReconcileState(first_seen={ident: max(0, step - 1) for ident in pending})
    kwargs = {
        "config": config,
        "state": state,
        "open_orders": open_orders,
        "positions": positions,
        "cancel_sent_steps": {k: min(v, step) for k, v in cancels.items()},
        "snapshot": snapshot,
        "step": step,
    }
    try:
        expected = full_pass(**kwargs)
    except Exception as exc:
        with pytest.raises(type(exc)):
            reconciliation_pass(**kwargs)
        return
    assert reconciliation_pass(**kwargs) == expected


def test_a_quiet_pass_hands_out_the_shared_effects():
    config = ReconcilerConfig()
    snapshot = BrokerSnapshot(step=1, open_orders=(), positions={})
    kwargs = {
        "config": config,
        "open_orders": {},
        "positions": {},
        "cancel_sent_steps": {},
        "snapshot": snapshot,
        "step": 1,
    }
    first = reconciliation_pass(state=ReconcileState(), **kwargs)
    second = reconciliation_pass(state=first.state, **kwargs)
    assert first == second == PassEffects(state=NOTHING_FOUND.state)
    assert second == full_pass(state=first.state, **kwargs)


def test_a_disagreement_is_found_at_the_same_step_with_the_same_records():
    # One order: the broker shows a fill the session never heard of from step 2 on.
    config = ReconcilerConfig(grace_steps=2)
    open_orders = {"o-1": ours("o-1", status=S.NEW)}
    steps = []
    state = ReconcileState()
    for step in range(1, 6):
        view = theirs("o-1", status=S.NEW) if step < 2 else theirs("o-1", cum="10")
        snapshot = BrokerSnapshot(
            step=step, open_orders=(view,), positions={"AAPL": D(10) if step >= 2 else D(0)}
        )
        kwargs = {
            "config": config,
            "state": state,
            "open_orders": open_orders,
            "positions": {},
            "cancel_sent_steps": {},
            "snapshot": snapshot,
            "step": step,
        }
        effects = reconciliation_pass(**kwargs)
        assert effects == full_pass(**kwargs)
        state = effects.state
        steps.append(
            (
                [(t, p["kind"]) for t, p in effects.records],
                [b.invariant for b in effects.breaches],
            )
        )
    found = [
        ("reconcile_pending", "missing_report"),
        ("reconcile_pending", "position_mismatch"),
    ]
    escalated = ["book_matches_broker"]
    assert steps == [([], []), (found, []), ([], []), ([], escalated), ([], escalated)]


def test_find_timeouts_with_both_timeouts_off_lists_nothing():
    open_orders = {
        "o-1": ours("o-1", status=S.PENDING_NEW, submitted=1),
        "o-2": ours("o-2", status=S.NEW, submitted=1),
    }
    assert find_timeouts(open_orders, {"o-2": 1}, 10**6, None, None) == []
    with pytest.raises(ValueError, match="ack_timeout_steps"):
        find_timeouts(open_orders, {}, 5, -1, None)


def test_view_type_is_what_the_support_builds():
    # Guard for the builders above: the perturbations replace fields of these exact types.
    assert isinstance(theirs(), BrokerOrderView)
    assert isinstance(ours(), OrderState)
