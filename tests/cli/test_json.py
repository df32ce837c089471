"""`--json` of `scenario validate` and `scenario run`: one object per file or scenario, always.

Every object printed is checked against the shapes docs/scenarios.md documents
("Machine-readable output").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.model import load_scenario
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]
HAPPY = "happy_path_full_fills"
ERROR_KEYS = {"file", "line", "column", "pointer", "message"}
VALIDATE_KEYS = {"path", "id", "valid", "errors"}
RUN_KEYS = VALIDATE_KEYS | {
    "passed",
    "final_state",
    "steps_run",
    "audit_records",
    "audit_head",
    "evidence",
    "audit_file",
    "metrics_file",
    "mismatches",
}
MISMATCH_KEYS = {"key", "expected", "actual", "detail", "text"}


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / f"{HAPPY}.yaml", tmp_path / "scenarios")
    (tmp_path / "pyproject.toml").write_text("[tool.peak_trade]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(f"scenarios/{HAPPY}.yaml")
    stored = tmp_path / "snapshots" / f"{HAPPY}.json"
    stored.parent.mkdir()
    stored.write_text(evaluate(scenario, snapshot_dir=None).snapshot_text, encoding="utf-8")
    return tmp_path


def objects(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    for record in records:
        assert set(record) in (VALIDATE_KEYS, RUN_KEYS), sorted(record)
        for error in record["errors"]:
            assert set(error) == ERROR_KEYS
            assert isinstance(error["line"], int)
            assert isinstance(error["column"], int)
            assert error["pointer"] is None or error["pointer"].startswith("/")
        for mismatch in record.get("mismatches", []):
            assert set(mismatch) == MISMATCH_KEYS
    return code, records, captured.err


def write(tree: Path, name: str, text: str) -> None:
    (tree / "scenarios" / name).write_text(text, encoding="utf-8")


def test_validate_json_one_object_per_file_valid_or_not(tree, capsys) -> None:
    write(tree, "bad_yaml.yaml", "id: bad_yaml\ntitle: 'unclosed\n")
    write(
        tree,
        "bad_schema.yaml",
        "id: bad_schema\ntitle: t\nconfig: {}\nsteps: []\nexpect: {final_state: DONE}\n",
    )
    code, records, err = objects(capsys, "scenario", "validate", "--json")
    assert code == 2
    assert err == "2 of 3 scenario file(s) invalid\n"
    by_path = {r["path"]: r for r in records}
    assert list(by_path) == [
        "scenarios/bad_schema.yaml",
        "scenarios/bad_yaml.yaml",
        f"scenarios/{HAPPY}.yaml",
    ]
    assert by_path[f"scenarios/{HAPPY}.yaml"] == {
        "path": f"scenarios/{HAPPY}.yaml",
        "id": HAPPY,
        "valid": True,
        "errors": [],
    }
    syntax = by_path["scenarios/bad_yaml.yaml"]
    assert (syntax["id"], syntax["valid"]) == (None, False)
    assert syntax["errors"][0]["pointer"] is None
    assert syntax["errors"][0]["message"].startswith("invalid YAML: ")
    schema = by_path["scenarios/bad_schema.yaml"]["errors"]
    assert {k: schema[-1][k] for k in ("file", "line", "column")} == {
        "file": "scenarios/bad_schema.yaml",
        "line": 5,
        "column": 23,
    }
    assert schema[-1]["pointer"] == "/expect/final_state"


def test_validate_json_of_a_valid_library_exits_0(tree, capsys) -> None:
    code, records, err = objects(capsys, "scenario", "validate", "--json")
    assert (code, len(records), err) == (0, 1, "1 scenario file(s) valid\n")


def test_run_json_prints_invalid_files_too_and_runs_nothing(tree, capsys) -> None:
    write(tree, "bad.yaml", "id: bad\ntitle: [\n")
    code, records, err = objects(capsys, "scenario", "run", "--json", "--evidence-dir", "ev")
    assert code == 2
    assert "nothing was run" in err
    assert [(r["path"], r["valid"], r["passed"]) for r in records] == [
        ("scenarios/bad.yaml", False, None),
        (f"scenarios/{HAPPY}.yaml", True, None),
    ]
    assert all(r["mismatches"] == [] and r["final_state"] is None for r in records)
    assert not Path("ev").exists()


def test_run_json_mismatches_are_structured(tree, capsys) -> None:
    path = tree / "scenarios" / f"{HAPPY}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("final_state: STOPPED", "final_state: PREFLIGHT_FAILED"), encoding="utf-8"
    )
    code, records, _ = objects(capsys, "scenario", "run", "--json", "--evidence-dir", "ev")
    assert code == 1
    (record,) = records
    assert (record["valid"], record["errors"], record["passed"]) == (True, [], False)
    (mismatch,) = [m for m in record["mismatches"] if m["key"] == "final_state"]
    assert (mismatch["expected"], mismatch["actual"]) == ("PREFLIGHT_FAILED", "STOPPED")
    assert mismatch["text"] == "expect.final_state: expected 'PREFLIGHT_FAILED', got 'STOPPED'"
    assert mismatch["detail"] == ""
    states = [m for m in record["mismatches"] if m["key"] == "states"]
    assert states == []  # only what was edited


def test_run_json_of_a_passing_scenario(tree, capsys) -> None:
    code, records, _ = objects(capsys, "scenario", "run", "--json", "--evidence-dir", "ev")
    assert code == 0
    (record,) = records
    assert (record["passed"], record["mismatches"], record["final_state"]) == (True, [], "STOPPED")
