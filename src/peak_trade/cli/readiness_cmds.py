"""`peak-trade readiness`: run the C5 checklist and write the readiness pack.

Exit codes: 0 every item passes; 1 an item fails (the pack is written and names it); 2 bad
input (an invalid scenario, no scenario, an output folder that cannot be written).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context, PathProblem
from peak_trade.cli.output import display_path, err, out, screened
from peak_trade.cli.validate_cmds import load_all, no_files, report_problems

DEFAULT_OUTPUT = Path("readiness")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the readiness checklist (runbook C5) over every scenario and the repository, and "
        "write DIR/READINESS-YYYYMMDD.md and .json: each item PASS or FAIL with the command "
        "that proves it. Necessary, not sufficient, for going live; it enables nothing."
    )
    parser.epilog = "exit codes: 0 every item passes; 1 an item fails; 2 bad input"
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="scenario files or folders (default: config)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        default=DEFAULT_OUTPUT,
        help=f"where the pack goes (default: {DEFAULT_OUTPUT}/)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the pack's JSON instead of the summary"
    )
    parser.set_defaults(handler=cmd_readiness)


def cmd_readiness(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.cli.scenario_cmds import writable_folder
    from peak_trade.harness.evidence import today, write_text_atomic
    from peak_trade.readiness.pack import build_pack, pack_name, render_json, render_markdown

    started = time.perf_counter()
    loaded = load_all(args.paths, check_duplicates=True)  # every scenario's secrets screened
    if not loaded.files:
        return no_files(args.paths)
    if loaded.invalid:
        report_problems(loaded.problems)
        err(f"{loaded.invalid} of {len(loaded.files)} scenario file(s) invalid; no pack written")
        return EXIT_BAD_INPUT
    output: Path = args.output
    writable_folder(output, "write the readiness pack into", may_create=True)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathProblem.wrap("create the readiness folder", output, exc) from None
    config = args.config
    date = today()
    pack = build_pack(
        loaded.scenarios,
        root=config.root,
        output=output,
        snapshot_dir=config.snapshot_dir,
        evidence_dir=config.evidence_dir,
        date=date,
        shown=lambda p: display_path(p),
    )
    shown_output = display_path(output)
    markdown = screened(render_markdown(pack, shown_output=shown_output))
    data = screened(render_json(pack))
    name = pack_name(date)
    try:
        write_text_atomic(output / f"{name}.md", markdown)
        write_text_atomic(output / f"{name}.json", data)
    except OSError as exc:
        raise PathProblem.wrap("write the readiness pack into", output, exc) from None
    seconds = time.perf_counter() - started
    if args.json:
        out(json.dumps(json.loads(data), ensure_ascii=False))
    else:
        for number, item in enumerate(pack.items, start=1):
            out(f"[{number:>2}/{len(pack.items)}] {'PASS' if item.passed else 'FAIL'} {item.title}")
            if not item.passed:
                out(f"        {item.found}")
        out()
        out(f"wrote {shown_output}/{name}.md and {shown_output}/{name}.json")
        out(
            f"{len(pack.items) - len(pack.failed)} of {len(pack.items)} items pass; "
            f"{pack.scenarios} scenarios run twice in {seconds:.1f} s"
        )
        out("necessary, not sufficient, for going live: live stays off and operator-gated")
    for item in pack.failed:
        err(f"readiness: FAIL {item.key}: {item.found}")
    return EXIT_FAILED if pack.failed else EXIT_OK
