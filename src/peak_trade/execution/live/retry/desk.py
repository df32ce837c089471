"""The session's retry book-keeping: requests waiting for their next attempt, fate queries
waiting for their reply, and the retry budget. Data only; the decisions are policy.py's
and fate_query.py's, the effects the orchestrator's (retry_shell.py).

Bounds: at most one pending retry per (request kind, order) and one fate query per order, so
both are bounded by the open orders; the budget holds at most `budget_retries` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peak_trade.execution.broker.model import BrokerCommand
from peak_trade.execution.live.retry.budget import RetryBudget
from peak_trade.execution.live.retry.config import RetryConfig
from peak_trade.execution.live.retry.fate_query import GivenUp

# request kind -> what a given-up request of that kind asks the broker about (status: nothing)
GIVEN_UP: dict[str, GivenUp | None] = {
    "submit": GivenUp.SUBMIT,
    "cancel": GivenUp.CANCEL,
    "replace": GivenUp.REPLACE,
    "status": None,
}


@dataclass(slots=True, kw_only=True)
class PendingRetry:
    """A request whose last attempt failed transiently and that is due again at `due`."""

    request: str  # submit | cancel | replace | status
    client_order_id: str  # the book's id of the order
    attempt: int  # the attempt that failed last (1-based)
    due: int  # the step of the next attempt
    command: BrokerCommand  # what is sent again: the same request, the same ids
    ambiguous: bool = False  # an attempt timed out: it may have been carried out
    reason: str = ""  # of the cancel (audited with it), or why the request was made
    fate_of: GivenUp | None = None  # a status request that is a fate query: for what
    then_cancel: bool = False  # a submit the session wants canceled once its fate is known


@dataclass(slots=True, kw_only=True)
class FateQuery:
    """A status request sent for a given-up request, waiting for its reply."""

    client_order_id: str  # the book's id
    given_up: GivenUp
    sent_step: int
    then_cancel: bool = False


@dataclass(slots=True)
class RetryDesk:
    policy: RetryConfig = field(default_factory=RetryConfig)
    budget: RetryBudget = field(
        default_factory=lambda: RetryBudget(
            limit=RetryConfig().budget_retries, window_steps=RetryConfig().budget_window_steps
        )
    )
    pending: dict[tuple[str, str], PendingRetry] = field(default_factory=dict)
    # the wire id the query names -> the query (its reply carries that id)
    fates: dict[str, FateQuery] = field(default_factory=dict)

    @classmethod
    def for_policy(cls, policy: RetryConfig) -> RetryDesk:
        return cls(
            policy=policy,
            budget=RetryBudget(
                limit=policy.budget_retries, window_steps=policy.budget_window_steps
            ),
        )

    def __bool__(self) -> bool:
        """Whether anything waits: a pending retry or a fate query (the per-step fast path)."""
        return bool(self.pending or self.fates)

    def due(self, step: int) -> list[PendingRetry]:
        """The retries due at `step`, oldest due first (then in the order they were made)."""
        ready = [p for p in self.pending.values() if p.due <= step]
        ready.sort(key=lambda p: p.due)  # stable: equal steps keep insertion order
        return ready

    def unplaced(self) -> set[str]:
        """Orders whose submit waits for a retry or a fate: the broker may not hold them yet, so
        the reconciler does not compare them (the session knows why they are not there)."""
        ids = {
            p.client_order_id
            for p in self.pending.values()
            if p.request == "submit" or p.fate_of is GivenUp.SUBMIT
        }
        ids.update(q.client_order_id for q in self.fates.values() if q.given_up is GivenUp.SUBMIT)
        return ids

    def submit_pending(self, client_order_id: str) -> PendingRetry | None:
        return self.pending.get(("submit", client_order_id))
