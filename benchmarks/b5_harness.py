"""B5 harness: pytest over generated small scenarios vs trivial tests, the CLI, one small case.

Everything is generated in a temporary directory, never in the repository's scenarios/: the
scenarios, a pyproject.toml whose `[tool.peak_trade]` table turns the pytest plugin on (each
scenario is then an item, as in any repository that adopts peak_trade), the pytest settings copied
from pyproject.toml, and the snapshots (recorded once, untimed, by `pytest --snapshot-update`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from benchmarks.core import REPO, Figure, Settings, ratio, repeat, skipped, spread, wall

SNAPSHOT_DIR = "snapshots"
ORDERS = 10  # per scenario: one per step, then a last step that fills and stops
# Passive limit orders (buy 190.00, sell 190.20) that never cross each other, so the default
# rails (self-trade prevention included) accept every one.
PRICES = {"buy": "190.00", "sell": "190.20"}


def scenario_text(index: int) -> str:
    steps = []
    for k in range(1, ORDERS + 1):
        side = "buy" if k % 2 else "sell"
        steps.append(
            f'  - submit: {{id: o-{k}, symbol: AAPL, side: {side}, qty: "100", type: limit, '
            f'limit_price: "{PRICES[side]}"}}'
        )
    steps.append("  - stop: end of rehearsal")
    return "\n".join(
        [
            f"id: bench_{index:04d}",
            f"title: Benchmark scenario {index}, {ORDERS} orders acked and filled",
            "tags: [bench]",
            "config:",
            "  allowlist: [AAPL]",
            f"  max_steps: {ORDERS + 5}",
            "  drain_steps: 3",
            "  rails: {unbounded: true}",  # no size limits, declared (docs/controls.md)
            "broker:",
            '  reference_prices: {AAPL: "190.10"}',
            "steps:",
            *steps,
            "expect:",
            "  final_state: STOPPED",
            f"  steps_run: {ORDERS + 1}",
            "  orders:",
            '    o-1: {status: filled, cum_qty: "100", avg_px: "190.00", fills: 1}',
            f'    o-{ORDERS}: {{status: filled, cum_qty: "100", avg_px: "190.20"}}',
            "  failed_checks: []",
            "  breaches: []",
            "",
        ]
    )


def pytest_ini() -> str:
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    lines = ["[pytest]"]
    for key, value in options.items():
        text = " ".join(value) if isinstance(value, list) else str(value).lower()
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def make_scenario_project(root: Path, count: int) -> None:
    (root / "scenarios").mkdir(parents=True)
    (root / "tests").mkdir()
    for index in range(count):
        (root / "scenarios" / f"bench_{index:04d}.yaml").write_text(scenario_text(index))
    (root / "pyproject.toml").write_text(
        f'[tool.peak_trade]\nscenarios = ["scenarios"]\nsnapshot_dir = "{SNAPSHOT_DIR}"\n'
    )
    (root / "pytest.ini").write_text(pytest_ini())


def make_trivial_project(root: Path, count: int) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_trivial.py").write_text(
        "import pytest\n\n\n"
        f"@pytest.mark.parametrize('i', range({count}))\n"
        "def test_trivial(i):\n    assert i >= 0\n"
    )
    (root / "pytest.ini").write_text(pytest_ini())


def cli() -> list[str]:
    script = Path(sys.executable).with_name("peak-trade")
    return [str(script)] if script.exists() else [sys.executable, "-m", "peak_trade"]


def small_case(path: str, snapshot_dir: str, loops: int) -> dict[str, object]:
    """Child side: load + validate + run + compare one scenario, `loops` times after a warm-up."""
    from peak_trade.harness.model import load_scenario
    from peak_trade.harness.verdict import evaluate

    times = []
    for index in range(loops + 1):
        started = time.perf_counter()
        verdict = evaluate(load_scenario(path), snapshot_dir=Path(snapshot_dir))
        if index:
            times.append(time.perf_counter() - started)
        if not verdict.passed:
            raise RuntimeError(f"the small case failed: {verdict.mismatches}")
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def run(settings: Settings, count: int, loops: int, nautilus: str | None) -> list[Figure]:
    py = sys.executable
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="peak-b5-") as scratch:
        scen, triv = Path(scratch) / "scenarios_project", Path(scratch) / "trivial_project"
        make_scenario_project(scen, count)
        make_trivial_project(triv, count)
        settings.log(f"  recording {count} snapshots (untimed)")
        wall([py, "-m", "pytest", "-q", "--snapshot-update"], cwd=scen)
        timed = {"scenarios": [], "trivial": [], "cli": []}
        for index in range(settings.repeats):  # interleaved, so drift hits all three alike
            clock = settings.clock
            timed["scenarios"].append(wall([py, "-m", "pytest", "-q"], cwd=scen, clock=clock))
            timed["trivial"].append(wall([py, "-m", "pytest", "-q"], cwd=triv, clock=clock))
            evidence = Path(scratch) / f"evidence-{index}"
            timed["cli"].append(
                wall(
                    [*cli(), "scenario", "run", "scenarios", "--evidence-dir", str(evidence)],
                    cwd=scen,
                    clock=clock,
                )
            )
            settings.log(
                f"  B5 round {index + 1}: "
                + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in timed.items())
            )
        ours = spread("b5_pytest_scenarios_wall_s", count, timed["scenarios"], "s")
        trivial = spread("b5_pytest_trivial_wall_s", count, timed["trivial"], "s")
        figures += [ours, trivial, ratio("b5_item_overhead_ratio", count, ours, trivial)]
        figures.append(
            spread(
                "b5_cli_scenarios_per_s", count, [count / s for s in timed["cli"]], "scenarios/s"
            )
        )
        one = scen / "scenarios" / "bench_0000.yaml"
        snapshots = scen / SNAPSHOT_DIR
        args = {"path": str(one), "snapshot_dir": str(snapshots), "loops": loops}
        runs = repeat(settings, "benchmarks.b5_harness:small_case", args)
        small = spread("b5_small_case_ms", ORDERS, [1e3 * r["median_s"] for r in runs], "ms")
        figures.append(small)
    if nautilus is None:
        note = "NautilusTrader unavailable: no peer for the small case"
        figures.append(skipped("b5_small_case_ratio_vs_nautilus", ORDERS, "x", note))
        return figures
    runs = repeat(
        settings, "benchmarks.nautilus_flow:small_case", {"orders": ORDERS, "loops": loops}
    )
    theirs = spread("b5_nautilus_small_case_ms", ORDERS, [1e3 * r["median_s"] for r in runs], "ms")
    theirs.labels["version"] = nautilus
    figures += [theirs, ratio("b5_small_case_ratio_vs_nautilus", ORDERS, small, theirs)]
    return figures
