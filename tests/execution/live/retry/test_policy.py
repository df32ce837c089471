"""The retry decision table (every row), backoff and its cap, the budget window, the config."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.broker.protocol import (
    BrokerBusy,
    BrokerError,
    BrokerRateLimited,
    BrokerRequestRefused,
    BrokerTimeout,
    DuplicateClientOrderId,
)
from peak_trade.execution.live.retry.budget import RetryBudget
from peak_trade.execution.live.retry.config import (
    CONFIG_SCHEMA,
    RetryConfig,
    RetryConfigError,
    retry_problem,
)
from peak_trade.execution.live.retry.policy import (
    DECISION_TABLE,
    Condition,
    Decision,
    Failure,
    FailureClass,
    backoff_steps,
    classify,
    condition_of,
    decide,
)

T, P, U = FailureClass.TRANSIENT, FailureClass.PERMANENT, FailureClass.UNCLASSIFIED
POLICY = RetryConfig(max_attempts=3, backoff_steps=1, max_backoff_steps=4)


def _failure(cls: FailureClass, retry_after: int | None = None) -> Failure:
    return Failure(failure_class=cls, reason="x", retry_after=retry_after)


# One case per row of the table: (attempt, failure, budget_left) that reaches the row.
ROW_CASES = {
    Condition.RETRY_ALLOWED: (1, None, 5),
    Condition.ATTEMPTS_SPENT: (3, None, 5),
    Condition.WAIT_BEYOND_CAP: (1, 5, 5),
    Condition.BUDGET_SPENT: (1, None, 0),
}
EXPECTED = {
    (T, Condition.RETRY_ALLOWED): Decision.RETRY,
    (T, Condition.ATTEMPTS_SPENT): Decision.GIVE_UP,
    (T, Condition.WAIT_BEYOND_CAP): Decision.GIVE_UP,
    (T, Condition.BUDGET_SPENT): Decision.GIVE_UP,
    **{(c, cond): Decision.NEVER_RETRY for c in (P, U) for cond in Condition},
}


def test_the_table_has_one_row_per_failure_class_and_condition():
    assert set(DECISION_TABLE) == set(itertools.product(FailureClass, Condition))
    assert DECISION_TABLE == EXPECTED


@pytest.mark.parametrize(("cls", "condition"), sorted(EXPECTED, key=str), ids=str)
def test_every_row_is_reached_and_answers_as_documented(cls, condition):
    attempt, retry_after, left = ROW_CASES[condition]
    failure = _failure(cls, retry_after)
    assert condition_of(POLICY, attempt, failure, left) is condition
    verdict = decide(POLICY, attempt=attempt, failure=failure, budget_left=left, step=10)
    assert verdict.decision is EXPECTED[(cls, condition)]
    assert verdict.condition is condition
    if verdict.decision is Decision.RETRY:
        assert verdict.next_attempt_step == 10 + verdict.wait_steps
    else:
        assert verdict.next_attempt_step is None


def test_conditions_are_judged_in_order_attempts_then_wait_then_budget():
    everything = _failure(T, retry_after=9)
    assert condition_of(POLICY, 3, everything, 0) is Condition.ATTEMPTS_SPENT
    assert condition_of(POLICY, 1, everything, 0) is Condition.WAIT_BEYOND_CAP
    assert condition_of(POLICY, 1, _failure(T, 2), 0) is Condition.BUDGET_SPENT


def test_a_permanent_error_is_never_retried_whatever_is_left():
    for attempt in (1, 2):
        verdict = decide(POLICY, attempt=attempt, failure=_failure(P), budget_left=100, step=1)
        assert verdict.decision is Decision.NEVER_RETRY


@pytest.mark.parametrize(
    ("exc", "cls", "reason", "ambiguous"),
    [
        (BrokerRateLimited("x", 3), T, "rate_limited", False),
        (BrokerTimeout("x"), T, "timeout", True),
        (BrokerBusy("x"), T, "gateway_busy", False),
        (BrokerRequestRefused("x"), P, "refused", False),
        (DuplicateClientOrderId("x"), P, "duplicate_client_order_id", False),
        (BrokerError("x"), U, "BrokerError", False),
        (ConnectionResetError("x"), U, "ConnectionResetError", False),
    ],
)
def test_classify(exc, cls, reason, ambiguous):
    failure = classify(exc)
    assert (failure.failure_class, failure.reason, failure.ambiguous) == (cls, reason, ambiguous)
    assert failure.retry_after == (3 if isinstance(exc, BrokerRateLimited) else None)


# ----------------------------------------------------------------------------- backoff


def test_exponential_backoff_doubles_and_is_capped():
    policy = RetryConfig(backoff="exponential", backoff_steps=1, max_backoff_steps=8)
    assert [backoff_steps(policy, n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    policy = RetryConfig(backoff="exponential", backoff_steps=3, max_backoff_steps=10)
    assert [backoff_steps(policy, n) for n in range(1, 5)] == [3, 6, 10, 10]


def test_fixed_backoff_is_the_same_wait_every_time():
    policy = RetryConfig(backoff="fixed", backoff_steps=2, max_backoff_steps=8)
    assert {backoff_steps(policy, n) for n in range(1, 20)} == {2}


def test_a_retry_after_longer_than_the_backoff_is_honoured():
    policy = RetryConfig(backoff_steps=1, max_backoff_steps=8)
    verdict = decide(policy, attempt=1, failure=_failure(T, 5), budget_left=1, step=2)
    assert (verdict.decision, verdict.wait_steps, verdict.next_attempt_step) == (
        Decision.RETRY,
        5,
        7,
    )


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    first=st.integers(min_value=1, max_value=1_000),
    extra=st.integers(min_value=0, max_value=1_000),
    kind=st.sampled_from(["fixed", "exponential"]),
)
def test_backoff_is_positive_capped_and_never_shrinks(attempt, first, extra, kind):
    policy = RetryConfig(backoff=kind, backoff_steps=first, max_backoff_steps=first + extra)
    wait = backoff_steps(policy, attempt)
    assert first <= wait <= first + extra
    assert backoff_steps(policy, attempt + 1) >= wait


def test_backoff_of_attempt_zero_is_refused():
    with pytest.raises(ValueError, match="attempt must be >= 1"):
        backoff_steps(POLICY, 0)


@given(
    max_attempts=st.integers(min_value=1, max_value=10),
    answers=st.lists(st.booleans(), max_size=30),
)
def test_a_request_is_tried_at_most_max_attempts_times(max_attempts, answers):
    """Whatever fails when, no request is sent more than max_attempts times."""
    policy = RetryConfig(max_attempts=max_attempts, budget_retries=1_000)
    attempt, sent = 1, 1
    for fails in answers:
        if not fails:
            break
        verdict = decide(policy, attempt=attempt, failure=_failure(T), budget_left=1, step=attempt)
        if verdict.decision is not Decision.RETRY:
            break
        attempt += 1
        sent += 1
    assert sent <= max_attempts


# ----------------------------------------------------------------------------- budget


def test_the_budget_window_slides():
    budget = RetryBudget(limit=2, window_steps=3)
    budget = budget.spend(1).spend(2)
    assert budget.left(2) == 0
    assert budget.left(3) == 0  # steps 1..3: both still inside
    assert budget.left(4) == 1  # step 1 dropped out of 2..4
    assert budget.left(5) == 2
    with pytest.raises(ValueError, match="spent at step 3"):
        budget.spend(3)
    assert budget.spend(4).spent_steps == (2, 4)  # only the window's steps are kept


def test_a_zero_budget_allows_no_retry():
    assert RetryBudget(limit=0, window_steps=5).left(1) == 0


def test_a_budget_needs_a_window():
    with pytest.raises(ValueError, match="window_steps >= 1"):
        RetryBudget(limit=1, window_steps=0)


@given(st.lists(st.integers(min_value=0, max_value=5), max_size=40))
def test_no_window_ever_holds_more_than_the_limit(gaps):
    budget = RetryBudget(limit=3, window_steps=4)
    step, spent = 0, []
    for gap in gaps:
        step += gap
        if budget.left(step):
            budget = budget.spend(step)
            spent.append(step)
    for end in range(step + 1):
        assert sum(1 for s in spent if end - 4 < s <= end) <= 3
    assert len(budget.spent_steps) <= 3


# ----------------------------------------------------------------------------- config


def test_defaults_are_the_documented_ones():
    assert RetryConfig.from_mapping({}).to_payload() == {
        "max_attempts": 3,
        "backoff": "exponential",
        "backoff_steps": 1,
        "max_backoff_steps": 8,
        "budget_retries": 10,
        "budget_window_steps": 20,
        "fate_timeout_steps": 2,
    }
    for name, prop in CONFIG_SCHEMA["properties"].items():
        assert prop["default"] == RetryConfig().to_payload()[name], name


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"max_attempts": 0}, "/retry/max_attempts: must be a whole number from 1 to 100"),
        ({"max_attempts": 2.0}, "/retry/max_attempts: must be a whole number from 1 to 100"),
        ({"max_attempts": True}, "/retry/max_attempts: must be a whole number"),
        ({"backoff": "linear"}, '/retry/backoff: must be one of fixed, exponential, found "lin'),
        ({"budget_window_steps": 0}, "/retry/budget_window_steps: must be a whole number from 1"),
        ({"max_atempts": 3}, "/retry/max_atempts: unknown key (did you mean max_attempts?)"),
        (
            {"backoff_steps": 5, "max_backoff_steps": 2},
            "/retry/max_backoff_steps: must be at least backoff_steps (5), found 2",
        ),
    ],
)
def test_a_bad_config_is_refused_at_its_pointer(data, problem):
    with pytest.raises(RetryConfigError) as caught:
        RetryConfig.from_mapping(data)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
    assert retry_problem(data).startswith("retry config: /retry/")


def test_a_config_that_is_not_a_mapping_is_refused():
    assert retry_problem([1]) == "retry config: /retry: must be a mapping, found list"
    assert retry_problem({}) is None
