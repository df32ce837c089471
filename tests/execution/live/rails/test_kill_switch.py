"""The kill switch: N rail rejections within the window engage it, only in-window steps are
kept, an engaged switch keeps its first reason, and a rearm clears the window."""

from __future__ import annotations

import pytest

from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.kill_switch import (
    KillSwitchState,
    engage,
    engage_scope,
    note_rejection,
    rearm,
    rearm_scope,
)

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


# --- scopes and modes (issue 12) -------------------------------------------------------------


def test_automatic_engagement_takes_the_configured_mode():
    config = RailsConfig(kill_switch_rejections=(1, 1), kill_switch_mode="reduce_only")
    state, now = note_rejection(KillSwitchState(), 3, config)
    assert now
    assert (state.engaged, state.mode) == (True, "reduce_only")


def test_a_block_engagement_tightens_reduce_only_but_keeps_the_first_reason():
    state = engage(KillSwitchState(), 1, "close out", "reduce_only")
    tightened = engage(state, 2, "halt", "block")
    assert (tightened.mode, tightened.reason, tightened.since_step) == ("block", "close out", 1)
    assert engage(tightened, 3, "again", "reduce_only").mode == "block"  # never loosened


def test_a_scope_is_kept_once_per_tag_value_and_lifted_alone():
    state = engage_scope(KillSwitchState(), 1, "alpha bug", "strategy", "alpha")
    state = engage_scope(state, 2, "again", "strategy", "alpha")
    state = engage_scope(state, 2, "desk", "trader", "ann", "reduce_only")
    assert [(s.tag, s.value, s.reason, s.since_step, s.mode) for s in state.scopes] == [
        ("strategy", "alpha", "alpha bug", 1, "block"),
        ("trader", "ann", "desk", 2, "reduce_only"),
    ]
    assert state.any_engaged
    assert not state.engaged
    lifted = rearm_scope(state, 5, "strategy", "alpha")
    assert [(s.tag, s.value) for s in lifted.scopes] == [("trader", "ann")]
    assert lifted.rearmed_step == 5
    assert rearm(lifted, 6) == KillSwitchState(rearmed_step=6)  # a re-arm of all lifts every one


def test_a_reduce_only_scope_is_tightened_by_a_block_one():
    state = engage_scope(KillSwitchState(), 1, "first", "account", "acc-1", "reduce_only")
    state = engage_scope(state, 2, "second", "account", "acc-1", "block")
    (scope,) = state.scopes
    assert (scope.mode, scope.reason, scope.since_step) == ("block", "first", 1)


def test_payload_names_mode_and_scopes_only_when_set():
    assert "mode" not in KillSwitchState().to_payload()
    state = engage_scope(engage(KillSwitchState(), 1, "r", "reduce_only"), 1, "s", "strategy", "a")
    payload = state.to_payload()
    assert payload["mode"] == "reduce_only"
    assert payload["scopes"] == [
        {"tag": "strategy", "value": "a", "mode": "block", "reason": "s", "since_step": 1}
    ]
