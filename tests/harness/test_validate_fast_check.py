"""The fast validity check against jsonschema, and the pinned digest of the checked schema.

The fast check may only ever say "valid" where jsonschema says so; where it can judge at all (its
kinds of data, its keywords) it must agree with jsonschema both ways.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from peak_trade.harness import decimal_validator as dv
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.loader import LoadedDocument, load_scenario_file, load_scenario_text
from peak_trade.harness.validate import CHECKED_SCHEMA_SHA256, load_schema, validate_document

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "scenario.schema.json"
SCENARIO_SCHEMA = load_schema()


def loadable(paths: list[Path]) -> list[dict[str, Any]]:
    docs = []
    for path in paths:
        with contextlib.suppress(ScenarioError):
            docs.append(load_scenario_file(path).data)
    return docs


CORPUS = loadable(
    sorted((ROOT / "scenarios").rglob("*.yaml"))
    + sorted((ROOT / "tests" / "data" / "bad_scenarios").glob("*.yaml"))
)


def verdicts(data: object, schema: dict[str, Any]) -> tuple[bool | None, bool]:
    """(the fast check's verdict, None where it cannot judge; jsonschema's)."""
    slow = dv._validator_for(schema).is_valid(data)  # checks the schema first
    check = dv._fast_check_for(schema)
    assert check is not None
    try:
        fast: bool | None = check(data) if dv._is_plain(data) else None
    except dv._Unsure:
        fast = None
    return fast, slow


# --- the scenario schema ----------------------------------------------------------------------


def test_the_pinned_digest_is_the_schema_the_tests_check() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    digest = hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest()
    assert digest == CHECKED_SCHEMA_SHA256, (
        "schemas/scenario.schema.json changed and passes the metaschema check above: set "
        f'CHECKED_SCHEMA_SHA256 = "{digest}" in src/peak_trade/harness/validate.py (until then '
        "every process checks the schema again, ~80 ms)"
    )


def test_the_scenario_schema_gets_a_fast_check() -> None:
    assert dv._fast_check_for(SCENARIO_SCHEMA) is not None


def test_other_bytes_are_checked_against_the_metaschema(tmp_path: Path) -> None:
    edited = tmp_path / "s.json"
    edited.write_text('{"type": "object", "required": "id"}', encoding="utf-8")
    schema = load_schema(edited)
    assert dv._CHECKED.get(id(schema)) is not schema
    assert not dv._fast_valid({"id": 1}, schema)  # unchecked: never judged fast
    with pytest.raises(SchemaError):
        validate_document(load_scenario_text("id: 1\n"), schema)


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_the_corpus_is_judged_as_jsonschema_judges_it(index: int) -> None:
    fast, slow = verdicts(CORPUS[index], SCENARIO_SCHEMA)
    assert fast == slow


def test_a_valid_document_never_reaches_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = load_scenario_file(ROOT / "scenarios" / "broker_reject.yaml")

    def refuse(schema: object) -> None:
        raise AssertionError("jsonschema was asked")

    monkeypatch.setattr("peak_trade.harness.validate._validator_for", refuse)
    assert validate_document(doc, SCENARIO_SCHEMA) == []


def test_an_invalid_document_gets_the_located_sentences() -> None:
    text = (ROOT / "scenarios" / "broker_reject.yaml").read_text(encoding="utf-8")
    doc = load_scenario_text(text.replace("side: buy", "side: buyy", 1), path="s.yaml")
    (problem,) = validate_document(doc, SCENARIO_SCHEMA)
    assert "did you mean 'buy'?" in problem.message


# Mutations of corpus documents: values replaced by others of every kind, keys dropped or added.
VALUES = st.one_of(
    st.sampled_from(["", "x", "AAPL", "o-1", "190.10", "-1", "0", "100", "buy", "limit", "ack"]),
    st.sampled_from(["STOPPED", "market", "fill", "cancel", "a" * 70, "1e3", "0.0", "01"]),
    st.integers(-10, 10**7),
    st.sampled_from([Decimal("0"), Decimal("1.5"), Decimal("-0.01"), Decimal("1.0")]),
    st.sampled_from([True, False, None, [], {}, ["AAPL", "AAPL"], {"qty": "1"}]),
)
KEYS = st.sampled_from(["id", "qty", "side", "type", "symbol", "limit_price", "run", "stop", "x"])


def nodes(data: object, found: list[tuple[Any, Any]], parent: Any = None, key: Any = None) -> None:
    found.append((parent, key))
    if isinstance(data, dict):
        children = list(data.items())
    elif isinstance(data, list):
        children = list(enumerate(data))
    else:
        return
    for child_key, child in children:
        nodes(child, found, data, child_key)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_are_judged_as_jsonschema_judges_them(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(CORPUS)))
    for _ in range(data.draw(st.integers(0, 3))):
        found: list[tuple[Any, Any]] = []
        nodes(doc, found)
        if len(found) < 2:
            break  # every key was dropped: nothing left to mutate
        parent, key = data.draw(st.sampled_from(found[1:]))
        action = data.draw(st.sampled_from(["replace", "drop", "add"]))
        # Copies: sampled_from hands out the same list and dict objects every time, and
        # mutating a shared one could nest it in itself (a cycle) or leak into later examples.
        if action == "replace":
            parent[key] = copy.deepcopy(data.draw(VALUES))
        elif action == "drop":
            del parent[key]
        elif isinstance(parent[key], dict):
            parent[key][data.draw(KEYS)] = copy.deepcopy(data.draw(VALUES))
    fast, slow = verdicts(doc, SCENARIO_SCHEMA)
    assert fast is None or fast == slow


# --- keyword by keyword -------------------------------------------------------------------------

D = Decimal
CASES: list[tuple[dict[str, Any], list[object]]] = [
    ({"type": "integer"}, [1, 0, True, D("1.0"), D("1"), "1", None]),
    ({"type": ["number", "null"]}, [1, D("1.5"), False, None, "1", []]),
    ({"type": "object"}, [{}, [], "x"]),
    ({"enum": [1, "1", None]}, [1, D("1"), D("1.0"), True, "1", None, False, 0, [1], {}]),
    ({"enum": [True, 0]}, [True, 1, False, 0, D("0"), None]),
    ({"const": False}, [False, 0, D("0"), None, ""]),
    ({"const": 0.5}, [D("0.5"), D("0.50"), 0, "0.5"]),
    ({"pattern": "^[1-9][0-9]*$"}, ["12", "012", 12, -12, D("1.5"), True, None, []]),
    ({"minimum": 1, "maximum": 10}, [1, 0, 10, 11, D("0.99"), D("10.0"), "5", True, False]),
    ({"minimum": 0.1}, [D("0.1"), D("0.09"), 0, 1]),
    ({"exclusiveMinimum": 0, "exclusiveMaximum": 1}, [0, 1, D("0.5"), D("1.0"), "0"]),
    ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abcd", 12345, []]),
    ({"minItems": 1, "maxItems": 2}, [[], [1], [1, 2, 3], "ab", {}]),
    ({"minProperties": 1, "maxProperties": 1}, [{}, {"a": 1}, {"a": 1, "b": 2}, []]),
    ({"required": ["a", "b"]}, [{"a": 1}, {"a": 1, "b": None}, [], "ab"]),
    (
        {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
        [{}, {"a": "x"}, {"a": 1}, {"b": "x"}, []],
    ),
    (
        {"properties": {"a": True}, "additionalProperties": {"type": "integer"}},
        [{"a": "x", "b": 1}, {"b": "1"}, {"b": True}],
    ),
    ({"items": {"type": "string"}}, [[], ["a"], ["a", 1], "ab"]),
    ({"items": False}, [[], [1], {}]),
    ({"propertyNames": {"pattern": "^[A-Z]+$"}}, [{"AAPL": 1}, {"aapl": 1}, {}, ["a"]]),
    ({"uniqueItems": True}, [["a", "b"], ["a", "a"], [], "aa"]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, [-1, 1, D("1.5"), D("-1.5"), "x"]),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, ["x", None, 1]),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, ["x", "xy", 12]),
    ({"not": {"type": "string"}}, ["x", 1, None]),
    (
        {
            "$defs": {
                "tree": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                "node": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/tree"}]},
            },
            "$ref": "#/$defs/tree",
        },
        [[], ["a", ["b", []]], ["a", [1]], "a"],
    ),
    ({"x-expected": "anything", "description": "d", "examples": [1], "default": 2}, [1, "x"]),
]


@pytest.mark.parametrize(("schema", "instances"), CASES)
def test_each_keyword_agrees_with_jsonschema(
    schema: dict[str, Any], instances: list[object]
) -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    for instance in instances:
        fast, slow = verdicts(instance, schema)
        assert fast == slow, instance


def test_unique_items_other_than_strings_are_left_to_jsonschema() -> None:
    assert verdicts([1, True], {"uniqueItems": True}) == (None, True)


@pytest.mark.parametrize(
    "schema",
    [
        {"format": "date"},
        {"patternProperties": {"^a": True}},
        {"if": {"type": "string"}, "then": {"minLength": 1}},
        {"prefixItems": [True], "items": False},
        {"properties": {"a": {"$id": "https://example.test/a", "type": "string"}}},
        {"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
        {"$ref": "#"},
        {"$ref": "https://example.test/other.json"},
        {"$defs": {"a": {"$id": "https://example.test/a"}}, "$ref": "#/$defs/a"},
        {"enum": [[1]]},
        {"dependentRequired": {"a": ["b"]}},
        {"multipleOf": 0.01},
    ],
)
def test_a_schema_with_an_unknown_keyword_gets_no_fast_check(schema: dict[str, Any]) -> None:
    assert dv._fast_check_for(schema) is None


SHARED: list[object] = ["a"]
CYCLE: list[object] = []
CYCLE.append(CYCLE)


@pytest.mark.parametrize(
    "data",
    [1.5, (1,), {1: "a"}, D("NaN"), D("Infinity"), [object()], [SHARED, SHARED], CYCLE],
    ids=["float", "tuple", "int-key", "nan", "infinity", "object", "shared", "cycle"],
)
def test_data_the_loader_never_produces_is_left_to_jsonschema(data: object) -> None:
    schema: dict[str, Any] = {}
    dv._mark_checked(schema)
    assert not dv._fast_valid(data, schema)


def test_a_validated_document_from_elsewhere_gets_the_same_problems() -> None:
    doc = LoadedDocument(
        path="s.yaml", data={"id": 1.5}, positions={(): (1, 1)}, key_positions={}, sources={}
    )
    schema = {"properties": {"id": {"type": "string"}}}
    assert [p.message for p in validate_document(doc, schema)] == [
        "'id' must be a string, found the number 1.5"
    ]
