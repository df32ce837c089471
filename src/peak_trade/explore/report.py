"""`DIR/EXPLORE-REPORT.md` and `DIR/EXPLORE-REPORT.json`: what a campaign ran and found.

The JSON holds the campaign's identity (campaign.Campaign.identity: equal for equal seed, budget
and scenarios whatever the workers) and, apart under `timing`, how long it took and where it ran.
The Markdown shows the same: the totals, each finding with its seed, variant, shrunk faults and
reproducer, and the coverage table of fault kind x step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from peak_trade.explore.campaign import Campaign
from peak_trade.explore.faults import KINDS
from peak_trade.explore.properties import BY_NAME as PROPERTIES

__all__ = ["COVERAGE_STEPS", "report_json", "report_markdown", "write_report"]

REPORT_NAME = "EXPLORE-REPORT"
COVERAGE_STEPS = 12  # columns 0 .. 11, then one for every later step


def report_json(campaign: Campaign, command: str) -> dict[str, object]:
    return {
        "format": "peak-trade-explore/1",
        "command": command,
        **campaign.identity(),
        "timing": {  # wallclock: how fast, never compared between campaigns
            "seconds": round(campaign.seconds, 3),
            "variants_per_second": round(campaign.variants_per_second, 2),
            "workers": campaign.workers,
        },
    }


def _coverage_rows(campaign: Campaign) -> list[str]:
    columns = [str(s) for s in range(COVERAGE_STEPS)] + [f"{COVERAGE_STEPS}+"]
    lines = [
        "| fault kind | " + " | ".join(columns) + " | total |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for kind in KINDS:  # every kind, so a kind never injected shows as a row of zeros
        cells = [0] * len(columns)
        for (name, step), count in campaign.coverage.items():
            if name == kind.name:
                cells[min(step, COVERAGE_STEPS)] += count
        shown = " | ".join(str(c) if c else "." for c in cells)
        lines.append(f"| {kind.name} | {shown} | {sum(cells)} |")
    return lines


def report_markdown(campaign: Campaign, command: str) -> str:
    found = sum(campaign.violations.values())
    lines = [
        "# Explore report",
        "",
        f"Command: `{command}`",
        "",
        "| | |",
        "|---|---|",
        f"| seed | {campaign.seed} |",
        f"| budget | {campaign.budget} |",
        f"| base scenarios | {len(campaign.bases)} |",
        f"| variants run | {campaign.variants_run} |",
        f"| invalid variants | {campaign.invalid} |",
        f"| violating variants (per property) | {found} |",
        f"| findings (shrunk, with a reproducer) | {len(campaign.findings)} |",
        # wallclock: timing of this run only; the JSON keeps it apart from the findings
        f"| variants/s | {campaign.variants_per_second:.1f} ({campaign.workers} workers, "
        f"{campaign.seconds:.1f} s) |",
        "",
        "## Findings",
        "",
    ]
    if not campaign.findings:
        lines.append("No variant violated a safety property.")
    for number, f in enumerate(campaign.findings, start=1):
        lines += [
            f"### {number}. `{f.property}` on `{f.base}`",
            "",
            f"- property: {PROPERTIES[f.property].says}",
            f"- seed {f.seed}, variant {f.index} ({f.variants} variant(s) of this base violate it)",
            f"- as generated: {_faults(f.faults)}",
            f"- shrunk ({len(f.shrunk)} fault(s), {f.shrink_runs} runs): {_faults(f.shrunk)}",
            f"- reproducer: `{f.reproducer}`" if f.reproducer else "- reproducer: not written",
            "- what happened:",
            *[f"  - {problem}" for problem in f.problems],
            "",
        ]
    more = len(campaign.first) - len(campaign.findings)
    if more > 0:
        lines += [
            f"{more} more (base, property) violation(s) not shrunk (the campaign's limit).",
            "",
        ]
    if campaign.invalid_examples:
        lines += ["## Invalid variants (a generator bug)", ""]
        lines += [f"- {example}" for example in campaign.invalid_examples]
        lines.append("")
    lines += ["## Coverage: fault kind x step", "", *_coverage_rows(campaign), ""]
    return "\n".join(lines)


def _faults(faults: Sequence[object]) -> str:
    return "; ".join(f"`{f.label()}`" for f in faults) or "none"  # type: ignore[attr-defined]


def write_report(directory: Path, campaign: Campaign, command: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{REPORT_NAME}.md"
    js = directory / f"{REPORT_NAME}.json"
    md.write_text(report_markdown(campaign, command), encoding="utf-8")
    js.write_text(json.dumps(report_json(campaign, command), indent=2) + "\n", encoding="utf-8")
    return md, js
