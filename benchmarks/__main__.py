"""`python -m benchmarks [--quick] [--json] [--save FILE] [--plot PNG] [--only B1,B2,...]
[--ns 10000,100000] [--variants market] [--sinks memory,file]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import (
    b1_lifecycle,
    b2_nautilus,
    b3_floor,
    b5_harness,
    b6_verify,
    b7_explore,
    callgrind_b1,
    profile_b1,
)
from benchmarks.core import CaseFailed, Figure, Settings, skipped
from benchmarks.report import machine, profile_lines, table, targets, verdict_lines


@dataclass(frozen=True, slots=True)
class Plan:
    ns: list[int]  # B1, B3 and B4 (and B2 as far as its time budget reaches)
    nautilus_budget_s: float  # per variant, for all its repeats at one N
    fsync_budget_s: float  # B1(c), likewise
    scenarios: int  # B5
    small_case_loops: int  # B5
    verify_records: int  # B6
    cold_repeats: int  # B6
    profile_n: int
    explore_budget: int  # B7: variants per campaign


FULL = Plan([10_000, 100_000, 1_000_000], 400, 250, 1000, 30, 1_000_000, 9, 100_000, 400)
QUICK = Plan([1_000, 2_000], 3, 0, 50, 10, 30_000, 5, 2_000, 40)
ALL = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "PROFILE", "CALLGRIND")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N, under a minute")
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per case")
    parser.add_argument("--save", type=Path, help="also write every figure and the profile here")
    parser.add_argument("--plot", type=Path, help="write the per-order cost plot (PNG) here")
    parser.add_argument("--only", default=",".join(ALL), help=f"subset of {','.join(ALL)}")
    parser.add_argument("--ns", help="B1-B4 order counts (e.g. 10000,100000)")
    parser.add_argument("--variants", help="B1/B2 variants to run (market, limit); default both")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time by wall clock, or by the measured process's CPU time (a shared machine)",
    )
    parser.add_argument("--sinks", help="B1/B3 sinks (memory, file, file_fsync); default all")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.ns:
        plan = replace(plan, ns=sorted(int(part) for part in args.ns.split(",")))
    variants = _choice(args.variants, ("market", "limit"))
    sinks = _choice(args.sinks, ("memory", "file", "file_fsync"))
    only = {part.strip().upper() for part in args.only.split(",")}
    started = time.perf_counter()
    load_at_start = round(os.getloadavg()[0], 2)

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    settings = Settings(
        quick=args.quick,
        repeats=args.repeats,
        log=log,
        variants=variants,
        sinks=sinks,
        clock=args.clock,
    )
    version, note = b2_nautilus.available()
    figures: list[Figure] = []
    profile: dict[str, object] | None = None
    by_case: dict = {}
    rss: dict = {}

    def stage(name: str, work) -> None:
        if name not in only:
            return
        log(f"{name} ...")
        try:
            work()
        except CaseFailed as exc:  # reported in the output, never hidden
            log(f"{name} failed: {exc}")
            figures.append(skipped(f"{name.lower()}_failed", None, "-", str(exc).splitlines()[0]))

    def b1() -> None:
        nonlocal by_case, rss
        found, by_case, rss = b1_lifecycle.run(settings, plan.ns, plan.fsync_budget_s)
        figures.extend(found)

    def b2() -> None:
        figures.extend(b2_nautilus.run(settings, plan.ns, plan.nautilus_budget_s, by_case)[0])

    def b4() -> None:
        figures.extend(b1_lifecycle.rss_figures(rss))

    def b5() -> None:
        figures.extend(b5_harness.run(settings, plan.scenarios, plan.small_case_loops, version))

    def b6() -> None:
        figures.extend(b6_verify.run(settings, plan.verify_records, plan.cold_repeats))

    def b7() -> None:
        figures.extend(b7_explore.run(settings, plan.explore_budget))

    def prof() -> None:
        nonlocal profile
        found, profile = profile_b1.run(settings, plan.profile_n)
        figures.extend(found)

    stage("B1", b1)
    stage("B2", b2)
    stage("B3", lambda: figures.extend(b3_floor.run(settings, plan.ns, by_case)))
    stage("B4", b4)
    stage("B5", b5)
    stage("B6", b6)
    stage("B7", b7)
    stage("PROFILE", prof)
    stage("CALLGRIND", lambda: figures.extend(callgrind_b1.run(settings)))
    elapsed = time.perf_counter() - started
    if version is None and "B2" in only:
        log(note)
    info = machine(version)
    info["load_avg_1m_at_start"] = load_at_start
    info["command"] = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    info["clock"] = args.clock
    info["elapsed_s"] = round(elapsed, 1)
    verdicts = targets(figures)
    if args.json:
        for figure in figures:
            print(json.dumps(figure.to_json()))
    else:
        print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        print()
        print("\n".join(table(f for f in figures if f.metric != "b1_profile_tottime_share")))
        print()
        print("\n".join(verdict_lines(verdicts)))
        if profile is not None:
            print()
            print("\n".join(profile_lines(profile)))
    if args.save:
        saved = {
            "machine": info,
            "figures": [f.to_json() for f in figures],
            "targets": [{"target": v.target, "met": v.met, "detail": v.detail} for v in verdicts],
            "profile": profile,
        }
        args.save.write_text(json.dumps(saved, indent=1) + "\n")
    if args.plot:
        from benchmarks.plot import per_order_plot

        per_order_plot(figures, args.plot, version)
    log(f"done in {elapsed:.1f} s")
    return 0


def _choice(text: str | None, known: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return known
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown {', '.join(unknown)}: choose from {', '.join(known)}")
    return chosen


if __name__ == "__main__":
    raise SystemExit(main())
