"""`peak-trade scenario list|validate`, and the loading every scenario command starts with.

These commands only read scenarios, so this module imports the loader, the schema validator and
the scenario model, never the engine, the runner or the evidence writer: a cold `validate` pays
for what it uses.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_OK, Context
from peak_trade.cli.output import display_path, err, out, screen_secrets, screened, table
from peak_trade.harness.discovery import discover_scenarios
from peak_trade.harness.errors import Problem, ScenarioError
from peak_trade.harness.loader import load_scenario_file
from peak_trade.harness.model import Scenario, load_scenario


@dataclass
class Loaded:
    files: list[str]  # as displayed: relative to the working directory when under it
    scenarios: list[Scenario]
    problems: list[Problem]
    invalid: int  # files with at least one problem


def load_all(paths: Sequence[str], *, check_duplicates: bool) -> Loaded:
    """Discover and load every scenario file; collects every problem of every file."""
    files = discover_scenarios(paths)
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    invalid = 0
    first_with_id: dict[str, str] = {}
    shown = list(dict.fromkeys(display_path(file) for file in files))  # one file, named twice
    for file in shown:
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            screen_secrets(error.secrets)  # one file's error may quote another file's secret
            problems.extend(error.problems)
            invalid += 1
            continue
        screen_secrets(scenario.config.secrets.values())
        first = first_with_id.setdefault(scenario.id, scenario.path)
        if check_duplicates and first != scenario.path:
            problems.append(duplicate_id_problem(scenario, first))
            invalid += 1
            continue
        scenarios.append(scenario)
    return Loaded(files=shown, scenarios=scenarios, problems=problems, invalid=invalid)


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


def cmd_validate(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load_all(args.paths, check_duplicates=True)
    if not loaded.files:
        return no_files(args.paths)
    report_problems(loaded.problems)
    total = len(loaded.files)
    if loaded.invalid:
        out(f"{loaded.invalid} of {total} scenario file(s) invalid")
        return EXIT_BAD_INPUT
    out(f"{total} scenario file(s) valid")
    return EXIT_OK
