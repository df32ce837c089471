"""`peak-trade explore PATH... [--budget N] [--seed S] [--workers K] [--scheduler ADDRESS]
[--output DIR] [--json]`: the fault explorer (docs/explore.md).

Exit codes: 0 no variant violated a safety property; 1 some did (each is in the report, with a
reproducer); 2 bad input (an invalid base scenario, a bad option, an unreachable scheduler).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context, PathProblem
from peak_trade.cli.output import display_path, err, out, screen_secrets
from peak_trade.harness.discovery import discover_scenarios

__all__ = ["cmd_explore", "configure"]

DEFAULT_OUTPUT = Path("build") / "explore"
PLAIN_EVERY = 10  # without a terminal: one progress line per tenth of the campaign


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="scenario files or folders to explore (default: [tool.peak_trade] scenarios)",
    )
    parser.add_argument(
        "--budget",
        type=_positive,
        default=200,
        metavar="N",
        help="variants in the whole campaign, dealt over the scenarios (default 200)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="the campaign seed: the same seed and budget give the same variants (default 0)",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        metavar="K",
        help="local worker processes, or auto (the CPUs available; default)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (extra `cluster`)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help="where EXPLORE-REPORT.md/.json and the reproducers go (default build/explore)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace, ctx: Context) -> int:
    return cmd_explore(args, ctx)


def _positive(text: str) -> int:
    value = _seed(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _workers(text: str) -> str:
    if text != "auto":
        _positive(text)
    return text


class Progress:
    """A tqdm bar on a terminal; else one plain line per tenth of the campaign (stderr)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar = None
        self.next_line = max(total // PLAIN_EVERY, 1)
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # the bar is a comfort: plain lines do
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, unit="variant", file=sys.stderr, leave=False)

    def __call__(self, done: int, total: int, violations: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(violations=violations, refresh=False)
            self.bar.update(done - self.bar.n)
            return
        if done >= self.next_line or done == total:
            err(f"explored {done}/{total} variants, {violations} violating")
            while self.next_line <= done:  # bounded: PLAIN_EVERY lines per campaign
                self.next_line += max(total // PLAIN_EVERY, 1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_explore(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.explore.campaign import Finding, run_campaign
    from peak_trade.explore.cluster import ClusterUnavailable, run_on_cluster
    from peak_trade.explore.report import report_json, write_report
    from peak_trade.explore.reproducer import write_reproducer
    from peak_trade.explore.runner import worker_count
    from peak_trade.explore.variants import Base

    files = discover_scenarios(args.paths)
    if not files:
        err(f"peak-trade: no scenario files in {' '.join(args.paths)}")
        return EXIT_BAD_INPUT
    output: Path = args.output
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathProblem.wrap("create the output folder", output, exc) from None
    for stale in sorted(output.glob("explore-*.yaml")):  # a new campaign, new reproducers
        stale.unlink()
    workers = 1 if args.scheduler else worker_count(args.workers)
    runner = None
    if args.scheduler:
        address = args.scheduler
        runner = lambda batches, done: run_on_cluster(address, batches, done)  # noqa: E731
    numbers: dict[str, int] = {}

    def write(finding: Finding, base: Base, outcome: object) -> str | None:
        from peak_trade.harness.errors import ScenarioError

        screen_secrets(base.secrets)
        numbers[base.id] = numbers.get(base.id, 0) + 1
        try:
            path = write_reproducer(
                output,
                base,
                finding.shrunk,
                finding.property,
                number=numbers[base.id],
                seed=finding.seed,
                index=finding.index,
            )
        except ScenarioError as error:  # a writer bug: say so, keep the campaign's report
            first = error.problems[0].format() if error.problems else str(error)
            err(
                f"peak-trade: the reproducer of {finding.property} on {base.id} is invalid: {first}"
            )
            return None
        return display_path(path)

    progress = Progress(args.budget) if not args.json else None
    try:
        campaign = run_campaign(
            [Path(f) for f in files],
            budget=args.budget,
            seed=args.seed,
            workers=workers,
            runner=runner,
            progress=progress,
            write=write,
        )
    except ClusterUnavailable as exc:
        err(f"peak-trade: {exc}")
        return EXIT_BAD_INPUT
    finally:
        if progress is not None:
            progress.close()
    campaign.workers = args.scheduler or str(workers)
    command = _command(args)
    md, js = write_report(output, campaign, command)
    if args.json:
        out(json.dumps(report_json(campaign, command), ensure_ascii=False))
    else:
        violating = sum(campaign.violations.values())
        out(
            f"explored {campaign.variants_run} variants of {len(campaign.bases)} scenario(s) "
            f"(seed {campaign.seed}): {violating} violating, {len(campaign.findings)} finding(s)"
        )
        for f in campaign.findings:
            out(f"  {f.property} on {f.base}: {len(f.shrunk)} fault(s) -> {f.reproducer}")
        # wallclock: the speed of this run, for the user; not part of the findings
        out(f"  {campaign.variants_per_second:.1f} variants/s ({campaign.workers} workers)")
        out(f"  report: {display_path(md)}")
        out(f"  json: {display_path(js)}")
    return EXIT_FAILED if campaign.violations else EXIT_OK


def _command(args: argparse.Namespace) -> str:
    parts = [
        "peak-trade",
        "explore",
        *args.paths,
        "--budget",
        str(args.budget),
        "--seed",
        str(args.seed),
    ]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    else:
        parts += ["--workers", str(args.workers)]
    return shlex.join(parts)
