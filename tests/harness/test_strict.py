"""`scenario validate --strict`: exactly the documented rules, each located; none without it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.strict import RULES

ROOT = Path(__file__).resolve().parents[2]
HAPPY = "happy_path_full_fills"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / f"{HAPPY}.yaml", tmp_path / "scenarios")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "pyproject.toml").write_text("[tool.peak_trade]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scenario", "validate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_library_follows_the_conventions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = validate(capsys, "--strict")
    assert (code, err) == (0, ""), err
    assert out.endswith(" scenario file(s) valid (strict)\n")


def test_a_valid_file_passes_plain_validation_and_strict(tree, capsys) -> None:
    assert validate(capsys)[0] == 0
    assert validate(capsys, "--strict")[0] == 0


MODELINE = "# yaml-language-server: $schema=../schemas/scenario.schema.json"
CASES = {
    "no modeline": (
        MODELINE + "\n",
        "",
        f"the first line is not the editor modeline; make it '{MODELINE}'",
        ":1:1:",
    ),
    "missing schema": (
        "$schema=../schemas/",
        "$schema=../nowhere/",
        "does not exist here",
        ":1:1:",
    ),
    "remote schema": (
        "$schema=../schemas/scenario.schema.json",
        "$schema=https://x.test/s.json",
        "which editors would download",
        ":1:1:",
    ),
    "file name": (
        f"id: {HAPPY}",
        "id: other_name",
        f"the file name '{HAPPY}.yaml' is not the id; name the file 'other_name.yaml'",
        "[at /id]",
    ),
    "tags": ("tags: [happy-path, fills]", "tags: []", "add 'tags' with at least one", "[at /tags]"),
    "final state": (
        "  final_state: STOPPED\n",
        "",
        "add 'expect.final_state': the state the session ends in",
        "[at /expect]",
    ),
    "states": ("  states: [", "  x_states: [", "add 'expect.states'", "[at /expect]"),
}


@pytest.mark.parametrize(("old", "new", "fragment", "where"), CASES.values(), ids=list(CASES))
def test_each_rule_is_a_located_problem_only_in_strict_mode(
    tree, capsys, old: str, new: str, fragment: str, where: str
) -> None:
    path = tree / "scenarios" / f"{HAPPY}.yaml"
    if old == "  states: [":  # drop the key: rename it and strip it from the file
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"^  states: .*\n", "", text, flags=re.MULTILINE), encoding="utf-8")
    else:
        edit(path, old, new)
    assert validate(capsys)[0] == 0  # none of these is required without --strict
    code, out, err = validate(capsys, "--strict")
    assert code == 2
    assert out == "1 of 1 scenario file(s) invalid\n"
    (line,) = err.splitlines()
    assert line.startswith(f"scenarios/{HAPPY}.yaml:")
    assert fragment in line
    assert where in line
    assert line.endswith("(--strict)") or "(--strict) [at " in line


def test_a_stale_schema_copy_is_named_with_the_command_that_refreshes_it(tree, capsys) -> None:
    edit(tree / "schemas" / "scenario.schema.json", '"title"', '"title" ')
    code, _, err = validate(capsys, "--strict")
    assert code == 2
    assert "is not the schema of the installed peak_trade; refresh it with " in err
    assert "`peak-trade schema --output schemas/scenario.schema.json`" in err


def test_the_guide_lists_exactly_the_rules() -> None:
    guide = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    listed = guide.split("<!-- strict rules -->\n", 1)[1].split("<!-- end strict rules -->", 1)[0]
    assert listed.splitlines() == [f"- **{name}**: {text}" for name, text in RULES]
