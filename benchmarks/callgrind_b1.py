"""The B1 hot path as an instruction count: Ir per order under callgrind, free of machine noise.

Wall-clock figures on a shared 2-core machine move by 10-30% with the load; the number of
instructions the CPU executes for the same deterministic work does not. The workload is B1's
market flow with the memory sink (benchmarks/workload.py), run twice under
`valgrind --tool=callgrind`, at N_SMALL and N_LARGE orders, each in a fresh interpreter with
PYTHONHASHSEED=0. The difference of the two totals, divided by the difference of the orders, is
the cost of one order lifecycle (submit, ack, fill, their three audit records, the step's checks
and reconciliation) with the interpreter's start, the imports, the build, preflight, the drain and
the seal cancelled out.

    python -m benchmarks.callgrind_b1              # this checkout: Ir per order
    python -m benchmarks.callgrind_b1 --base main  # and another commit's, and the ratio
    make bench-callgrind BASE=main                 # the same through make

`--base REV` measures REV's `src/` (read with `git archive`, nothing in the checkout changes)
with this checkout's workload, so two commits are compared on the same work. Valgrind runs the
interpreter ~50x slower: one checkout's figure takes about two minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from benchmarks.core import REPO, CaseFailed, Figure, Settings, child_env

N_SMALL = 500
N_LARGE = 2_500
TARGET = "benchmarks.callgrind_b1:session"
# callgrind writes "summary: <Ir>" (and "totals:" in newer versions) at the end of its file.
_TOTAL = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def session(n: int) -> dict[str, object]:
    """Child side: one whole B1 session (market orders, memory sink), untimed."""
    from benchmarks.workload import build, drive

    session = build(n, "memory", "market", None)
    drive(session, n)
    status = session.status()
    if status.state.value != "STOPPED" or status.orders_submitted != n:
        raise RuntimeError(f"unexpected session outcome: {status.state.value}")
    return {"orders": status.orders_submitted, "records": status.audit_records}


def total_ir(text: bytes) -> int:
    """The total instruction count (Ir) of a callgrind output file."""
    found = _TOTAL.findall(text)
    if not found:
        raise CaseFailed("callgrind wrote no summary line: is this a callgrind output file?")
    return int(found[-1])


def count(n: int, src: Path | None) -> int:
    """Ir of one session of n orders under callgrind; `src` puts another checkout's peak_trade
    first on the path (None: the installed one, this checkout)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise CaseFailed("valgrind is not installed (apt-get install valgrind); no Ir figure")
    env = child_env()
    env["PYTHONHASHSEED"] = "0"  # str hashes, so set and dict layouts, are the same every run
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env["PYTHONPATH"]])
    with tempfile.TemporaryDirectory(prefix="peak-callgrind-") as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.child",
            TARGET,
            f'{{"n": {n}}}',
        ]
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False
        )
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            raise CaseFailed(f"callgrind of {n} orders exited {done.returncode}:\n{tail}")
        return total_ir(out.read_bytes())


def ir_per_order(src: Path | None = None, small: int = N_SMALL, large: int = N_LARGE) -> float:
    return (count(large, src) - count(small, src)) / (large - small)


def checkout(rev: str, into: Path) -> Path:
    """REV's src/ under `into` (git archive: the working tree and the index stay as they are)."""
    done = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"], cwd=REPO, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise CaseFailed(f"git archive {rev} failed: {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into / "src"


def run(settings: Settings, small: int = N_SMALL, large: int = N_LARGE) -> list[Figure]:
    """The benchmarks entry (`--only CALLGRIND`): Ir per order of this checkout."""
    settings.log(f"  callgrind: B1 market/memory at N={small} and N={large}")
    value = ir_per_order(None, small, large)
    return [
        Figure(
            metric="b1_callgrind_ir_per_order",
            n=large - small,
            value=value,
            unit="Ir/order",
            repeats=1,
            labels={"sink": "memory", "variant": "market"},
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callgrind_b1", description=__doc__)
    parser.add_argument("--base", help="also count this git revision (e.g. main, HEAD~1)")
    parser.add_argument("--small", type=int, default=N_SMALL, help="orders of the first run")
    parser.add_argument("--large", type=int, default=N_LARGE, help="orders of the second run")
    args = parser.parse_args(argv)
    if not 0 < args.small < args.large:
        print("--small and --large need 0 < small < large; fix the arguments", file=sys.stderr)
        return 2
    try:
        here = ir_per_order(None, args.small, args.large)
        print(f"this checkout: {here:,.0f} Ir/order (B1 market, memory sink)")
        if args.base:
            with tempfile.TemporaryDirectory(prefix="peak-callgrind-base-") as scratch:
                base = ir_per_order(checkout(args.base, Path(scratch)), args.small, args.large)
            print(f"{args.base}: {base:,.0f} Ir/order")
            print(f"this checkout / {args.base}: {here / base:.3f}x the instructions per order")
    except CaseFailed as exc:
        print(f"callgrind benchmark: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
