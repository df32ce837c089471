"""Every scenario in scenarios/ is its own test item, named by its id, snapshot-compared.

The verdict is `harness.verdict.evaluate`, the same function the CLI uses. `--snapshot-update`
records the readable JSON snapshots under tests/__snapshots__/test_scenarios/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.expectations import Mismatch, format_failure
from peak_trade.harness.model import Scenario, load_scenario
from peak_trade.harness.pytest_support import AuditTrailSnapshot
from peak_trade.harness.snapshot import compare_with_stored, snapshot_path
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = ROOT / "tests" / "__snapshots__" / "test_scenarios"


def _load(path: Path) -> tuple[str, Scenario | ScenarioError]:
    try:
        scenario = load_scenario(path.relative_to(ROOT))
    except ScenarioError as error:
        return path.stem, error
    return scenario.id, scenario


def _collect() -> list:
    loaded = [_load(path) for path in discover_scenarios([ROOT / "scenarios"])]
    # One file's error may quote another file's secret: every error knows every file's secrets.
    secrets = [
        value
        for _, outcome in loaded
        for value in (
            outcome.secrets
            if isinstance(outcome, ScenarioError)
            else outcome.config.secrets.values()
        )
    ]
    return [
        pytest.param(
            outcome.with_secrets(secrets) if isinstance(outcome, ScenarioError) else outcome,
            id=scenario_id,
        )
        for scenario_id, outcome in loaded
    ]


@pytest.fixture
def chdir_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # scenario paths in messages and evidence stay repository-relative


@pytest.mark.usefixtures("chdir_root")
@pytest.mark.parametrize("loaded", _collect())
def test_scenario(loaded: Scenario | ScenarioError, snapshot) -> None:
    if isinstance(loaded, ScenarioError):
        pytest.fail(str(loaded), pytrace=False)
    verdict = evaluate(loaded, snapshot_dir=None)
    matches = verdict.snapshot_text == snapshot(extension_class=AuditTrailSnapshot)
    problems = list(verdict.mismatches)
    if not matches:  # explain it the way the CLI does: first differing audit record, diff
        stored = snapshot_path(SNAPSHOT_DIR, loaded.id)
        text = stored.read_text(encoding="utf-8") if stored.exists() else None
        problems.append(
            compare_with_stored(verdict.snapshot_text, text, name=str(stored))
            or Mismatch(key="snapshot", expected="the stored snapshot", actual="a mismatch")
        )
    if problems:
        pytest.fail(format_failure(loaded.id, problems), pytrace=False)
