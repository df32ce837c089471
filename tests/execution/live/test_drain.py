"""The drain decision (drain.py): drained only when nothing is outstanding, bounded, escalating."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.drain import DrainFacts, DrainVerdict, decide_drain

V = DrainVerdict


def test_nothing_outstanding_is_drained_at_once():
    assert decide_drain(DrainFacts(steps_drained=0, drain_steps=3)).verdict is V.DRAINED


@pytest.mark.parametrize(
    "outstanding",
    [
        {"open_orders": ("o-1",)},
        {"pending_differences": ("position_mismatch AAPL",)},
        {"pending_differences": ("order_unknown_to_session o-1",)},
        {"requests_in_flight": ("cancel o-1",)},
    ],
    ids=["open-order", "pending-position", "broker-only-order", "request-in-flight"],
)
def test_anything_outstanding_keeps_draining_within_the_bound_then_escalates(outstanding):
    for used in range(3):
        facts = DrainFacts(steps_drained=used, drain_steps=3, **outstanding)
        assert decide_drain(facts).verdict is V.KEEP_DRAINING
    decision = decide_drain(DrainFacts(steps_drained=3, drain_steps=3, **outstanding))
    assert decision.verdict is V.ESCALATE
    (named,) = outstanding.values()
    assert named[0] in decision.detail
    assert "after 3 drain step(s)" in decision.detail


def test_the_escalation_names_everything_outstanding():
    facts = DrainFacts(
        open_orders=("o-1", "o-2"),
        pending_differences=("position_mismatch AAPL",),
        requests_in_flight=("submit o-3",),
        steps_drained=2,
        drain_steps=2,
    )
    decision = decide_drain(facts)
    assert decision.verdict is V.ESCALATE
    assert decision.detail == (
        "orders still open after 2 drain step(s): o-1, o-2; "
        "reconciliation differences still pending after 2 drain step(s): position_mismatch AAPL; "
        "requests still in flight after 2 drain step(s): submit o-3"
    )


def test_open_orders_keep_their_established_words():
    decision = decide_drain(DrainFacts(open_orders=("o-1",), steps_drained=5, drain_steps=1))
    assert decision.detail == "orders still open after 1 drain step(s): o-1"


_ids = st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True).map(tuple)


@given(
    open_orders=_ids,
    pending=_ids,
    in_flight=_ids,
    used=st.integers(0, 10),
    bound=st.integers(1, 10),
)
def test_never_drained_with_anything_outstanding(open_orders, pending, in_flight, used, bound):
    facts = DrainFacts(
        open_orders=open_orders,
        pending_differences=pending,
        requests_in_flight=in_flight,
        steps_drained=used,
        drain_steps=bound,
    )
    verdict = decide_drain(facts).verdict
    outstanding = bool(open_orders or pending or in_flight)
    assert (verdict is V.DRAINED) is not outstanding
    if outstanding:  # bounded: past the bound it never keeps draining
        assert verdict is (V.KEEP_DRAINING if used < bound else V.ESCALATE)
