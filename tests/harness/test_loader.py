"""Strict loading: every refusal located at line:col and JSON path, and exact data otherwise."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from peak_trade.harness.errors import (
    Problem,
    ScenarioError,
    ScenarioLoadError,
    ScenarioValidationError,
)
from peak_trade.harness.loader import (
    EMPTY_FILE_MESSAGE,
    LoadedDocument,
    load_scenario_file,
    load_scenario_text,
)

PLAIN = 'write prices and quantities as plain decimals, e.g. "190.10"'


def problems_of(text: str | bytes, **limits: int) -> list[tuple[int, int, str, str]]:
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario_text(text, path="s.yaml", **limits)
    assert all(p.file == "s.yaml" for p in caught.value.problems)
    return [(p.line, p.col, p.json_path, p.message) for p in caught.value.problems]


# --- Problem and the error classes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "formatted"),
    [
        (
            Problem(
                file="scenarios/x.yaml",
                line=12,
                col=5,
                message="'qty' must be a positive decimal",
                json_path="/steps/3/submit/qty",
            ),
            "scenarios/x.yaml:12:5: error: 'qty' must be a positive decimal "
            "[at /steps/3/submit/qty]",
        ),
        (
            Problem(file="x.yaml", line=1, col=1, message="the top level", json_path="/"),
            "x.yaml:1:1: error: the top level [at /]",
        ),
        (
            Problem(file="x.yaml", line=3, col=9, message="bad YAML"),
            "x.yaml:3:9: error: bad YAML",
        ),
    ],
)
def test_problem_format(problem: Problem, formatted: str) -> None:
    assert problem.format() == formatted


def test_problem_is_frozen_and_keyword_only() -> None:
    problem = Problem(file="a", line=1, col=2, message="m")
    with pytest.raises(AttributeError):
        problem.line = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Problem("a", 1, 2, "m")  # type: ignore[misc]


def test_scenario_error_lists_every_problem_one_per_line() -> None:
    first = Problem(file="a.yaml", line=1, col=1, message="one", json_path="/x")
    second = Problem(file="a.yaml", line=2, col=3, message="two")
    error = ScenarioLoadError([first, second])
    assert error.problems == (first, second)
    assert str(error) == "a.yaml:1:1: error: one [at /x]\na.yaml:2:3: error: two"
    assert isinstance(error, ScenarioError)
    assert issubclass(ScenarioValidationError, ScenarioError)
    assert not issubclass(ScenarioValidationError, ScenarioLoadError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ScenarioLoadError
    assert copy.problems == error.problems


# --- exact data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("190.10", Decimal("190.10")),
        ("100.", Decimal("100")),
        ("-0.25", Decimal("-0.25")),
        ("+1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("0.30000000000000004441", Decimal("0.30000000000000004441")),
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("tRuE", True),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T09:30:00Z", "2024-01-01T09:30:00Z"),
        ("1e3", "1e3"),
        ("1e999", "1e999"),
        ("'no'", "no"),
        ('"0755"', "0755"),
        ("'1:30'", "1:30"),
        ('"190.10"', "190.10"),
        ("AAPL", "AAPL"),
        ("buy", "buy"),
        ("| \n  text", "text\n"),
        (">-\n  two\n  lines", "two lines"),
    ],
)
def test_scalars_become_exact_plain_data(source: str, expected: object) -> None:
    value = load_scenario_text(f"v: {source}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, Decimal):
        assert str(value) == str(expected)  # exact digits, never through a binary float


def test_nested_data_aliases_and_positions() -> None:
    text = (
        "id: demo\n"  # 1
        "base: &order\n"  # 2
        "  symbol: AAPL\n"  # 3
        "  qty: 100.\n"  # 4
        "steps:\n"  # 5
        "  - submit: *order\n"  # 6
        "  - {cancel: o-1, price: 0.1}\n"  # 7
    )
    doc = load_scenario_text(text, path="scenarios/demo.yaml")
    assert isinstance(doc, LoadedDocument)
    assert doc.path == "scenarios/demo.yaml"
    assert doc.data == {
        "id": "demo",
        "base": {"symbol": "AAPL", "qty": Decimal("100")},
        "steps": [
            {"submit": {"symbol": "AAPL", "qty": Decimal("100")}},
            {"cancel": "o-1", "price": Decimal("0.1")},
        ],
    }
    assert doc.positions[()] == (1, 1)
    assert doc.positions[("base",)] == (2, 7)  # a node starts at its anchor
    assert doc.key_positions[("base",)] == (2, 1)
    assert doc.positions[("steps", 0)] == (6, 5)
    assert doc.key_positions[("steps", 0, "submit")] == (6, 5)
    assert doc.positions[("steps", 0, "submit")] == (6, 13)  # the alias itself
    assert doc.positions[("steps", 0, "submit", "qty")] == (4, 8)  # inside the anchor
    assert doc.positions[("steps", 1, "price")] == (7, 26)
    assert doc.key_positions[("steps", 1, "price")] == (7, 19)
    assert doc.sources[("base", "qty")] == "100."
    assert doc.sources[("steps", 1, "price")] == "0.1"
    assert ("id",) not in doc.sources


@pytest.mark.parametrize(
    ("path", "key", "where"),
    [
        (("steps", 1, "price"), False, (7, 26)),
        (("steps", 1, "price"), True, (7, 19)),
        (("steps", 1, "missing", 4), False, (7, 5)),
        (("steps", 1, "missing"), True, (7, 5)),
        (("nowhere",), True, (1, 1)),
        ((), False, (1, 1)),
    ],
)
def test_locate_falls_back_to_the_nearest_known_ancestor(
    path: tuple[str | int, ...], key: bool, where: tuple[int, int]
) -> None:
    text = "id: demo\nbase: 1\nx: 2\nz: 3\nsteps:\n  - {}\n  - {cancel: o-1, price: 0.1}\n"
    assert load_scenario_text(text).locate(path, key=key) == where


@pytest.mark.parametrize(
    "text",
    [b"\xef\xbb\xbfid: demo\n", "\ufeffid: demo\n"],
    ids=["bytes", "str"],
)
def test_a_utf8_bom_is_allowed(text: str | bytes) -> None:
    doc = load_scenario_text(text)
    assert doc.data == {"id": "demo"}
    assert doc.key_positions[("id",)] == (1, 1)


def test_quoted_and_plain_sources_are_kept_for_hints() -> None:
    doc = load_scenario_text("a: true\nb: '12'\nc: 1e3\nd: ~\ne: text\nf: 'text'\n")
    assert doc.sources == {("a",): "true", ("b",): "'12'", ("c",): "1e3", ("d",): "~"}


def test_sources_leave_out_anchors_and_aliases_report_where_the_text_is() -> None:
    doc = load_scenario_text("a: &x 1.5\nb: *x\nc: &y\n  '12'\n")
    assert doc.sources == {("a",): "1.5", ("b",): "1.5", ("c",): "'12'"}
    assert doc.positions[("b",)] == (2, 4)
    assert problems_of("a: &x no\nb: *x\nc: [*x]\n") == [(1, 4, "/a", yaml11("no", "false"))]


# --- refusals ----------------------------------------------------------------------------------


def yaml11(word: str, meaning: str) -> str:
    return (
        f"`{word}` is read by YAML 1.1 as a boolean; write '{word}' in quotes for a string "
        f"or {meaning} for a boolean"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("side: no\n", [(1, 7, "/side", yaml11("no", "false"))], id="no"),
        pytest.param("a:\n  b: ON\n", [(2, 6, "/a/b", yaml11("ON", "true"))], id="ON"),
        pytest.param("a: [x, y]\n", [(1, 8, "/a/1", yaml11("y", "true"))], id="y"),
        pytest.param("a: Off\n", [(1, 4, "/a", yaml11("Off", "false"))], id="Off"),
        pytest.param("a: yEs\n", [(1, 4, "/a", yaml11("yEs", "true"))], id="yEs"),
        pytest.param(
            "mode: 0755\n",
            [
                (
                    1,
                    7,
                    "/mode",
                    "`0755` has a leading zero, which YAML 1.1 reads as an octal number; "
                    "write '0755' in quotes for a string or 755 for a number",
                )
            ],
            id="octal",
        ),
        pytest.param(
            "id: 09\n",
            [
                (
                    1,
                    5,
                    "/id",
                    "`09` has a leading zero, which YAML versions read differently; "
                    "write '09' in quotes for a string or 9 for a number",
                )
            ],
            id="leading-zero",
        ),
        pytest.param(
            "a: 0x1F\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`0x1F` is a hexadecimal number; write '0x1F' in quotes for a string "
                    "or 31 for a number",
                )
            ],
            id="hex",
        ),
        pytest.param(
            "a: 0o17\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`0o17` is an octal number; write '0o17' in quotes for a string "
                    "or 15 for a number",
                )
            ],
            id="0o",
        ),
        pytest.param(
            "a: 0b101\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`0b101` is a binary number; write '0b101' in quotes for a string "
                    "or 5 for a number",
                )
            ],
            id="binary",
        ),
        pytest.param(
            "qty: 1_000\n",
            [
                (
                    1,
                    6,
                    "/qty",
                    "`1_000` uses digit separators, which YAML 1.1 silently drops; "
                    "write 1000 plainly or '1_000' in quotes for a string",
                )
            ],
            id="underscore-int",
        ),
        pytest.param(
            "px: 1_0.5\n",
            [
                (
                    1,
                    5,
                    "/px",
                    "`1_0.5` uses digit separators, which YAML 1.1 silently drops; "
                    "write 10.5 plainly or '1_0.5' in quotes for a string",
                )
            ],
            id="underscore-float",
        ),
        pytest.param(
            "at: 1:30\n",
            [
                (
                    1,
                    5,
                    "/at",
                    "`1:30` is read by YAML 1.1 as a base-60 number (90); "
                    "write '1:30' in quotes for a string",
                )
            ],
            id="sexagesimal",
        ),
        pytest.param(
            "at: -1:30.5\n",
            [
                (
                    1,
                    5,
                    "/at",
                    "`-1:30.5` is read by YAML 1.1 as a base-60 number (-90.5); "
                    "write '-1:30.5' in quotes for a string",
                )
            ],
            id="sexagesimal-float",
        ),
        pytest.param(
            "px: .nan\n", [(1, 5, "/px", f"`.nan` is not a finite number; {PLAIN}")], id="nan"
        ),
        pytest.param(
            "px: -.INF\n", [(1, 5, "/px", f"`-.INF` is not a finite number; {PLAIN}")], id="inf"
        ),
        pytest.param(
            "px: 1.5e+3\n", [(1, 5, "/px", f"`1.5e+3` uses an exponent; {PLAIN}")], id="exp"
        ),
        pytest.param(
            "a: 0x_\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`0x_` is a hexadecimal number; write '0x_' in quotes for a string "
                    "or its plain decimal value for a number",
                )
            ],
            id="hex-without-digits",
        ),
        pytest.param(
            "a: " + "1" * 5000 + "\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`11111111111111111111...` is too long a number to read; "
                    "write it in quotes for a string",
                )
            ],
            id="too-many-digits",
        ),
        pytest.param(
            "a: 0" + "7" * 50 + "\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`07777777777777777777...` is too long a number to read; "
                    "write it in quotes for a string",
                )
            ],
            id="long-octal",
        ),
        pytest.param(
            "a: =\n",
            [
                (
                    1,
                    4,
                    "/a",
                    "`=` has a special meaning in YAML 1.1; write '=' in quotes for a string",
                )
            ],
            id="value-tag",
        ),
    ],
)
def test_ambiguous_scalars_are_refused_with_a_hint(
    text: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert problems_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: !!python/object:os.system x\n",
            [(1, 4, "/a", "tags are not allowed (found !!python/object:os.system)")],
            id="python",
        ),
        pytest.param(
            "a: !!python/object/apply:os.system [echo hi]\n",
            [(1, 4, "/a", "tags are not allowed (found !!python/object/apply:os.system)")],
            id="python-apply",
        ),
        pytest.param("a: !foo {b: 1}\n", [(1, 4, "/a", "tags are not allowed (found !foo)")]),
        pytest.param("a: !!str 12\n", [(1, 4, "/a", "tags are not allowed (found !!str)")]),
        pytest.param("a: ! 12\n", [(1, 4, "/a", "tags are not allowed (found !)")]),
        pytest.param("a: !!binary aGk=\n", [(1, 4, "/a", "tags are not allowed (found !!binary)")]),
        pytest.param("!!str k: v\n", [(1, 1, "/", "tags are not allowed (found !!str)")]),
    ],
)
def test_tags_are_refused(text: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert problems_of(text) == expected


MERGE = (
    "merge keys (`<<`) are not allowed; write the keys out in full "
    "(an alias of a whole value, like `key: *anchor`, is fine)"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "1: x\n", [(1, 1, "/", "keys must be strings, found a number `1`; write '1' in quotes")]
        ),
        pytest.param(
            "a:\n  true: x\n",
            [(2, 3, "/a", "keys must be strings, found a boolean `true`; write 'true' in quotes")],
        ),
        pytest.param("on: push\n", [(1, 1, "/", yaml11("on", "true"))], id="on-key"),
        pytest.param(
            "~: x\n", [(1, 1, "/", "keys must be strings, found null `~`; write '~' in quotes")]
        ),
        pytest.param("? \n: x\n", [(1, 2, "/", "keys must be strings, found an empty key")]),
        pytest.param("[a]: x\n", [(1, 1, "/", "keys must be strings, found a list")]),
        pytest.param("? {a: 1}\n: x\n", [(1, 3, "/", "keys must be strings, found a mapping")]),
        pytest.param("base: &b {x: 1}\nc:\n  <<: *b\n", [(3, 3, "/c", MERGE)], id="merge"),
    ],
)
def test_keys_must_be_plain_strings(text: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert problems_of(text) == expected


def test_quoted_merge_and_number_keys_are_strings() -> None:
    assert load_scenario_text("'<<': 1\n'1': 2\n").data == {"<<": 1, "1": 2}


def test_duplicate_keys_top_level_and_nested_are_all_reported() -> None:
    text = (
        "id: a\n"  # 1
        "config:\n"  # 2
        "  max_steps: 3\n"  # 3
        "  live: {enabled: false, enabled: true}\n"  # 4
        "  max_steps: 4\n"  # 5
        "steps:\n"  # 6
        "  - {cancel: o-1}\n"  # 7
        "id: b\n"  # 8
    )
    assert problems_of(text) == [
        (4, 26, "/config/live/enabled", "duplicate key 'enabled' (first defined at line 4)"),
        (5, 3, "/config/max_steps", "duplicate key 'max_steps' (first defined at line 3)"),
        (8, 1, "/id", "duplicate key 'id' (first defined at line 1)"),
    ]


def test_a_problem_reached_through_several_aliases_is_reported_once() -> None:
    assert problems_of("a: &x {b: 1, b: 2}\nc: *x\nd: [*x, *x]\n") == [
        (1, 14, "/a/b", "duplicate key 'b' (first defined at line 1)")
    ]


def test_all_problems_of_a_file_are_reported_sorted_by_position() -> None:
    text = (
        "a:\n"  # 1
        "  b: no\n"  # 2: walked after the duplicate below was found
        "  c: !!str x\n"  # 3
        "a: 1\n"  # 4
        "d: [0x10, .inf]\n"  # 5
    )
    found = problems_of(text)
    assert [(line, col, path) for line, col, path, _ in found] == [
        (2, 6, "/a/b"),
        (3, 6, "/a/c"),
        (4, 1, "/a"),
        (5, 5, "/d/0"),
        (5, 11, "/d/1"),
    ]


# --- whole-file refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [(1, 1, "", EMPTY_FILE_MESSAGE)], id="empty"),
        pytest.param("# only\n# comments\n", [(1, 1, "", EMPTY_FILE_MESSAGE)], id="comments"),
        pytest.param("---\n", [(1, 1, "", EMPTY_FILE_MESSAGE)], id="bare-document"),
        pytest.param(
            "- id: a\n", [(1, 1, "/", "the top level must be a mapping, found a list")], id="list"
        ),
        pytest.param(
            "just text\n",
            [(1, 1, "/", "the top level must be a mapping, found a string")],
            id="scalar",
        ),
        pytest.param(
            "a:\n\tb: 1\n",
            [
                (
                    2,
                    1,
                    "",
                    "invalid YAML: found character '\\t' that cannot start any token (while "
                    "scanning for the next token); YAML does not allow tabs for indentation; "
                    "indent with spaces",
                )
            ],
            id="tab",
        ),
        pytest.param(
            "a: 1\n b: 2\n",
            [
                (
                    2,
                    3,
                    "",
                    "invalid YAML: mapping values are not allowed here; check the indentation "
                    "of this line, or quote a value that contains ': '",
                )
            ],
            id="indentation",
        ),
        pytest.param(
            "a: [1, 2\nb: 3\n",
            [
                (
                    2,
                    2,
                    "",
                    "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow "
                    "sequence at line 1, column 4); a [ ... ] list is not closed or lacks a "
                    "comma: end it with ']' and separate its items with ', '",
                )
            ],
            id="unclosed-flow",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            [(2, 1, "", "found a second YAML document; a scenario file holds exactly one")],
            id="two-documents",
        ),
        pytest.param(
            "a: *nowhere\n",
            [
                (
                    1,
                    4,
                    "",
                    "invalid YAML: found undefined alias 'nowhere'; define the anchor (&name) "
                    "before the alias (*name) that uses it",
                )
            ],
            id="undefined-alias",
        ),
        pytest.param(
            "a: &x 1\nb: &x 2\n",
            [(2, 4, "", "duplicate anchor 'x' (first defined at line 1, column 4)")],
            id="duplicate-anchor",
        ),
        pytest.param(
            "a: b\x07c\n",
            [(1, 5, "", "the control character U+0007 is not allowed in YAML")],
            id="control-character",
        ),
    ],
)
def test_file_level_refusals(text: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert problems_of(text) == expected


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        (b"a: 1\nb: caf\xc3\xa9 \xff\n", (2, 9), "cannot decode byte 0xff (invalid start byte)"),
        (
            b"\xef\xbb\xbfa: \xe9t\xe9\n",
            (1, 4),
            "cannot decode byte 0xe9 (invalid continuation byte)",
        ),
        (b"a: \xe2\x82", (1, 4), "cannot decode byte 0xe2 (unexpected end of data)"),
        (b"\xff\xfea\x00", (1, 1), "cannot decode byte 0xff (invalid start byte)"),
    ],
    ids=["start-byte", "latin-1-after-bom", "truncated", "utf-16"],
)
def test_non_utf8_bytes_are_located(raw: bytes, where: tuple[int, int], message: str) -> None:
    assert problems_of(raw) == [(*where, "", f"the file is not valid UTF-8: {message}")]


# --- limits ------------------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_blows_the_budget() -> None:
    assert problems_of(billion_laughs()) == [
        (6, 10, "/l5/0", "alias expansion exceeds 100000 nodes (alias bomb?)")
    ]


def test_a_smaller_node_budget_applies_to_aliases() -> None:
    assert problems_of(billion_laughs(3), max_nodes=50) == [
        (2, 25, "/l1/3", "alias expansion exceeds 50 nodes (alias bomb?)")
    ]


def test_a_large_document_without_aliases_is_bounded_too() -> None:
    text = "a: [" + ", ".join(["1"] * 30) + "]\n"
    assert problems_of(text, max_nodes=20) == [(1, 56, "", "the document has more than 20 nodes")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: &a [1, *a]\n",
            [(1, 11, "/a/1", "alias '*a' refers to a node that contains it (recursive alias)")],
            id="list",
        ),
        pytest.param(
            "a: &a {b: {c: *a}}\n",
            [(1, 15, "/a/b/c", "alias '*a' refers to a node that contains it (recursive alias)")],
            id="mapping",
        ),
    ],
)
def test_recursive_aliases_are_refused(
    text: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert problems_of(text) == expected


def test_deep_nesting_in_the_text_is_refused() -> None:
    text = "a: " + "[" * 100 + "]" * 100 + "\n"
    assert problems_of(text) == [(1, 68, "", "nesting deeper than 64 levels")]
    assert problems_of("a: [[[[1]]]]\n", max_depth=3) == [
        (1, 7, "", "nesting deeper than 3 levels")
    ]
    assert load_scenario_text("a: [[1]]\n", max_depth=3).data == {"a": [[1]]}


def test_deep_nesting_through_aliases_is_refused() -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i + 1}: &a{i + 1} [*a{i}]\n" for i in range(5))
    assert problems_of(chain, max_depth=4) == [(4, 10, "/a3/0", "nesting deeper than 4 levels")]
    assert load_scenario_text(chain, max_depth=7).data["a5"] == [[[[[[1]]]]]]


def test_nesting_beyond_the_interpreter_stack_never_raises_recursion_error() -> None:
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    assert problems_of(text, max_depth=1_000_000) == [(1, 1, "", "nesting too deep to read")]


def test_oversized_text_and_bytes_are_refused_before_parsing() -> None:
    text = "a: 1\n" * 30
    expected = [(1, 1, "", "the file is 150 bytes, over the limit of 100 bytes")]
    assert problems_of(text, max_bytes=100) == expected
    assert problems_of(text.encode(), max_bytes=100) == expected


# --- files -------------------------------------------------------------------------------------


def test_load_scenario_file_keeps_the_display_path(tmp_path, monkeypatch) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "ok.yaml").write_bytes(b"id: ok\nqty: 0.1\n")
    monkeypatch.chdir(tmp_path)
    doc = load_scenario_file("scenarios/ok.yaml")
    assert doc.path == "scenarios/ok.yaml"
    assert doc.data == {"id": "ok", "qty": Decimal("0.1")}


def test_load_scenario_file_problems_name_the_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"a: 1\na: 2\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario_file("bad.yaml")
    assert str(caught.value) == (
        "bad.yaml:2:1: error: duplicate key 'a' (first defined at line 1) [at /a]"
    )


def test_an_oversized_file_is_refused_from_its_size(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * 95 + b"\n")  # 101 bytes
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario_file(big, max_bytes=100)
    assert [p.message for p in caught.value.problems] == [
        "the file is 101 bytes, over the limit of 100 bytes"
    ]
    assert load_scenario_file(big, max_bytes=101).data == {"a": 1}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.yaml", "cannot read the file: No such file or directory"),
        (".", "cannot read the file: it is a folder, not a regular file"),
    ],
)
def test_an_unreadable_file_is_one_problem(tmp_path, name: str, message: str) -> None:
    target = tmp_path / name
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario_file(target)
    assert [(p.file, p.line, p.col, p.message) for p in caught.value.problems] == [
        (str(target), 1, 1, message)
    ]
