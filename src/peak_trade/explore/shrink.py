"""Shrinking a violating variant: fewer faults, earlier steps, smaller quantities.

Greedy and bounded, like a hypothesis shrinker without the search: each pass tries, in order,
dropping each fault, then lowering each number of each fault (its `at`, then its parameters)
to its smallest value, then to half-way; the first candidate that still violates the property
being shrunk ends the pass and the next pass starts from it. A pass without such a candidate
ends the shrink; there are at most `MAX_PASSES` passes and `MAX_RUNS` runs in all.
Deterministic: candidates come in a fixed order and every run is the deterministic engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from peak_trade.explore.faults import BY_NAME, Fault
from peak_trade.explore.runner import Outcome, run_faults
from peak_trade.explore.variants import Base

__all__ = ["MAX_PASSES", "MAX_RUNS", "shrink"]

MAX_PASSES = 64  # each pass keeps one smaller variant
MAX_RUNS = 300


def _smaller(value: int, smallest: int) -> list[int]:
    """Candidate values below `value`, smallest first."""
    if value <= smallest:
        return []
    half = smallest + (value - smallest) // 2
    return sorted({smallest, half} - {value})


def _candidates(faults: tuple[Fault, ...]) -> Iterator[tuple[Fault, ...]]:
    for i in range(len(faults)):  # fewer faults
        yield (*faults[:i], *faults[i + 1 :])
    for i, fault in enumerate(faults):  # earlier steps
        lowest = 0 if fault.target is not None else 1
        for at in _smaller(fault.at, lowest):
            yield (*faults[:i], replace(fault, at=at), *faults[i + 1 :])
    for i, fault in enumerate(faults):  # smaller quantities and counts
        ranges = BY_NAME[fault.kind].params
        for p, (name, value) in enumerate(fault.params):
            for smaller in _smaller(value, ranges.get(name, (0, 0))[0]):
                params = (*fault.params[:p], (name, smaller), *fault.params[p + 1 :])
                yield (*faults[:i], replace(fault, params=params), *faults[i + 1 :])


def shrink(
    base: Base,
    faults: Sequence[Fault],
    prop: str,
    *,
    run: Callable[[Base, tuple[Fault, ...]], Outcome] | None = None,
) -> tuple[tuple[Fault, ...], Outcome, int]:
    """(the smallest faults found that still violate `prop`, their outcome, runs spent)."""

    def default_run(b: Base, f: tuple[Fault, ...]) -> Outcome:
        return run_faults(b, f, rerun=prop == "rerun_identical", names=(prop,))

    play = run or default_run
    current = tuple(faults)
    best = play(base, current)
    runs = 1
    if prop not in best.violated:
        return current, best, runs  # not reproducible alone: keep it as found
    for _ in range(MAX_PASSES):  # bounded: MAX_PASSES
        progressed = False
        for candidate in _candidates(current):
            if runs >= MAX_RUNS:
                return current, best, runs
            outcome = play(base, candidate)
            runs += 1
            if prop in outcome.violated:
                current, best, progressed = candidate, outcome, True
                break  # restart from the smaller variant: its candidates differ
        if not progressed:
            break
    return current, best, runs
