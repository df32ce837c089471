"""docs/failure-matrix.md against the scenarios it documents; the rails against scenarios/rails/.

- Every scenario in scenarios/failure_matrix/ is in exactly one row of the "Cases" table, every
  row names (and links) an existing scenario, and the row's final state is the scenario's
  expect.final_state.
- The documented resolution table is the reconciler's RESOLUTION_TABLE, row for row.
- Every rail in RAIL_NAMES has a scenario in scenarios/rails/ whose expect.refused_orders names it,
  except the always-on rails a scenario file cannot express (ALWAYS_ON_WITHOUT_SCENARIO, each with
  a test here showing why); each rails scenario shows both sides (an order accepted and one
  refused) and its refusals carry rule, limit and observed value.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.model import Scenario, load_scenario
from peak_trade.harness.project_config import load_project_config

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "failure-matrix.md"
MATRIX_DIR = ROOT / "scenarios" / "failure_matrix"
RAILS_DIR = ROOT / "scenarios" / "rails"
SNAPSHOT_DIR = load_project_config(ROOT).snapshot_dir  # [tool.peak_trade] snapshot_dir
LINK = re.compile(r"^\[`(?P<id>[a-z0-9][a-z0-9_-]*)`\]\((?P<target>[^)\s]+)\)$")

# Always-on rails that no scenario can show, and why (each reason is checked below).
ALWAYS_ON_WITHOUT_SCENARIO = {
    "duplicate_client_order_id": "the scenario loader refuses a repeated order id in a file",
    "well_formed_order": "the scenario schema admits only well-formed orders",
}


def _live_attribute(name: str) -> Any:
    """`name` from the package peak_trade.execution.live, wherever the refactor has put it."""
    package = importlib.import_module("peak_trade.execution.live")
    prefix = f"{package.__name__}."
    for info in sorted(pkgutil.walk_packages(package.__path__, prefix), key=lambda m: m.name):
        module = importlib.import_module(info.name)
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(f"no module of peak_trade.execution.live defines {name}")


def _load_all(folder: Path) -> dict[str, tuple[Path, Scenario]]:
    loaded = {}
    for path in discover_scenarios([folder]):
        scenario = load_scenario(path)
        loaded[scenario.id] = (path, scenario)
    return loaded


MATRIX = _load_all(MATRIX_DIR)
RAILS = _load_all(RAILS_DIR)


def _section(heading: str) -> list[str]:
    """The lines of the doc section that starts with `heading`, up to the next `## `."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def _table(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table in a section, header and separator dropped."""
    rows: list[list[str]] = []
    started = False
    for line in _section(heading):
        if line.startswith("|"):
            started = True
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif started:
            break
    assert len(rows) >= 2, f"no table under {heading!r}"
    assert set(rows[1][0]) <= set("-: "), f"the table under {heading!r} has no separator row"
    return rows[2:]


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"expected `code`, got {cell!r}"
    return match[1]


def _linked_id(cell: str, folder: Path) -> str:
    match = LINK.fullmatch(cell)
    assert match, f"the scenario cell must be [`id`](path), got {cell!r}"
    target = (DOC.parent / match["target"]).resolve()
    expected = (folder / f"{match['id']}.yaml").resolve()
    assert target == expected, f"{match['id']} links to {match['target']}, not its file"
    return match["id"]


CASES = _table("## Cases")
CASE_IDS = [_linked_id(row[4], MATRIX_DIR) for row in CASES]


# ----------------------------------------------------------------------------- the matrix


def test_the_matrix_has_its_rows():
    assert len(CASES) >= 25
    assert all(len(row) == 5 for row in CASES), "columns: case, fault, behaviour, state, id"
    assert all(all(cell for cell in row) for row in CASES), "no empty cell"


def test_every_matrix_scenario_is_in_exactly_one_row():
    counts = Counter(CASE_IDS)
    missing = sorted(set(MATRIX) - set(counts))
    repeated = sorted(sid for sid, n in counts.items() if n > 1)
    assert not missing, f"scenarios without a row in {DOC.name}: {missing}"
    assert not repeated, f"scenarios in more than one row: {repeated}"


def test_every_row_names_an_existing_scenario():
    unknown = sorted(set(CASE_IDS) - set(MATRIX))
    assert not unknown, f"rows whose scenario is not in {MATRIX_DIR.name}/: {unknown}"


@pytest.mark.parametrize("row", CASES, ids=CASE_IDS)
def test_row_final_state_is_the_scenarios(row):
    sid = _linked_id(row[4], MATRIX_DIR)
    scenario = MATRIX[sid][1]
    assert _code(row[3]) == scenario.expect.final_state


@pytest.mark.parametrize("sid", sorted(MATRIX))
def test_matrix_scenario_follows_the_conventions(sid):
    path, scenario = MATRIX[sid]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/scenario.schema.json"
    assert "failure-matrix" in scenario.tags
    assert scenario.expect.final_state
    assert scenario.expect.states
    assert scenario.expect.breaches is not None, "say which breaches (or none) the fault causes"


_RESOLUTION_HEADING = "## In-flight timeouts: the resolution table"


def test_resolution_table_is_the_reconcilers():
    table = _live_attribute("RESOLUTION_TABLE")
    documented = {(_code(r[0]), _code(r[1])): _code(r[2]) for r in _table(_RESOLUTION_HEADING)}
    actual = {(k[0].value, k[1].value): v.value for k, v in table.items()}
    assert documented == actual
    assert len(_table(_RESOLUTION_HEADING)) == len(actual), "one row per entry"


_RETRY_HEADING = "## Retries: rate limits, transient failures and bounded retries"


def _tables(heading: str) -> list[list[list[str]]]:
    """Every Markdown table in a section, each without its header and separator."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in _section(heading):
        if line.startswith("|"):
            if current is None:
                current = []
                tables.append(current)
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        else:
            current = None
    return [t[2:] for t in tables]


def test_retry_decision_table_is_the_policys():
    table = _live_attribute("DECISION_TABLE")
    rows = _tables(_RETRY_HEADING)[1]  # the config keys, the decision table, the fate table
    documented = {(_code(r[0]), _code(r[1])): _code(r[2]) for r in rows}
    assert documented == {(k[0].value, k[1].value): v.value for k, v in table.items()}
    assert len(rows) == len(table), "one row per entry"


def test_retry_fate_table_is_the_query_first_tables():
    table = _live_attribute("FATE_TABLE")
    rows = _tables(_RETRY_HEADING)[2]
    documented = {(_code(r[0]), _code(r[1])): _code(r[2]) for r in rows}
    assert documented == {(k[0].value, k[1].value): v.value for k, v in table.items()}
    assert len(rows) == len(table), "one row per entry"


def test_retry_config_keys_and_defaults_are_documented():
    config = _live_attribute("RetryConfig")
    rows = _tables(_RETRY_HEADING)[0]
    documented = {_code(r[0]): _code(r[1]) for r in rows}
    assert documented == {k: str(v) for k, v in config().to_payload().items()}


# ----------------------------------------------------------------------------- the rails


def _refused_rails() -> dict[str, list[str]]:
    by_rail: dict[str, list[str]] = {}
    for sid, (_, scenario) in sorted(RAILS.items()):
        for rail in (scenario.expect.refused_orders or {}).values():
            by_rail.setdefault(rail, []).append(sid)
    return by_rail


def test_every_rail_has_a_scenario_that_refuses_with_it():
    names = _live_attribute("RAIL_NAMES")
    assert set(ALWAYS_ON_WITHOUT_SCENARIO) <= set(names)
    covered = _refused_rails()
    missing = [n for n in names if n not in covered and n not in ALWAYS_ON_WITHOUT_SCENARIO]
    assert not missing, f"rails without a scenario in scenarios/rails/: {missing}"
    unknown = sorted(set(covered) - set(names))
    assert not unknown, f"refused_orders name rails that do not exist: {unknown}"


_SCENARIO_WITH_ORDERS = """\
# yaml-language-server: $schema=../schemas/scenario.schema.json
id: not_expressible
title: not expressible
config: {{allowlist: [AAPL], max_steps: 3}}
steps:
  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: "{first}"}}
  - submit: {{id: {second_id}, symbol: AAPL, side: buy, qty: "1"}}
expect: {{}}
"""


@pytest.mark.parametrize(
    ("rail", "first", "second_id", "problem"),
    [
        ("duplicate_client_order_id", "1", "o-1", "already submitted"),
        ("well_formed_order", "0", "o-2", "qty"),
    ],
)
def test_always_on_rails_without_a_scenario_cannot_be_written_as_one(
    tmp_path, rail, first, second_id, problem
):
    assert rail in ALWAYS_ON_WITHOUT_SCENARIO
    path = tmp_path / "not_expressible.yaml"
    path.write_text(_SCENARIO_WITH_ORDERS.format(first=first, second_id=second_id), "utf-8")
    with pytest.raises(ScenarioError, match=problem):
        load_scenario(path)


def _snapshot_records(sid: str) -> list[dict]:
    stored = SNAPSHOT_DIR / f"{sid}.json"
    if not stored.is_file():
        pytest.fail(f"{stored.name} is missing: run pytest scenarios -k {sid} --snapshot-update")
    return json.loads(stored.read_text(encoding="utf-8"))["records"]


@pytest.mark.parametrize("sid", sorted(RAILS))
def test_rails_scenario_shows_both_sides_and_names_limit_and_observed(sid):
    path, scenario = RAILS[sid]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/scenario.schema.json"
    assert "rails" in scenario.tags
    assert scenario.expect.refused_orders, "say exactly which orders are refused, and by what"
    records = _snapshot_records(sid)
    submitted = [r for r in records if r["type"] == "order_submitted"]
    refused = [r["payload"] for r in records if r["type"] == "order_refused"]
    assert submitted, "an order within the limit must pass"
    assert {p["client_order_id"]: p["rule"] for p in refused} == dict(
        scenario.expect.refused_orders
    )
    for payload in refused:
        assert payload["limit"], payload
        assert payload["observed"], payload
        assert payload["rule"] in payload["detail"]


def test_every_rails_scenario_is_in_the_docs_rails_table():
    rows = _table("## Safety rails")
    ids = [_linked_id(row[2], RAILS_DIR) for row in rows]
    assert sorted(ids) == sorted(RAILS), "one row per scenario in scenarios/rails/"
    for row, sid in zip(rows, ids, strict=True):
        rail = _code(row[0])
        assert rail in (RAILS[sid][1].expect.refused_orders or {}).values(), (sid, rail)
