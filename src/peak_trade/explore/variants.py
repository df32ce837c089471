"""Seed -> variant: a pure function of (base scenario, seed, index), and a variant -> Scenario.

A variant is the base scenario's data with a few faults written into it (faults.py). Which
faults, on which orders, at which steps, is drawn from `random.Random` seeded with a string made
of the campaign seed, the base scenario's id and the variant's index: the same three give the
same variant in any process on any machine (a str seed is hashed with SHA-512, not with the
process's randomized `hash`). Workers receive (base, seed, index) and rebuild the variant; no
variant ever depends on which worker runs it or in which order.

A variant is built through the same checks as a file (`validate_document`, `build_scenario`,
the work model's bounds), from the data itself rather than from YAML text, which would only be
parsed back into the same data.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peak_trade.explore.faults import BY_NAME, KINDS, Fault, OrderInfo, apply_faults
from peak_trade.harness.loader import LoadedDocument, load_scenario_file
from peak_trade.harness.model import Scenario, build_scenario
from peak_trade.harness.secret_screen import secrets_in_data
from peak_trade.harness.validate import load_schema, validate_document

__all__ = ["MAX_FAULTS", "Base", "Variant", "build_variant", "load_base", "make_variant"]

MAX_FAULTS = 4  # faults in one variant: combinations, yet each one still readable
MAX_AT = 6  # the latest action index an order fault targets (scripts are short)


@dataclass(frozen=True, slots=True, kw_only=True)
class Base:
    """A base scenario as data, with what the fault generator needs to know about it."""

    id: str
    path: str
    data: Mapping[str, Any]
    orders: Mapping[str, OrderInfo]
    steps: int  # the steps its entries declare (the session may also drain after them)
    drain: int
    max_steps: int | None  # the step bound, None when the session has none (or a bad one)
    secrets: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    base: str  # the base scenario's id
    seed: int
    index: int
    faults: tuple[Fault, ...]

    @property
    def name(self) -> str:
        return f"{self.base}#{self.index}"


def load_base(path: str) -> Base:
    """The base scenario at `path` (raises ScenarioError when it is not a valid scenario)."""
    from peak_trade.harness.model import load_scenario

    doc = load_scenario_file(path, keep_going=True)
    secrets = secrets_in_data(doc.data)
    if doc.problems or validate_document(doc, load_schema(), secrets=secrets):
        load_scenario(path)  # raises the located problems, exactly as a file's check does
    return base_from(build_scenario(doc, sha256=doc.sha256), doc.data)


def base_from(scenario: Scenario, data: Mapping[str, Any]) -> Base:
    orders: dict[str, OrderInfo] = {}
    step = 1
    for spec in scenario.steps:  # bounded: the scenario's entries
        for intent in spec.intents:
            order = getattr(intent, "order", None)
            if order is not None:
                orders[order.client_order_id] = OrderInfo(
                    client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side.value,
                    qty=order.qty,
                    entry=spec.index,
                    step=step,
                )
        step += 1 if spec.run is None else spec.run
    drain, bound = scenario.config.drain_steps, scenario.config.max_steps
    return Base(
        id=scenario.id,
        path=scenario.path,
        data=data,
        orders=orders,
        steps=step - 1,
        drain=drain if type(drain) is int else 0,
        max_steps=bound if type(bound) is int and bound > 0 else None,
        secrets=tuple(secrets_in_data(data)),
    )


def make_variant(base: Base, seed: int, index: int) -> Variant:
    """Variant `index` of `base` under campaign seed `seed`: deterministic, see the module doc."""
    rng = random.Random(f"peak_trade.explore:{seed}:{base.id}:{index}")
    order_ids = sorted(base.orders, key=lambda cid: (base.orders[cid].step, cid))
    kinds = [k for k in KINDS if k.scope == "session" or order_ids]
    faults = []
    for _ in range(rng.randint(1, MAX_FAULTS)):  # bounded: MAX_FAULTS
        kind = kinds[rng.randrange(len(kinds))]
        params = tuple((name, rng.randint(lo, hi)) for name, (lo, hi) in kind.params.items())
        if kind.scope == "order":
            target: str | None = order_ids[rng.randrange(len(order_ids))]
            at = rng.randint(0, MAX_AT)
        else:
            target = None
            at = rng.randint(1, max(base.steps + base.drain, 1))
        faults.append(Fault(kind=kind.name, target=target, at=at, params=params))
    return Variant(base=base.id, seed=seed, index=index, faults=tuple(faults))


def variant_data(base: Base, faults: Sequence[Fault]) -> dict[str, Any]:
    """The variant's scenario document: the base with `faults`, its own id, no expectations of
    the base (they describe the base's run, not this one)."""
    data = apply_faults(base.data, faults, base.orders)
    data["expect"] = {}
    steps = data.setdefault("steps", [])
    tail = tail_steps(base, len(steps))
    chunk = base.max_steps or 1  # run_n_steps refuses more than max_steps at once
    for start in range(0, tail, chunk):  # bounded: MAX_TAIL steps in all
        steps.append({"run": min(chunk, tail - start), "comment": TAIL_COMMENT})
    return data


TAIL_COMMENT = "explorer: more steps, so that the session can reach its end"
MAX_TAIL = 200  # steps added after the base's own: a variant may need longer to drain


def tail_steps(base: Base, entries: int) -> int:
    """Steps added after the base's entries: up to the step bound and through a whole drain,
    so a session that keeps its bounds always reaches a final state (STOPPED, or
    ERROR_REQUIRES_OPERATOR) in the variant; a faulted order may need longer than the base
    scripted. None for a session without a step bound (it fails preflight)."""
    if base.max_steps is None:
        return 0
    return min(max(base.max_steps - base.steps, 0) + base.drain + 2, MAX_TAIL)


def step_of(base: Base, fault: Fault) -> int:
    """The step a fault is about, for the coverage table: a session fault's own step, an order
    fault's submit step plus its action index (one action per step)."""
    if fault.target is None:
        return fault.at
    order = base.orders.get(fault.target)
    return fault.at if order is None else order.step + fault.at


def build_variant(base: Base, faults: Sequence[Fault]) -> Scenario:
    """The variant as a Scenario, through the schema, the model's rules and the work bounds
    (a ScenarioError if the faults made it invalid: a generator bug, reported as such)."""
    from peak_trade.harness.errors import ScenarioValidationError

    data = variant_data(base, faults)
    doc = LoadedDocument(
        path=base.path, data=data, positions={}, key_positions={}, sources={}, size=_size(data)
    )
    problems = validate_document(doc, load_schema(), secrets=list(base.secrets))
    if problems:
        raise ScenarioValidationError(problems, secrets=list(base.secrets))
    return build_scenario(doc)


def _size(data: object) -> int:
    """A stand-in for the file's byte size (the work model charges echoes of it)."""
    return len(repr(data))


def describe(faults: Sequence[Fault]) -> str:
    return "; ".join(f.label() for f in faults) or "no faults"


def known_kind(name: str) -> bool:
    return name in BY_NAME


def decimal_text(value: Decimal) -> str:
    return format(value, "f")
