"""`peak-trade report`: the static HTML report of a run, written to one self-contained file.

Exit codes: 0 the report is written and every scenario in it passed; 1 the report is written and
at least one scenario did not pass (FAIL, NOT VERIFIED, UNREADABLE: each is named on stderr with
why); 2 bad input (an invalid scenario file, a missing or empty audit folder, an output location
that cannot be written), and then no report is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from peak_trade import __version__
from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context, PathProblem
from peak_trade.cli.output import display_path, err, out, screened_redactor
from peak_trade.cli.validate_cmds import load_all, no_files, report_problems
from peak_trade.report.model import PASS, RunReport

DEFAULT_AUDIT_DIR = Path("build/audit")


def configure(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (registered by cli/main.py)."""
    parser.description = (
        "Write one self-contained HTML page (no script, no external asset) for the run in the "
        "audit folder: each scenario's verdict, state timeline, messages, refusals, breaches, "
        "metrics and links to its files."
    )
    parser.epilog = (
        "exit codes: 0 every scenario passed; 1 the report is written but a scenario did not "
        "pass (FAIL, NOT VERIFIED, UNREADABLE); 2 bad input, no report written"
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="the scenario files, for titles and secrets (default: [tool.peak_trade] scenarios)",
    )
    parser.add_argument(
        "--audit-dir",
        type=Path,
        metavar="DIR",
        help="the run's audit trails DIR/<id>.jsonl (default: [tool.peak_trade] audit_dir, "
        f"else {DEFAULT_AUDIT_DIR})",
    )
    parser.add_argument(
        "--evidence-dir",
        type=Path,
        metavar="DIR",
        help="the run's evidence (default: [tool.peak_trade] evidence_dir, else evidence)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        required=True,
        help="the HTML file to write, e.g. build/report/index.html",
    )


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.report.collect import ReportInputError, collect_report
    from peak_trade.report.page import render_report

    loaded = load_all(args.paths, check_duplicates=True)  # screens every scenario's secrets
    if not loaded.files:
        return no_files(args.paths)
    if loaded.invalid:
        report_problems(loaded.problems)
        err(f"{loaded.invalid} of {len(loaded.files)} scenario file(s) invalid; no report written")
        return EXIT_BAD_INPUT
    audit_dir: Path = args.audit_dir if args.audit_dir is not None else DEFAULT_AUDIT_DIR
    output: Path = args.output
    _check_output(output)
    try:
        report = collect_report(
            audit_dir=audit_dir,
            evidence_dir=args.evidence_dir,
            output=output,
            scenarios=loaded.scenarios,
            version=__version__,
            display_path=display_path,
        )
    except ReportInputError as exc:
        err(f"peak-trade: {exc}")
        return EXIT_BAD_INPUT
    page = render_report(report, redactor=screened_redactor())
    from peak_trade.harness.evidence import write_text_atomic

    try:
        write_text_atomic(output, page)
    except OSError as exc:
        raise PathProblem.wrap("write the report", output, exc) from None
    for line in where(report, audit_dir, args.evidence_dir, output):
        out(line)
    for scenario in report.scenarios:
        if not scenario.passed:
            err(f"{scenario.scenario_id}: {scenario.verdict}: {scenario.reason}")
    return EXIT_OK if report.passed else EXIT_FAILED


def where(report: RunReport, audit_dir: Path, evidence_dir: Path, output: Path) -> list[str]:
    """Where the report, the audit trails, the metrics and the evidence of the run are."""
    total = len(report.scenarios)
    passed = report.count(PASS)
    metrics = sum(1 for s in report.scenarios if s.links.metrics)
    evidence = sum(1 for s in report.scenarios if s.links.evidence)
    audit = display_path(audit_dir)
    return [
        f"report: {display_path(output)}",
        f"    {total} scenario(s): {passed} passed, {total - passed} not passed",
        f"    audit trails: {audit}/<id>.jsonl",
        f"    metrics: {audit}/<id>.prom ({metrics} of {total})",
        f"    evidence: {display_path(evidence_dir)}/EV-YYYYMMDD-<ID>-PASS.md "
        f"({evidence} of {total} bound to their trails)",
    ]


def _check_output(output: Path) -> None:
    """PathProblem unless `output` can be written as a file: checked before anything is read."""
    if output.is_dir():
        raise PathProblem(
            f"cannot write the report {display_path(output)}: it is a folder; name a file, "
            "e.g. build/report/index.html"
        )
    if os.path.lexists(output) and not output.is_file():
        raise PathProblem(f"cannot write the report {display_path(output)}: not a regular file")
    from peak_trade.cli.scenario_cmds import writable_folder

    writable_folder(output.parent, "write the report into", may_create=True)
