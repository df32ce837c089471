"""Gather a run for the report: the audit folder, the evidence folder, the scenario files.

The imperative shell around `page.render_report`. Each `<id>.jsonl` in the audit folder is one
scenario of the run; its facts come from `observe.facts.read_facts` (the one reader of audit
trails), which verifies the chain and the seal first. The verdict is what the files prove, not
what anyone says:

- PASS: the trail verifies and is sealed, and a PASS evidence file `EV-*-<ID>-PASS.md` records
  this very trail (its chain head and record count, and the scenario file's SHA-256 as it is now).
  `scenario run` writes that evidence only for a passing verdict and removes the day's evidence
  of a scenario that fails, so evidence of another trail, or of an edited scenario, does not count.
- FAIL: the trail verifies and is sealed, but no evidence binds it, or no scenario file (among
  those read) has its id.
- NOT VERIFIED: the chain breaks or the seal is missing: the facts shown are those of the records
  that verify, and nothing vouches for them.
- UNREADABLE: the file cannot be read (not a regular file, a line past the record bound).

The digests are compared, the evidence's text is not re-rendered: `peak-trade evidence verify
EV.md --audit FILE` is that stronger check. Every file is read with a bound; every loop runs over
a folder listing or a bounded list.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from peak_trade.execution.live.regular_files import read_regular
from peak_trade.harness.evidence import MAX_EVIDENCE_BYTES, EvidenceFormatError, parse_evidence
from peak_trade.harness.model import Scenario
from peak_trade.observe.facts import AuditFacts, read_facts
from peak_trade.report.model import (
    FAIL,
    NOT_VERIFIED,
    PASS,
    UNREADABLE,
    Links,
    RunReport,
    ScenarioReport,
)

# Items kept per list of a scenario's facts (refusals, breaches, actions...): the page lists them
# and counts the rest, so one trail's share of the page is bounded whatever its length.
FACTS_LIMIT = 100
AUDIT_SUFFIX = ".jsonl"
SEAL_SUFFIX = ".seal"
METRICS_SUFFIX = ".prom"
_EVIDENCE_NAME = re.compile(r"EV-([0-9]{8})-(.+)-PASS\.md")


class ReportInputError(ValueError):
    """A folder the report reads cannot be used; the message is one sentence with the fix."""


@dataclass(frozen=True, slots=True)
class _Evidence:
    date: str  # YYYYMMDD, from the file name
    path: Path


def audit_files(audit_dir: Path) -> list[Path]:
    """The audit trails of a run: `<id>.jsonl` in `audit_dir`, in name order (hidden names, such
    as a run's lock files, are not trails)."""
    if not audit_dir.is_dir():
        what = "is not a folder" if os.path.lexists(audit_dir) else "does not exist"
        raise ReportInputError(
            f"cannot read the audit folder {audit_dir}: it {what}; run `peak-trade scenario run "
            f"--audit-dir {audit_dir}` first, or name the folder with --audit-dir"
        )
    try:
        names = sorted(os.listdir(audit_dir))
    except OSError as exc:
        raise ReportInputError(
            f"cannot read the audit folder {audit_dir}: {exc.strerror or exc}"
        ) from None
    files = [
        audit_dir / name
        for name in names
        if name.endswith(AUDIT_SUFFIX) and not name.startswith(".") and len(name) > len(".jsonl")
    ]
    if not files:
        raise ReportInputError(
            f"no audit trails (*{AUDIT_SUFFIX}) in {audit_dir}: run `peak-trade scenario run "
            f"--audit-dir {audit_dir}` first"
        )
    return files


def _evidence_index(evidence_dir: Path) -> dict[str, list[_Evidence]]:
    """PASS evidence files by upper-cased scenario id, newest date first."""
    if not evidence_dir.is_dir():
        return {}
    try:
        names = os.listdir(evidence_dir)
    except OSError as exc:
        raise ReportInputError(
            f"cannot read the evidence folder {evidence_dir}: {exc.strerror or exc}"
        ) from None
    index: dict[str, list[_Evidence]] = {}
    for name in sorted(names):  # bounded by the listing
        match = _EVIDENCE_NAME.fullmatch(name)
        if match:
            index.setdefault(match[2], []).append(_Evidence(match[1], evidence_dir / name))
    for found in index.values():
        found.sort(key=lambda e: e.date, reverse=True)
    return index


def _binding(
    scenario_id: str, facts: AuditFacts, candidates: Sequence[_Evidence], scenario: Scenario
) -> tuple[Path | None, str | None]:
    """(the newest evidence that binds this trail, None; or None, why the newest does not)."""
    chain = facts.chain
    first_reason: str | None = None
    for evidence in candidates:  # bounded by the folder listing
        name = evidence.path.name
        reason = None
        try:
            raw = read_regular(evidence.path, MAX_EVIDENCE_BYTES)
            digests = parse_evidence(raw.decode("utf-8")).digests
        except (OSError, UnicodeDecodeError, EvidenceFormatError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            reason = f"{name} cannot be read as evidence ({why})"
        else:
            head, records = digests.get("audit_head"), digests.get("audit_records")
            if digests.get("scenario_id") != scenario_id:
                reason = f"{name} is the evidence of scenario {digests.get('scenario_id')}"
            elif head != chain.head or records != chain.records:
                reason = (
                    f"{name} is the evidence of another run: it records {records} records "
                    f"with head {str(head)[:12]}, this trail has {chain.records} with head "
                    f"{chain.head[:12]}"
                )
            elif digests.get("scenario_sha256") != scenario.sha256:
                reason = (
                    f"{name} was written for another version of {scenario.path}: the scenario "
                    "file changed since, so the run must be repeated"
                )
        if reason is None:
            return evidence.path, None
        first_reason = first_reason or reason
    return None, first_reason


def _verdict(
    scenario_id: str,
    facts: AuditFacts,
    candidates: Sequence[_Evidence],
    scenario: Scenario | None,
    evidence_dir: str,
) -> tuple[str, str, Path | None]:
    chain = facts.chain
    if not chain.verified or not chain.sealed:
        return NOT_VERIFIED, f"The audit trail is {chain.summary}.", None
    if scenario is None:
        return (
            FAIL,
            f"No scenario file with the id {scenario_id} is among the scenarios read: the "
            "trail is of a scenario since renamed or removed, so nothing says what it should "
            "have done.",
            None,
        )
    evidence, why_not = _binding(scenario_id, facts, candidates, scenario)
    if evidence is not None:
        return (
            PASS,
            f"The evidence {evidence.name} binds this trail ({chain.records} records, head "
            f"{chain.head[:12]}), which verifies and is sealed.",
            evidence,
        )
    if why_not is None:
        why_not = (
            f"there is no PASS evidence for {scenario_id} in {evidence_dir}, and `peak-trade "
            "scenario run` writes evidence for every scenario that passes"
        )
    return FAIL, f"No PASS evidence binds this trail: {why_not}.", None


def _relative(target: Path, base: Path) -> str:
    return Path(os.path.relpath(target.absolute(), base.absolute())).as_posix()


def _links(audit: Path, scenario: Scenario | None, evidence: Path | None, base: Path) -> Links:
    seal = audit.with_name(audit.name + SEAL_SUFFIX)
    metrics = audit.with_name(audit.name[: -len(AUDIT_SUFFIX)] + METRICS_SUFFIX)
    return Links(
        audit=_relative(audit, base),
        seal=_relative(seal, base) if seal.is_file() else None,
        metrics=_relative(metrics, base) if metrics.is_file() else None,
        evidence=None if evidence is None else _relative(evidence, base),
        scenario=None if scenario is None else _relative(Path(scenario.path), base),
    )


def collect_report(
    *,
    audit_dir: Path,
    evidence_dir: Path,
    output: Path,
    scenarios: Sequence[Scenario],
    version: str,
    display_path: Callable[[Path], str] = str,
) -> RunReport:
    """The run in `audit_dir` as the report shows it, links relative to `output`'s folder;
    `display_path` names a path as the user reads it."""
    files = audit_files(audit_dir)
    index = _evidence_index(evidence_dir)
    by_id = {s.id: s for s in scenarios}
    base = output.parent
    shown_evidence = display_path(evidence_dir)
    reports: list[ScenarioReport] = []
    for path in files:  # bounded by the folder listing
        scenario_id = path.name[: -len(AUDIT_SUFFIX)]
        scenario = by_id.get(scenario_id)
        title = scenario.title if scenario is not None else None
        try:
            facts = read_facts(path, title=title, limit=FACTS_LIMIT)
        except OSError as exc:
            facts, verdict, evidence = None, UNREADABLE, None
            reason = f"The audit file cannot be read: {exc.strerror or type(exc).__name__}."
        else:
            candidates = index.get(scenario_id.upper(), ())
            verdict, reason, evidence = _verdict(
                scenario_id, facts, candidates, scenario, shown_evidence
            )
        reports.append(
            ScenarioReport(
                scenario_id=scenario_id,
                title=title,
                verdict=verdict,
                reason=reason,
                facts=facts,
                audit_name=display_path(path),
                links=_links(path, scenario, evidence, base),
            )
        )
    ran = {r.scenario_id for r in reports}
    not_run = tuple(sorted((s.id, s.title) for s in scenarios if s.id not in ran))
    return RunReport(
        scenarios=tuple(reports),
        audit_dir=display_path(audit_dir),
        evidence_dir=shown_evidence,
        version=version,
        not_run=not_run,
    )
