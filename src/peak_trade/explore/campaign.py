"""A campaign: the budget split over the base scenarios, run anywhere, findings shrunk and kept.

Theory of operation
-------------------
- Plan. `--budget N` is the campaign's number of variants, dealt round-robin over the B base
  scenarios (base j gets N // B variants, one more for j < N % B), so a campaign over a whole
  library costs what its budget says. Variant k of a base is `make_variant(base, seed, k)`;
  the variants are cut into batches of `BATCH` and a batch is the unit of work.
- Run. The batches run in this process (1 worker), in local worker processes, or on a Dask
  cluster (cluster.py); results come back in any order.
- Fold. Outcomes are folded into order-free totals (variants run, invalid variants, the coverage
  of fault kind x step, the violations per base and property) and, per (base, property), the
  violating variant with the lowest index. Nothing that depends on timing or on which worker ran
  a batch enters the fold, so any number of workers gives the same campaign.
- Shrink. Each kept violation (at most `MAX_FINDINGS`, in base then property order) is shrunk
  (shrink.py) and written as a reproducer scenario (reproducer.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peak_trade.explore.faults import Fault
from peak_trade.explore.properties import property_names
from peak_trade.explore.runner import Batch, Outcome, run_local
from peak_trade.explore.shrink import shrink
from peak_trade.explore.variants import Base, load_base

__all__ = ["BATCH", "MAX_FINDINGS", "Campaign", "Finding", "plan", "run_campaign"]

BATCH = 16  # variants per unit of work: large enough to amortise shipping the base
MAX_FINDINGS = 25  # violations shrunk and written per campaign; the rest are counted
MAX_INVALID_SHOWN = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    base: str
    base_path: str
    property: str
    seed: int
    index: int
    faults: tuple[Fault, ...]  # as generated
    shrunk: tuple[Fault, ...]  # the smallest that still violates the property
    problems: tuple[str, ...]  # of the shrunk variant
    variants: int  # how many variants of this base violated this property
    shrink_runs: int
    reproducer: str | None = None  # the reproducer file, once written


@dataclass(slots=True, kw_only=True)
class Campaign:
    seed: int
    budget: int
    bases: tuple[str, ...]
    variants_run: int = 0
    invalid: int = 0
    invalid_examples: list[str] = field(default_factory=list)
    coverage: Counter[tuple[str, int]] = field(default_factory=Counter)
    violations: Counter[tuple[str, str]] = field(default_factory=Counter)  # (base, property)
    first: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Timing and placement: reported, never part of what two campaigns compare (identity()).
    seconds: float = 0.0  # wallclock: how long the variants took to run, for variants/s
    workers: str = "1"

    def fold(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:  # bounded: one batch
            self.variants_run += 1
            self.coverage.update(outcome.coverage)
            if outcome.invalid is not None:
                self.invalid += 1
                if len(self.invalid_examples) < MAX_INVALID_SHOWN:
                    self.invalid_examples.append(
                        f"{outcome.base}#{outcome.index}: {outcome.invalid}"
                    )
                continue
            for name in outcome.violated:
                key = (outcome.base, name)
                self.violations[key] += 1
                kept = self.first.get(key)
                if kept is None or outcome.index < kept.index:
                    self.first[key] = outcome

    @property
    def variants_per_second(self) -> float:
        return self.variants_run / self.seconds if self.seconds > 0 else 0.0

    def identity(self) -> dict[str, object]:
        """Everything a campaign found, nothing about how fast or where: equal for equal
        (seed, budget, scenarios) whatever the workers."""
        self.invalid_examples.sort()
        return {
            "seed": self.seed,
            "budget": self.budget,
            "bases": list(self.bases),
            "variants_run": self.variants_run,
            "invalid": self.invalid,
            "invalid_examples": list(self.invalid_examples),
            "coverage": sorted([k, s, n] for (k, s), n in self.coverage.items()),
            "violations": sorted([b, p, n] for (b, p), n in self.violations.items()),
            "findings": [finding_json(f) for f in self.findings],
        }


def finding_json(f: Finding) -> dict[str, object]:
    return {
        "base": f.base,
        "property": f.property,
        "seed": f.seed,
        "index": f.index,
        "variants": f.variants,
        "faults": [x.to_json() for x in f.faults],
        "shrunk": [x.to_json() for x in f.shrunk],
        "problems": list(f.problems),
        "shrink_runs": f.shrink_runs,
        "reproducer": f.reproducer,
    }


def plan(bases: Sequence[Base], budget: int, seed: int) -> list[Batch]:
    """The campaign's batches: base j's variant indices 0 .. count_j - 1, cut into BATCHes."""
    batches = []
    count = len(bases)
    for j, base in enumerate(bases):  # bounded: the bases
        mine = budget // count + (1 if j < budget % count else 0) if count else 0
        for start in range(0, mine, BATCH):
            indices = tuple(range(start, min(start + BATCH, mine)))
            batches.append(Batch(base=base, seed=seed, indices=indices))
    return batches


Runner = Callable[[Sequence[Batch], Callable[[int], None]], Iterator[list[Outcome]]]


def run_campaign(
    paths: Sequence[Path],
    *,
    budget: int,
    seed: int,
    workers: int = 1,
    runner: Runner | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    write: Callable[[Finding, Base, Outcome], str | None] | None = None,
) -> Campaign:
    """Run a campaign over the scenario files `paths` (already discovered, in order).
    `runner` runs the batches (default: local, `workers` processes); `progress(done, total,
    violations)` hears of each finished batch; `write` writes a finding's reproducer."""
    bases = [load_base(str(p)) for p in paths]
    by_id = {b.id: b for b in bases}
    campaign = Campaign(seed=seed, budget=budget, bases=tuple(b.id for b in bases))
    batches = plan(bases, budget, seed)
    total = sum(len(b.indices) for b in batches)
    play: Runner = runner or (lambda bs, done: run_local(bs, workers, done))
    started = time.perf_counter()  # wallclock: variants/s in the report, never in identity()
    done = [0]

    def finished(n: int) -> None:
        done[0] += n

    for outcomes in play(batches, finished):  # bounded: the campaign's batches
        campaign.fold(outcomes)
        if progress is not None:
            progress(campaign.variants_run, total, sum(campaign.violations.values()))
    campaign.seconds = time.perf_counter() - started  # wallclock: see above
    order = {name: i for i, name in enumerate(property_names())}
    keys = sorted(campaign.first, key=lambda k: (campaign.bases.index(k[0]), order[k[1]]))
    for key in keys[:MAX_FINDINGS]:  # bounded: MAX_FINDINGS
        found = campaign.first[key]
        base = by_id[key[0]]
        shrunk, outcome, runs = shrink(base, found.faults, key[1])
        problems = dict(outcome.violations).get(key[1]) or dict(found.violations)[key[1]]
        finding = Finding(
            base=base.id,
            base_path=base.path,
            property=key[1],
            seed=seed,
            index=found.index,
            faults=found.faults,
            shrunk=shrunk,
            problems=tuple(problems),
            variants=campaign.violations[key],
            shrink_runs=runs,
        )
        if write is not None:
            from dataclasses import replace

            finding = replace(finding, reproducer=write(finding, base, outcome))
        campaign.findings.append(finding)
    return campaign
