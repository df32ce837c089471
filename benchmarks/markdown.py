"""`python -m benchmarks.markdown RESULTS.json...`: the figures and targets as Markdown tables,
for docs/benchmarks.md (each RESULTS.json is what `python -m benchmarks --save` wrote; several
files, e.g. from `--only` runs, are concatenated in the order given)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = ("variant", "sink", "how", "version")


def _num(value: object) -> str:
    if value is None:
        return "-"
    assert isinstance(value, int | float)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def render(saved: dict) -> list[str]:
    lines = [
        "| metric | labels | N | median | min-max | unit | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in saved["figures"]:
        if f["metric"] == "b1_profile_tottime_share":
            continue
        labels = ", ".join(f"{k}={f[k]}" for k in LABELS if k in f)
        span = "-" if f.get("min") is None else f"{_num(f['min'])}-{_num(f['max'])}"
        n = _num(f["n"]) if f["n"] else "-"
        lines.append(
            f"| {f['metric']} | {labels} | {n} | {_num(f['value'])} | {span} | {f['unit']} | "
            f"{f.get('note', '')} |"
        )
    lines += ["", "| target | verdict | figure |", "|---|---|---|"]
    for t in saved["targets"]:
        lines.append(f"| {t['target']} | {'met' if t['met'] else '**missed**'} | {t['detail']} |")
    return lines


def main(argv: list[str]) -> int:
    merged: dict[str, list] = {"figures": [], "targets": []}
    for name in argv:
        saved = json.loads(Path(name).read_text())
        merged["figures"] += saved["figures"]
        merged["targets"] += saved["targets"]
    print("\n".join(render(merged)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
