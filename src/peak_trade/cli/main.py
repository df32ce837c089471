"""The `peak-trade` command line: argparse, dispatch, and one place that turns errors into exits.

Exit codes: 0 ok; 1 a scenario failed or a check failed; 2 bad input (an unreadable or invalid
scenario, a missing path, bad arguments). No error ends in a traceback: spec problems print as
located lines, path errors as one sentence, and anything unexpected as one "internal error" line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from peak_trade import __version__
from peak_trade.cli.output import err
from peak_trade.cli.scenario_cmds import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    Context,
    PathProblem,
    cmd_list,
    cmd_new,
    cmd_run,
    cmd_validate,
)
from peak_trade.cli.verify_cmds import cmd_audit_verify, cmd_evidence_verify
from peak_trade.harness.discovery import DiscoveryError
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.snapshot import DEFAULT_SNAPSHOT_DIR

PROG = "peak-trade"
EXIT_INTERRUPTED = 130

_EPILOG = (
    "exit codes: 0 ok; 1 a scenario or a check failed; 2 bad input (invalid scenario, missing "
    "path, bad arguments)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Rehearse a live trading session deterministically against a mock broker.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)

    scenario = groups.add_parser("scenario", help="list, validate, run or create scenarios")
    commands = scenario.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser("list", help="list scenarios: id, title, tags")
    listing.add_argument(
        "paths", nargs="*", default=["scenarios"], metavar="PATH", help="default: scenarios"
    )
    listing.set_defaults(handler=cmd_list)

    validate = commands.add_parser("validate", help="check scenario files, every problem located")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    validate.set_defaults(handler=cmd_validate)

    run = commands.add_parser(
        "run", help="run scenarios, check their expectations and snapshots, write evidence"
    )
    run.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    run.add_argument(
        "--audit-dir", type=Path, metavar="DIR", help="write each audit trail to DIR/<id>.jsonl"
    )
    run.add_argument(
        "--evidence-dir",
        type=Path,
        default=Path("evidence"),
        metavar="DIR",
        help="where PASS evidence goes (default: evidence)",
    )
    run.add_argument("--operator", metavar="NAME", help="who ran the rehearsal, for the evidence")
    run.add_argument("--json", action="store_true", help="one JSON object per scenario per line")
    _snapshot_dir_option(run)
    run.set_defaults(handler=cmd_run)

    new = commands.add_parser("new", help="write a commented template scenario that passes")
    new.add_argument("id", metavar="ID", help="the scenario id, e.g. partial_fill_then_cancel")
    new.add_argument(
        "--dir", type=Path, default=Path("scenarios"), metavar="DIR", help="default: scenarios"
    )
    new.add_argument("--stdout", action="store_true", help="print the template, write no file")
    new.set_defaults(handler=cmd_new)

    audit = groups.add_parser("audit", help="audit trail tools")
    audit_commands = audit.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    audit_verify = audit_commands.add_parser(
        "verify", help="verify an audit file's hash chain and seal"
    )
    audit_verify.add_argument("file", metavar="FILE")
    audit_verify.set_defaults(handler=cmd_audit_verify)

    evidence = groups.add_parser("evidence", help="evidence tools")
    evidence_commands = evidence.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    evidence_verify = evidence_commands.add_parser(
        "verify", help="re-run the scenario an evidence file names and compare its digests"
    )
    evidence_verify.add_argument("file", metavar="FILE")
    _snapshot_dir_option(evidence_verify)
    evidence_verify.set_defaults(handler=cmd_evidence_verify)
    return parser


def _snapshot_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--snapshot-dir",
        type=Path,
        default=DEFAULT_SNAPSHOT_DIR,
        metavar="DIR",
        help=f"stored snapshots (default: {DEFAULT_SNAPSHOT_DIR.as_posix()}); never written",
    )


def main(argv: Sequence[str] | None = None) -> int:
    ctx = Context()
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        return int(args.handler(args, ctx))
    except ScenarioError as error:
        for problem in error.problems:
            err(problem.format())
        return EXIT_BAD_INPUT
    except (DiscoveryError, PathProblem) as exc:
        err(f"{PROG}: {exc}")
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # stdout closed early (`| head`): stop quietly
        _silence_stdout()
        return EXIT_FAILED
    except OSError as exc:
        err(f"{PROG}: {_os_error_text(exc)}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: one line, never a traceback
        text = ctx.redactor.redact_text(f"{type(exc).__name__}: {exc}")
        text = " ".join(text.split())
        err(f"{PROG}: internal error: {text} (this is a bug; please report it)")
        return EXIT_FAILED


def _os_error_text(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    if exc.filename is None:
        return f"{reason} ({exc})" if exc.strerror is None else reason
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    return f"{exc.filename}: {reason}"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
