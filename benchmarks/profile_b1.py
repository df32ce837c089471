"""Profile of the B1 memory-sink session (market orders) with cProfile, in a child process."""

from __future__ import annotations

import cProfile
import pstats

from benchmarks.core import Figure, Settings, run_child


def profile_session(n: int, top: int) -> dict[str, object]:
    """Child side: the top functions by own time, and cumulative time of the main entry points."""
    from benchmarks.workload import build, drive

    session = build(n, "memory", "market", None)
    profiler = cProfile.Profile()
    profiler.enable()
    drive(session, n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        where = file.split("/src/", 1)[-1].split("site-packages/", 1)[-1]
        rows.append(
            {
                "function": f"{where}:{line}({name})",
                "calls": calls,
                "tottime": tottime,
                "cumtime": cumtime,
            }
        )
    by_own = sorted(rows, key=lambda r: r["tottime"], reverse=True)[:top]
    by_cum = sorted(rows, key=lambda r: r["cumtime"], reverse=True)[:top]
    return {"total_s": total, "by_tottime": by_own, "by_cumtime": by_cum}


def run(settings: Settings, n: int, top: int = 25) -> tuple[list[Figure], dict[str, object]]:
    result = run_child("benchmarks.profile_b1:profile_session", {"n": n, "top": top}, timeout=1800)
    total = float(result["total_s"])
    figures = [
        Figure(
            metric="b1_profile_tottime_share",
            n=n,
            value=100 * row["tottime"] / total,
            unit="%",
            repeats=1,
            labels={"function": row["function"], "sink": "memory", "variant": "market"},
        )
        for row in result["by_tottime"]
    ]
    return figures, result
