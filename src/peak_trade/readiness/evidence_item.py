"""Every evidence file passes `evidence verify`: the pack's own and those already in the project.

For every passing scenario the pack writes the evidence of run 1 (`<dir>/evidence/`), exactly as
`scenario run` would, and checks it against run 2 with `evidence verify`'s own comparison
(harness/evidence_check.check_evidence: digests, the whole text, the file name). Every
`EV-*-<ID>-PASS.md` already in the project's evidence folder is checked the same way against its
scenario's run 2; one whose scenario is not among the runs cannot be verified, and fails.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from peak_trade.execution.live.regular_files import read_regular
from peak_trade.harness.evidence import (
    MAX_EVIDENCE_BYTES,
    EvidenceFormatError,
    parse_evidence,
    write_evidence,
)
from peak_trade.harness.evidence_check import check_evidence
from peak_trade.harness.reproducibility import GitLookup
from peak_trade.readiness.items import Item, _item
from peak_trade.readiness.runs import ScenarioRuns

_EVIDENCE_NAME = re.compile(r"EV-[0-9]{8}-(?P<id>.+)-PASS\.md")
MAX_EXISTING = 10_000  # evidence files read from the project's folder


def write_pack_evidence(runs: Sequence[ScenarioRuns], folder: Path, snapshot_name) -> list[Path]:
    """The evidence of every passing run 1, written into `folder` as `scenario run` writes it."""
    git = GitLookup()  # one lookup shared by the whole pack, as a run of many scenarios does
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_evidence(
            r.first.verdict,
            folder,
            operator=None,
            command=f"peak-trade scenario run {shlex.quote(r.scenario.path)}",
            snapshot_name=snapshot_name(r.scenario.id),
            git=git,
        )
        for r in runs
        if r.passed
    ]


def _findings(
    path: Path, runs_by_id: dict[str, ScenarioRuns], shown: Callable[[Path], str]
) -> list[str]:
    match = _EVIDENCE_NAME.fullmatch(path.name)
    if match is None:
        return []
    try:
        text = read_regular(path, MAX_EVIDENCE_BYTES).decode("utf-8")
        recorded = parse_evidence(text).digests
    except (OSError, UnicodeDecodeError, EvidenceFormatError) as exc:
        return [f"{shown(path)}: not readable evidence: {exc}"]
    scenario_id = str(recorded.get("scenario_id") or "")
    r = runs_by_id.get(scenario_id) or next(
        (r for r in runs_by_id.values() if r.scenario.path == recorded.get("scenario_path")), None
    )
    if r is None:
        return [f"{shown(path)}: its scenario {scenario_id or '?'} is not among the runs"]
    checked = check_evidence(
        text, recorded, r.second.verdict, scenario_sha256=r.scenario.sha256, name=path.name
    )
    return [f"{shown(path)}: {f.message}" for f in checked.findings]


def evidence_verifies(
    runs: Sequence[ScenarioRuns],
    written: Sequence[Path],
    existing_dir: Path | None,
    shown: Callable[[Path], str] = Path.as_posix,
) -> Item:
    runs_by_id = {r.scenario.id: r for r in runs}
    files = list(written)
    others = []
    if existing_dir is not None and existing_dir.is_dir():
        others = sorted(p for p in existing_dir.iterdir() if _EVIDENCE_NAME.fullmatch(p.name))
        others = others[:MAX_EXISTING]
    failures = [f for path in [*files, *others] for f in _findings(path, runs_by_id, shown)]
    if not files and not others:
        failures.append("no evidence file: no scenario passed")
    where = "none" if existing_dir is None else shown(existing_dir)
    return _item(
        "evidence_verifies",
        "Every evidence file passes evidence verify",
        "peak-trade evidence verify EV-YYYYMMDD-<ID>-PASS.md",
        f"{len(files)} evidence file(s) written by this pack and {len(others)} in {where}: "
        "each reproduces its digests and its whole text from a fresh run",
        failures,
        "evidence that does not verify",
    )
