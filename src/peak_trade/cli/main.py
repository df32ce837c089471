"""The `peak-trade` command line: argparse, dispatch, and one place that turns errors into exits.

Exit codes: 0 ok; 1 a scenario failed or a check failed; 2 bad input (an unreadable or invalid
scenario, a missing path, bad arguments). No error ends in a traceback: spec problems print as
located lines, path errors as one sentence, and anything unexpected as one "internal error" line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from peak_trade import __version__
from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, Context, PathProblem
from peak_trade.cli.output import err, reset_screen, screen_secrets
from peak_trade.harness.discovery import DiscoveryError
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.project_config import ConfigError, ProjectConfig, load_project_config

Handler = Callable[[argparse.Namespace, Context], int]

PROG = "peak-trade"
EXIT_INTERRUPTED = 130

_EPILOG = (
    "exit codes: 0 ok; 1 a scenario or a check failed; 2 bad input (invalid scenario, missing "
    "path, bad arguments)"
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `argv`, only the command parsers it can reach.

    argparse builds a parser per command, and the ones a run cannot reach are most of the cost of
    building them. So when `argv` starts with a group (and a command of it), the other groups'
    commands (and the group's other commands) are left out; they would neither parse nor print
    anything for it. Anything else (`--help`, a typo, an option first) gets every parser.
    """
    group, command = _reachable(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Rehearse a live trading session deterministically against a mock broker.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for name, (help_text, commands) in _COMMANDS.items():
        group_parser = groups.add_parser(name, help=help_text)
        if callable(commands):  # a command of its own, without subcommands
            if group in (None, name):
                commands(group_parser)
            continue
        actions = group_parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
        for command_name, (command_help, configure) in commands.items():
            if group in (None, name) and command in (None, command_name):
                configure(actions.add_parser(command_name, help=command_help))
    return parser


def _reachable(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """The group and command `argv` names, None for each it does not name exactly."""
    if not argv or argv[0] not in _COMMANDS:
        return None, None
    group = argv[0]
    commands = _COMMANDS[group][1]
    if callable(commands):
        return group, None
    return group, (argv[1] if len(argv) > 1 and argv[1] in commands else None)


_PATHS_HELP = "files or folders (default: [tool.peak_trade] scenarios, else scenarios)"


def _paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)


def _scenario_list(parser: argparse.ArgumentParser) -> None:
    _paths_argument(parser)
    parser.set_defaults(handler=_lazy("validate_cmds", "cmd_list"))


def _scenario_validate(parser: argparse.ArgumentParser) -> None:
    _paths_argument(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also check the library conventions (docs/scenarios.md, 'Strict mode')",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per file per line, on stdout"
    )
    parser.set_defaults(handler=_lazy("validate_cmds", "cmd_validate"))


def _scenario_run(parser: argparse.ArgumentParser) -> None:
    _paths_argument(parser)
    parser.add_argument(
        "--audit-dir",
        type=Path,
        metavar="DIR",
        help="write each audit trail to DIR/<id>.jsonl (default: [tool.peak_trade] audit_dir)",
    )
    parser.add_argument(
        "--evidence-dir",
        type=Path,
        metavar="DIR",
        help="where PASS evidence goes (default: [tool.peak_trade] evidence_dir, else evidence)",
    )
    parser.add_argument(
        "--operator", metavar="NAME", help="who ran the rehearsal, for the evidence"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per file or scenario per line"
    )
    _snapshot_dir_option(parser)
    parser.set_defaults(handler=_lazy("scenario_cmds", "cmd_run"))


def _scenario_new(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="the scenario id, e.g. partial_fill_then_cancel")
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="default: the first [tool.peak_trade] scenarios path, else scenarios",
    )
    parser.add_argument("--stdout", action="store_true", help="print the template, write no file")
    parser.set_defaults(handler=_lazy("scenario_cmds", "cmd_new"))


def _audit_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--allow-unsealed",
        action="store_true",
        help="accept a trail without a seal (a session that crashed or is still running)",
    )
    parser.set_defaults(handler=_lazy("verify_cmds", "cmd_audit_verify"))


def _evidence_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--audit",
        metavar="FILE",
        help="also require FILE to be the sealed audit trail of the run the evidence records",
    )
    _snapshot_dir_option(parser)
    parser.set_defaults(handler=_lazy("verify_cmds", "cmd_evidence_verify"))


def _config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_lazy("project_cmds", "cmd_config"))


def _schema(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write it to FILE instead of stdout"
    )
    parser.set_defaults(handler=_lazy("project_cmds", "cmd_schema"))


def _report(parser: argparse.ArgumentParser) -> None:
    from peak_trade.cli.report_cmds import configure

    configure(parser)
    parser.set_defaults(handler=_lazy("report_cmds", "cmd_report"))


def _metrics(parser: argparse.ArgumentParser) -> None:
    from peak_trade.cli.observe_cmds import configure_metrics  # argparse only

    configure_metrics(parser)
    parser.set_defaults(handler=_lazy("observe_cmds", "cmd_metrics"))


def _session_status(parser: argparse.ArgumentParser) -> None:
    from peak_trade.cli.observe_cmds import configure_status  # argparse only

    configure_status(parser)
    parser.set_defaults(handler=_lazy("observe_cmds", "cmd_status"))


def _readiness(parser: argparse.ArgumentParser) -> None:
    from peak_trade.cli.readiness_cmds import configure  # argparse only: the engine loads later

    configure(parser)


def _explore(parser: argparse.ArgumentParser) -> None:
    from peak_trade.cli.explore_cmds import configure  # argparse only: the engine loads later

    configure(parser)


_Configure = Callable[[argparse.ArgumentParser], None]
# group -> (help, command -> (help, how to configure its parser)), in the order help lists them;
# a group that is a command of its own has its configure function instead of a command table.
_COMMANDS: dict[str, tuple[str, dict[str, tuple[str, _Configure]] | _Configure]] = {
    "scenario": (
        "list, validate, run or create scenarios",
        {
            "list": ("list scenarios: id, title, tags", _scenario_list),
            "validate": ("check scenario files, every problem located", _scenario_validate),
            "run": (
                "run scenarios, check their expectations and snapshots, write evidence",
                _scenario_run,
            ),
            "new": ("write a commented template scenario that passes", _scenario_new),
        },
    ),
    "audit": (
        "audit trail tools",
        {"verify": ("verify an audit file's hash chain and seal", _audit_verify)},
    ),
    "evidence": (
        "evidence tools",
        {
            "verify": (
                "re-run the scenario an evidence file names and compare the whole evidence",
                _evidence_verify,
            )
        },
    ),
    "session": (
        "watch-only views of a session's audit trail",
        {"status": ("show a session's status from its audit trail (only reads)", _session_status)},
    ),
    "metrics": ("print or write the order-lifecycle metrics of an audit trail", _metrics),
    "explore": ("inject broker faults around scenarios and check the safety properties", _explore),
    "config": ("print the resolved [tool.peak_trade] settings and where each came from", _config),
    "schema": ("print or write the scenario JSON Schema (for editors)", _schema),
    "report": ("write the static HTML report of a run (audit, evidence, diagrams)", _report),
    "readiness": (
        "run the readiness checklist (C5) and write the readiness pack; enables nothing",
        _readiness,
    ),
}


def _lazy(module: str, name: str) -> Handler:
    """The handler `name` of `peak_trade.cli.<module>`, imported only when its command runs: the
    engine, the runner and the evidence writer cost a cold start that `validate` does not need."""

    def handler(args: argparse.Namespace, ctx: Context) -> int:
        command: Handler = getattr(importlib.import_module(f"peak_trade.cli.{module}"), name)
        return command(args, ctx)

    return handler


def _snapshot_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--snapshot-dir",
        type=Path,
        metavar="DIR",
        help="stored snapshots (default: [tool.peak_trade] snapshot_dir); never written",
    )


# argparse attribute -> (config key, the flag that overrides it)
_CONFIGURED = {
    "paths": ("scenarios", "command line PATH"),
    "snapshot_dir": ("snapshot_dir", "--snapshot-dir"),
    "audit_dir": ("audit_dir", "--audit-dir"),
    "evidence_dir": ("evidence_dir", "--evidence-dir"),
}


def _apply_config(args: argparse.Namespace) -> None:
    """Fill each path option not given on the command line from the project config."""
    config: ProjectConfig = load_project_config()
    for attribute, (key, flag) in _CONFIGURED.items():
        if hasattr(args, attribute):
            config = config.override(key, getattr(args, attribute) or None, flag)
    args.config = config
    shown = _shown_path
    if hasattr(args, "paths"):
        args.paths = [str(shown(p)) for p in config.scenarios]
    for attribute in ("snapshot_dir", "evidence_dir"):
        if hasattr(args, attribute):
            setattr(args, attribute, shown(getattr(config, attribute)))
    if hasattr(args, "audit_dir"):
        args.audit_dir = None if config.audit_dir is None else shown(config.audit_dir)
    if hasattr(args, "dir") and args.dir is None:
        args.dir = shown(config.scenarios[0])


def _shown_path(path: Path) -> Path:
    """`path` as the commands show it: relative to the working directory when under it."""
    from peak_trade.cli.output import display_path

    return Path(display_path(path))


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so every `finally` and `with` cleans up
    (temporary seal and evidence files, scratch directories, audit path locks). A BaseException:
    the engine's fail-closed `except Exception` handlers must not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def _signals_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP raise `Terminated` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    with _signals_unwind():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    ctx = Context()
    reset_screen()  # secrets of an earlier invocation in this process are not this one's
    try:
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
            return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        _apply_config(args)
        return int(args.handler(args, ctx))
    except ScenarioError as error:
        screen_secrets(error.secrets)
        for problem in error.problems:
            err(problem.format())
        return EXIT_BAD_INPUT
    except (DiscoveryError, PathProblem, ConfigError) as exc:
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
    except Terminated as stop:  # cleaned up on the way here; the audit file stays unsealed
        err(f"{PROG}: terminated by {signal.Signals(stop.signum).name}")
        return 128 + stop.signum
    except Exception as exc:  # the last resort: one line, never a traceback
        text = ctx.redact_text(f"{type(exc).__name__}: {exc}")
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
