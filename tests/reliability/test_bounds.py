"""Bounds: the validator computes a scenario's worst-case work and refuses it past the bounds.

For each bound, the largest multiplier that stays within it is accepted and the next one is
refused with a located problem (file:line:col, the JSON pointer of the multiplier, what to
change); the issue's own examples (a 201-byte file asking for 10^7 steps, 1,000 resting orders
for hours, an 86 KB flood of reports) are refused before anything runs. The estimates are upper
bounds: every scenario in the library and every generated attack stays within them when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import ScenarioError, ScenarioValidationError
from peak_trade.harness.loader import load_scenario_file, load_scenario_text
from peak_trade.harness.model import Scenario, build_scenario, load_scenario
from peak_trade.harness.runner import run_scenario
from peak_trade.harness.validate import load_schema, validate_document
from peak_trade.harness.work_model import BOUNDS, WorkEstimate, _longest_text, estimate_work
from tests.reliability import bounds_support as gen

ROOT = Path(__file__).resolve().parents[2]


def build(text: str, path: str = "probe.yaml") -> Scenario:
    doc = load_scenario_text(text, path=path)
    problems = validate_document(doc, load_schema())
    assert not problems, [p.format() for p in problems]
    return build_scenario(doc)


def estimate(text: str) -> WorkEstimate:
    doc = load_scenario_text(text, path="probe.yaml")
    assert not validate_document(doc, load_schema())
    try:
        scenario = build_scenario(doc)
    except ScenarioValidationError:
        scenario = None
    if scenario is None:  # refused: estimate from a copy without the work check
        from peak_trade.harness import model

        original = model.work_problems
        model.work_problems = lambda *args: []  # type: ignore[assignment]
        try:
            scenario = build_scenario(doc)
        finally:
            model.work_problems = original  # type: ignore[assignment]
    return estimate_work(scenario, file_bytes=doc.size, longest_text=_longest_text(doc.data))


def refusal(text: str, bound: str) -> str:
    with pytest.raises(ScenarioValidationError) as caught:
        build(text)
    messages = [p.format() for p in caught.value.problems]
    ours = [m for m in messages if f"over the bound of {BOUNDS[bound]:,}" in m]
    assert ours, messages
    for message in ours:
        assert re.match(r"^probe\.yaml:\d+:\d+: error: this scenario can produce up to ", message)
        assert "docs/scenarios.md, Bounds" in message
    return ours[0]


# (bound, generator of the multiplier n, the largest n accepted, pointer the refusal names)
NEAR_AND_PAST: list[tuple[str, Callable[[int], str], int, str]] = [
    ("steps", lambda n: gen.many_steps(n, 100_000), 10, "[at /steps/0/run]"),
    ("open_orders", lambda n: gen.resting(n, 1), 1_000, "[at /steps]"),
    ("order_steps", lambda n: gen.resting(1_000, n), 9_999, "[at /steps/1/run]"),
    ("reports", lambda n: gen.restarts(n, 1_000), 899, "[at /broker/restarts]"),
    ("records", lambda n: gen.empty_entries(n), 41_661, "[at /steps]"),
    ("audit_bytes", lambda n: gen.empty_entries(40_000, note="n" * n), 162, "[at /]"),
]


@pytest.mark.parametrize(
    ("bound", "make", "largest", "pointer"), NEAR_AND_PAST, ids=[c[0] for c in NEAR_AND_PAST]
)
def test_a_scenario_at_a_bound_is_accepted_and_one_past_it_refused(
    bound: str, make: Callable[[int], str], largest: int, pointer: str
) -> None:
    near = estimate(make(largest))
    assert 0.99 * BOUNDS[bound] <= getattr(near, bound) <= BOUNDS[bound], "not near the bound"
    build(make(largest))  # accepted: no bound is exceeded
    message = refusal(make(largest + 1), bound)
    assert pointer in message, message


def test_every_refusal_says_what_to_change() -> None:
    texts = {
        "steps": gen.many_steps(11, 100_000),
        "open_orders": gen.resting(1_001, 1),
        "reports": gen.restarts(900, 1_000),
        "records": gen.empty_entries(41_700),
    }
    for bound, text in texts.items():
        message = refusal(text, bound)
        assert re.search(r"; (lower|submit|replay|use|shorten) ", message), message


def test_a_run_above_max_steps_plays_no_step_and_is_not_charged() -> None:
    # run_n_steps refuses a run above max_steps: such an entry plays none.
    assert estimate(gen.many_steps(3, 2_000_000, max_steps=10)).steps == 3 * 0
    assert estimate(gen.many_steps(3, 10, max_steps=10)).steps == 30


def test_orders_closed_by_their_script_free_the_per_step_budget() -> None:
    # 1,000 orders filled at once cost no resting work, however long the run.
    submits = ", ".join(f"{{id: o-{i}, symbol: AAPL, side: buy, qty: 1}}" for i in range(1_000))
    text = (
        "id: filled\ntitle: t\n"
        "config: {allowlist: [AAPL], max_steps: 1000000, rails: {unbounded: true}}\n"
        "broker: {reference_prices: {AAPL: '100'}}\n"
        f"steps:\n  - submit: [{submits}]\n  - run: 900000\nexpect: {{}}\n"
    )
    work = estimate(text)
    assert work.order_steps == 1_000 * 2  # [ack, fill]: two steps each
    build(text)


# --- the examples, through the CLI -------------------------------------------------------

TINY_TEN_MILLION = (
    "id: tiny\ntitle: Ten million steps\nconfig: {allowlist: [AAPL], max_steps: 10000000}\n"
    "steps:\n  - run: 10000000\nexpect: {final_state: STOPPED}\n"
)


def cli_refuses(path: Path, capsys: pytest.CaptureFixture[str], fragment: str) -> str:
    for command in ("validate", "run"):
        argv = ["scenario", command, path.name]
        if command == "run":
            argv += ["--evidence-dir", "ev", "--audit-dir", "audit"]
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, err
        located = rf"^{re.escape(path.name)}:\d+:\d+: error: .*{re.escape(fragment)}"
        assert re.search(located, err, re.M), err
        assert "internal error" not in err
        assert "Traceback" not in err
    return err


def test_the_201_byte_ten_million_step_scenario_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_TEN_MILLION, encoding="utf-8")
    assert path.stat().st_size < 210
    err = cli_refuses(path, capsys, "up to 10,000,000 steps the runner can play")
    assert "[at /steps/0/run]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"], "something was written"


def test_a_thousand_resting_orders_for_hours_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "resting.yaml"
    path.write_text(gen.resting(1_000, 1_000_000), encoding="utf-8")
    cli_refuses(path, capsys, "order-steps")


def test_a_flood_of_duplicate_reports_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "flood.yaml"
    path.write_text(gen.duplicates(1_000, 998), encoding="utf-8")
    assert path.stat().st_size < 90_000
    cli_refuses(path, capsys, "execution reports")


# --- the estimates are upper bounds --------------------------------------------------------------


def actual_work(scenario: Scenario) -> dict[str, int]:
    result = run_scenario(scenario)
    assert result.final_state != "PREFLIGHT_FAILED" or scenario.id.startswith("preflight_"), [
        c.name for c in result.preflight if not c.ok
    ]
    lines = result.audit_lines
    return {
        "steps": result.steps_run,
        "records": result.count,
        "reports": sum('"type":"execution_report"' in line for line in lines),
        "audit_bytes": sum(len(line.encode("utf-8")) + 1 for line in lines),
    }


def assert_within(scenario: Scenario, work: WorkEstimate) -> None:
    for name, value in actual_work(scenario).items():
        bound = getattr(work, name)
        assert value <= bound, f"{scenario.id}: {name} {value} > {bound}"


@pytest.mark.parametrize("name", sorted(gen.ATTACKS))
def test_a_generated_attack_stays_within_its_estimate(name: str) -> None:
    text = gen.ATTACKS[name]()
    scenario = build(text)
    assert_within(scenario, estimate(text))


def test_every_library_scenario_stays_within_its_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    files = discover_scenarios([ROOT / "scenarios"])
    assert len(files) >= 70
    for path in files:
        try:
            scenario = load_scenario(path.relative_to(ROOT))
        except ScenarioError as error:  # another test reports a library file that fails to load
            pytest.fail(str(error))
        doc = load_scenario_file(path.relative_to(ROOT))
        work = estimate_work(scenario, file_bytes=doc.size, longest_text=_longest_text(doc.data))
        assert_within(scenario, work)


def test_the_documented_bounds_are_the_enforced_ones() -> None:
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    section = text[text.index("## Bounds") : text.index("## Key reference")]
    rows = {
        "steps": "| steps |",
        "open_orders": "| open orders |",
        "order_steps": "| order-steps |",
        "reports": "| execution reports |",
        "records": "| audit records |",
        "audit_bytes": "| audit bytes |",
    }
    for name, row in rows.items():
        line = next(line for line in section.splitlines() if line.startswith(row))
        assert f"| {BOUNDS[name]:,}" in line, line
    from peak_trade.harness import work_model as wm

    records = next(line for line in section.splitlines() if line.startswith(rows["records"]))
    for figure in (wm.FIXED_RECORDS, wm.RECORDS_PER_ENTRY, wm.RECORDS_PER_INTENT):
        assert str(figure) in records
    assert f"{wm.RECORD_BYTES:,} bytes + {wm.TEXTS_PER_RECORD} x the longest" in section
    assert f"+ {wm.ECHO_FACTOR} x the size of the file" in section


_RETRY_STORM = """\
# yaml-language-server: $schema=../schemas/scenario.schema.json
id: retry_storm
title: every request fails transiently, forever
config:
  allowlist: [AAPL]
  max_steps: 40
  retry: {{max_attempts: {attempts}, backoff: fixed, backoff_steps: 1, budget_retries: 1000}}
  rails: {{unbounded: true}}
broker:
  reference_prices: {{AAPL: "100"}}
  default: [ack]
  request_faults:
    - {{requests: [submit], answers: [{{timeout: {{reached: true}}}}, gateway_busy]}}
    - {{answer: rate_limited}}
steps:
{steps}
"""


@pytest.mark.parametrize("attempts", [1, 3, 10])
def test_a_retry_storm_stays_within_its_estimate(attempts: int) -> None:
    """Every request of every kind fails (the first submits after reaching the broker): the
    retries, give-ups, fate queries and their own retries stay within the work model's charge."""
    entries = [
        f'  - submit: {{id: o-{i}, symbol: AAPL, side: buy, qty: "1"}}\n'
        f"    cancel: o-{i - 1}\n"
        f"    status_request: o-{i - 1}"
        if i > 1
        else '  - submit: {id: o-1, symbol: AAPL, side: buy, qty: "1"}'
        for i in range(1, 9)
    ]
    steps = "\n".join([*entries, "  - stop: end", "  - {}", "  - {}"])
    text = _RETRY_STORM.format(attempts=attempts, steps=steps) + "expect: {}\n"
    scenario = build(text)
    work = estimate(text)
    assert_within(scenario, work)
    lines = run_scenario(scenario).audit_lines
    assert any('"type":"request_retried"' in line for line in lines) == (attempts > 1)
    assert any('"type":"fate_query_sent"' in line for line in lines)
