"""Schema errors as one located sentence each, against a small inline Draft 2020-12 schema."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from peak_trade.harness.decimal_validator import _validator_for
from peak_trade.harness.loader import LoadedDocument, load_scenario_text
from peak_trade.harness.validate import load_schema, validate_document

POSITIVE = 'a positive decimal such as "100"'

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.test/scenario.schema.json",
    "$defs": {
        "positive_decimal": {
            "type": ["string", "number"],
            "pattern": r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?)$",
            "x-expected": POSITIVE,
        },
        "order": {
            "type": "object",
            "additionalProperties": False,
            "required": ["symbol", "qty"],
            "properties": {
                "symbol": {"type": "string"},
                "side": {"enum": ["buy", "sell"]},
                "qty": {"$ref": "#/$defs/positive_decimal"},
                "price": {"$ref": "#/$defs/positive_decimal", "x-expected": "a limit price"},
                "tick": {"type": "number", "multipleOf": 0.01},
            },
        },
    },
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "steps"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string", "minLength": 1},
        "enabled": {"type": "boolean"},
        "count": {"type": "integer", "minimum": 1},
        "day": {"type": "string", "format": "date"},
        "prices": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Z]+$", "x-expected": "an upper-case symbol"},
            "additionalProperties": {"$ref": "#/$defs/positive_decimal"},
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "submit": {
                        "oneOf": [
                            {"$ref": "#/$defs/order"},
                            {"type": "array", "items": {"$ref": "#/$defs/order"}},
                        ],
                        "x-expected": "an order or a list of orders",
                    },
                    "cancel": {"type": "string"},
                },
            },
        },
        "action": {
            "oneOf": [
                {"type": "object", "additionalProperties": False, "required": ["fill"],
                 "properties": {"fill": {"type": "object", "properties": {
                     "qty": {"$ref": "#/$defs/positive_decimal"}}}}},
                {"type": "object", "additionalProperties": False, "required": ["reject"],
                 "properties": {"reject": {"type": "string"}}},
                {"type": "object", "additionalProperties": False, "required": ["wait"],
                 "properties": {"wait": {"type": "integer"}}},
            ]
        },
    },
}  # fmt: skip

HEAD = "id: demo\ntitle: Demo\n"  # lines 1-2 of most documents below


def check(text: str) -> list[tuple[int, int, str, str]]:
    doc = load_scenario_text(text, path="s.yaml")
    problems = validate_document(doc, SCHEMA)
    assert all(p.file == "s.yaml" for p in problems)
    return [(p.line, p.col, p.json_path, p.message) for p in problems]


def test_a_valid_document_has_no_problems() -> None:
    text = HEAD + (
        "enabled: true\n"
        "day: 2024-01-31\n"
        "prices: {AAPL: 190.10, MSFT: '0.5'}\n"
        "steps:\n"
        "  - submit: {symbol: AAPL, side: buy, qty: 100., price: 190.10, tick: 0.05}\n"
        "  - submit: [{symbol: AAPL, qty: '1'}]\n"
        "  - cancel: o-1\n"
        "action: {fill: {qty: 1}}\n"
    )
    assert check(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            HEAD + "tittle: x\nsteps: [{}]\n",
            [(3, 1, "/tittle", "unknown key 'tittle' (did you mean 'title'?)")],
            id="top-level",
        ),
        pytest.param(
            HEAD + "steps:\n  - submit:\n      symbol: AAPL\n      qty: 1\n      qtty: 2\n",
            [(7, 7, "/steps/0/submit/qtty", "unknown key 'qtty' (did you mean 'qty'?)")],
            id="inside-oneOf-and-ref",
        ),
        pytest.param(
            HEAD + "steps: [{}]\nzzz: 1\n",
            [
                (
                    4,
                    1,
                    "/zzz",
                    "unknown key 'zzz' (allowed keys: 'id', 'title', 'enabled', 'count', "
                    "'day', 'prices', 'steps', 'action')",
                )
            ],
            id="no-close-match",
        ),
    ],
)
def test_unknown_keys_are_reported_at_the_key(
    text: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert check(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "id: demo\nsteps: [{}]\n",
            [(1, 1, "/", "missing required key 'title'")],
            id="top-level",
        ),
        pytest.param(
            HEAD + "steps:\n  - submit:\n      symbol: AAPL\n",
            [(4, 5, "/steps/0/submit", "missing required key 'qty'")],
            id="at-the-parent-key",
        ),
        pytest.param(
            HEAD + "steps:\n  - submit:\n      - {symbol: AAPL}\n",
            [(5, 9, "/steps/0/submit/0", "missing required key 'qty'")],
            id="list-item",
        ),
        pytest.param(
            "steps: [{}]\n",
            [
                (1, 1, "/", "missing required key 'id'"),
                (1, 1, "/", "missing required key 'title'"),
            ],
            id="several",
        ),
    ],
)
def test_missing_keys_are_reported_at_the_mapping(
    text: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert check(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "title: true",
            "'title' must be a string, found the boolean true "
            "(`true` is read as a boolean; write 'true' in quotes for a string)",
            id="bool-for-string",
        ),
        pytest.param(
            "title: 1234",
            "'title' must be a string, found the number 1234 (write '1234' in quotes for a string)",
            id="number-for-string",
        ),
        pytest.param(
            "title: ~",
            "'title' must be a string, found null (`~` is read as null; write '~' in quotes for "
            "a string)",
            id="null-for-string",
        ),
        pytest.param(
            "title:", "'title' must be a string, found an empty value", id="empty-for-string"
        ),
        pytest.param(
            "count: '3'",
            "'count' must be an integer, found the string '3' "
            "(write 3 without quotes for a number)",
            id="quoted-number",
        ),
        pytest.param(
            "count: 2.0", "'count' must be an integer, found the number 2.0", id="decimal-for-int"
        ),
        pytest.param(
            'enabled: "false"',
            "'enabled' must be true or false, found the string 'false' "
            "(write false without quotes for a boolean)",
            id="quoted-bool",
        ),
        pytest.param(
            "enabled: [x]", "'enabled' must be true or false, found a list", id="list-for-bool"
        ),
    ],
)
def test_wrong_types_name_the_key_the_expectation_and_what_was_found(
    line: str, expected: str
) -> None:
    text = f"id: demo\nsteps: [{{}}]\n{line}\n"
    if not line.startswith("title"):
        text = HEAD + f"steps: [{{}}]\n{line}\n"
    (problem,) = check(text)
    assert problem[3] == expected


def test_a_yaml11_boolean_in_the_sources_adds_the_hint() -> None:
    # The strict loader refuses `no` itself; a document from elsewhere still gets the hint.
    doc = LoadedDocument(
        path="s.yaml",
        data={"id": "demo", "title": False, "steps": [{}]},
        positions={(): (1, 1), ("id",): (1, 5), ("title",): (2, 8), ("steps",): (3, 8)},
        key_positions={("id",): (1, 1), ("title",): (2, 1), ("steps",): (3, 1)},
        sources={("title",): "no"},
    )
    (problem,) = validate_document(doc, SCHEMA)
    assert problem.format() == (
        "s.yaml:2:8: error: 'title' must be a string, found the boolean false "
        "(`no` is read by YAML 1.1 as a boolean; write 'no' in quotes for a string or false "
        "for a boolean) [at /title]"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("'100'", None, id="string"),
        pytest.param("100", None, id="int"),
        pytest.param("100.", None, id="trailing-dot"),
        pytest.param("0.5", None, id="decimal"),
        pytest.param("190.10", None, id="decimal-zeros"),
        pytest.param("-5", "the number -5", id="negative-int"),
        pytest.param("-1.5", "the number -1.5", id="negative-decimal"),
        pytest.param("0", "the number 0", id="zero"),
        pytest.param("'1,5'", "the string '1,5'", id="comma"),
        pytest.param(
            "1e3",
            "the string '1e3' (YAML reads `1e3` as a string, not a number; write prices and "
            'quantities as plain decimals, e.g. "190.10")',
            id="exponent",
        ),
        pytest.param("true", "the boolean true", id="bool"),
    ],
)
def test_decimal_pattern_with_x_expected_covers_strings_and_numbers(
    value: str, expected: str | None
) -> None:
    text = HEAD + f"steps:\n  - submit: {{symbol: AAPL, qty: {value}}}\n"
    problems = check(text)
    if expected is None:
        assert problems == []
    else:
        message = f"'qty' must be {POSITIVE}, found {expected}"
        if value == "true":  # fails the type, not the pattern: a hint, same noun
            message += " (`true` is read as a boolean; write 'true' in quotes for a string)"
        assert problems == [(4, 33, "/steps/0/submit/qty", message)]


def test_x_expected_at_the_ref_site_is_the_nearest_noun() -> None:
    text = HEAD + "steps:\n  - submit: {symbol: AAPL, qty: 1, price: -2}\n"
    assert check(text) == [
        (4, 43, "/steps/0/submit/price", "'price' must be a limit price, found the number -2")
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "count: 0",
            (3, 8, "/count", "'count' must be at least 1, found the number 0"),
            id="minimum",
        ),
        pytest.param(
            "day: 2024-02-30",
            (3, 6, "/day", "'day' must be a valid date, found the string '2024-02-30'"),
            id="format",
        ),
        pytest.param(
            "prices: {aapl: 1}",
            (3, 10, "/prices/aapl", "key 'aapl' must be an upper-case symbol"),
            id="property-names",
        ),
        pytest.param(
            "prices: {AAPL: 0}",
            (3, 16, "/prices/AAPL", f"'AAPL' must be {POSITIVE}, found the number 0"),
            id="additional-properties-schema",
        ),
    ],
)
def test_value_errors_are_one_sentence(line: str, expected: tuple[int, int, str, str]) -> None:
    assert check(HEAD + f"{line}\nsteps: [{{}}]\n") == [expected]


def test_enum_suggests_the_closest_choice() -> None:
    text = HEAD + "steps:\n  - submit: {symbol: AAPL, qty: 1, side: bye}\n"
    assert check(text) == [
        (
            4,
            42,
            "/steps/0/submit/side",
            "'side' must be one of 'buy', 'sell', found the string 'bye' (did you mean 'buy'?)",
        )
    ]


@pytest.mark.parametrize(
    ("tick", "expected"),
    [("0.05", []), ("1", []), ("190.10", []), ("0.015", ["0.015"]), ("'0.05'", ["string"])],
)
def test_multiple_of_is_exact_for_decimals(tick: str, expected: list[str]) -> None:
    text = HEAD + f"steps:\n  - submit: {{symbol: AAPL, qty: 1, tick: {tick}}}\n"
    messages = [message for *_, message in check(text)]
    assert len(messages) == len(expected)
    for message, fragment in zip(messages, expected, strict=True):
        assert fragment in message
    if expected == ["0.015"]:
        assert messages == ["'tick' must be a multiple of 0.01, found the number 0.015"]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            "  - submit: {symbol: AAPL, qty: -1}\n",
            [(4, 33, "/steps/0/submit/qty", f"'qty' must be {POSITIVE}, found the number -1")],
            id="mapping-branch",
        ),
        pytest.param(
            "  - submit: [{symbol: AAPL, qty: 1}, {symbol: 7, qty: 1}]\n",
            [
                (
                    4,
                    47,
                    "/steps/0/submit/1/symbol",
                    "'symbol' must be a string, found the number 7 "
                    "(write '7' in quotes for a string)",
                )
            ],
            id="list-branch",
        ),
        pytest.param(
            "  - submit: AAPL\n",
            [
                (
                    4,
                    13,
                    "/steps/0/submit",
                    "'submit' must be an order or a list of orders, found the string 'AAPL'",
                )
            ],
            id="no-branch-fits",
        ),
    ],
)
def test_one_of_reports_the_inner_error_of_the_branch_that_fits(
    steps: str, expected: list[tuple[int, int, str, str]]
) -> None:
    problems = check(HEAD + "steps:\n" + steps)
    assert problems == expected
    assert not any("valid under" in message for *_, message in problems)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(
            "{fill: {qty: 0}}",
            [(4, 22, "/action/fill/qty", f"'qty' must be {POSITIVE}, found the number 0")],
            id="deepest-branch",
        ),
        pytest.param(
            "{rejct: late}",
            [
                (4, 1, "/action", "missing required key 'reject'"),
                (4, 10, "/action/rejct", "unknown key 'rejct' (did you mean 'reject'?)"),
            ],
            id="misspelt-discriminator",
        ),
        pytest.param(
            "{wait: soon}",
            [(4, 16, "/action/wait", "'wait' must be an integer, found the string 'soon'")],
            id="right-key-wrong-value",
        ),
        pytest.param(
            "[fill]",
            [(4, 9, "/action", "'action' must be a mapping, found a list")],
            id="type-fits-no-branch",
        ),
    ],
)
def test_one_of_picks_the_branch_the_author_meant(
    action: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert check(HEAD + f"steps: [{{}}]\naction: {action}\n") == expected


def test_problems_are_sorted_by_position_and_unique() -> None:
    text = (
        "id: 7\n"  # 1
        "steps:\n"  # 2
        "  - submit: {symbol: AAPL, qty: 0, qtty: 1}\n"  # 3
        "  - cancel: 5\n"  # 4
        "extra: 1\n"  # 5
        "count: 0\n"  # 6
    )
    found = check(text)
    assert [(line, col, path) for line, col, path, _ in found] == [
        (1, 1, "/"),
        (1, 5, "/id"),
        (3, 33, "/steps/0/submit/qty"),
        (3, 36, "/steps/0/submit/qtty"),
        (4, 13, "/steps/1/cancel"),
        (5, 1, "/extra"),
        (6, 8, "/count"),
    ]
    assert found[0][3] == "missing required key 'title'"
    assert len(set(found)) == len(found)


def test_the_validator_is_built_once_per_schema() -> None:
    assert _validator_for(SCHEMA) is _validator_for(SCHEMA)
    other = dict(SCHEMA)
    assert _validator_for(other) is not _validator_for(SCHEMA)


def test_load_schema_reads_a_given_file_and_caches_it(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"type": "object", "required": ["id"]}', encoding="utf-8")
    schema = load_schema(path)
    assert schema == {"type": "object", "required": ["id"]}
    assert load_schema(path) is schema
    doc = load_scenario_text("x: 1\n")
    assert [p.message for p in validate_document(doc, schema)] == ["missing required key 'id'"]


def test_the_default_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert load_schema() is schema
    Draft202012Validator.check_schema(schema)


def test_numbers_reach_jsonschema_as_decimals() -> None:
    doc = load_scenario_text(HEAD + "steps: [{}]\ncount: 1.0\n")
    assert doc.data["count"] == Decimal("1.0")
    assert [p.message for p in validate_document(doc, SCHEMA)] == [
        "'count' must be an integer, found the number 1.0"
    ]


KEYWORDS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "tags": {"type": "array", "uniqueItems": True, "minItems": 2, "maxItems": 3},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
        "limits": {"type": "object", "maxProperties": 1},
        "name": {"type": "string", "maxLength": 3, "const": "abc"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "integer", "minimum": 0}]},
        "exactly": {"oneOf": [{"type": "integer"}, {"type": "integer", "minimum": 0}]},
        "mode": {"not": {"const": "live"}, "x-expected": "anything but 'live'"},
        "order": {
            "type": "object",
            "properties": {"type": {"type": "string"}},
            "dependentRequired": {"type": ["price"]},
            "unevaluatedProperties": False,
        },
    },
}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tags: [a, a]", "'tags' must be a list without repeated items, found a list"),
        ("tags: [a]", "'tags' must be a list of at least 2 items, found 1 item"),
        ("tags: [a, b, c, d]", "'tags' must be a list of at most 3 items, found 4 items"),
        ("pair: [a, b]", "'pair' must be a list of at most 1 item, found 2 items"),
        ("limits: {a: 1, b: 2}", "'limits' must be a mapping of at most 1 key, found 2 keys"),
        (
            "name: abcd",
            "'name' must be 'abc', found the string 'abcd'\n"
            "'name' must be at most 3 characters long, found the string 'abcd'",
        ),
        ("name: abd", "'name' must be 'abc', found the string 'abd'"),
        ("either: x", "'either' must be an integer, found the string 'x'"),
        ("either: -1", None),
        (
            "exactly: 1",
            "'exactly' matches more than one of the allowed forms; it must match exactly one",
        ),
        ("mode: live", "'mode' must be anything but 'live', found the string 'live'"),
        ("order: {type: limit}", "key 'type' requires key 'price' next to it"),
        ("order: {typo: 1}", "unknown key 'typo' (did you mean 'type'?)"),
    ],
)
def test_other_keywords_are_sentences_too(line: str, expected: str | None) -> None:
    doc = load_scenario_text(f"{line}\n")
    messages = [p.message for p in validate_document(doc, KEYWORDS)]
    assert messages == ([] if expected is None else expected.split("\n"))
