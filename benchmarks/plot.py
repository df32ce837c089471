"""The plot for docs/benchmarks.md: per-order cost vs N, peak_trade and NautilusTrader.

`python -m benchmarks.plot RESULTS.json OUT.png` redraws it from what `--save` wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.core import Figure


def per_order_plot(figures: list[Figure], path: Path, nautilus: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[Figure]] = {}
    target: dict[int, float] = {}
    for f in figures:
        if f.value is None:
            continue
        if f.metric == "b1_us_per_order":
            key = f"peak_trade {f.labels['variant']}, {f.labels['sink']} sink"
        elif f.metric == "b2_nautilus_us_per_order":
            key = f"NautilusTrader {nautilus} {f.labels['variant']}"
            if f.n is not None and f.labels["variant"] == "market":
                target[f.n] = f.value / 10
        elif f.metric == "b3_floor_orders_per_s":
            key = f"B3 floor, {f.labels['sink']}"
            f = Figure(
                metric="",
                n=f.n,
                value=1e6 / f.value,
                unit="us/order",
                lo=1e6 / (f.hi or f.value),
                hi=1e6 / (f.lo or f.value),
            )
        else:
            continue
        series.setdefault(key, []).append(f)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for key, points in sorted(series.items()):
        points.sort(key=lambda f: f.n or 0)
        xs = [p.n for p in points]
        ys = [p.value for p in points]
        errs = [
            [p.value - (p.lo or p.value) for p in points],
            [(p.hi or p.value) - p.value for p in points],
        ]
        style = "--" if key.startswith("Nautilus") else (":" if key.startswith("B3") else "-")
        ax.errorbar(xs, ys, yerr=errs, marker="o", linestyle=style, capsize=3, label=key)
    if target:
        xs = sorted(target)
        ax.plot(
            xs,
            [target[x] for x in xs],
            color="grey",
            linewidth=3,
            alpha=0.4,
            label="target: 1/10 of Nautilus market",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("orders per session (N)")
    ax.set_ylabel("wall time per order (us, log)")
    ax.set_title("Per-order cost vs N (median of fresh-process repeats, bars: min-max)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def from_json(item: dict[str, object]) -> Figure:
    known = {"metric", "n", "value", "unit", "min", "max", "repeats", "note"}
    return Figure(
        metric=str(item["metric"]),
        n=item["n"],  # type: ignore[arg-type]
        value=item["value"],  # type: ignore[arg-type]
        unit=str(item["unit"]),
        lo=item.get("min"),  # type: ignore[arg-type]
        hi=item.get("max"),  # type: ignore[arg-type]
        repeats=int(item.get("repeats") or 0),  # type: ignore[call-overload]
        labels={k: str(v) for k, v in item.items() if k not in known},
        note=str(item.get("note", "")),
    )


def main(argv: list[str]) -> int:
    saved = json.loads(Path(argv[0]).read_text())
    figures = [from_json(item) for item in saved["figures"]]
    per_order_plot(figures, Path(argv[1]), saved["machine"].get("nautilus_trader"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
