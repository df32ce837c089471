"""The kill switch: N rail rejections within the window engage it, only in-window steps are
kept, an engaged switch keeps its first reason, and a rearm clears the window."""

from __future__ import annotations

import pytest

from peak_trade.execution.live.kill_switch import KillSwitchState, engage, note_rejection, rearm
from peak_trade.execution.live.rails_config import RailsConfig

KILL = RailsConfig(kill_switch_rejections=(3, 5))


def run(steps, state=None, config=KILL):
    state = state or KillSwitchState()
    engaged_now = []
    for step in steps:
        state, now = note_rejection(state, step, config)
        engaged_now.append(now)
    return state, engaged_now


@pytest.mark.parametrize(
    ("steps", "engaged_now"),
    [
        pytest.param((1, 2), [False, False], id="N-1 rejections do not engage"),
        pytest.param((1, 2, 3), [False, False, True], id="N within the window engage"),
        pytest.param((7, 7, 7), [False, False, True], id="N in one step engage"),
        pytest.param((2, 4, 6), [False, False, True], id="oldest at the window edge counts"),
        pytest.param((1, 4, 6), [False, False, False], id="one step wider than the window"),
        pytest.param((1, 3, 6, 9, 12), [False] * 5, id="spread wider than the window"),
        pytest.param((1, 2, 3, 4), [False, False, True, False], id="engages once"),
    ],
)
def test_kill_switch_engages_on_n_rejections_within_the_window(steps, engaged_now):
    state, flags = run(steps)
    assert flags == engaged_now
    assert state.engaged is any(engaged_now)
    if state.engaged:
        at = flags.index(True)
        assert state.since_step == steps[at]
        assert state.reason.startswith("3 rail rejection(s) within 5 step(s) (at steps ")


def test_kill_switch_keeps_only_in_window_steps():
    state, _ = run((1, 4, 6))
    assert state.rejection_steps == (4, 6)
    state, flags = run(range(0, 30_000, 3))
    assert not any(flags)
    assert len(state.rejection_steps) <= 2


def test_kill_switch_unconfigured_never_engages():
    state, flags = run((1, 1, 1, 1), config=RailsConfig())
    assert state == KillSwitchState()
    assert not any(flags)


def test_kill_switch_refuses_steps_going_backwards():
    state, _ = run((5,))
    with pytest.raises(ValueError, match="before the last recorded one"):
        note_rejection(state, 4, KILL)


def test_rearm_clears_the_switch_and_the_window():
    engaged, _ = run((18, 19, 20))
    assert engaged.engaged
    assert note_rejection(engaged, 20, KILL) == (engaged, False)  # already engaged: no change
    rearmed = rearm(engaged, 20)
    assert rearmed == KillSwitchState(rearmed_step=20)
    assert rearmed.to_payload() == {
        "engaged": False,
        "reason": "",
        "since_step": None,
        "rejection_steps": [],
        "rearmed_step": 20,
    }
    # Without the clear, 18..20 plus one more would re-engage at once.
    state, flags = run((21, 22), state=rearmed)
    assert flags == [False, False]
    assert not state.engaged


def test_manual_engage_keeps_the_first_reason():
    state = engage(KillSwitchState(), 4, "operator pressed stop")
    assert (state.engaged, state.reason, state.since_step) == (True, "operator pressed stop", 4)
    assert engage(state, 6, "again") is state
    assert engage(KillSwitchState(), 1, "  ").reason == "no reason given"
