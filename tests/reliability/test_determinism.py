"""Determinism: the whole scenario library, run twice in separate processes with different hash
seeds, writes byte-identical audit files, seals and evidence (apart from the evidence date).

One subprocess per seed runs every scenario at once (`peak-trade scenario run <all> --json`), from
the repository root so that scenario paths and the stored snapshots are the ones users see.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from peak_trade.harness.discovery import discover_scenarios

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ("0", "2718281828")
DATE_LINE = re.compile(r"^- \*\*Date:\*\* .*$", re.MULTILINE)
FILE_DATE = re.compile(r"^EV-\d{8}-")


def scenario_paths() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in discover_scenarios([ROOT / "scenarios"])]


def run_library(out: Path, seed: str) -> tuple[int, list[dict[str, object]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAK_TRADE")}
    env["PYTHONHASHSEED"] = seed
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "peak_trade",
            "scenario",
            "run",
            *scenario_paths(),
            "--audit-dir",
            str(out / "audit"),
            "--evidence-dir",
            str(out / "evidence"),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, rows


def files(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def undated(evidence: dict[str, bytes]) -> dict[str, str]:
    return {
        FILE_DATE.sub("EV-<date>-", name): DATE_LINE.sub("- **Date:** <date>", data.decode())
        for name, data in evidence.items()
    }


def without_dirs(rows: list[dict[str, object]], out: Path) -> list[str]:
    text = [json.dumps(row, sort_keys=True) for row in rows]
    return [FILE_DATE.sub("EV-<date>-", t.replace(str(out), "<out>")) for t in text]


def test_every_scenario_is_byte_identical_across_processes_and_hash_seeds(tmp_path: Path):
    paths = scenario_paths()
    runs = []
    for seed in SEEDS:
        out = tmp_path / f"seed-{seed}"
        code, rows = run_library(out, seed)
        runs.append((out, code, rows, files(out / "audit"), files(out / "evidence")))
    (out_a, code_a, rows_a, audit_a, evidence_a), (out_b, code_b, rows_b, audit_b, evidence_b) = (
        runs
    )

    assert len(rows_a) == len(paths), "every scenario reports one JSON line"
    assert code_a == code_b
    assert without_dirs(rows_a, out_a) == without_dirs(rows_b, out_b)
    # Audit trails, seals and metrics: every scenario has all three, byte for byte the same in
    # both runs.
    assert len(audit_a) == 3 * len(paths)
    assert audit_a.keys() == audit_b.keys()
    differing = [name for name in audit_a if audit_a[name] != audit_b[name]]
    assert not differing, f"audit files differ between hash seeds: {differing}"
    # Evidence (one file per passing scenario): the same apart from the date.
    passed = sum(1 for row in rows_a if row["passed"])
    assert len(evidence_a) == passed > 0
    assert undated(evidence_a) == undated(evidence_b)
