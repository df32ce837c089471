from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.run_tree import Run, make_run


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    return make_run(tmp_path, monkeypatch)
