"""Run variants: one in process through the harness runner, batches of them in worker processes.

`run_variant` builds the variant (variants.py), runs it with a watched mock broker
(properties.BrokerWatch) through `harness.runner.run_scenario`, and checks every property. A
sampled variant (every `RERUN_EVERY`-th index) runs a second time with a sealed audit file, so
that "re-run gives identical bytes" and "the audit is sealed" are checked on real files too.
An exception that escapes the session is itself a finding (the run did not terminate cleanly).

`run_batch` is what a worker does: (base, seed, indices) in, outcomes out. It is a plain
top-level function of picklable arguments, so the same call runs in this process, in a
`ProcessPoolExecutor` worker or on a Dask worker (cluster.py) with identical results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace

from peak_trade.explore.faults import Fault
from peak_trade.explore.properties import BrokerWatch, Observation, check, observation
from peak_trade.explore.variants import Base, build_variant, make_variant, step_of
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.model import Scenario
from peak_trade.harness.runner import run_scenario

__all__ = ["RERUN_EVERY", "Outcome", "run_batch", "run_faults", "run_variant"]

RERUN_EVERY = 8  # one variant in 8 runs twice (the re-run and sealed-file properties)
CRASH = "terminates_in_bounds"  # the property an escaping exception violates


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one variant did: small and picklable, the same wherever it ran."""

    base: str
    index: int
    faults: tuple[Fault, ...]
    violations: tuple[tuple[str, tuple[str, ...]], ...]  # (property, problems), in check order
    coverage: tuple[tuple[str, int], ...]  # (fault kind, step) injected
    final_state: str = ""
    steps_run: int = 0
    records: int = 0
    head: str = ""
    invalid: str | None = None  # the variant did not validate (a generator bug)

    @property
    def violated(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.violations)


def observe(scenario: Scenario, *, secrets: Sequence[str], rerun: bool) -> Observation:
    """Run `scenario` (twice when `rerun`) and gather what the properties read."""
    broker = BrokerWatch(scenario.broker)
    result = run_scenario(scenario, broker=broker, environ_names=())
    obs = observation(result, broker, rerun=rerun)
    known = tuple(sorted({*obs.secrets, *secrets}))
    return replace(obs, secrets=known)


def run_faults(
    base: Base,
    faults: Sequence[Fault],
    *,
    index: int = -1,
    rerun: bool = False,
    names: Sequence[str] | None = None,
) -> Outcome:
    """Run `base` with `faults` and check the properties (all, or those in `names`)."""
    coverage = tuple((f.kind, step_of(base, f)) for f in faults)
    common = {"base": base.id, "index": index, "faults": tuple(faults), "coverage": coverage}
    try:
        scenario = build_variant(base, faults)
    except ScenarioError as error:
        first = error.problems[0].format() if error.problems else str(error)
        return Outcome(**common, violations=(), invalid=first)  # type: ignore[arg-type]
    try:
        obs = observe(scenario, secrets=base.secrets, rerun=rerun)
    except Exception as exc:  # the engine must not raise past the session: that is a finding
        problem = f"the run raised {type(exc).__name__}: {exc}"
        return Outcome(**common, violations=((CRASH, (problem,)),))  # type: ignore[arg-type]
    found = check(obs, names)
    result = obs.result
    return Outcome(
        **common,  # type: ignore[arg-type]
        violations=tuple((name, tuple(problems)) for name, problems in found.items()),
        final_state=result.final_state,
        steps_run=result.steps_run,
        records=result.count,
        head=result.head,
    )


def run_variant(base: Base, seed: int, index: int) -> Outcome:
    variant = make_variant(base, seed, index)
    return run_faults(base, variant.faults, index=index, rerun=index % RERUN_EVERY == 0)


def run_batch(base: Base, seed: int, indices: Sequence[int]) -> list[Outcome]:
    """Variants `indices` of `base`: the unit of work a worker process or machine receives."""
    return [run_variant(base, seed, i) for i in indices]  # bounded: one batch


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    base: Base
    seed: int
    indices: tuple[int, ...]


def worker_count(requested: str | int) -> int:
    """`auto`: the CPUs this process may use; else the number given (at least 1)."""
    if requested == "auto":
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except AttributeError:  # not on Linux
            return max(os.cpu_count() or 1, 1)
    return max(int(requested), 1)


def run_local(
    batches: Sequence[Batch], workers: int, done: Callable[[int], None]
) -> Iterator[list[Outcome]]:
    """Each batch's outcomes, in any order: in this process with 1 worker, else in a pool of
    `workers` processes (at most 2 batches each in flight, so memory stays flat)."""
    if workers <= 1:
        for batch in batches:  # bounded: the campaign's batches
            outcomes = run_batch(batch.base, batch.seed, batch.indices)
            done(len(outcomes))
            yield outcomes
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[list[Outcome]]] = set()
        queue: Iterable[Batch] = iter(batches)
        for batch in queue:  # bounded: the campaign's batches
            pending.add(pool.submit(run_batch, batch.base, batch.seed, batch.indices))
            if len(pending) >= 2 * workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    outcomes = future.result()
                    done(len(outcomes))
                    yield outcomes
        for future in pending:
            outcomes = future.result()
            done(len(outcomes))
            yield outcomes
