"""The docs cannot drift: their generated sections equal what the generators produce now, the
schema documents itself completely, and the prose names every state, trigger and check."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from peak_trade.execution.broker.model import ExecType, OrderStatus
from peak_trade.execution.broker.order_lifecycle import QUANTITY_RULES
from peak_trade.execution.live.checks import PREFLIGHT_CHECKS, RUNTIME_INVARIANTS
from peak_trade.execution.live.rails.rules import RAIL_NAMES
from peak_trade.execution.live.state import SessionState, Trigger
from peak_trade.harness.key_reference import render_key_reference
from peak_trade.harness.runner import ERROR_KINDS
from peak_trade.harness.schema_docs import DocsError, main, replace_section, sections

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
LIVE_SOURCES = sorted((ROOT / "src" / "peak_trade" / "execution" / "live").rglob("*.py"))
# Where the session names an audit record type: `self._record("type", ...)` in the orchestrator,
# `("type", payload)` in the effects a pure pass returns for it to record.
RECORD_TYPE = re.compile(
    r'_record\(\s*"([a-z_]+)"|records(?:\.append\(|\s*\+=\s*\[)\s*\(\s*"([a-z_]+)"'
)


def walk(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema of `node` with its JSON pointer, through the schema-valued keywords the
    scenario schema uses."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from walk(sub, f"{pointer}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames") and isinstance(
                value, dict
            ):
                yield from walk(value, f"{pointer}/{key}")
            elif key in ("oneOf", "anyOf", "allOf"):
                for index, sub in enumerate(value):
                    yield from walk(sub, f"{pointer}/{key}/{index}")


SUBSCHEMAS = list(walk(SCHEMA))


def generated(text: str, name: str) -> str:
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    return text.partition(begin)[2].partition(end)[0]


def prose(text: str) -> str:
    """`text` without its generated sections."""
    pattern = r"<!-- BEGIN GENERATED: (\S+) -->.*?<!-- END GENERATED: \1 -->"
    return re.sub(pattern, "", text, flags=re.DOTALL)


# ----------------------------------------------------------------------------- generated sections


@pytest.mark.parametrize("section", sections(ROOT), ids=lambda s: f"{s.doc}:{s.name}")
def test_generated_section_matches_its_source(section):
    text = (ROOT / section.doc).read_text(encoding="utf-8")
    assert replace_section(text, section.name, section.content) == text, (
        f"{section.doc}: the generated section '{section.name}' is stale; run `make docs`"
    )


def test_check_mode_reports_a_stale_section_and_a_rewrite_fixes_it(tmp_path, capsys):
    for relative in (
        "schemas/scenario.schema.json",
        "docs/scenarios.md",
        "docs/state-machine.md",
        "docs/order-lifecycle.md",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        text = (ROOT / relative).read_text(encoding="utf-8")
        (tmp_path / relative).write_text(text, encoding="utf-8")
    schema_file = tmp_path / "schemas" / "scenario.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["title"]["description"] = "A brand new description."
    schema_file.write_text(json.dumps(schema), encoding="utf-8")

    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert (
        "docs/scenarios.md: generated section 'key-reference' is stale" in capsys.readouterr().out
    )
    assert main(["--root", str(tmp_path)]) == 0
    guide = (tmp_path / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert "#### `title`\n\nA brand new description.\n" in guide
    assert main(["--check", "--root", str(tmp_path)]) == 0


def test_missing_markers_or_files_are_bad_input(tmp_path, capsys):
    with pytest.raises(DocsError, match="needs exactly one"):
        replace_section("no markers here\n", "key-reference", "x\n")
    assert main(["--check", "--root", str(tmp_path)]) == 2
    assert "cannot read the schema" in capsys.readouterr().err


def test_replace_section_keeps_the_prose_around_it():
    text = "intro\n<!-- BEGIN GENERATED: s -->\nold\n<!-- END GENERATED: s -->\noutro\n"
    assert replace_section(text, "s", "new\n") == (
        "intro\n<!-- BEGIN GENERATED: s -->\n\nnew\n\n<!-- END GENERATED: s -->\noutro\n"
    )


def test_key_reference_is_deterministic_and_names_every_property_path():
    text = render_key_reference(SCHEMA)
    assert text == render_key_reference(json.loads(json.dumps(SCHEMA)))
    for heading in ("`steps[].submit.qty`", "`expect.orders.<order_id>.avg_px`", "`$defs/script`"):
        assert f"#### {heading}\n" in text
    headings = re.findall(r"^#### `(.+)`$", text, re.MULTILINE)
    assert len(headings) == len(set(headings))
    # every property of the schema is the last segment of some heading
    names = {name for _, node in SUBSCHEMAS for name in node.get("properties", {})}
    last = {re.split(r"[.\[\]/]", h.replace("[]", ""))[-1] for h in headings}
    assert names <= last


def test_key_reference_renders_refs_alternatives_and_examples_on_a_small_schema():
    schema = {
        "properties": {
            "run": {
                "description": "What to run.",
                "oneOf": [
                    {"$ref": "#/$defs/job"},
                    {"type": "array", "items": {"$ref": "#/$defs/job"}},
                ],
            },
            "size": {"$ref": "#/$defs/amount", "description": "How much."},
        },
        "required": ["run"],
        "$defs": {
            "job": {
                "type": "object",
                "description": "A job.",
                "properties": {"name": {"type": "string", "description": "Its name."}},
                "required": ["name"],
                "examples": [{"name": "nightly"}],
            },
            "amount": {
                "type": "string",
                "description": "A decimal.",
                "pattern": "^[0-9]+$",
                "examples": ["10"],
            },
        },
    }
    text = render_key_reference(schema)
    assert "#### `run.name`\n\nIts name.\n\n- **Required.**\n- **Type:** a string\n" in text
    assert "or a list of them" in text
    assert "```yaml\nrun:\n  name: nightly\n```" in text  # the expanded definition's example
    assert "- **Type:** [`$defs/amount`](#def-amount): a string\n- **Pattern:** `^[0-9]+$`" in text
    assert "```yaml\n'10'\n```" in text  # a lone scalar, quoted as YAML needs, no `...`
    assert "#### `$defs/job`" not in text  # used once: expanded where it is used


# ----------------------------------------------------------------------------- the schema


def test_schema_is_draft_2020_12_with_an_id():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].startswith("https://")
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    ("pointer", "name"),
    [(p, name) for p, node in SUBSCHEMAS for name in node.get("properties", {})],
    ids=lambda v: v,
)
def test_every_property_has_a_description(pointer, name):
    node = dict(SUBSCHEMAS)[pointer]["properties"][name]
    assert isinstance(node.get("description"), str)
    assert node["description"].strip(), f"{pointer}/properties/{name} has an empty description"


def is_object_schema(node: dict[str, Any]) -> bool:
    types = node.get("type")
    return (
        "properties" in node or types == "object" or (isinstance(types, list) and "object" in types)
    )


@pytest.mark.parametrize(
    "pointer", [p for p, node in SUBSCHEMAS if is_object_schema(node)], ids=lambda v: v or "/"
)
def test_every_object_schema_is_closed(pointer):
    """additionalProperties is false, or a schema for a map whose keys propertyNames constrains.
    `maxProperties: 0` (an object that may hold no key at all) is closed too."""
    node = dict(SUBSCHEMAS)[pointer]
    extra = node.get("additionalProperties")
    if node.get("maxProperties") == 0 and "properties" not in node:
        return
    assert extra is False or (isinstance(extra, dict) and "propertyNames" in node), (
        f"{pointer or '/'} must set additionalProperties: false (or a value schema with "
        "propertyNames for a map)"
    )


REGISTRY = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))
EXAMPLES = [
    (pointer, index, example)
    for pointer, node in SUBSCHEMAS
    for index, example in enumerate(node.get("examples", ()))
]


def test_the_schema_has_examples():
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize(
    ("pointer", "index", "example"), EXAMPLES, ids=[f"{p}[{i}]" for p, i, _ in EXAMPLES]
)
def test_every_example_validates_against_its_own_subschema(pointer, index, example):
    validator = Draft202012Validator(
        {"$ref": f"{SCHEMA['$id']}#{pointer}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = [e.message for e in validator.iter_errors(example)]
    assert errors == [], f"example {index} of {pointer}: {errors}"


# ----------------------------------------------------------------------------- the prose


def test_every_state_and_trigger_is_explained_in_the_state_machine_prose():
    text = prose((ROOT / "docs" / "state-machine.md").read_text(encoding="utf-8"))
    missing = [f"`{v.value}`" for v in [*SessionState, *Trigger] if f"`{v.value}`" not in text]
    assert missing == []


def test_state_machine_doc_shows_the_generated_diagram():
    text = (ROOT / "docs" / "state-machine.md").read_text(encoding="utf-8")
    section = generated(text, "state-diagram")
    assert "```mermaid\nstateDiagram-v2\n" in section
    for state in SessionState:
        assert f"| `{state.value}` |" in section
    for trigger in Trigger:
        assert f"| `{trigger.value}` |" in section


def test_every_order_status_and_exec_type_is_explained_in_the_lifecycle_prose():
    text = (ROOT / "docs" / "order-lifecycle.md").read_text(encoding="utf-8")
    body = prose(text)
    missing = [f"`{v.value}`" for v in [*OrderStatus, *ExecType] if f"`{v.value}`" not in body]
    assert missing == []
    section = generated(text, "order-lifecycle")
    assert "```mermaid\nstateDiagram-v2\n" in section
    for status in OrderStatus:
        assert f"| `{status.value}` |" in section
    for rule in QUANTITY_RULES:
        assert f"| `{rule}` |" in section


def audit_record_types() -> set[str]:
    found = set()
    for path in LIVE_SOURCES:
        for direct, returned in RECORD_TYPE.findall(path.read_text(encoding="utf-8")):
            found.add(direct or returned)
    return found


def test_the_authoring_guide_names_every_check_invariant_rail_error_and_record_type():
    text = prose((ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8"))
    record_types = audit_record_types()
    assert {
        "transition",
        "order_submitted",
        "reconcile_pending",
        "reconcile_cleared",
    } <= record_types
    names = [*PREFLIGHT_CHECKS, *RUNTIME_INVARIANTS, *RAIL_NAMES, *ERROR_KINDS.values()]
    assert [n for n in [*names, *sorted(record_types)] if f"`{n}`" not in text] == []


def test_the_module_runs_as_make_docs_calls_it():
    command = [sys.executable, "-m", "peak_trade.harness.schema_docs", "--check"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_schema_enums_are_the_tables_names():
    from peak_trade.harness.schema_enums import ENUMS, render_schema, schema_text

    text = (ROOT / "schemas" / "scenario.schema.json").read_text(encoding="utf-8")
    assert schema_text(render_schema(json.loads(text))) == text, "stale: run `make docs`"
    defs = json.loads(text)["$defs"]
    for name, (_, _, names) in ENUMS.items():
        assert defs[name]["enum"] == list(names)
    expect = json.loads(text)["properties"]["expect"]["properties"]
    assert expect["refused_orders"]["additionalProperties"] == {"$ref": "#/$defs/refusal_rule"}
    assert expect["failed_checks"]["items"] == {"$ref": "#/$defs/preflight_check"}
    assert expect["breaches"]["items"] == {"$ref": "#/$defs/invariant"}
    assert expect["errors"]["items"] == {"$ref": "#/$defs/session_error"}
