"""A command imports what it needs: `scenario validate` never loads the engine, and jsonschema
only for a file that may be invalid. And the parser built for one command parses like the whole.

The import checks run in a fresh interpreter, since this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peak_trade.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "scenarios" / "broker_reject.yaml"
INVALID = ROOT / "tests" / "data" / "bad_scenarios" / "typo_order_qyt.yaml"

# The run path: the engine, the runner, the evidence writer, the snapshot plugin.
ENGINE = [
    "peak_trade.harness.runner",
    "peak_trade.harness.verdict",
    "peak_trade.harness.evidence",
    "peak_trade.harness.pytest_plugin",
    "peak_trade.execution.live.orchestrator",
    "peak_trade.execution.live.session",
    "peak_trade.execution.live.audit_trail.writer",
    "peak_trade.cli.scenario_cmds",
    "syrupy",
    "pytest",
]
# Only for explaining errors.
EXPLAINING = ["jsonschema", "peak_trade.harness.schema_problems"]

PROBE = """
import contextlib, io, json, sys
from peak_trade.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_fresh(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result = json.loads(done.stdout)
    return result["code"], set(result["modules"])


def test_validating_a_valid_file_loads_neither_the_engine_nor_jsonschema() -> None:
    code, modules = run_fresh("scenario", "validate", str(VALID))
    assert code == 0
    assert sorted(modules & {*ENGINE, *EXPLAINING}) == []


def test_validating_an_invalid_file_explains_it_without_the_engine() -> None:
    code, modules = run_fresh("scenario", "validate", str(INVALID))
    assert code == 2
    assert set(EXPLAINING) <= modules
    assert sorted(modules & set(ENGINE)) == []


def test_listing_loads_no_engine() -> None:
    code, modules = run_fresh("scenario", "list", str(VALID))
    assert code == 0
    assert sorted(modules & set(ENGINE)) == []


ARGVS = [
    ["scenario", "validate", "a.yaml", "b.yaml"],
    ["scenario", "list"],
    ["scenario", "run", "x", "--json", "--operator", "ops", "--audit-dir", "a"],
    ["scenario", "new", "some_id", "--stdout", "--dir", "d"],
    ["audit", "verify", "f.jsonl"],
    ["evidence", "verify", "e.md", "--snapshot-dir", "s"],
]


def parsed(argv: list[str], *, whole: bool) -> dict[str, object]:
    args = vars(build_parser([] if whole else argv).parse_args(argv))
    handler = args.pop("handler")
    # The handlers are closures made per parser: compare what they import (module and name).
    return {**args, "handler": sorted(cell.cell_contents for cell in handler.__closure__)}


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_the_parser_for_one_command_parses_as_the_whole_parser(argv: list[str]) -> None:
    assert parsed(argv, whole=False) == parsed(argv, whole=True)


ERRORS = [
    ["scenario", "validate", "--bogus"],
    ["scenario", "validat", "x"],
    ["scenario"],
    ["audit", "verify"],
    ["bogus"],
    ["scenario", "run", "x", "--bogus"],
    ["evidence", "verify", "a", "b"],
]


@pytest.mark.parametrize("argv", ERRORS, ids=" ".join)
def test_usage_errors_read_as_the_whole_parser_writes_them(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    messages = []
    for whole in (False, True):
        with pytest.raises(SystemExit) as caught:
            build_parser([] if whole else argv).parse_args(argv)
        messages.append((caught.value.code, capsys.readouterr().err))
    assert messages[0] == messages[1]


@pytest.mark.parametrize(
    "argv", [["-h"], ["scenario", "-h"], ["scenario", "run", "-h"], ["evidence", "verify", "-h"]]
)
def test_help_reads_as_the_whole_parser_writes_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    texts = []
    for whole in (False, True):
        with pytest.raises(SystemExit):
            build_parser([] if whole else argv).parse_args(argv)
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1]
    assert texts[0].startswith("usage: peak-trade")
