"""Every scenario run twice, once per readiness pack: the runs every item reads.

Run 1 writes its sealed audit trail to the pack's audit folder (`<dir>/audit/<id>.jsonl`, the
metrics beside it); run 2 writes the same file name into a scratch folder. Both run against a
`BrokerWatch` (the explorer's watched mock, which sees a second live order for one id) and are
judged by the same expectations and snapshot as `scenario run`. Items reuse these two runs: the
determinism item compares their bytes, the evidence item renders evidence from run 1 and checks
it against run 2 as `evidence verify` would, the audit item verifies run 1's file and seal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from peak_trade.execution.live.audit import VerifyResult, verify_file
from peak_trade.explore.properties import BrokerWatch, property_mismatches
from peak_trade.harness.expectations import Mismatch, check_expectations
from peak_trade.harness.model import Scenario
from peak_trade.harness.runner import RunResult, run_scenario
from peak_trade.harness.snapshot import compare_stored_file, snapshot_path
from peak_trade.harness.verdict import Verdict
from peak_trade.observe.facts import AuditFacts, read_facts

SEAL_SUFFIX = ".seal"


@dataclass(frozen=True, slots=True, kw_only=True)
class Played:
    """One run of one scenario: its verdict, what the watched broker saw, its files' digests."""

    verdict: Verdict
    second_live: tuple[tuple[int, str], ...]  # (step, id): a new order while one was working
    audit_sha256: str  # of the audit file's bytes
    seal_sha256: str | None  # of the seal's bytes; None: no seal was written


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioRuns:
    scenario: Scenario
    first: Played
    second: Played
    audit_file: Path  # run 1's trail, kept in the pack's audit folder
    verified: VerifyResult  # run 1's file and seal
    facts: AuditFacts  # run 1's trail folded (observe.facts)

    @property
    def passed(self) -> bool:
        return self.first.verdict.passed

    @property
    def identical(self) -> bool:
        a, b = self.first, self.second
        return (a.audit_sha256, a.seal_sha256) == (b.audit_sha256, b.seal_sha256)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def judge(
    scenario: Scenario, result: RunResult, broker: BrokerWatch, snapshot_dir: Path
) -> Verdict:
    """The verdict `harness.verdict.evaluate` gives, for a run made here (with a watch)."""
    mismatches: list[Mismatch] = list(check_expectations(scenario.expect, result))
    if scenario.expect.properties:
        mismatches.extend(property_mismatches(result, broker, scenario.expect.properties))  # type: ignore[arg-type]
    if result.audit_failures:
        mismatches.append(
            Mismatch(
                key="audit_sinks",
                expected="every record in every audit sink, and file sinks sealed",
                actual=f"{len(result.audit_failures)} sink failure(s)",
            )
        )
    stored = snapshot_path(snapshot_dir, scenario.id)
    found = compare_stored_file(
        lambda: result.trail.snapshot_lines(scenario.id), stored, name=str(stored)
    )
    if found is not None:
        mismatches.append(found)
    return Verdict(scenario=scenario, result=result, mismatches=tuple(mismatches))


def play(scenario: Scenario, audit_file: Path, snapshot_dir: Path) -> Played:
    """One run of `scenario` with its trail in `audit_file` (tests replace this to break a run)."""
    broker = BrokerWatch(scenario.broker)
    result = run_scenario(scenario, audit_file=audit_file, broker=broker)
    seal = audit_file.with_name(audit_file.name + SEAL_SUFFIX)
    return Played(
        verdict=judge(scenario, result, broker, snapshot_dir),
        second_live=tuple(broker.second_live),
        audit_sha256=_sha256(audit_file) or "",
        seal_sha256=_sha256(seal),
    )


Player = Callable[[Scenario, Path, Path], Played]


def run_all(
    scenarios: Sequence[Scenario],
    audit_dir: Path,
    snapshot_dir: Path,
    *,
    player: Player | None = None,
) -> list[ScenarioRuns]:
    """Each scenario twice (bounded: two runs per scenario given)."""
    go = player or play
    audit_dir.mkdir(parents=True, exist_ok=True)
    done = []
    with TemporaryDirectory(prefix="peak-trade-readiness-") as scratch:
        for scenario in scenarios:
            audit_file = audit_dir / f"{scenario.id}.jsonl"
            first = go(scenario, audit_file, snapshot_dir)
            again = Path(scratch) / f"{scenario.id}.jsonl"
            second = go(scenario, again, snapshot_dir)
            done.append(
                ScenarioRuns(
                    scenario=scenario,
                    first=first,
                    second=second,
                    audit_file=audit_file,
                    verified=verify_file(audit_file),
                    facts=read_facts(audit_file, title=scenario.title),
                )
            )
    return done
