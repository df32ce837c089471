"""The pytest plugin in a repository of its own: collection, snapshots, failures, unused files.

Each test builds a small repository under pytester's temporary directory and runs pytest in
process (the installed entry point loads the plugin, as in any repository). pytester removes the
modules a run imports when it ends; the ones the plugin uses are imported here first, so that they
stay (a C extension such as libyaml's parser does not survive being imported twice).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import peak_trade.cli.validate_cmds
import peak_trade.execution.live.session
import peak_trade.harness.discovery
import peak_trade.harness.evidence
import peak_trade.harness.verdict  # noqa: F401  (see the docstring)
from peak_trade.cli.main import main

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[2]
HAPPY = "happy_path_full_fills"
# The inner runs need neither hypothesis nor xdist (whose set-up is most of an inner run's time).
QUIET = ("-p", "no:hypothesispytest", "-p", "no:xdist")
CONFIG = '[tool.peak_trade]\nscenarios = ["checks"]\nsnapshot_dir = "snaps"\n'


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (pytester.path / "checks").mkdir()
    shutil.copy(ROOT / "scenarios" / f"{HAPPY}.yaml", pytester.path / "checks" / f"{HAPPY}.yaml")
    return pytester


def copy_as(repo: pytest.Pytester, new_id: str, *, edit: tuple[str, str] | None = None) -> Path:
    text = (repo.path / "checks" / f"{HAPPY}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"id: {HAPPY}", f"id: {new_id}")
    if edit is not None:
        text = text.replace(*edit)
    target = repo.path / "checks" / f"{new_id}.yaml"
    target.write_text(text, encoding="utf-8")
    return target


def test_a_repository_without_the_table_collects_no_scenario(pytester: pytest.Pytester) -> None:
    (pytester.path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (pytester.path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / f"{HAPPY}.yaml", pytester.path / "scenarios")
    result = pytester.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_each_scenario_is_an_item_named_by_its_id(repo: pytest.Pytester) -> None:
    copy_as(repo, "second")
    result = repo.runpytest(*QUIET, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"checks/{HAPPY}.yaml::{HAPPY}", "checks/second.yaml::second", "*2 tests collected*"]
    )


def test_first_run_asks_for_a_snapshot_then_update_records_it(repo: pytest.Pytester) -> None:
    first = repo.runpytest(*QUIET)
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    first.stdout.fnmatch_lines(
        [
            f"*expect.snapshot: expected 'a stored snapshot snaps/{HAPPY}.json', got 'none'",
            "*run `pytest --snapshot-update` to record it*",
        ]
    )
    assert "Traceback" not in first.stdout.str()
    updated = repo.runpytest(*QUIET, "--snapshot-update")
    assert updated.ret == 0
    updated.stdout.fnmatch_lines(["peak_trade: 1 snapshot written"])
    stored = repo.path / "snaps" / f"{HAPPY}.json"
    assert stored.read_bytes() == (ROOT / "snapshots" / stored.name).read_bytes()
    again = repo.runpytest(*QUIET)
    assert again.ret == 0
    assert "written" not in again.stdout.str()


def test_a_failure_reads_as_the_cli_prints_it(
    repo: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert repo.runpytest(*QUIET, "--snapshot-update").ret == 0
    path = repo.path / "checks" / f"{HAPPY}.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("final_state: STOPPED", "final_state: INIT"),
        encoding="utf-8",
    )
    result = repo.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    monkeypatch.chdir(repo.path)
    capsys.readouterr()
    assert main(["scenario", "run", "--evidence-dir", "ev"]) == 1
    cli_lines = [
        line.removeprefix("    ")
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("    ") and not line.startswith("    removed")
    ]
    assert cli_lines[0] == f"scenario {HAPPY}: 1 expectation(s) not met"
    text = result.stdout.str()
    assert "\n".join(cli_lines) in text
    assert "Traceback" not in text
    assert "runtest" not in text


def test_an_invalid_scenario_fails_with_its_located_problems(repo: pytest.Pytester) -> None:
    copy_as(repo, "broken", edit=("final_state: STOPPED", "final_state: DONE"))
    result = repo.runpytest(*QUIET, "-k", "broken")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = next(
        number
        for number, text in enumerate((repo.path / "checks" / "broken.yaml").open(), start=1)
        if "final_state: DONE" in text
    )
    assert f"checks/broken.yaml:{line}:16: error: 'final_state' must be a session state" in (
        result.stdout.str()
    )
    assert "Traceback" not in result.stdout.str()


def test_a_duplicate_id_fails_its_second_file(repo: pytest.Pytester) -> None:
    copy_as(repo, "zz_copy").write_text(
        (repo.path / "checks" / f"{HAPPY}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = repo.runpytest(*QUIET, "--snapshot-update")
    result.stdout.fnmatch_lines([f"*duplicate scenario id '{HAPPY}'*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_unused_snapshot_fails_the_run_and_update_deletes_it(repo: pytest.Pytester) -> None:
    assert repo.runpytest(*QUIET, "--snapshot-update").ret == 0
    assert (
        repo.runpytest(*QUIET, "--snapshot-update", "-k", "nothing_matches").ret != 0
    )  # nothing ran
    assert (repo.path / "snaps" / f"{HAPPY}.json").exists()  # deselected is not unused
    old = repo.path / "checks" / f"{HAPPY}.yaml"
    copy_as(repo, "renamed")
    old.unlink()
    (repo.path / "snaps" / "renamed.json").write_text(
        (repo.path / "snaps" / f"{HAPPY}.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = repo.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["peak_trade: 1 unused snapshot*", f"  unused snaps/{HAPPY}.json", "*1 failed*"]
    )
    updated = repo.runpytest(*QUIET, "--snapshot-update")
    assert updated.ret == 0
    updated.stdout.fnmatch_lines(
        ["peak_trade: 1 snapshot written", "peak_trade: 1 unused snapshot deleted"]
    )
    assert sorted(p.name for p in (repo.path / "snaps").iterdir()) == ["renamed.json"]
    assert repo.runpytest(*QUIET).ret == 0


def test_a_partial_run_does_not_judge_unused_snapshots(repo: pytest.Pytester) -> None:
    copy_as(repo, "second")
    assert repo.runpytest(*QUIET, "--snapshot-update").ret == 0
    result = repo.runpytest(*QUIET, "checks/second.yaml", "--snapshot-update")
    assert result.ret == 0
    assert (repo.path / "snaps" / f"{HAPPY}.json").exists()


def test_a_bare_pytest_adds_the_scenarios_to_testpaths(repo: pytest.Pytester) -> None:
    (repo.path / "pyproject.toml").write_text(
        CONFIG + '\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8"
    )
    repo.mkdir("tests")
    (repo.path / "tests" / "test_one.py").write_text("def test_one():\n    pass\n")
    result = repo.runpytest(*QUIET, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["tests/test_one.py::test_one", f"checks/{HAPPY}.yaml::{HAPPY}"])
    only_tests = repo.runpytest(*QUIET, "tests", "--collect-only", "-q")
    assert HAPPY not in only_tests.stdout.str()


def test_tags_select_scenarios(repo: pytest.Pytester) -> None:
    copy_as(repo, "other", edit=("tags: [", "tags: [special, "))
    result = repo.runpytest(*QUIET, "--collect-only", "-q", "-k", "special")
    result.stdout.fnmatch_lines(["checks/other.yaml::other", "*1/2 tests collected*"])


def test_a_bad_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "pyproject.toml").write_text(
        "[tool.peak_trade]\nscenario = ['x']\n", encoding="utf-8"
    )
    result = pytester.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key 'scenario' in [tool.peak_trade]; did you mean 'scenarios'?" in (
        result.stderr.str()
    )


def test_without_syrupy_the_plugin_has_its_own_update_flag(repo: pytest.Pytester) -> None:
    result = repo.runpytest(*QUIET, "-p", "no:syrupy", "--snapshot-update")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["peak_trade: 1 snapshot written"])
    assert "syrupy-" not in result.stdout.str()  # not among the plugins


def test_a_snapshot_folder_syrupy_would_claim_is_refused(repo: pytest.Pytester) -> None:
    (repo.path / "pyproject.toml").write_text(
        CONFIG.replace('"snaps"', '"tests/__snapshots__/scenarios"'), encoding="utf-8"
    )
    result = repo.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "lies in a __snapshots__ folder, which syrupy claims" in result.stderr.str()
    assert repo.runpytest(*QUIET, "-p", "no:syrupy", "--snapshot-update").ret == 0
