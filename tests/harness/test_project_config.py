"""`[tool.peak_trade]`: defaults, values from pyproject.toml, flags over both, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.project_config import ConfigError, load_project_config

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_pyproject(tmp_path: Path) -> None:
    config = load_project_config(tmp_path)
    assert (config.pyproject, config.configured, config.root) == (None, False, tmp_path)
    assert config.scenarios == (tmp_path / "scenarios",)
    assert config.snapshot_dir == tmp_path / "snapshots"
    assert config.audit_dir is None
    assert config.evidence_dir == tmp_path / "evidence"
    assert set(config.sources.values()) == {"default"}


def test_values_are_relative_to_the_pyproject_found_above(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.peak_trade]\nscenarios = ["a", "b/c"]\nsnapshot_dir = "s"\naudit_dir = "out"\n',
    )
    config = load_project_config(tmp_path / "deep" / "er")
    assert config.root == tmp_path
    assert config.configured
    assert config.scenarios == (tmp_path / "a", tmp_path / "b" / "c")
    assert (config.snapshot_dir, config.audit_dir) == (tmp_path / "s", tmp_path / "out")
    assert config.sources["scenarios"] == "pyproject.toml [tool.peak_trade]"
    assert config.sources["evidence_dir"] == "default"


def test_a_flag_overrides_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peak_trade]\nsnapshot_dir = "s"\n')
    config = load_project_config(tmp_path).override("snapshot_dir", "elsewhere", "--snapshot-dir")
    assert config.snapshot_dir == Path("elsewhere").absolute()
    assert config.sources["snapshot_dir"] == "--snapshot-dir"
    assert load_project_config(tmp_path).override("snapshot_dir", None, "--x").sources[
        "snapshot_dir"
    ] == ("pyproject.toml [tool.peak_trade]")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "scenario = ['x']",
            "unknown key 'scenario' in [tool.peak_trade]; did you mean 'scenarios'?",
        ),
        ("zzz = 1", "unknown key 'zzz' in [tool.peak_trade]; known keys: scenarios, snapshot_dir"),
        ("scenarios = []", "[tool.peak_trade] scenarios must be a list of paths"),
        ("scenarios = [1]", "[tool.peak_trade] scenarios must be a list of paths"),
        ("snapshot_dir = 3", '[tool.peak_trade] snapshot_dir must be a path, e.g. "snapshots"'),
        ("audit_dir = ''", '[tool.peak_trade] audit_dir must be a path, e.g. "build/audit"'),
        ("snapshot_dir = [", "not valid TOML"),
    ],
)
def test_bad_values_are_one_sentence(tmp_path: Path, table: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.peak_trade]\n{table}\n")
    with pytest.raises(ConfigError, match=None) as caught:
        load_project_config(tmp_path)
    assert message in str(caught.value)


def test_a_single_path_string_is_a_list_of_one(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peak_trade]\nscenarios = "mine"\n')
    assert load_project_config(tmp_path).scenarios == (tmp_path / "mine",)


def test_the_project_config_names_its_snapshot_folder() -> None:
    config = load_project_config(ROOT)
    assert config.configured
    assert config.snapshot_dir == ROOT / "snapshots"
    assert config.scenarios == (ROOT / "scenarios",)


# --- peak-trade config / schema ------------------------------------------------------------------


def test_config_command_prints_each_value_and_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.peak_trade]\nsnapshot_dir = "snaps"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "project: pyproject.toml [tool.peak_trade]"
    assert lines[1].split() == ["KEY", "VALUE", "FROM"]
    assert lines[2].split() == ["scenarios", '["scenarios"]', "default"]
    assert lines[3].split() == ["snapshot_dir", '"snaps"', "pyproject.toml", "[tool.peak_trade]"]
    assert lines[4].split() == ["audit_dir", "(none:", "not", "written)", "default"]
    assert lines[5].split() == ["evidence_dir", '"evidence"', "default"]
    assert main(["config", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["pyproject"] == "pyproject.toml"
    assert record["configured"] is True
    assert record["settings"]["snapshot_dir"] == {
        "value": "snaps",
        "source": "pyproject.toml [tool.peak_trade]",
    }


def test_a_bad_config_fails_every_command_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "pyproject.toml", "[tool.peak_trade]\nscenarios = 1\n")
    monkeypatch.chdir(tmp_path)
    for argv in (["config"], ["scenario", "list"], ["scenario", "validate"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("peak-trade: ")
        assert "scenarios must be a list of paths" in err


def test_schema_command_writes_the_packaged_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["schema", "--output", "schemas/scenario.schema.json"]) == 0
    assert capsys.readouterr().out == "wrote schemas/scenario.schema.json\n"
    written = (tmp_path / "schemas" / "scenario.schema.json").read_bytes()
    assert written == (ROOT / "schemas" / "scenario.schema.json").read_bytes()
    assert json.loads(written)["$id"] == "https://peak-trade.dev/schemas/scenario.schema.json"


def test_the_guide_shows_this_repositorys_config_as_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    shown = guide.split("repository (checked by a test):\n\n```\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    assert main(["config"]) == 0
    assert capsys.readouterr().out == shown
