"""What every benchmark shares: running a case in fresh subprocesses, and figures."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class CaseFailed(RuntimeError):
    """A child process failed or timed out; the message carries the tail of its stderr."""


@dataclass(frozen=True, slots=True)
class Settings:
    quick: bool
    repeats: int
    log: Callable[[str], None]
    # The B1/B2/B3 cases to run (--variants, --sinks): a subset when only some are measured.
    variants: tuple[str, ...] = ("market", "limit")
    sinks: tuple[str, ...] = ("memory", "file", "file_fsync")
    # "wall": elapsed time. "cpu": the CPU time of the measured process, which other work on a
    # shared machine inflates far less than wall time (--clock cpu; docs/benchmarks.md).
    clock: str = "wall"


@dataclass(slots=True)
class Figure:
    """One reported number: the median of the repeats, with their min and max."""

    metric: str
    n: int | None
    value: float | None
    unit: str
    lo: float | None = None
    hi: float | None = None
    repeats: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "metric": self.metric,
            "n": self.n,
            "value": _round(self.value),
            "unit": self.unit,
        }
        out.update(self.labels)
        out.update({"min": _round(self.lo), "max": _round(self.hi), "repeats": self.repeats})
        if self.note:
            out["note"] = self.note
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


def spread(metric: str, n: int | None, values: Sequence[float], unit: str, **labels: str) -> Figure:
    return Figure(
        metric=metric,
        n=n,
        value=statistics.median(values),
        unit=unit,
        lo=min(values),
        hi=max(values),
        repeats=len(values),
        labels=dict(labels),
    )


def ratio(metric: str, n: int | None, top: Figure, bottom: Figure, **labels: str) -> Figure:
    """top / bottom for the medians; the range pairs the extremes (worst and best case)."""
    if not all((top.value, top.lo, top.hi, bottom.value, bottom.lo, bottom.hi)):
        raise ValueError(f"{metric}: a ratio needs two measured figures")
    return Figure(
        metric=metric,
        n=n,
        value=top.value / bottom.value,
        unit="x",
        lo=top.lo / bottom.hi,
        hi=top.hi / bottom.lo,
        repeats=min(top.repeats, bottom.repeats),
        labels=dict(labels),
    )


def skipped(metric: str, n: int | None, unit: str, note: str, **labels: str) -> Figure:
    return Figure(metric=metric, n=n, value=None, unit=unit, labels=dict(labels), note=note)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(target: str, args: dict[str, object], *, timeout: float) -> dict[str, object]:
    """Run `benchmarks.child target args` in a fresh interpreter; its JSON result."""
    command = [sys.executable, "-m", "benchmarks.child", target, json.dumps(args)]
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CaseFailed(f"{target} {args} timed out after {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise CaseFailed(f"{target} {args} exited {done.returncode}:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def repeat(
    settings: Settings, target: str, args: dict[str, object], *, timeout: float = 1800
) -> list[dict[str, object]]:
    """`settings.repeats` fresh-process runs of one case."""
    results = []
    for index in range(settings.repeats):
        started = time.perf_counter()
        result = run_child(target, args, timeout=timeout)
        if settings.clock == "cpu" and "cpu_seconds" in result:
            result["seconds"] = result["cpu_seconds"]
        results.append(result)
        settings.log(f"  {target} {args} #{index + 1}: {time.perf_counter() - started:.1f} s")
    return results


def wall(command: Sequence[str], *, cwd: Path, timeout: float = 1800, clock: str = "wall") -> float:
    """Wall seconds of a whole command (a fresh process), which must succeed; with clock="cpu",
    the CPU seconds (user + system) of the command and the processes it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        list(command),
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise CaseFailed(f"{' '.join(command)} exited {done.returncode}:\n{tail}")
    if clock == "cpu":
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed


def over_budget(per_order_s: float, n: int, repeats: int, budget_s: float) -> bool:
    """True when `repeats` runs of `n` orders at the last measured cost would exceed the budget."""
    return per_order_s * n * repeats > budget_s
