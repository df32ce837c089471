"""docs/fix-matrices.md against scenarios/fix/: the table, its counts, and its verdicts.

- Every scenario in scenarios/fix/ is in exactly one row, linked to its file, and its id is
  `fix_<group><n><letter>_...` for the row's matrix; every group A-L has a row.
- The counts at the top (catalogued, written, passing) are those of the table, and a row that
  says "pass" is a scenario that passes now (expectations and snapshot, as in test_scenarios.py).
- Every scenario writes its matrix as `expect.reports` with OrderQty 10000 on the first report.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.model import Scenario, load_scenario
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "fix-matrices.md"
FIX_DIR = ROOT / "scenarios" / "fix"
SNAPSHOT_DIR = ROOT / "snapshots"
LINK = re.compile(r"^\[`(?P<id>fix_[a-z0-9_]+)`\]\((?P<target>[^)\s]+)\)$")
MATRIX = re.compile(r"^(?P<group>[A-L])\.(?P<n>[0-9]+|x)\.?(?P<letter>[a-z]?)$")
COUNTS = re.compile(
    r"^\*\*(?P<catalogued>\d+) matrices catalogued in groups A-L \(group K: none found\); "
    r"(?P<written>\d+) written as scenarios; (?P<passing>\d+) passing\.\*\*$"
)
SCENARIOS = {load_scenario(p).id: (p, load_scenario(p)) for p in discover_scenarios([FIX_DIR])}


def _rows() -> list[list[str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Matrices")
    table = []
    for line in lines[start:]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif table:
            break
    assert table[0] == ["Matrix", "Title", "Source", "Scenario", "Verdict"]
    return table[2:]


ROWS = _rows()


def _scenario_id(cell: str) -> str | None:
    if cell == "—":
        return None
    match = LINK.fullmatch(cell)
    assert match, f"the scenario cell must be [`id`](path) or —, got {cell!r}"
    target = (DOC.parent / match["target"]).resolve()
    assert target == (FIX_DIR / f"{match['id']}.yaml").resolve(), f"{match['id']} links elsewhere"
    return match["id"]


def test_every_fix_scenario_has_exactly_one_row_named_after_its_matrix() -> None:
    ids = [_scenario_id(row[3]) for row in ROWS]
    written = [i for i in ids if i is not None]
    assert sorted(written) == sorted(SCENARIOS), "rows and scenarios/fix/ differ"
    assert len(written) == len(set(written))
    for row, sid in zip(ROWS, ids, strict=True):
        match = MATRIX.fullmatch(row[0])
        assert match, f"bad matrix id {row[0]!r}"
        if sid is not None:
            prefix = f"fix_{match['group'].lower()}{match['n']}{match['letter']}_"
            assert sid.startswith(prefix), f"{sid} is not named after matrix {row[0]}"
    assert {MATRIX.fullmatch(r[0])["group"] for r in ROWS} == set("ABCDEFGHIJKL")


def test_the_counts_at_the_top_are_those_of_the_table() -> None:
    line = next(x for x in DOC.read_text(encoding="utf-8").splitlines() if x.startswith("**"))
    counts = COUNTS.fullmatch(line)
    assert counts, f"the count line has moved or changed shape: {line!r}"
    catalogued = [r for r in ROWS if not r[0].endswith(".x")]
    written = [r for r in ROWS if _scenario_id(r[3]) is not None]
    passing = [r for r in ROWS if r[4].startswith("pass")]
    assert int(counts["catalogued"]) == len(catalogued)
    assert int(counts["written"]) == len(written)
    assert int(counts["passing"]) == len(passing)
    assert all(_scenario_id(r[3]) is not None for r in passing), "a passing row names a scenario"
    assert len(passing) >= 25  # issue 11: at least 25 of the matrices pass


@pytest.mark.parametrize("row", [r for r in ROWS if r[4].startswith("pass")], ids=lambda r: r[0])
def test_a_row_that_says_pass_is_a_scenario_that_passes(row: list[str], monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    sid = _scenario_id(row[3])
    assert sid is not None
    verdict = evaluate(SCENARIOS[sid][1], snapshot_dir=SNAPSHOT_DIR)
    assert verdict.passed, [m.format() for m in verdict.mismatches]
    differs = "session-differs" in SCENARIOS[sid][1].tags
    assert (row[4] == "pass, the session differs") is differs, f"{sid}: verdict vs its tags"


@pytest.mark.parametrize("sid", sorted(SCENARIOS))
def test_each_scenario_writes_its_matrix_as_expected_reports(sid: str) -> None:
    scenario: Scenario = SCENARIOS[sid][1]
    assert "fix" in scenario.tags
    assert "appendix-d" in scenario.tags
    assert scenario.expect.reports, "a matrix scenario checks expect.reports"
    first = [rows[0] for rows in scenario.expect.reports.values() if rows]
    if first:  # a refused request has no reports at all
        assert first[0].fields["order_qty"] == Decimal(10000), "Appendix D uses OrderQty 10000"
