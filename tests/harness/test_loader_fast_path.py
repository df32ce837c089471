"""The loader's fast path (libyaml's events) against its reference path (PyYAML composing).

Whatever the fast path loads must be the very document the reference path loads: the same data
in the same order, the same positions, key positions and sources, the same digest. What it does
not accept, the reference path loads or refuses with its own messages, so every outcome, a
problem list included, is the reference path's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from peak_trade.harness import loader
from peak_trade.harness.errors import ScenarioLoadError

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "scenarios").rglob("*.yaml"))
BAD = sorted((ROOT / "tests" / "data" / "bad_scenarios").glob("*.yaml"))

Outcome = tuple[object, ...]


def outcome(text: str | bytes) -> Outcome:
    """All a load produces, comparable: the document's parts, or the problems as printed."""
    try:
        doc = loader.load_scenario_text(text, path="s.yaml")
    except ScenarioLoadError as error:
        return ("refused", [problem.format() for problem in error.problems])
    return (
        "loaded",
        repr(doc.data),  # repr: the order of keys counts too
        sorted(doc.positions.items(), key=repr),
        sorted(doc.key_positions.items(), key=repr),
        sorted(doc.sources.items(), key=repr),
        doc.sha256,
    )


def reference_outcome(text: str | bytes, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    with monkeypatch.context() as patch:
        patch.setattr(loader, "_load_fast", lambda *args: None)
        return outcome(text)


def takes_fast_path(text: str) -> bool:
    return loader._load_fast(text, 64, 100_000) is not None


@pytest.mark.parametrize("path", LIBRARY + BAD, ids=lambda p: p.name)
def test_every_corpus_file_loads_as_the_reference_path_loads_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = path.read_bytes()
    assert outcome(raw) == reference_outcome(raw, monkeypatch)


def test_the_whole_scenario_library_takes_the_fast_path() -> None:
    assert LIBRARY
    assert [p.name for p in LIBRARY if not takes_fast_path(p.read_text(encoding="utf-8"))] == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_no_refused_file_is_loaded_by_the_fast_path(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return
    try:
        loader.load_scenario_text(text)
    except ScenarioLoadError:
        assert not takes_fast_path(text)


# Where libyaml and PyYAML read the same text differently, or mark it differently, the fast path
# must stand aside; each of these is loaded (or refused) exactly as the reference path does it.
DIVERGENT = {
    "question-mark-in-flow": "a: {x: b?c}\n",
    "empty-flow-value": "a: {b: ,\n  c: d}\n",
    "empty-flow-value-before-newline": "a: {b:\n}\n",
    "comment-after-block-indicator": "a: |-#c\n  x\n",
    "no-final-line-break": "a: b\nc:",
    "tab": "a:\tb\n",
    "carriage-return": "a: b\r\nc: d\r\n",
    "bom-inside": "a: b\n\ufeffc: d\n",
    "non-ascii": "a: caf\u00e9\n",
    "next-line": "a: b\u0085c\n",
    "yaml-1.3": "%YAML 1.3\n---\na: b\n",
    "anchor-and-alias": "a: &x [1]\nb: *x\n",
    "tag": "a: !!str 1\n",
    "two-documents": "a: 1\n---\nb: 2\n",
    "duplicate-key": "a: 1\na: 2\n",
    "merge-key": "a: {b: 1}\n<<: {c: 2}\n",
    "refused-scalar": "a: no\n",
    "list-key": "[a]: b\n",
    "root-list": "- a\n",
    "empty": "",
    "comments-only": "# nothing\n",
}


@pytest.mark.parametrize("text", DIVERGENT.values(), ids=DIVERGENT.keys())
def test_the_fast_path_stands_aside_where_the_parsers_differ(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not takes_fast_path(text)
    assert outcome(text) == reference_outcome(text, monkeypatch)


def test_the_fast_path_keeps_the_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "a: " + "[" * 70 + "]" * 70 + "\n"
    assert not takes_fast_path(deep)
    wide = "a: [" + ", ".join(["1"] * 50) + "]\n"
    assert loader._load_fast(wide, 64, 40) is None
    assert loader._load_fast(wide, 64, 100) is not None
    with pytest.raises(ScenarioLoadError):
        loader.load_scenario_text(wide, max_nodes=40)


# --- generated YAML ---------------------------------------------------------------------------

WORDS = ["a", "b c", "yes", "no", "1", "0.5", "-2", "1e3", "x: y", "#h", "a?b", "", " lead"]
WORDS += ["multi\nline", "q'u\"o", "~", "null", "2001-12-14", "012", "1:30", "- d", "[x]", "{y}"]
WORDS += ["long " * 12, "&z", "*z", "!t", "@", "a,b", "|", ">", "190.10", "true"]
TOKENS = ["-", "- ", ": ", ":", "?", "? ", "[", "]", "{", "}", ", ", "&a ", "*a", "!t ", "'", '"']
TOKENS += ["|", ">", "|-", ">+", "# c", " ", "\n", "  ", "key", "1e3", "yes", "~", "012", "1:30"]
TOKENS += ["...", "---", "\\", "<<", "\n- ", "\n  - ", "a?b", "@", "%", "1_000", ".inf", "1."]

scalars = st.one_of(
    st.sampled_from(WORDS),
    st.integers(-1000, 10**6),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS), inner, max_size=4)
    ),
    max_leaves=20,
)
edits = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 4), st.sampled_from(TOKENS)), max_size=3
)


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """YAML as PyYAML writes it in any style, then perhaps edited into something odd."""
    text = yaml.safe_dump(
        {"k": draw(documents)},
        default_flow_style=draw(st.sampled_from([True, False, None])),
        default_style=draw(st.sampled_from([None, "'", '"', "|", ">"])),
        width=draw(st.sampled_from([10, 20, 80])),
        indent=draw(st.sampled_from([2, 3, 4])),
        explicit_start=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
    )
    for at, cut, token in draw(edits):
        at %= len(text) + 1
        text = text[:at] + token + text[at + cut :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_texts())
@example("a: {b: [c, {d: e}], f: 'g'}\n")
@example("k: >+1# c1 :\n  {a: b}{\n")
def test_generated_yaml_loads_as_the_reference_path_loads_it(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert outcome(text) == reference_outcome(text, monkeypatch)
