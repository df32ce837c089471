"""The README's `make run` sample, checked against a real run of the whole library and its report.

The sample writes the scenario count as N (the library keeps growing) and the date as YYYYMMDD;
every other line it shows must be a line of the real output, in order (columns compared with
their spacing collapsed, since the widest id sets them; audit record counts, which follow the
engine, are not compared).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.discovery import discover_scenarios

ROOT = Path(__file__).resolve().parents[1]


def _sample() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme.split("```\n$ make run\n", 1)[1].split("```", 1)[0]
    return body.splitlines()


def _normal(line: str) -> str:
    line = re.sub(r"\[\s*\d+/\d+\]", "[i/N]", line)
    line = re.sub(r"\[\s*1/N\]", "[i/N]", line)
    line = re.sub(r"EV-\d{8}-", "EV-YYYYMMDD-", line)
    line = re.sub(r"head [0-9a-f]{12}", "head …", line)
    # How many records a scenario writes follows the engine; the sample shows the shape.
    line = re.sub(r"\d+ records", "# records", line)
    line = re.sub(r"^(\S+ +(?:PASS|FAIL) +\S+ +\d+ +)\d+$", r"\1#", line)
    return " ".join(line.split())


def test_the_make_run_sample_is_a_real_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    audit, evidence = tmp_path / "audit", tmp_path / "evidence"
    argv = ["scenario", "run", "scenarios", "--audit-dir", str(audit)]
    assert main([*argv, "--evidence-dir", str(evidence)]) == 0
    report = tmp_path / "report" / "index.html"  # what make run does next
    options = ["--audit-dir", str(audit), "--evidence-dir", str(evidence), "--output", str(report)]
    assert main(["report", "scenarios", *options]) == 0
    out = capsys.readouterr().out.replace(str(audit), "build/audit")
    out = out.replace(str(report), "build/report/index.html")
    actual = [_normal(line.replace(str(evidence), "evidence")) for line in out.splitlines()]
    count = len(discover_scenarios([ROOT / "scenarios"]))
    position = 0
    for line in _sample():
        if line in ("...", ""):  # a blank line: make run separates the report's lines
            continue
        wanted = _normal(re.sub(r"\bN\b", str(count), line))
        assert wanted in actual[position:], f"README sample line not in the run: {line!r}"
        position = actual.index(wanted, position) + 1
