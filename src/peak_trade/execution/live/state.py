"""The session state machine.

Rule: everything that decides which state a session is in lives in this file, in the table below.
The orchestrator never assigns a state itself; it asks `transition(state, trigger)` and records the
answer.

Theory of operation
===================

A session is rehearsed in one direction only:

    INIT -> PREFLIGHT_OK -> DRYRUN_ACTIVE -> STOPPING -> STOPPED

- Preflight runs every startup check. All pass: PREFLIGHT_OK. Any fails: PREFLIGHT_FAILED, which
  is terminal (a failed session is never retried in place; build a new one).
- START begins the bounded dry run. STOP_REQUESTED (graceful) and CANCEL (safe stop) both lead to
  STOPPING, which cancels every open order and drains reports for a bounded number of steps;
  DRAINED ends in STOPPED only when nothing is outstanding (drain.py: no open order, no pending
  reconciliation difference, no request in flight); a drain that runs out of steps is a BREACH.
- BREACH (a runtime check failed, or a check itself raised: the session never fails open) moves a
  running or stopping session to ERROR_REQUIRES_OPERATOR. Only an operator's ACKNOWLEDGE leaves it,
  into STOPPING: an error never resumes trading.
- CANCEL is total: it is accepted in every state, so a safe stop can always be asked for. Where
  there is nothing left to stop it is a self-loop (recorded, harmless). In ERROR_REQUIRES_OPERATOR
  it cancels open orders but keeps the state: it cannot stand in for the operator.

Any other (state, trigger) pair is illegal: `transition` raises `IllegalTransition` and nothing
changes. The orchestrator audits the attempt before re-raising it.
"""

from __future__ import annotations

from enum import Enum

from peak_trade.execution.live.errors import SessionError


class SessionState(Enum):
    INIT = "INIT"
    PREFLIGHT_OK = "PREFLIGHT_OK"
    DRYRUN_ACTIVE = "DRYRUN_ACTIVE"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    PREFLIGHT_FAILED = "PREFLIGHT_FAILED"
    ERROR_REQUIRES_OPERATOR = "ERROR_REQUIRES_OPERATOR"


class Trigger(Enum):
    PREFLIGHT_PASSED = "preflight_passed"
    PREFLIGHT_FAILED = "preflight_failed"
    START = "start"
    STOP_REQUESTED = "stop_requested"
    CANCEL = "cancel"
    BREACH = "breach"
    ACKNOWLEDGE = "acknowledge"
    DRAINED = "drained"


S = SessionState
T = Trigger

# (state, trigger) -> next state. One row per transition; the docs' diagram is generated from it.
TRANSITIONS: dict[tuple[SessionState, Trigger], SessionState] = {
    (S.INIT, T.PREFLIGHT_PASSED): S.PREFLIGHT_OK,
    (S.INIT, T.PREFLIGHT_FAILED): S.PREFLIGHT_FAILED,
    (S.INIT, T.CANCEL): S.STOPPED,
    (S.PREFLIGHT_OK, T.START): S.DRYRUN_ACTIVE,
    (S.PREFLIGHT_OK, T.STOP_REQUESTED): S.STOPPED,
    (S.PREFLIGHT_OK, T.CANCEL): S.STOPPED,
    (S.DRYRUN_ACTIVE, T.STOP_REQUESTED): S.STOPPING,
    (S.DRYRUN_ACTIVE, T.CANCEL): S.STOPPING,
    (S.DRYRUN_ACTIVE, T.BREACH): S.ERROR_REQUIRES_OPERATOR,
    # transitional: STOPPING cancels open orders, then waits a bounded number of steps for them
    (S.STOPPING, T.DRAINED): S.STOPPED,
    (S.STOPPING, T.BREACH): S.ERROR_REQUIRES_OPERATOR,
    (S.STOPPING, T.CANCEL): S.STOPPING,
    # an error is left only through an operator, and only towards a stop
    (S.ERROR_REQUIRES_OPERATOR, T.ACKNOWLEDGE): S.STOPPING,
    (S.ERROR_REQUIRES_OPERATOR, T.CANCEL): S.ERROR_REQUIRES_OPERATOR,
    # terminal
    (S.STOPPED, T.CANCEL): S.STOPPED,
    (S.PREFLIGHT_FAILED, T.CANCEL): S.PREFLIGHT_FAILED,
}

TERMINAL_STATES = frozenset({S.STOPPED, S.PREFLIGHT_FAILED})
# States in which step() advances the session (polls the broker); elsewhere it is refused.
STEPPING_STATES = frozenset({S.DRYRUN_ACTIVE, S.STOPPING, S.ERROR_REQUIRES_OPERATOR})

del S, T


class IllegalTransition(SessionError):
    """A trigger that the current state does not accept. The state is unchanged."""

    def __init__(self, state: SessionState, trigger: Trigger) -> None:
        self.state = state
        self.trigger = trigger
        super().__init__(
            f"illegal transition: {trigger.value} is not accepted in state {state.value} "
            f"(accepted: {', '.join(t.value for t in allowed_triggers(state)) or 'nothing'})"
        )


def transition(state: SessionState, trigger: Trigger) -> SessionState:
    """The state that `trigger` leads to from `state`; raises IllegalTransition if none."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise IllegalTransition(state, trigger) from None


def allowed_triggers(state: SessionState) -> tuple[Trigger, ...]:
    """The triggers `state` accepts, in table order."""
    return tuple(t for (s, t) in TRANSITIONS if s is state)


def mermaid_diagram() -> str:
    """A mermaid state diagram of TRANSITIONS (docs/state-machine.md is generated from this)."""
    lines = ["stateDiagram-v2", f"    [*] --> {SessionState.INIT.value}"]
    for (source, trigger), target in TRANSITIONS.items():
        lines.append(f"    {source.value} --> {target.value}: {trigger.value}")
    lines.extend(f"    {state.value} --> [*]" for state in sorted(TERMINAL_STATES, key=str))
    return "\n".join(lines) + "\n"
