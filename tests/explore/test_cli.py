"""`peak-trade explore`: the contract's flags, the report files, exit codes, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peak_trade.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CLEAN = [
    str(ROOT / "scenarios" / "happy_path_full_fills.yaml"),
    str(ROOT / "scenarios" / "broker_reject.yaml"),
]


def _explore(tmp_path: Path, *extra: str, name: str = "out") -> tuple[int, dict]:
    out = tmp_path / name
    code = main(["explore", *CLEAN, "--budget", "12", "--seed", "3", "--output", str(out), *extra])
    return code, json.loads((out / "EXPLORE-REPORT.json").read_text(encoding="utf-8"))


def test_a_small_campaign_writes_both_reports(tmp_path: Path, capsys) -> None:
    code, report = _explore(tmp_path, "--workers", "1")
    text = capsys.readouterr().out
    assert "explored 12 variants of 2 scenario(s) (seed 3)" in text
    assert report["variants_run"] == 12
    assert report["bases"] == ["happy_path_full_fills", "broker_reject"]
    assert report["invalid"] == 0
    assert sum(n for _, _, n in report["coverage"]) >= 12
    md = (tmp_path / "out" / "EXPLORE-REPORT.md").read_text(encoding="utf-8")
    assert "## Coverage: fault kind x step" in md
    assert code == (1 if report["violations"] else 0)


def test_same_seed_same_findings_with_one_and_two_workers(tmp_path: Path) -> None:
    _, one = _explore(tmp_path, "--workers", "1", name="one")
    _, two = _explore(tmp_path, "--workers", "2", name="two")
    for report in (one, two):
        report.pop("timing")
        report.pop("command")
        for finding in report["findings"]:
            finding.pop("reproducer")
    assert one == two


def test_json_prints_the_report(tmp_path: Path, capsys) -> None:
    _explore(tmp_path, "--workers", "1", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["format"] == "peak-trade-explore/1"
    assert "variants_per_second" in printed["timing"]


@pytest.mark.parametrize(
    "argv",
    [["--budget", "0"], ["--budget", "x"], ["--workers", "0"], ["--seed", "1.5"]],
)
def test_bad_options_exit_2(argv: list[str], tmp_path: Path) -> None:
    assert main(["explore", *CLEAN, "--output", str(tmp_path), *argv]) == 2


def test_an_invalid_base_scenario_exits_2(tmp_path: Path, capsys) -> None:
    bad = ROOT / "tests" / "data" / "bad_scenarios" / "typo_order_qyt.yaml"
    assert main(["explore", str(bad), "--output", str(tmp_path)]) == 2
    assert "typo_order_qyt.yaml:" in capsys.readouterr().err
