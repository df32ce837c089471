"""A small run to report on: a hermetic tree with a few library scenarios, their stored
snapshots, and `peak-trade scenario run scenarios --audit-dir build/audit` already done (the
`run` fixture of tests/report/ and tests/cli/test_report_cmds.py)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.model import load_scenario
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]
# A happy path, a refusal by a rail (limit and observed value), a breach the operator
# acknowledges, and planted secrets.
SCENARIOS = (
    "scenarios/happy_path_full_fills.yaml",
    "scenarios/rails/rail_max_order_qty.yaml",
    "scenarios/overfill_breach_acknowledged.yaml",
    "scenarios/redaction_of_planted_secrets.yaml",
)
HOSTILE_ID = "hostile_title"
# A title that would close the drawing and run a script if the page did not escape it.
HOSTILE_TITLE = "</svg></section><script>document.title='pwned'</script>\"' <b>bold</b> & more"
SECRET = "sk-canary-7f3a9c1e"  # configured in redaction_of_planted_secrets


@dataclass(frozen=True)
class Run:
    root: Path
    audit_dir: Path
    evidence_dir: Path
    output: Path
    ids: tuple[str, ...]


def build_tree(root: Path, *, extra: dict[str, str] | None = None) -> None:
    """Copy the scenarios (and `extra`: file name -> YAML text) and store their snapshots."""
    (root / "scenarios").mkdir(parents=True)
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for source in SCENARIOS:
        shutil.copy(ROOT / source, root / "scenarios" / Path(source).name)
    for name, body in (extra or {}).items():
        (root / "scenarios" / name).write_text(body, encoding="utf-8")
    for path in sorted((root / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        stored = snapshot_path(root / "snapshots", scenario.id)
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(evaluate(scenario, snapshot_dir=None).snapshot_text, encoding="utf-8")


def hostile_scenario() -> str:
    """The happy path under another id, with a title that tries to break out of the page, and
    the secret of the planted-secrets scenario in it too."""
    text = (ROOT / "scenarios/happy_path_full_fills.yaml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("id: "):
            line = f"id: {HOSTILE_ID}"
        elif line.startswith("title: "):
            quoted = (HOSTILE_TITLE + " key " + SECRET).replace("'", "''")
            line = f"title: '{quoted}'"
        lines.append(line)
    return "\n".join(lines) + "\n"


def make_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The run in `tmp_path`, which becomes the working directory."""
    build_tree(tmp_path, extra={f"{HOSTILE_ID}.yaml": hostile_scenario()})
    monkeypatch.chdir(tmp_path)
    code = main(["scenario", "run", "scenarios", "--audit-dir", "build/audit"])
    assert code == 0
    ids = tuple(sorted(p.stem for p in (tmp_path / "build/audit").glob("*.jsonl")))
    return Run(
        root=tmp_path,
        audit_dir=tmp_path / "build/audit",
        evidence_dir=tmp_path / "evidence",
        output=tmp_path / "build/report/index.html",
        ids=ids,
    )
