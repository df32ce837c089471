"""`peak-trade metrics` and `peak-trade session status`: watch-only views of one audit file.

Both only read the file (and the seal beside it): nothing is written, created, locked or changed,
so they are safe to point at the trail of a session that is still running. `metrics --output`
writes its one output file and nothing else.

Exit codes: 0 the metrics or the status were produced, whatever they say (an
ERROR_REQUIRES_OPERATOR session, a breach, a chain that breaks after some records: each is in
the output for the reader to act on, not a failure of the command); 2 bad input: a missing path,
a folder, a FIFO or a device, a file of which no record verifies (not an audit trail), an output
that cannot be written. docs/operator.md says why a watch-only command exits 0 on bad news.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_OK, Context, PathProblem
from peak_trade.cli.output import display_path, err, keep_digests, out, screened

if TYPE_CHECKING:
    from peak_trade.observe.facts import AuditFacts

__all__ = ["cmd_metrics", "cmd_status", "configure_metrics", "configure_status"]

PROM_SUFFIX = ".prom"  # the textfile collector reads only files so named


def configure_metrics(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print (or write) the order-lifecycle metrics of one audit trail, derived from its "
        "records alone: OpenMetrics text, or the Prometheus text format that node-exporter's "
        "textfile collector reads. Only reads the trail."
    )
    parser.epilog = (
        "exit codes: 0 the metrics were produced (a trail that does not verify gives those of "
        "its verified prefix and peak_trade_audit_chain_verified 0); 2 bad input"
    )
    parser.add_argument("file", metavar="AUDIT.jsonl", type=Path, help="the audit trail")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write FILE (temporary file, then atomic rename) instead of printing",
    )
    parser.add_argument(
        "--format",
        choices=("openmetrics", "text"),
        help="openmetrics, or text (Prometheus text format 0.0.4, for the textfile collector); "
        f"default: text when --output ends in {PROM_SUFFIX}, else openmetrics",
    )


def configure_status(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Show the watch-only status of the session an audit trail records: state, step, open "
        "orders, positions, cash, last breach, rails tripped, kill switch, reconciler, and "
        "whether the audit chain verifies. Only reads the trail."
    )
    parser.epilog = (
        "exit codes: 0 the status was produced, whatever the session's state; 2 bad input "
        "(a missing file, a FIFO, a file that is not an audit trail)"
    )
    parser.add_argument("file", metavar="AUDIT.jsonl", type=Path, help="the audit trail")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object (keys: docs/operator.md)"
    )


def _read(path: Path) -> AuditFacts | None:
    """The trail's facts, or None after saying why it cannot be read (exit 2)."""
    from peak_trade.observe.trail_file import NotAnAuditTrail, read_trail

    shown = display_path(path)
    try:
        facts = read_trail(path)
    except NotAnAuditTrail as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        err(
            f"{where}: error: not an audit trail: no record in it verifies ({exc.reason}); "
            "name a session's <id>.jsonl"
        )
        return None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        err(f"peak-trade: cannot read the audit file {shown}: {reason}")
        return None
    keep_digests(facts.chain.head, facts.chain.head[:12])
    return facts


def cmd_metrics(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.observe.metrics import OPENMETRICS, TEXT, render, write_textfile

    output: Path | None = args.output
    textfile = output is not None and output.suffix == PROM_SUFFIX
    fmt = args.format or (TEXT if textfile else OPENMETRICS)
    if output is not None:
        _check_output(output, args.file)
    facts = _read(args.file)
    if facts is None:
        return EXIT_BAD_INPUT
    text = screened(render(facts, fmt).decode("utf-8"))
    if output is None:
        out(text.rstrip("\n"))
        return EXIT_OK
    try:
        write_textfile(output, text.encode("utf-8"))
    except OSError as exc:
        raise PathProblem.wrap("write the metrics file", output, exc) from None
    out(f"wrote {display_path(output)} ({facts.counts.records} audit records)")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.observe.status import session_status

    facts = _read(args.file)
    if facts is None:
        return EXIT_BAD_INPUT
    status = session_status(facts)
    if args.json:
        out(json.dumps(status.to_json(), ensure_ascii=False, sort_keys=False))
        return EXIT_OK
    out(f"audit file: {display_path(args.file)}")
    for line in status.to_text():
        out(line)
    return EXIT_OK


# What a metrics file this command wrote begins with (both formats): only such a file is replaced.
METRICS_HEAD = b"# HELP "


def _check_output(output: Path, trail: Path) -> None:
    """Refuse an output that would replace something other than a metrics file: the trail
    itself, its seal, or any existing file that is not a metrics exposition (another session's
    trail, evidence, a source file). A watch-only command must never destroy what it reads."""
    from peak_trade.cli.scenario_cmds import writable_folder

    if output.is_dir():
        raise PathProblem(
            f"cannot write the metrics file {display_path(output)}: it is a folder; name a file, "
            "e.g. build/audit/<id>.prom"
        )
    shown = display_path(output)
    for own, what in ((trail, "the audit file itself"), (_seal(trail), "the audit file's seal")):
        if _same_file(output, own):
            raise PathProblem(
                f"cannot write the metrics file {shown}: it is {what}, which the metrics would "
                "replace; name another file, e.g. build/audit/<id>.prom"
            )
    if output.is_file() and not output.is_symlink():
        try:
            with output.open("rb") as handle:
                head = handle.read(len(METRICS_HEAD))
        except OSError as exc:
            raise PathProblem.wrap("write the metrics file", output, exc) from None
        if head and head != METRICS_HEAD:
            raise PathProblem(
                f"cannot write the metrics file {shown}: it exists and is not a metrics file "
                "(it does not begin with '# HELP '), so it is left as it is; name a new file or "
                "a .prom file this command wrote"
            )
    writable_folder(output.parent, "write the metrics file into")


def _seal(trail: Path) -> Path:
    return trail.with_name(trail.name + ".seal")


def _same_file(a: Path, b: Path) -> bool:
    """Whether `a` names `b` (the same path, a link to it, or the same inode)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and a.samefile(b)
    except (OSError, RuntimeError):  # a link loop or an unreadable path: not the same file
        return False
