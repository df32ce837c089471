"""The drain decision (STOPPING -> STOPPED) as a pure function of the session's facts.

STOPPED is an assurance: the book agrees with the broker and nothing is outstanding. So the drain
is done only when the book holds no open order, the reconciler holds no difference it has seen
but not yet escalated (a report may still be in flight: the broker's snapshot already shows what
the session has not been told), and no request of the session waits for a retry or for its fate.
Within `drain_steps` the drain keeps going while anything is outstanding; once the bound is
spent it escalates (ERROR_REQUIRES_OPERATOR, naming what is outstanding), never STOPPED.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DrainVerdict(Enum):
    DRAINED = "drained"
    KEEP_DRAINING = "keep_draining"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainFacts:
    open_orders: tuple[str, ...] = ()  # the book's open orders (ids)
    pending_differences: tuple[str, ...] = ()  # "kind key" of differences seen, not escalated
    requests_in_flight: tuple[str, ...] = ()  # "request id" waiting for a retry or its fate
    steps_drained: int = 0  # steps since STOPPING was entered
    drain_steps: int = 1  # the configured bound

    @property
    def outstanding(self) -> bool:
        return bool(self.open_orders or self.pending_differences or self.requests_in_flight)


@dataclass(frozen=True, slots=True)
class DrainDecision:
    verdict: DrainVerdict
    detail: str = ""  # for ESCALATE: what is outstanding, in words


def decide_drain(facts: DrainFacts) -> DrainDecision:
    """Drained, keep draining, or escalate: the whole rule of the drain."""
    if not facts.outstanding:
        return DrainDecision(DrainVerdict.DRAINED)
    if facts.steps_drained < facts.drain_steps:
        return DrainDecision(DrainVerdict.KEEP_DRAINING)
    return DrainDecision(DrainVerdict.ESCALATE, outstanding_detail(facts))


def outstanding_detail(facts: DrainFacts) -> str:
    """What is outstanding after the bound; the open-orders part keeps its established words."""
    bound = facts.drain_steps
    parts: list[str] = []
    if facts.open_orders:
        parts.append(
            f"orders still open after {bound} drain step(s): {', '.join(facts.open_orders)}"
        )
    if facts.pending_differences:
        parts.append(
            f"reconciliation differences still pending after {bound} drain step(s): "
            f"{', '.join(facts.pending_differences)}"
        )
    if facts.requests_in_flight:
        parts.append(
            f"requests still in flight after {bound} drain step(s): "
            f"{', '.join(facts.requests_in_flight)}"
        )
    return "; ".join(parts)
