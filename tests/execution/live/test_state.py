"""The transition table, driven directly: every (state, trigger) pair is allowed or raises."""

import itertools

import pytest

from peak_trade.execution.live.state import (
    STEPPING_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    SessionState,
    Trigger,
    allowed_triggers,
    mermaid_diagram,
    transition,
)

S, T = SessionState, Trigger

# The table as the issue and docs state it, written out independently of TRANSITIONS.
EXPECTED = {
    (S.INIT, T.PREFLIGHT_PASSED): S.PREFLIGHT_OK,
    (S.INIT, T.PREFLIGHT_FAILED): S.PREFLIGHT_FAILED,
    (S.INIT, T.CANCEL): S.STOPPED,
    (S.PREFLIGHT_OK, T.START): S.DRYRUN_ACTIVE,
    (S.PREFLIGHT_OK, T.STOP_REQUESTED): S.STOPPED,
    (S.PREFLIGHT_OK, T.CANCEL): S.STOPPED,
    (S.DRYRUN_ACTIVE, T.STOP_REQUESTED): S.STOPPING,
    (S.DRYRUN_ACTIVE, T.CANCEL): S.STOPPING,
    (S.DRYRUN_ACTIVE, T.BREACH): S.ERROR_REQUIRES_OPERATOR,
    (S.STOPPING, T.DRAINED): S.STOPPED,
    (S.STOPPING, T.BREACH): S.ERROR_REQUIRES_OPERATOR,
    (S.STOPPING, T.CANCEL): S.STOPPING,
    (S.ERROR_REQUIRES_OPERATOR, T.ACKNOWLEDGE): S.STOPPING,
    (S.ERROR_REQUIRES_OPERATOR, T.CANCEL): S.ERROR_REQUIRES_OPERATOR,
    (S.STOPPED, T.CANCEL): S.STOPPED,
    (S.PREFLIGHT_FAILED, T.CANCEL): S.PREFLIGHT_FAILED,
}


def test_state_names_are_the_contract():
    assert [s.value for s in SessionState] == [
        "INIT",
        "PREFLIGHT_OK",
        "DRYRUN_ACTIVE",
        "STOPPING",
        "STOPPED",
        "PREFLIGHT_FAILED",
        "ERROR_REQUIRES_OPERATOR",
    ]


@pytest.mark.parametrize(
    ("state", "trigger"),
    list(itertools.product(SessionState, Trigger)),
    ids=lambda v: v.name,
)
def test_every_pair_is_allowed_or_raises(state, trigger):
    if (state, trigger) in EXPECTED:
        assert transition(state, trigger) is EXPECTED[(state, trigger)]
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(state, trigger)
        assert info.value.state is state
        assert info.value.trigger is trigger
        assert trigger.value in str(info.value)
        assert state.value in str(info.value)


def test_table_has_no_rows_beyond_the_expected_ones():
    assert TRANSITIONS == EXPECTED


def test_cancel_is_accepted_in_every_state():
    for state in SessionState:
        transition(state, T.CANCEL)


def test_terminal_states_only_accept_the_cancel_self_loop():
    for state in TERMINAL_STATES:
        assert allowed_triggers(state) == (T.CANCEL,)
        assert transition(state, T.CANCEL) is state


def test_error_is_left_only_through_an_operator_and_only_towards_a_stop():
    exits = {
        trigger: target
        for (source, trigger), target in TRANSITIONS.items()
        if source is S.ERROR_REQUIRES_OPERATOR and target is not S.ERROR_REQUIRES_OPERATOR
    }
    assert exits == {T.ACKNOWLEDGE: S.STOPPING}


def test_every_state_is_reachable_from_init():
    seen, frontier = {S.INIT}, [S.INIT]
    while frontier:
        state = frontier.pop()
        for trigger in allowed_triggers(state):
            target = transition(state, trigger)
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(SessionState)


def test_stepping_states_are_not_terminal():
    assert not STEPPING_STATES & TERMINAL_STATES


def test_mermaid_diagram_has_one_edge_per_row():
    diagram = mermaid_diagram()
    edges = [line for line in diagram.splitlines() if ": " in line]
    assert len(edges) == len(TRANSITIONS)
    assert "    DRYRUN_ACTIVE --> ERROR_REQUIRES_OPERATOR: breach" in diagram


def test_mermaid_diagram_is_a_whole_mermaid_document():
    # docs/state-machine.md embeds this text: a renderer needs the header, the entry edge, one
    # line per row and one exit per terminal state, newline-separated and newline-terminated.
    lines = mermaid_diagram().split("\n")
    assert lines[0] == "stateDiagram-v2"
    assert lines[1] == "    [*] --> INIT"
    assert lines[2 : 2 + len(TRANSITIONS)] == [
        f"    {s.value} --> {t.value}: {trig.value}" for (s, trig), t in TRANSITIONS.items()
    ]
    assert lines[2 + len(TRANSITIONS) :] == [
        "    PREFLIGHT_FAILED --> [*]",
        "    STOPPED --> [*]",
        "",
    ]


def test_an_illegal_transition_names_what_the_state_accepts():
    with pytest.raises(IllegalTransition) as caught:
        transition(S.DRYRUN_ACTIVE, T.START)
    assert str(caught.value) == (
        "illegal transition: start is not accepted in state DRYRUN_ACTIVE "
        "(accepted: stop_requested, cancel, breach)"
    )
    assert (caught.value.state, caught.value.trigger) == (S.DRYRUN_ACTIVE, T.START)
    with pytest.raises(IllegalTransition, match=r"\(accepted: cancel\)$"):
        transition(S.STOPPED, T.START)
