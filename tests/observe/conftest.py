"""One run of every landed scenario with an audit folder, shared by the observe tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from peak_trade.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def library_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The audit folder of `scenario run scenarios --audit-dir`: <id>.jsonl, .seal and .prom."""
    base = tmp_path_factory.mktemp("library")
    audit = base / "audit"
    argv = ["scenario", "run", str(ROOT / "scenarios"), "--audit-dir", str(audit)]
    code = main([*argv, "--evidence-dir", str(base / "evidence")])
    assert code == 0
    return audit
