"""B7: `peak-trade explore` throughput, variants/s, on 1 and 2 local workers and a Dask cluster.

One campaign over the whole scenario library (the budget dealt over every landed scenario, as
`peak-trade explore scenarios` does), timed in a fresh child process per repeat: the variants'
run time only (the campaign's own clock, `Campaign.seconds`), not the import or the shrinking.
The Dask case starts a `distributed.LocalCluster` on 127.0.0.1 (2 worker processes, 1 thread
each) in the child and runs the same campaign through `--scheduler`'s code path; it is skipped,
and says so, without the extra `cluster`. The scaling ratio is 2 workers over 1.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.core import REPO, Figure, Settings, ratio, repeat, skipped, spread

SEED = 1


def explore_in_process(budget: int, workers: int, cluster: bool) -> dict[str, object]:
    """Child side: one campaign; its variants/s as the campaign measured it."""
    from peak_trade.explore.campaign import run_campaign
    from peak_trade.harness.discovery import discover_scenarios

    paths = [Path(p) for p in discover_scenarios([REPO / "scenarios"])]
    if not cluster:
        campaign = run_campaign(paths, budget=budget, seed=SEED, workers=workers)
    else:
        from distributed import LocalCluster

        from peak_trade.explore.cluster import run_on_cluster

        with LocalCluster(
            n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as local:
            address = local.scheduler_address
            campaign = run_campaign(
                paths,
                budget=budget,
                seed=SEED,
                runner=lambda batches, done: run_on_cluster(address, batches, done),
            )
    return {
        "seconds": campaign.seconds,
        "variants": campaign.variants_run,
        "violating": sum(campaign.violations.values()),
    }


def _has_cluster() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run(settings: Settings, budget: int) -> list[Figure]:
    figures: list[Figure] = []
    by_workers: dict[str, Figure] = {}
    cases = [("1", 1, False), ("2", 2, False), ("dask-localcluster-2", 2, True)]
    for label, workers, cluster in cases:
        if cluster and not _has_cluster():
            note = "needs the optional extra `cluster` (distributed)"
            figures.append(
                skipped("b7_explore_variants_per_s", budget, "variants/s", note, workers=label)
            )
            continue
        args = {"budget": budget, "workers": workers, "cluster": cluster}
        runs = repeat(settings, "benchmarks.b7_explore:explore_in_process", args)
        rates = [float(r["variants"]) / float(r["seconds"]) for r in runs]  # type: ignore[arg-type]
        figure = spread("b7_explore_variants_per_s", budget, rates, "variants/s", workers=label)
        by_workers[label] = figure
        figures.append(figure)
    if "1" in by_workers and "2" in by_workers:
        figures.append(
            ratio(
                "b7_explore_scaling_ratio",
                budget,
                by_workers["2"],
                by_workers["1"],
                workers="2 vs 1",
            )
        )
    return figures
