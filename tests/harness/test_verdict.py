"""The verdict: a run whose audit did not reach every sink, sealed, never passes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from peak_trade.execution.live.audit_trail import writer as audit
from peak_trade.harness.model import load_scenario
from peak_trade.harness.project_config import load_project_config
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "happy_path_full_fills.yaml"
SNAPSHOTS = load_project_config(ROOT).snapshot_dir  # [tool.peak_trade] snapshot_dir


def test_the_scenario_passes_with_a_healthy_audit_file(tmp_path: Path) -> None:
    verdict = evaluate(
        load_scenario(SCENARIO), snapshot_dir=SNAPSHOTS, audit_file=tmp_path / "a.jsonl"
    )
    assert verdict.passed, [m.format() for m in verdict.mismatches]


def test_a_seal_that_fails_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)  # the audit file's seal is fsynced
    verdict = evaluate(
        load_scenario(SCENARIO), snapshot_dir=SNAPSHOTS, audit_file=tmp_path / "a.jsonl"
    )
    assert not verdict.passed
    (sinks,) = [m for m in verdict.mismatches if m.key == "audit_sinks"]
    assert "could not be closed and sealed" in sinks.detail
    assert [e.kind for e in verdict.result.errors] == ["audit_seal_failed"]


def test_a_record_lost_after_the_last_step_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file sink dies on the session_closed record: close() returns normally, the snapshot
    (from the memory capture) still matches, and yet the run must not pass."""
    write_all = audit._write_all

    def failing(fd: int, data: bytes) -> None:
        if b'"type":"session_closed"' in data:
            raise OSError(errno.ENOSPC, "No space left on device")
        write_all(fd, data)

    monkeypatch.setattr(audit, "_write_all", failing)
    verdict = evaluate(load_scenario(SCENARIO), snapshot_dir=None, audit_file=tmp_path / "a.jsonl")
    assert [m.key for m in verdict.mismatches] == ["audit_sinks"]
    assert "could not write a record" in verdict.mismatches[0].detail
    assert verdict.result.errors == ()
