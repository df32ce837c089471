"""`peak-trade scenario list|validate`, and the loading every scenario command starts with.

These commands only read scenarios, so this module imports the loader, the schema validator and
the scenario model, never the engine, the runner or the evidence writer: a cold `validate` pays
for what it uses.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_OK, Context
from peak_trade.cli.output import display_path, err, out, screen_secrets, screened, table
from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import Problem, ScenarioError
from peak_trade.harness.loader import load_scenario_file
from peak_trade.harness.model import Scenario, load_scenario


@dataclass
class FileResult:
    """One scenario file: its id when it loaded, and its problems ([] when valid)."""

    file: str
    id: str | None
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        from peak_trade.cli.json_output import problem_json

        errors = [problem_json(problem) for problem in self.problems]
        return {"path": self.file, "id": self.id, "valid": not self.problems, "errors": errors}


@dataclass
class Loaded:
    files: list[str]  # as displayed: relative to the working directory when under it
    scenarios: list[Scenario]
    problems: list[Problem]
    invalid: int  # files with at least one problem
    results: list[FileResult] = field(default_factory=list)  # one per file, in order


def load_all(
    paths: Sequence[str], *, check_duplicates: bool, strict: bool = False, root: Path | None = None
) -> Loaded:
    """Discover and load every scenario file; collects every problem of every file. With
    `strict`, a valid file must also follow the library conventions (harness/strict.py) of the
    project whose folder is `root`."""
    files = discover_scenarios(paths)
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    results: list[FileResult] = []
    first_with_id: dict[str, str] = {}
    shown = list(dict.fromkeys(display_path(file) for file in files))  # one file, named twice
    for file in shown:
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            screen_secrets(error.secrets)  # one file's error may quote another file's secret
            results.append(FileResult(file=file, id=None, problems=list(error.problems)))
            continue
        screen_secrets(scenario.config.secrets.values())
        result = FileResult(file=file, id=scenario.id)
        results.append(result)
        first = first_with_id.setdefault(scenario.id, scenario.path)
        if check_duplicates and first != scenario.path:
            result.problems.append(duplicate_id_problem(scenario, first))
        if strict:
            result.problems.extend(_strict_problems(scenario, root or Path.cwd()))
        if not result.problems:
            scenarios.append(scenario)
    for result in results:
        problems.extend(result.problems)
    invalid = sum(1 for result in results if result.problems)
    return Loaded(
        files=shown, scenarios=scenarios, problems=problems, invalid=invalid, results=results
    )


def _strict_problems(scenario: Scenario, root: Path) -> list[Problem]:
    from peak_trade.harness.strict import strict_problems
    from peak_trade.harness.validate import schema_bytes

    try:
        doc = load_scenario_file(scenario.path)
        with open(scenario.path, "rb") as stream:
            first_line = stream.readline(4096).decode("utf-8", "replace")
    except (ScenarioError, OSError):  # the file changed since it loaded: judged next time
        return []
    return strict_problems(doc, first_line, root=root, schema=schema_bytes())


def duplicate_id_problem(scenario: Scenario, first: str) -> Problem:
    try:
        line, col = load_scenario_file(scenario.path).locate(["id"])
    except ScenarioError:  # the file changed since it loaded
        line, col = 1, 1
    message = (
        f"duplicate scenario id '{scenario.id}' (also the id of {first}); "
        "an id names its snapshot, audit file and evidence, so it must be unique"
    )
    return Problem(file=scenario.path, line=line, col=col, message=message, json_path="/id")


def no_files(paths: Sequence[str]) -> int:
    err(f"peak-trade: no scenario files (*.yaml, *.yml) under {', '.join(paths)}")
    return EXIT_BAD_INPUT


def report_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        err(problem.format())


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load_all(args.paths, check_duplicates=False)
    if not loaded.files:
        return no_files(args.paths)
    # Each cell redacted before the table pads it (out() screens the whole line again).
    rows = [tuple(map(screened, (s.id, s.title, ", ".join(s.tags)))) for s in loaded.scenarios]
    if rows:
        for line in table(("ID", "TITLE", "TAGS"), rows):
            out(line)
    report_problems(loaded.problems)
    return EXIT_BAD_INPUT if loaded.problems else EXIT_OK


def print_results(loaded: Loaded, **extra: object) -> None:
    """`--json`: one object per file, `extra` keys added to each (run's not-run fields)."""
    for result in loaded.results:
        out(json.dumps({**result.to_json(), **extra}, ensure_ascii=False))


def cmd_validate(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load_all(args.paths, check_duplicates=True, strict=args.strict, root=args.config.root)
    if not loaded.files:
        return no_files(args.paths)
    if args.json:  # stdout holds the objects only; the summary goes to stderr
        print_results(loaded)
    else:
        report_problems(loaded.problems)
    summary = err if args.json else out
    total = len(loaded.files)
    if loaded.invalid:
        summary(f"{loaded.invalid} of {total} scenario file(s) invalid")
        return EXIT_BAD_INPUT
    summary(f"{total} scenario file(s) valid" + (" (strict)" if args.strict else ""))
    return EXIT_OK
