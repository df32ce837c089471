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
        _check_output(output)
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


def _check_output(output: Path) -> None:
    from peak_trade.cli.scenario_cmds import writable_folder

    if output.is_dir():
        raise PathProblem(
            f"cannot write the metrics file {display_path(output)}: it is a folder; name a file, "
            "e.g. build/audit/<id>.prom"
        )
    writable_folder(output.parent, "write the metrics file into")
