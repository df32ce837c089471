"""The pytest plugin (entry point `pytest11: peak_trade`): every scenario is a test item.

In a repository whose pyproject.toml has a `[tool.peak_trade]` table, `pytest` collects each
scenario file under the configured `scenarios` paths as one item named by its scenario id (node id
`scenarios/x.yaml::x`), runs it with `harness.verdict.evaluate` (the function the CLI uses) and
compares its audit trail with `<snapshot_dir>/<id>.json`. A failure is reported as the very text
`peak-trade scenario run` prints, without a traceback.

`--snapshot-update` writes new and changed snapshots and deletes unused ones (a snapshot whose
scenario no longer exists); without it an unused snapshot is reported and fails the run. The
option is syrupy's when syrupy is installed (one flag updates both kinds of snapshot), else the
plugin's own.

When pytest runs on its default paths (`testpaths` or the working directory), the scenario paths
are added to them, so a bare `pytest` runs the scenarios wherever they live. Everything but this
module's own few names is imported when the first scenario is collected: a repository without the
table pays nothing for having peak_trade installed.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from peak_trade.harness.errors import ScenarioError
    from peak_trade.harness.model import Scenario
    from peak_trade.harness.project_config import ProjectConfig

_SUFFIXES = (".yaml", ".yml")
_MARKER = "peak_trade"


@dataclass
class _State:
    """What one pytest run learns about the scenarios; lives in `config.stash`."""

    project: ProjectConfig
    update: bool
    # Scenario files collected. pytest asks for a node for every file in a folder it enters, also
    # for those a file argument leaves out; only the nodes it then collects count.
    files: set[Path] = field(default_factory=set)
    ids: dict[str, str] = field(default_factory=dict)  # scenario id -> its file, as shown
    written: list[str] = field(default_factory=list)  # snapshots written by --snapshot-update
    deleted: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    # Every collected file's secrets: one file's error or failure may quote another's secret.
    secrets: list[str] = field(default_factory=list)
    _screen: Any = None

    def screen(self) -> Any:
        """The SecretScreen of every secret seen (rebuilt when more were seen since)."""
        from peak_trade.harness.secret_screen import SecretScreen

        if self._screen is None or len(self._screen.values) != len(set(self.secrets)):
            self._screen = SecretScreen(self.secrets)
        return self._screen

    def owns(self, path: Path) -> bool:
        """Whether `path` is a scenario file under the configured scenario paths."""
        if path.suffix not in _SUFFIXES or "__snapshots__" in path.parts:
            return False
        return any(path == base or base in path.parents for base in self.project.scenarios)


_STATE = pytest.StashKey[_State]()


def _syrupy_registers_update(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether syrupy is (or is about to be) the plugin that adds `--snapshot-update`."""
    if pluginmanager.has_plugin("syrupy"):
        return True
    if pluginmanager.is_blocked("syrupy") or importlib.util.find_spec("syrupy") is None:
        return False
    return not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not _syrupy_registers_update(pluginmanager):
        parser.getgroup("peak_trade").addoption(
            "--snapshot-update",
            action="store_true",
            default=False,
            dest="update_snapshots",
            help="write new and changed scenario snapshots, delete unused ones",
        )


def pytest_configure(config: pytest.Config) -> None:
    from peak_trade.harness.project_config import ConfigError, load_project_config

    try:
        project = load_project_config(config.rootpath)
    except ConfigError as exc:
        raise pytest.UsageError(f"peak_trade: {exc}") from None
    if not project.configured:
        return
    if "__snapshots__" in project.snapshot_dir.parts and config.pluginmanager.has_plugin("syrupy"):
        # syrupy counts every file under a __snapshots__ folder beside a collected test as its
        # own: it would report these as unused and delete them on --snapshot-update.
        raise pytest.UsageError(
            f"peak_trade: [tool.peak_trade] snapshot_dir {project.snapshot_dir} lies in a "
            "__snapshots__ folder, which syrupy claims (it would delete the scenario snapshots "
            'on --snapshot-update); choose a folder outside it, e.g. "snapshots"'
        )
    config.addinivalue_line("markers", f"{_MARKER}: a peak_trade scenario (one per file)")
    update = bool(config.getoption("update_snapshots", default=False))
    config.stash[_STATE] = _State(project=project, update=update)
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # A bare `pytest`: its default paths, plus the scenarios wherever they live. pytest
        # itself drops paths that overlap, so a scenario is never collected twice.
        extra = [str(p) for p in project.scenarios if p.exists()]
        config.args = [*config.args, *extra]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash.get(_STATE, None)
    if state is None or not state.owns(file_path):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFailure(Exception):
    """A scenario did not pass; the message is what `peak-trade scenario run` prints."""


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from peak_trade.cli.output import display_path
        from peak_trade.harness.errors import ScenarioError
        from peak_trade.harness.model import load_scenario

        shown = display_path(self.path)
        state = self.config.stash[_STATE]
        state.files.add(self.path)
        try:
            scenario: Scenario | None = load_scenario(shown)
            problem: ScenarioError | None = None
        except ScenarioError as error:
            scenario, problem = None, error
            state.secrets.extend(error.secrets)
        else:
            secrets = scenario.config.secrets.values()
            state.secrets.extend(v for v in secrets if isinstance(v, str))
        scenario_id = self.path.stem if scenario is None else scenario.id
        if scenario is not None and scenario_id in state.ids:
            from peak_trade.cli.validate_cmds import duplicate_id_problem

            problem = ScenarioError([duplicate_id_problem(scenario, state.ids[scenario_id])])
            scenario = None
        state.ids.setdefault(scenario_id, shown)
        yield ScenarioItem.from_parent(self, name=scenario_id, scenario=scenario, problem=problem)


class ScenarioItem(pytest.Item):
    def __init__(
        self, *, scenario: Scenario | None, problem: ScenarioError | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.problem = problem
        self.add_marker(_MARKER)
        if scenario is not None:  # `-k <tag>` selects by tag, as `scenario list` shows them
            self.extra_keyword_matches.update(scenario.tags)

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        if self.scenario is None:  # redacted with every file's secrets, as the CLI prints it
            raise ScenarioFailure(str(self.problem.with_secrets(state.secrets)))  # type: ignore[union-attr]
        from peak_trade.cli.output import display_path
        from peak_trade.execution.live.session import build_redactor
        from peak_trade.harness.expectations import format_failure
        from peak_trade.harness.snapshot import compare_with_stored, snapshot_path
        from peak_trade.harness.verdict import evaluate

        scenario = self.scenario
        verdict = evaluate(scenario, snapshot_dir=None)
        stored_path = snapshot_path(state.project.snapshot_dir, scenario.id)
        shown = display_path(stored_path)
        try:
            stored: str | None = stored_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            stored = None
        mismatches = list(verdict.mismatches)
        if state.update:
            if stored != verdict.snapshot_text:
                _write(stored_path, verdict.snapshot_text)
                state.written.append(shown)
        else:
            mismatch = compare_with_stored(verdict.snapshot_text, stored, name=shown)
            if mismatch is not None:
                mismatches.append(mismatch)
        if mismatches:
            redact = build_redactor(scenario.config).redact_text
            text = redact(format_failure(scenario.id, mismatches))
            raise ScenarioFailure(state.screen().text(text))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.name}"


def _write(path: Path, text: str) -> None:
    from peak_trade.harness.evidence import write_text_atomic

    write_text_atomic(path, text)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None or hasattr(session.config, "workerinput"):  # an xdist worker: see below
        return
    known = _known_ids(session, state)
    if known is None:  # only part of the library was collected: unused means nothing
        return
    from peak_trade.cli.output import display_path
    from peak_trade.harness.snapshot import SNAPSHOT_SUFFIX

    directory = state.project.snapshot_dir
    stored = sorted(directory.glob(f"*{SNAPSHOT_SUFFIX}")) if directory.is_dir() else []
    unused = [path for path in stored if path.stem not in known]
    for path in unused:
        if state.update:
            path.unlink(missing_ok=True)
            state.deleted.append(display_path(path))
        else:
            state.unused.append(display_path(path))
    if state.unused and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _known_ids(session: pytest.Session, state: _State) -> set[str] | None:
    """The ids of every scenario under the configured paths, or None when they are not known.

    Known when this process collected every scenario file there (also when `-k` deselected some
    items: they were collected). Under xdist the controller collects nothing itself; for a run on
    the default paths it reads the ids from the files instead.
    """
    from peak_trade.harness.discovery import discover_scenarios

    existing = [p for p in state.project.scenarios if p.exists()]
    files = set(discover_scenarios(existing))
    if files <= state.files:
        return set(state.ids)
    distributed = session.config.pluginmanager.has_plugin("dsession")
    if not distributed or session.config.args_source is pytest.Config.ArgsSource.ARGS:
        return None
    from peak_trade.harness.errors import ScenarioError
    from peak_trade.harness.model import load_scenario

    ids = set()
    for file in files:
        try:
            ids.add(load_scenario(file).id)
        except ScenarioError:
            ids.add(file.stem)
    return ids


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    write = terminalreporter.write_line
    if state.written:
        write(f"peak_trade: {_count(len(state.written), 'snapshot')} written")
    if state.deleted:
        write(f"peak_trade: {_count(len(state.deleted), 'unused snapshot')} deleted")
        for path in state.deleted:
            write(f"  deleted {path}")
    if state.unused:
        write(
            f"peak_trade: {_count(len(state.unused), 'unused snapshot')} (no scenario has its "
            "id); run `pytest --snapshot-update` to delete, or restore the scenario",
            red=True,
        )
        for path in state.unused:
            write(f"  unused {path}", red=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
