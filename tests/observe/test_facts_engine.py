"""observe.facts against the engine itself: what the book and the reconciler did, seen from inside.

The other facts tests count records; these watch the session while it runs (the book's status
changes, each reconciliation pass and whether it left a difference outstanding) and require the
facts folded from the trail alone to say the same: the order state transitions, the orders open
at the end and the reconciler's last good step. Every landed scenario, and variants of them with
a slower reconciler (every 2 or 3 steps, so that a drain compares at steps that are not due) and
no grace (a stop's own comparison escalates at once, without a record of its own).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from peak_trade.execution.live import book as book_module
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator
from peak_trade.harness.model import load_scenario
from peak_trade.harness.runner import RunResult, run_scenario
from peak_trade.observe.facts import AuditFacts, run_facts

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
LIBRARY = sorted(SCENARIOS.rglob("*.yaml"))


@dataclass
class Seen:
    """What the engine did, recorded from inside the session."""

    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_ok: int | None = None


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    record = Seen()
    store, reconcile = book_module.SessionBook._store, LiveSessionOrchestrator._reconcile

    def spy_store(self: Any, previous: Any, updated: Any) -> None:
        if previous.status is not updated.status:
            record.transitions[(previous.status.value, updated.status.value)] += 1
        store(self, previous, updated)

    def spy_reconcile(self: Any, step: int, *, force: bool = False) -> list[Any]:
        breaches = reconcile(self, step, force=force)
        compared = self._compared_step == step
        if compared and not breaches and not self._reconcile_state.first_seen:
            record.last_ok = step
        return breaches

    monkeypatch.setattr(book_module.SessionBook, "_store", spy_store)
    monkeypatch.setattr(LiveSessionOrchestrator, "_reconcile", spy_reconcile)
    return record


def agree(result: RunResult, facts: AuditFacts, seen: Seen) -> None:
    assert dict(facts.counts.order_transitions) == dict(seen.transitions)
    open_orders = sorted(o.client_order_id for o in result.orders.values() if not o.is_closed)
    assert list(facts.open_orders) == open_orders
    assert facts.reconciler_last_ok_step == seen.last_ok


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_every_scenario_as_the_engine_saw_it(path: Path, seen: Seen) -> None:
    result = run_scenario(load_scenario(path))
    agree(result, run_facts(result), seen)


# Scenarios whose sessions stop, drain, escalate, time out or retry: where the reconciler's
# cadence and grace change what a pass finds.
VARIANT_BASES = (
    "broker_health_outage.yaml",
    "overfill_breach_acknowledged.yaml",
    "safe_stop_in_error_waits_for_operator.yaml",
    "operator_stop_mid_session.yaml",
    "failure_matrix/fm_ack_timeout.yaml",
    "failure_matrix/fm_drain_compares_after_acknowledge.yaml",
    "failure_matrix/fm_drain_waits_for_pending_difference.yaml",
    "failure_matrix/fm_drain_waits_for_report_in_flight.yaml",
    "failure_matrix/fm_drain_cancels_order_working_at_broker.yaml",
    "failure_matrix/fm_report_for_unknown_order.yaml",
    "failure_matrix/fm_position_drift_escalates.yaml",
    "failure_matrix/fm_retry_fate_unknown_breach.yaml",
)
VARIANTS = [(b, e, g) for b in VARIANT_BASES for e in (2, 3) for g in (None, 0)]


@pytest.mark.parametrize(
    ("base", "every", "grace"), VARIANTS, ids=lambda v: str(v).replace("/", "-")
)
def test_slower_reconciler_variants(
    base: str, every: int, grace: int | None, seen: Seen, tmp_path: Path
) -> None:
    document = yaml.safe_load((SCENARIOS / base).read_text(encoding="utf-8"))
    reconciler = document["config"].get("reconciler") or {}
    reconciler["every_steps"] = every
    if grace is not None:
        reconciler["grace_steps"] = grace
    document["config"]["reconciler"] = reconciler
    variant = tmp_path / Path(base).name
    variant.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = run_scenario(load_scenario(variant))
    agree(result, run_facts(result), seen)


def test_a_cancel_reject_for_an_order_the_broker_does_not_know_leaves_it_open() -> None:
    """FIX B.1.f: the reject's OrdStatus is REJECTED, but the order is as it was (still open
    here, the session waits for its operator); it was read as rejected and closed."""
    result = run_scenario(
        load_scenario(SCENARIOS / "failure_matrix/fm_retry_fate_unknown_breach.yaml")
    )
    facts = run_facts(result)
    assert facts.final_state == "ERROR_REQUIRES_OPERATOR"
    assert facts.open_orders == ("o-1",)
    assert ("pending_new", "rejected") not in dict(facts.counts.order_transitions)


def test_the_stop_an_acknowledgement_begins_compares_the_books() -> None:
    """The session was in ERROR_REQUIRES_OPERATOR from step 3; the acknowledgement at step 5
    begins the stop, which compares the books at once (and they agree): the last good pass is
    step 5, not step 3."""
    facts = run_facts(run_scenario(load_scenario(SCENARIOS / "broker_health_outage.yaml")))
    assert facts.reconciler_last_ok_step == 5
