"""Peak RSS of `peak-trade scenario run` against the number of audit records it writes.

`python -m benchmarks.trail_memory [RESTARTS ...]` generates, per value, a scenario whose gateway
restarts replay the last 1,000 reports RESTARTS times (the cheapest multiplier of records the
work model accepts: up to 880 restarts, about 881,000 records), runs it through the real CLI with
`--audit-dir` in a fresh process, and prints records, seconds and the child's peak RSS. The
figures in docs/reliability.md ("Bounds") come from this command.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ORDERS = 500  # ack and fill each: 1,000 reports (resends are never replayed) before a restart


def scenario(restarts: int) -> str:
    first = 5
    plan = ", ".join(f"{{at_step: {first + i}, replay_last: 1000}}" for i in range(restarts))
    submits = ", ".join(f"{{id: o-{i}, symbol: AAPL, side: buy, qty: 1}}" for i in range(ORDERS))
    return (
        "id: trail_memory\ntitle: Restart replays\n"
        f"config: {{allowlist: [AAPL], max_steps: {first + restarts + 10}, "
        "rails: {unbounded: true}}\n"
        "broker:\n  reference_prices: {AAPL: '100'}\n"
        f"  restarts: [{plan}]\n"
        f"steps:\n  - submit: [{submits}]\n  - run: {first + restarts + 2}\n"
        "expect: {}\n"
    )


def measure(restarts: int) -> tuple[int, float, float]:
    """(audit records, seconds, peak RSS in MB) of one run in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="bench-trail-") as work:
        path = Path(work) / "trail_memory.yaml"
        path.write_text(scenario(restarts), encoding="utf-8")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "peak_trade", "scenario", "run", str(path), "--json",
             "--audit-dir", f"{work}/audit", "--evidence-dir", f"{work}/evidence",
             "--snapshot-dir", f"{work}/snapshots"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):  # 1: no stored snapshot, as expected
            raise SystemExit(done.stderr)
        lines = (Path(work) / "audit" / "trail_memory.jsonl").read_bytes().count(b"\n")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return lines, seconds, rss


def main(argv: list[str]) -> int:
    print("| restarts | audit records | seconds | peak RSS (MB, max so far) |")
    print("|---|---|---|---|")
    for restarts in [int(a) for a in argv] or [10, 100, 400, 880]:
        records, seconds, rss = measure(restarts)
        print(f"| {restarts} | {records:,} | {seconds:.1f} | {rss:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
