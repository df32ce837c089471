"""One verdict for one scenario, shared by pytest and the CLI so both always agree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peak_trade.harness.expectations import Mismatch, check_expectations
from peak_trade.harness.model import Scenario
from peak_trade.harness.runner import RunResult, run_scenario
from peak_trade.harness.snapshot import compare_stored_file, snapshot_path


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    scenario: Scenario
    result: RunResult
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def snapshot_text(self) -> str:
        """The readable snapshot of the run's trail, built on request (pytest compares it)."""
        return self.result.trail.snapshot_text(self.scenario.id)

    @property
    def snapshot_sha256(self) -> str:
        """SHA-256 of `snapshot_text`, streamed: the text is never held whole."""
        return self.result.trail.snapshot_sha256(self.scenario.id)


def evaluate(
    scenario: Scenario,
    *,
    snapshot_dir: Path | None,
    audit_file: Path | None = None,
) -> Verdict:
    """Run `scenario`, check its expectations and, when `snapshot_dir` is given, its snapshot."""
    named = scenario.expect.properties
    broker = None
    if named:  # the properties read what the broker received: watch it
        from peak_trade.explore.properties import BrokerWatch

        broker = BrokerWatch(scenario.broker)
    result = run_scenario(scenario, audit_file=audit_file, broker=broker)
    mismatches = check_expectations(scenario.expect, result)
    if named and broker is not None:
        from peak_trade.explore.properties import property_mismatches

        mismatches.extend(property_mismatches(result, broker, named))
    if result.audit_failures:  # whatever the expectations say: the trail is short or unsealed
        mismatches.append(
            Mismatch(
                key="audit_sinks",
                expected="every record in every audit sink, and file sinks sealed",
                actual=f"{len(result.audit_failures)} sink failure(s)",
                detail="\n".join(f"  {failure}" for failure in result.audit_failures),
            )
        )
    if snapshot_dir is not None:
        stored_path = snapshot_path(snapshot_dir, scenario.id)
        snapshot_mismatch = compare_stored_file(
            lambda: result.trail.snapshot_lines(scenario.id), stored_path, name=str(stored_path)
        )
        if snapshot_mismatch is not None:
            mismatches.append(snapshot_mismatch)
    return Verdict(
        scenario=scenario,
        result=result,
        mismatches=_redacted(scenario, mismatches),
    )


def _redacted(scenario: Scenario, mismatches: list[Mismatch]) -> tuple[Mismatch, ...]:
    """The mismatches with the scenario's secrets redacted, before anyone formats them: what is
    expected comes from the scenario itself and may quote a secret (pytest prints it as is)."""
    if not mismatches or not scenario.config.secrets:
        return tuple(mismatches)
    from peak_trade.execution.live.session import build_redactor

    redactor = build_redactor(scenario.config)
    return tuple(
        Mismatch(
            key=redactor.redact_text(m.key),
            expected=redactor.redact(m.expected),
            actual=redactor.redact(m.actual),
            detail=redactor.redact_text(m.detail),
        )
        for m in mismatches
    )
