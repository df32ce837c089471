"""What the report shows: plain frozen values, gathered by `collect` and drawn by `page`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peak_trade.observe.facts import AuditFacts

# A scenario's verdict in the report, worst last. Only PASS keeps the report's exit code at 0.
PASS = "PASS"  # a PASS evidence file binds this very trail (head and count), scenario unchanged
FAIL = "FAIL"  # the trail verifies, but no PASS evidence binds it: the run failed
NOT_VERIFIED = "NOT VERIFIED"  # the audit chain breaks or has no seal: nothing it says is vouched
UNREADABLE = "UNREADABLE"  # the audit file cannot be read at all
VERDICTS = (PASS, FAIL, NOT_VERIFIED, UNREADABLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Links:
    """Links to a scenario's files, relative to the report's own folder; None: no such file."""

    audit: str | None = None
    seal: str | None = None
    metrics: str | None = None
    evidence: str | None = None
    scenario: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioReport:
    scenario_id: str
    title: str | None
    verdict: str  # one of VERDICTS
    reason: str  # one sentence: why this verdict
    facts: AuditFacts | None  # None only when the audit file could not be read
    audit_name: str  # the audit file as the user names it
    links: Links

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """One run: every audit file of the audit folder, in file-name order."""

    scenarios: tuple[ScenarioReport, ...]
    audit_dir: str
    evidence_dir: str
    version: str
    not_run: tuple[tuple[str, str], ...] = ()  # (id, title) of scenarios with no audit file

    def count(self, verdict: str) -> int:
        return sum(1 for s in self.scenarios if s.verdict == verdict)

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios)
