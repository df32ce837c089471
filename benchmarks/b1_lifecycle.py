"""B1 lifecycle throughput: one order per step, acked and filled by the mock broker.

Sinks: memory, file (JSON Lines, hash chain, one write(2) per record), file_fsync (plus an fsync
per record: reported, not targeted, and bounded by time). Variants: market (fill on the next
step) and limit (the order rests one step longer). B4 reads its peak RSS from the file runs.
"""

from __future__ import annotations

from benchmarks.core import CaseFailed, Figure, Settings, over_budget, repeat, skipped, spread

TARGET = "benchmarks.workload:run_session"


CASES = (  # (variant, sink) in run order
    ("market", "memory"),
    ("market", "file"),
    ("limit", "memory"),
    ("limit", "file"),
    ("market", "file_fsync"),
)


def run(
    settings: Settings, ns: list[int], fsync_budget_s: float
) -> tuple[list[Figure], dict[tuple[str, str, int], Figure], dict[int, list[dict]]]:
    """Figures, the orders/s figures by (variant, sink, n), and the file runs' peak RSS by n."""
    figures: list[Figure] = []
    by_case: dict[tuple[str, str, int], Figure] = {}
    rss: dict[int, list[dict]] = {}
    for variant, sink in CASES:
        if variant not in settings.variants or sink not in settings.sinks:
            continue
        per_order = 0.0
        for n in ns:
            labels = {"sink": sink, "variant": variant}
            if sink == "file_fsync" and fsync_budget_s <= 0:
                note = "not run with --quick (reported by the full run, not targeted)"
                figures.append(skipped("b1_orders_per_s", n, "orders/s", note, **labels))
                continue
            if sink == "file_fsync" and over_budget(per_order, n, settings.repeats, fsync_budget_s):
                estimate = per_order * n * settings.repeats
                note = f"stopped: {settings.repeats} runs would take ~{estimate:.0f} s"
                figures.append(skipped("b1_orders_per_s", n, "orders/s", note, **labels))
                continue
            try:
                runs = repeat(settings, TARGET, {"n": n, "sink": sink, "variant": variant})
            except CaseFailed as exc:  # reported in the output, and the other cases go on
                settings.log(str(exc))
                note = "failed: " + str(exc).splitlines()[-1]
                figures.append(skipped("b1_orders_per_s", n, "orders/s", note, **labels))
                continue
            orders = spread(
                "b1_orders_per_s",
                n,
                [r["orders"] / r["seconds"] for r in runs],
                "orders/s",
                **labels,
            )
            records = spread(
                "b1_records_per_s",
                n,
                [r["records"] / r["seconds"] for r in runs],
                "records/s",
                **labels,
            )
            cost = spread(
                "b1_us_per_order", n, [1e6 * r["seconds"] / n for r in runs], "us/order", **labels
            )
            figures += [orders, records, cost]
            by_case[(variant, sink, n)] = orders
            per_order = (cost.hi or 0.0) / 1e6
            if variant == "market" and sink == "file":
                rss[n] = runs
    figures += flatness(by_case, ns)
    return figures, by_case, rss


def flatness(by_case: dict[tuple[str, str, int], Figure], ns: list[int]) -> list[Figure]:
    """Per-order cost at each larger N over the cost at the smallest N: target 1 +- 0.2."""
    figures = []
    for variant, sink in CASES:
        small = by_case.get((variant, sink, ns[0]))
        for n in ns[1:]:
            large = by_case.get((variant, sink, n))
            if small and large and small.value and large.value:
                figure = Figure(
                    metric="b1_cost_growth",
                    n=n,
                    value=small.value / large.value,
                    unit=f"x (us/order vs N={ns[0]})",
                    repeats=min(small.repeats, large.repeats),
                    labels={"sink": sink, "variant": variant},
                )
                figures.append(figure)
    return figures


def rss_figures(rss: dict[int, list[dict]]) -> list[Figure]:
    """B4: peak RSS of the B1(b) session (market, file sink) at each N: getrusage in the child,
    and the kernel's VmHWM of the child as a cross-check."""
    figures = []
    for n, runs in rss.items():
        rusage = [float(r["peak_rss_mb"]) for r in runs]
        figures.append(spread("b4_peak_rss_mb", n, rusage, "MB", sink="file"))
        hwm = [float(r["vm_hwm_mb"]) for r in runs if r.get("vm_hwm_mb") is not None]
        if hwm:
            figures.append(spread("b4_vm_hwm_mb", n, hwm, "MB", sink="file"))
    return figures
