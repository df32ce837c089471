"""YAML errors as sentences with a fix, and YAML-level refusals that do not hide schema errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.model import load_scenario

VALID_TAIL = (
    "config: {allowlist: [AAPL], max_steps: 5}\nsteps: [{}]\nexpect: {final_state: STOPPED}\n"
)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [p.format().removeprefix(f"{path}:") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("id: x\ntitle: 'not closed\n" + VALID_TAIL, "2:", "a quoted string is not closed"),
        ('id: x\ntitle: "not closed\n' + VALID_TAIL, "2:", "add the closing quote"),
        ("id: x\n\ttitle: t\n", "2:1:", "indent with spaces"),
        ("id: x\ntitle: t\n  config: {}\n", "3:", "check the indentation"),
        ("id: x\ntitle: a: b\n", "2:", "quote a value that contains ': '"),
        ("id: x\ntitle: t\nsteps: [{}, {}\n", "", "a [ ... ] list is not closed or lacks a comma"),
        ("id: x\ntitle: t\nconfig: {allowlist: [AAPL]\n", "", "mapping is not closed"),
        ("id: x\ntitle: t\nsteps:\n  - {}\n - {}\n", "5:", "check the indentation"),
        ("id: x\ntitle: *nothing\n", "2:", "define the anchor"),
        ("id: x\ntitle: @t\n", "2:", "quote the value"),
    ],
)
def test_syntax_errors_say_what_to_fix(tmp_path: Path, text: str, where: str, hint: str) -> None:
    (message,) = problems(tmp_path, text)
    assert message.startswith(where)
    assert ": error: invalid YAML: " in message
    assert hint in message


def test_every_syntax_error_gets_a_hint(tmp_path: Path) -> None:
    (message,) = problems(tmp_path, "id: x\ntitle: |\n  a\n b: [\n")
    assert "; " in message.split("invalid YAML: ", 1)[1]


def test_a_duplicate_key_does_not_hide_the_schema_errors(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "id: x\ntitle: t\ntitle: u\nconfig: {allowlist: [AAPL], max_steps: 5}\nsteps: [{}]\n"
        "expect: {final_state: DONE}\n",
    )
    assert any(m.startswith("3:1: error: duplicate key 'title'") for m in found), found
    assert any("'final_state' must be a session state" in m for m in found), found


def test_a_yaml11_boolean_does_not_hide_the_schema_errors_nor_repeats(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "id: x\ntitle: t\nconfig: {allowlist: [AAPL], max_steps: 5, live: {enabled: no}}\n"
        "steps: [{}]\nexpect: {final_state: DONE}\n",
    )
    assert len(found) == 2, found
    assert "`no` is read by YAML 1.1 as a boolean" in found[0]
    assert "[at /config/live/enabled]" in found[0]
    assert "'final_state' must be a session state" in found[1]


def test_a_bound_still_stops_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "id: x\ntitle: t\nconfig: " + "[" * 70 + "]" * 70 + "\n")
    assert len(found) == 1
    assert "nesting deeper than" in found[0]
