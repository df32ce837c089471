"""The readiness pack: every item judged once, rendered as Markdown and JSON.

`build_pack` is the shell: it runs the scenarios (runs.py), scans the tracked files
(credentials.py), reads the two docs the items check, and judges every item (items.py). The
renderers are pure; the only date in the pack is the one it is for (the file name's YYYYMMDD),
so two packs of the same tree on the same day are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from peak_trade.execution.live.regular_files import read_regular
from peak_trade.harness.model import Scenario
from peak_trade.readiness import items as checks
from peak_trade.readiness.evidence_item import evidence_verifies, write_pack_evidence
from peak_trade.readiness.items import Item
from peak_trade.readiness.runs import Player, ScenarioRuns, run_all

PACK_FORMAT = 1
MAX_DOC_BYTES = 1_048_576
ENABLE_FLAG_DOC = Path("docs/readiness.md")
FAILURE_MATRIX_DOC = Path("docs/failure-matrix.md")
STATEMENT = (
    "This pack is necessary, not sufficient, for going live. It proves what the rehearsal "
    "shows against the mock broker; it enables nothing. Live trading stays off: peak_trade has "
    "no live broker adapter, and going live remains an operator's decision, gated outside this "
    "tool."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pack:
    date: dt.date
    scenarios: int
    items: tuple[Item, ...]

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.items)

    @property
    def failed(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if not item.passed)


def pack_name(date: dt.date) -> str:
    return f"READINESS-{date:%Y%m%d}"


def _doc(root: Path, relative: Path) -> str | None:
    try:
        return read_regular(root / relative, MAX_DOC_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _entry_points() -> list[tuple[str, str, str]]:
    found = []
    for group in ("console_scripts", "gui_scripts", "pytest11"):
        for ep in entry_points(group=group):
            dist = getattr(ep, "dist", None)
            if dist is not None and dist.metadata["Name"] in ("peak-trade", "peak_trade"):
                found.append((group, ep.name, ep.value))
    return sorted(found)


def _records(r: ScenarioRuns) -> list[tuple[int, str, str, str | None]]:
    rows = []
    for record in r.first.verdict.result.records:  # bounded: the run's trail
        payload = record.get("payload")
        to = payload.get("to") if isinstance(payload, dict) else None
        rows.append((int(record["step"]), str(record["state"]), str(record["type"]), to))  # type: ignore[arg-type]
    return rows


def build_pack(
    scenarios: Sequence[Scenario],
    *,
    root: Path,
    output: Path,
    snapshot_dir: Path,
    evidence_dir: Path | None,
    date: dt.date,
    shown: Callable[[Path], str],
    player: Player | None = None,
) -> Pack:
    from peak_trade.cli.scenario_cmds import write_metrics_beside
    from peak_trade.readiness.credentials import ScanInputError, scan_repository

    audit_dir = output / "audit"
    runs = run_all(scenarios, audit_dir, snapshot_dir, player=player)
    for r in runs:  # the .prom beside each trail, as `scenario run --audit-dir` writes it
        write_metrics_beside(r.audit_file, r.first.verdict.result.head)
    written = write_pack_evidence(
        runs, output / "evidence", lambda sid: shown(snapshot_dir / f"{sid}.json")
    )
    try:
        scan, problem = scan_repository(root), None
    except ScanInputError as exc:
        scan, problem = None, str(exc)
    audit_shown = shown(audit_dir)
    enable_doc, matrix_doc = _doc(root, ENABLE_FLAG_DOC), _doc(root, FAILURE_MATRIX_DOC)
    items = (
        checks.scenarios_pass(runs),
        checks.no_live(runs, _entry_points()),
        checks.enable_flag_documented(ENABLE_FLAG_DOC, enable_doc),
        checks.allowlists_valid(runs),
        checks.no_credentials(scan, problem),
        checks.idempotency(runs),
        checks.bounded_retries(runs),
        checks.deterministic(runs),
        checks.audit_sealed(runs, audit_shown),
        checks.failure_matrix_green(runs, FAILURE_MATRIX_DOC, matrix_doc),
        checks.tripwires_stop(runs, _records),
        checks.health_and_counters(runs, audit_shown),
        evidence_verifies(runs, written, evidence_dir, shown),
    )
    return Pack(date=date, scenarios=len(runs), items=items)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(pack: Pack, *, shown_output: str) -> str:
    failed = pack.failed
    verdict = (
        f"PASS: all {len(pack.items)} items pass"
        if not failed
        else f"FAIL: {len(failed)} of {len(pack.items)} items fail ("
        + ", ".join(i.key for i in failed)
        + ")"
    )
    lines = [
        f"# Readiness pack {pack.date.isoformat()}",
        "",
        f"> **{STATEMENT}**",
        "",
        f"**Verdict: {verdict}.** {pack.scenarios} scenario(s), each run twice. Audit trails, "
        f"metrics and evidence of run 1: `{shown_output}/audit/`, `{shown_output}/evidence/`.",
        "",
        "| # | Item | Verdict | Found |",
        "|---|---|---|---|",
    ]
    for number, item in enumerate(pack.items, start=1):
        word = "PASS" if item.passed else "**FAIL**"
        lines.append(f"| {number} | {_cell(item.title)} | {word} | {_cell(item.found)} |")
    for number, item in enumerate(pack.items, start=1):
        lines += [
            "",
            f"## {number}. {item.title}",
            "",
            f"- Verdict: {'PASS' if item.passed else 'FAIL'} (`{item.key}`)",
            f"- Proven by: `{item.command}`",
            f"- Found: {item.found}",
        ]
        if item.failures:
            lines += ["", "Failing:", ""]
            lines += [f"- {failure}" for failure in item.failures]
    lines += [
        "",
        "## Sign-off",
        "",
        "This pack does not switch anything on. Reviewed by: ________  Date: ________",
        "",
    ]
    return "\n".join(lines)


def render_json(pack: Pack) -> str:
    data = {
        "format": PACK_FORMAT,
        "date": pack.date.isoformat(),
        "passed": pack.passed,
        "statement": STATEMENT,
        "scenarios": pack.scenarios,
        "items": [item.to_json() for item in pack.items],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
