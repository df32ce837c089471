"""A runtime invariant that failed: what a check, a reconciliation pass or a retry reports, and
the session records (`breach`) before it enters ERROR.

Its own module, below checks.py, so that the subsystems that find breaches (reconcile/, the retry
shell) need not import the checks that read their configs.
"""

from __future__ import annotations

from dataclasses import dataclass

from peak_trade.execution.broker.order_lifecycle import Refusal


@dataclass(frozen=True, slots=True, kw_only=True)
class Breach:
    invariant: str
    detail: str
    # The reports the order lifecycle refused (execution_reports_sound): order, exec type,
    # from/to status, rules and values of each; in the payload only when there are any.
    refusals: tuple[Refusal, ...] = ()

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"invariant": self.invariant, "detail": self.detail}
        if self.refusals:
            payload["refused_reports"] = [r.to_payload() for r in self.refusals]
        return payload
