"""The scenario library as a whole: coverage and redaction.

The pytest plugin runs each scenario and compares its audit trail with its snapshot (a missing
snapshot fails its scenario, an unused one the run); `peak-trade scenario validate --strict`
holds the conventions each file follows (tests/harness/test_strict.py runs it on the library, and
`make test` too). This file checks what no single scenario can: that the required behaviours are
all covered, and that planted secrets never leave a run, in any of the spellings redaction
promises to catch.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from peak_trade.execution.live.intents import SubmitIntent
from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.model import Scenario, load_scenario
from peak_trade.harness.project_config import load_project_config
from peak_trade.harness.verdict import Verdict, evaluate

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "scenarios"
SCHEMA = ROOT / "schemas" / "scenario.schema.json"
SNAPSHOT_DIR = load_project_config(ROOT).snapshot_dir  # [tool.peak_trade] snapshot_dir
MODELINE = re.compile(r"# yaml-language-server: \$schema=(?P<path>\S+)")
REDACTED = "[REDACTED]"
MIN_LIBRARY_SIZE = 20

# Behaviour -> the scenario that shows it. Each must exist; its expectations are checked below.
REQUIRED = {
    "full fills": "happy_path_full_fills",
    "partial fills": "partial_fills",
    "broker reject": "broker_reject",
    "several symbols": "several_symbols",
    "live enabled without override": "preflight_live_enabled_without_override",
    "live override used": "preflight_live_override_used",
    "empty allowlist": "preflight_empty_allowlist",
    "malformed allowlist": "preflight_malformed_allowlist",
    "non-mock broker": "preflight_non_mock_broker",
    "audit sink unusable": "preflight_audit_sink_unusable",
    "missing step bound": "preflight_missing_step_bound",
    "graceful stop cancels open orders": "graceful_stop_cancels_open_orders",
    "operator stop mid-session": "operator_stop_mid_session",
    "breach, acknowledge, stop": "overfill_breach_acknowledged",
    "broker health failure": "broker_health_outage",
    "step bound refused": "step_bound_refused",
    "redaction of planted secrets": "redaction_of_planted_secrets",
}
REQUIRED_TAGS = {"happy-path", "fills", "preflight", "stop", "breach", "operator", "redaction"}
# Each preflight check with a required scenario that fails exactly that check and nothing else.
REQUIRED_PREFLIGHT_FAILURES = {
    "live_disabled",
    "allowlist_valid",
    "broker_is_mock",
    "audit_sink_writable",
    "step_bound_configured",
}
REQUIRED_BREACHES = {"execution_reports_sound", "broker_healthy"}
REQUIRED_ERRORS = {"step_bound_exceeded"}


def _scenario_files() -> list[Path]:
    return discover_scenarios([SCENARIO_DIR])


SCENARIO_FILES = _scenario_files()
_LOADED: dict[Path, Scenario] = {}


def _load(path: Path) -> Scenario:
    if path not in _LOADED:
        _LOADED[path] = load_scenario(path)
    return _LOADED[path]


def _library() -> dict[str, Scenario]:
    return {(s := _load(path)).id: s for path in SCENARIO_FILES}


def _file_param(path: Path) -> object:
    return pytest.param(path, id=str(path.relative_to(SCENARIO_DIR)))


# ----------------------------------------------------------------------------- coverage


def test_library_has_enough_scenarios() -> None:
    assert len(SCENARIO_FILES) >= MIN_LIBRARY_SIZE + 1, [p.name for p in SCENARIO_FILES]


def test_required_behaviours_are_covered() -> None:
    library = _library()
    missing = {behaviour: sid for behaviour, sid in REQUIRED.items() if sid not in library}
    assert not missing, f"required behaviours without their scenario: {missing}"
    tags = {tag for scenario in library.values() for tag in scenario.tags}
    assert not REQUIRED_TAGS - tags, f"tags not used by any scenario: {REQUIRED_TAGS - tags}"


def test_each_preflight_failure_has_a_scenario_of_its_own() -> None:
    alone = {
        scenario.expect.failed_checks[0]
        for scenario in _library().values()
        if scenario.expect.failed_checks is not None
        and len(scenario.expect.failed_checks) == 1
        and scenario.expect.final_state == "PREFLIGHT_FAILED"
    }
    assert not REQUIRED_PREFLIGHT_FAILURES - alone, "preflight checks never failed on their own"


def test_required_breaches_and_errors_are_expected_somewhere() -> None:
    library = _library().values()
    breaches = {b for s in library for b in (s.expect.breaches or ())}
    errors = {e for s in library for e in (s.expect.errors or ())}
    assert not REQUIRED_BREACHES - breaches, "required breaches no scenario expects"
    assert not REQUIRED_ERRORS - errors, "required errors no scenario expects"


def _statuses(s: Scenario) -> set[object]:
    return {fields.get("status") for fields in s.expect.orders.values()}


def _stop_modes(s: Scenario) -> set[str]:
    return {step.stop.mode for step in s.steps if step.stop is not None}


def _fails_alone(check: str) -> Callable[[Scenario], bool]:
    return lambda s: (
        s.expect.final_state == "PREFLIGHT_FAILED" and s.expect.failed_checks == (check,)
    )


# What each required scenario must expect for its name to be true.
CLAIMS: dict[str, Callable[[Scenario], bool]] = {
    "happy_path_full_fills": lambda s: _statuses(s) == {"filled"} and not s.expect.breaches,
    "partial_fills": lambda s: any(
        int(str(o.get("fills", 0))) >= 2 for o in s.expect.orders.values()
    ),
    "broker_reject": lambda s: "rejected" in _statuses(s) and s.expect.breaches == (),
    "several_symbols": lambda s: len(s.expect.positions) >= 2,
    "preflight_live_enabled_without_override": _fails_alone("live_disabled"),
    "preflight_live_override_used": lambda s: (
        s.config.live.enabled is True
        and s.config.live.test_override is True
        and s.expect.failed_checks == ()
        and "live_override_used" in (s.expect.audit_in_order or ())
    ),
    "preflight_empty_allowlist": _fails_alone("allowlist_valid"),
    "preflight_malformed_allowlist": _fails_alone("allowlist_valid"),
    "preflight_non_mock_broker": _fails_alone("broker_is_mock"),
    "preflight_audit_sink_unusable": _fails_alone("audit_sink_writable"),
    "preflight_missing_step_bound": _fails_alone("step_bound_configured"),
    "graceful_stop_cancels_open_orders": lambda s: (
        "graceful" in _stop_modes(s)
        and "canceled" in _statuses(s)
        and s.expect.final_state == "STOPPED"
    ),
    "operator_stop_mid_session": lambda s: (
        "cancel" in _stop_modes(s)
        and "canceled" in _statuses(s)
        and s.expect.final_state == "STOPPED"
    ),
    "overfill_breach_acknowledged": lambda s: (
        any(step.acknowledge is not None for step in s.steps)
        and bool(s.expect.breaches)
        and (s.expect.states or ())[-3:] == ("ERROR_REQUIRES_OPERATOR", "STOPPING", "STOPPED")
    ),
    "broker_health_outage": lambda s: (
        bool(s.broker.health) and s.expect.breaches == ("broker_healthy",)
    ),
    "step_bound_refused": lambda s: (
        s.expect.errors == ("step_bound_exceeded",)
        and "step_bound_refused" in (s.expect.audit_in_order or ())
        and any(step.run is not None and step.run > s.config.max_steps for step in s.steps)  # type: ignore[operator]
    ),
    "redaction_of_planted_secrets": lambda s: bool(s.config.secrets) and "redaction" in s.tags,
}


def test_every_required_scenario_has_a_claim() -> None:
    assert set(REQUIRED.values()) <= set(CLAIMS)


@pytest.mark.parametrize("scenario_id", sorted(CLAIMS))
def test_required_scenario_expects_what_its_name_promises(scenario_id: str) -> None:
    library = _library()
    assert scenario_id in library, f"required scenario {scenario_id} is missing"
    assert CLAIMS[scenario_id](library[scenario_id]), scenario_id


# ----------------------------------------------------------------------------- redaction


def _secret_scenarios() -> list[Path]:
    found = []
    for path in SCENARIO_FILES:
        try:
            if _load(path).config.secrets:
                found.append(path)
        except ScenarioError:  # reported by the scenario items and by the tests above
            continue
    return found


SECRET_SCENARIOS = _secret_scenarios()


def secret_spellings(secret: str) -> set[str]:
    """The raw value and the URL-encoded and base64 forms a leak would most likely take.

    Written here, not taken from the redactor, so that the test does not trust the code it tests.
    """
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    forms |= {form.lower() for form in forms if "%" in form}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return forms


def _order_ids(scenario: Scenario) -> list[str]:
    return [
        intent.order.client_order_id
        for step in scenario.steps
        for intent in step.intents
        if isinstance(intent, SubmitIntent)
    ]


def _leaks(scenario: Scenario, text: str) -> Iterator[str]:
    for name, value in sorted(scenario.config.secrets.items()):
        for form in sorted(secret_spellings(value)):
            if form in text:
                yield f"secret {name} as {form!r}"


def _run(path: Path, tmp_path: Path) -> tuple[Verdict, Path]:
    audit_file = tmp_path / "audit.jsonl"
    verdict = evaluate(_load(path), snapshot_dir=None, audit_file=audit_file)
    assert verdict.passed, [m.format() for m in verdict.mismatches]
    return verdict, audit_file


def test_the_library_plants_secrets() -> None:
    assert SECRET_SCENARIOS, "no scenario configures config.secrets: redaction is not shown"


def test_secret_spellings_cover_encodings() -> None:
    forms = secret_spellings("pw/+=q")
    assert {"pw/+=q", "pw%2F%2B%3Dq", "pw%2f%2b%3dq", "cHcvKz1x"} <= forms


@pytest.mark.parametrize("path", [_file_param(p) for p in SECRET_SCENARIOS])
def test_secrets_never_reach_the_snapshot(path: Path) -> None:
    scenario = _load(path)
    text = (SNAPSHOT_DIR / f"{scenario.id}.json").read_text(encoding="utf-8")
    leaks = list(_leaks(scenario, text))
    assert not leaks, leaks
    assert REDACTED in text, "nothing was redacted: the scenario plants no secret"
    for order_id in _order_ids(scenario):
        assert f'"client_order_id":"{order_id}"' in text


@pytest.mark.parametrize("path", [_file_param(p) for p in SECRET_SCENARIOS])
def test_secrets_never_reach_the_audit_of_a_run(path: Path, tmp_path: Path) -> None:
    scenario = _load(path)
    verdict, audit_file = _run(path, tmp_path)
    written = audit_file.read_text(encoding="utf-8")
    seal = audit_file.with_name(audit_file.name + ".seal").read_text(encoding="utf-8")
    captured = "\n".join(verdict.result.audit_lines)
    errors = "\n".join(error.message for error in verdict.result.errors)
    for where, text in {
        "audit file": written,
        "seal": seal,
        "captured audit lines": captured,
        "snapshot text": verdict.snapshot_text,
        "raised errors": errors,
    }.items():
        leaks = list(_leaks(scenario, text))
        assert not leaks, f"{where}: {leaks}"
    assert written.splitlines() == list(verdict.result.audit_lines)
    assert REDACTED in written
    for order_id in _order_ids(scenario):
        assert f'"client_order_id":"{order_id}"' in written


@pytest.mark.parametrize("path", [_file_param(p) for p in SECRET_SCENARIOS])
def test_secrets_never_reach_the_evidence(path: Path, tmp_path: Path) -> None:
    try:
        from peak_trade.harness.evidence import render_evidence
    except ImportError as exc:  # written concurrently by another engineer
        pytest.skip(f"peak_trade.harness.evidence is not available yet ({exc})")
    scenario = _load(path)
    verdict, _ = _run(path, tmp_path)
    text = render_evidence(
        verdict,
        operator="library test",
        date=dt.date(2024, 1, 2),
        command=f"peak-trade scenario run {path.relative_to(ROOT)}",
        version="0.0.0-test",
        git_commit=None,
        scenario_in_git="no_repository",
        python="3.11",
        platform="test",
    )
    leaks = list(_leaks(scenario, text))
    assert not leaks, leaks
    for order_id in _order_ids(scenario):
        assert order_id in text
