"""B2 peer: the same order flow through NautilusTrader's BacktestEngine, in the same run.

Nautilus gets its best case (see benchmarks/nautilus_flow.py). Its runs are bounded by time: a
larger N is skipped, and reported as where it stopped, once its repeats would exceed the budget.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata

from benchmarks.core import (
    CaseFailed,
    Figure,
    Settings,
    over_budget,
    ratio,
    repeat,
    skipped,
    spread,
)

TARGET = "benchmarks.nautilus_flow:run_flow"


def available() -> tuple[str | None, str]:
    """(version, note): version None when NautilusTrader is not installed. Nothing is imported
    here: the parent process stays small, because a child's getrusage peak RSS starts from it."""
    if importlib.util.find_spec("nautilus_trader") is None:
        return None, "NautilusTrader is not installed (pip install -e '.[bench]'); B2 skipped"
    return metadata.version("nautilus_trader"), ""


def run(
    settings: Settings,
    ns: list[int],
    budget_s: float,
    peak: dict[tuple[str, str, int], Figure],
) -> tuple[list[Figure], dict[str, int | None]]:
    """Figures, and per variant the largest N Nautilus ran (None: it did not run at all)."""
    version, note = available()
    if version is None:
        settings.log(note)
        figures = [skipped("b2_ratio_vs_nautilus", None, "x", note)]
        return figures, {"market": None, "limit": None}
    figures: list[Figure] = []
    reached: dict[str, int | None] = {}
    for variant in settings.variants:
        per_order, reached[variant] = 0.0, None
        for n in ns:
            if over_budget(per_order, n, settings.repeats, budget_s):
                estimate = per_order * n * settings.repeats
                note = (
                    f"stopped at N={reached[variant]}: {settings.repeats} runs at N={n} would "
                    f"take ~{estimate:.0f} s (budget {budget_s:.0f} s)"
                )
                figures.append(
                    skipped("b2_nautilus_orders_per_s", n, "orders/s", note, variant=variant)
                )
                continue
            try:
                runs = repeat(settings, TARGET, {"n": n, "variant": variant}, timeout=budget_s * 2)
            except CaseFailed as exc:  # cannot run: say so, never fake it
                settings.log(str(exc))
                note = "failed: " + str(exc).splitlines()[-1]
                figures.append(
                    skipped("b2_nautilus_orders_per_s", n, "orders/s", note, variant=variant)
                )
                break
            labels = {"variant": variant, "version": str(runs[0]["version"])}
            theirs = spread(
                "b2_nautilus_orders_per_s",
                n,
                [n / r["seconds"] for r in runs],
                "orders/s",
                **labels,
            )
            cost = spread(
                "b2_nautilus_us_per_order",
                n,
                [1e6 * r["seconds"] / n for r in runs],
                "us/order",
                **labels,
            )
            rss = spread(
                "b2_nautilus_peak_rss_mb", n, [r["peak_rss_mb"] for r in runs], "MB", **labels
            )
            figures += [theirs, cost, rss]
            per_order, reached[variant] = (cost.hi or 0.0) / 1e6, n
            for sink in ("memory", "file"):
                ours = peak.get((variant, sink, n))
                if ours is not None and ours.value is not None:
                    figures.append(
                        ratio("b2_ratio_vs_nautilus", n, ours, theirs, sink=sink, variant=variant)
                    )
    return figures, reached
