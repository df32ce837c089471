"""The retry decision: given the policy, the attempt, why it failed and the budget, what next.

Everything here is a pure function of its arguments: no clock, no broker, no hidden state. Time
is the logical step. The orchestrator carries the answer out (sends the retry at its step, gives
the request up and asks the broker for the order's fate, or leaves it).

The decision table
------------------
A failure is classed first (`classify`): TRANSIENT (rate limited, timeout, gateway busy: the same
request may succeed later), PERMANENT (the broker refused the request for good, e.g. a duplicate
client order id) or UNCLASSIFIED (a plain error that says neither; treated as before retries
existed: the call failure is a breach). Then the condition, the first that holds of

    attempts_spent    attempt >= max_attempts
    wait_beyond_cap   a rate limit's retry-after is longer than max_backoff_steps
    budget_spent      the session-wide retry budget has no retry left in its window
    retry_allowed     none of the above

and DECISION_TABLE answers (one row per pair):

    failure        condition          decision
    transient      retry_allowed      retry         at step + wait (below)
    transient      attempts_spent     give_up       the request's fate is asked of the broker
    transient      wait_beyond_cap    give_up
    transient      budget_spent       give_up
    permanent      any                never_retry   a refusal is an answer, not a fault
    unclassified   any                never_retry   a breach (broker_calls_succeed), as before

The wait before attempt n + 1 after attempt n failed: fixed, `backoff_steps`; exponential,
`backoff_steps * 2 ** (n - 1)`; either capped at `max_backoff_steps`, and never shorter than the
broker's own retry-after (retrying before it is pointless and counts against the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from peak_trade.execution.broker.protocol import BrokerRequestRefused, TransientBrokerError
from peak_trade.execution.live.retry.config import RetryConfig


class FailureClass(Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNCLASSIFIED = "unclassified"


class Condition(Enum):
    RETRY_ALLOWED = "retry_allowed"
    ATTEMPTS_SPENT = "attempts_spent"
    WAIT_BEYOND_CAP = "wait_beyond_cap"
    BUDGET_SPENT = "budget_spent"


class Decision(Enum):
    RETRY = "retry"
    GIVE_UP = "give_up"
    NEVER_RETRY = "never_retry"


_T, _P, _U = FailureClass.TRANSIENT, FailureClass.PERMANENT, FailureClass.UNCLASSIFIED
_C = Condition
DECISION_TABLE: dict[tuple[FailureClass, Condition], Decision] = {
    (_T, _C.RETRY_ALLOWED): Decision.RETRY,
    (_T, _C.ATTEMPTS_SPENT): Decision.GIVE_UP,
    (_T, _C.WAIT_BEYOND_CAP): Decision.GIVE_UP,
    (_T, _C.BUDGET_SPENT): Decision.GIVE_UP,
    (_P, _C.RETRY_ALLOWED): Decision.NEVER_RETRY,
    (_P, _C.ATTEMPTS_SPENT): Decision.NEVER_RETRY,
    (_P, _C.WAIT_BEYOND_CAP): Decision.NEVER_RETRY,
    (_P, _C.BUDGET_SPENT): Decision.NEVER_RETRY,
    (_U, _C.RETRY_ALLOWED): Decision.NEVER_RETRY,
    (_U, _C.ATTEMPTS_SPENT): Decision.NEVER_RETRY,
    (_U, _C.WAIT_BEYOND_CAP): Decision.NEVER_RETRY,
    (_U, _C.BUDGET_SPENT): Decision.NEVER_RETRY,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """One failed attempt, as the decision needs it."""

    failure_class: FailureClass
    reason: str  # rate_limited, timeout, gateway_busy, refused, ..., or the exception's name
    retry_after: int | None = None  # the broker's own wait, in steps (rate limits)
    ambiguous: bool = False  # a timeout: the request may have been carried out


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryDecision:
    decision: Decision
    condition: Condition
    next_attempt_step: int | None = None  # set when decision is RETRY
    wait_steps: int | None = None


def classify(exc: BaseException) -> Failure:
    """The failure an exception from a broker call stands for."""
    if isinstance(exc, TransientBrokerError):
        return Failure(
            failure_class=FailureClass.TRANSIENT,
            reason=exc.reason,
            retry_after=exc.retry_after,
            ambiguous=exc.reason == "timeout",
        )
    if isinstance(exc, BrokerRequestRefused):
        return Failure(failure_class=FailureClass.PERMANENT, reason=exc.reason)
    return Failure(failure_class=FailureClass.UNCLASSIFIED, reason=type(exc).__name__)


def backoff_steps(policy: RetryConfig, attempt: int) -> int:
    """The policy's wait after attempt `attempt` (1-based) failed, capped."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if policy.backoff == "fixed":
        wait = policy.backoff_steps
    else:  # exponential; the exponent is bounded so the number stays small before the cap
        wait = policy.backoff_steps * 2 ** min(attempt - 1, 64)
    return min(wait, policy.max_backoff_steps)


def condition_of(
    policy: RetryConfig, attempt: int, failure: Failure, budget_left: int
) -> Condition:
    if attempt >= policy.max_attempts:
        return Condition.ATTEMPTS_SPENT
    if failure.retry_after is not None and failure.retry_after > policy.max_backoff_steps:
        return Condition.WAIT_BEYOND_CAP
    if budget_left <= 0:
        return Condition.BUDGET_SPENT
    return Condition.RETRY_ALLOWED


def decide(
    policy: RetryConfig, *, attempt: int, failure: Failure, budget_left: int, step: int
) -> RetryDecision:
    """What to do after attempt `attempt` (1-based) of a request failed at `step`."""
    condition = condition_of(policy, attempt, failure, budget_left)
    decision = DECISION_TABLE[(failure.failure_class, condition)]
    if decision is not Decision.RETRY:
        return RetryDecision(decision=decision, condition=condition)
    wait = backoff_steps(policy, attempt)
    if failure.retry_after is not None:
        wait = max(wait, failure.retry_after)
    return RetryDecision(
        decision=decision, condition=condition, next_attempt_step=step + wait, wait_steps=wait
    )
