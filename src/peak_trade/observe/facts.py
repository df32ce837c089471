"""An audit trail folded into the facts an operator cares about: one frozen `AuditFacts` value.

Theory of operation
===================

`fold_records(records, chain=...)` is the pure core: it walks the parsed records of a trail once,
in order, and keeps only bounded lists (the first `limit` items of each, plus a count of all)
and counters. Nothing else of the trail is held, so a trail of millions of records folds in flat
memory. The shell around it reads a trail and says how far its chain vouches for it:

- `read_facts(path)` checks the file with `audit_verify.verify_file` (hash chain and seal), then
  folds the records that verify (the lines before the first bad one), read one at a time with the
  same bounded, regular-file-only reader the verifier uses.
- `facts_from_lines(lines)` does the same for lines held elsewhere, e.g. a run's `TrailCapture`
  (`run_facts(result)`): `sealed` is then None, as only a file has a seal.

A trail whose chain breaks still yields the facts of its verified prefix; `chain` says why it is
not verified, so no consumer mistakes a prefix for the whole. Every value comes from the records
as written, which the session redacted before writing; nothing is added here but counts. Free
text (a refusal's detail, an operator's note) stays in the facts for people to read: the metrics
take only closed vocabularies from it (observe/metrics.py), never a note or an account id.

What the records say and where each fact comes from
---------------------------------------------------

- scenario id, broker kind, live flag, reconciler cadence: `session_opened` (its config).
- state timeline: `transition` (from, to, trigger; reason, note, invariants or failed checks).
- session -> broker messages: `order_submitted`, `order_resent`, `cancel_requested`,
  `replace_requested`, `status_requested`; broker -> session: `execution_report`.
- refused orders and requests: `order_refused`, `cancel_refused`, `replace_refused`,
  `resend_refused`, `status_request_refused` (rule or rail, limit, observed value, detail).
- breaches: `invariant_breach`.
- operator actions: `transition` by acknowledge (who, note), stop_requested or cancel (not the
  session's own stop at its step bound), `kill_switch_engaged` from the operator,
  `kill_switch_rearmed` (who, note), `account_deficit_accepted`.
- kill switch: `kill_switch_engaged` (source; rail, limit, observed when automatic),
  `kill_switch_rearmed`.
- reconciliation: `reconcile_pending`, `reconcile_cleared`, `in_flight_resolved`, and the
  differences a `book_matches_broker` breach escalates; a given-up submit closed by the retry
  fate table (`fate_resolved` mark_rejected).
- open orders, positions, cash: `session_summary` when the session ended; otherwise derived from
  the reports (positions only while no bust or correction needs the book to recompute them).

`reconciler_last_ok_step` is the last step at which the session compared its book with the
broker's (a step due under `reconciler.every_steps` begun in DRYRUN_ACTIVE; every step of a drain,
begun in STOPPING; the step a stop began at, which compares then) and left no difference
outstanding: no pending difference, no escalation (`book_matches_broker`) and no failed snapshot.
Steps that wrote no record are accounted for too: the session's clock advanced through them with
its state and its outstanding differences unchanged. A difference a stop's own comparison
escalates at once is recorded only by the next drain step's breach, with its age: the good steps
since it was first seen are withdrawn then. tests/observe/test_facts_engine.py checks all of this
against the engine's own passes.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from peak_trade.execution.live.audit import GENESIS_HASH
from peak_trade.execution.live.audit_trail.verify import (
    MAX_RECORD_BYTES,
    VerifyResult,
    verify_file,
    verify_lines,
)
from peak_trade.execution.live.reconcile.config import ReconcilerConfig, ReconcilerConfigError
from peak_trade.execution.live.regular_files import iter_bounded_lines, open_regular

if TYPE_CHECKING:
    from peak_trade.harness.runner import RunResult

__all__ = [
    "DEFAULT_LIMIT",
    "RETRY_RECORD_TYPES",
    "AuditFacts",
    "Bounded",
    "BreachFact",
    "Cash",
    "ChainFacts",
    "Counts",
    "KillSwitchEvent",
    "Message",
    "OperatorAction",
    "ReconcileFinding",
    "RefusalFact",
    "RefusedOperation",
    "StateChange",
    "facts_from_lines",
    "fold_records",
    "read_facts",
    "run_facts",
]

DEFAULT_LIMIT = 200  # items kept per list; the rest are counted (Bounded.omitted)
MAX_COUNTER_KEYS = 256  # distinct keys per counter; a forged trail cannot grow one without bound
# Closed orders whose last status is kept (a late fill or a bust may still name one), as the
# session's own closed_order_retention default; older ones are forgotten, oldest first.
CLOSED_ORDERS_KEPT = 10_000
OTHER = "other"  # the key that counts everything past MAX_COUNTER_KEYS

# Retry attempts the session audits: one request_retried per request sent again
# (execution/live/retry_shell.py); the failure before it and a give-up are not attempts.
RETRY_RECORD_TYPES: frozenset[str] = frozenset({"request_retried"})

_OUTBOUND = {
    "order_submitted": "submit",
    "order_resent": "resend",
    "cancel_requested": "cancel",
    "replace_requested": "replace",
    "status_requested": "status",
}
_REFUSALS = frozenset(
    {
        "order_refused",
        "cancel_refused",
        "replace_refused",
        "resend_refused",
        "status_request_refused",
    }
)
_REFUSED_OPERATIONS = frozenset({"illegal_operation", "illegal_transition", "step_bound_refused"})
# Order statuses after which an order is closed (order_lifecycle.is_closed): these, or done for
# the day with nothing left.
_CLOSED_STATUSES = frozenset({"filled", "canceled", "rejected", "expired"})
_LOCAL_CLOSES = {"mark_rejected": "rejected", "mark_canceled": "canceled"}  # in_flight.Resolution
_RECONCILING_STATES = frozenset({"DRYRUN_ACTIVE", "STOPPING"})
_REQUEST_REJECTS = frozenset({"cancel_rejected", "replace_rejected"})
# The session's own stop at its step bound (orchestrator: f"step bound {n} reached"): not an
# operator's action.
_AUTO_STOP = re.compile(r"step bound \d+ reached")
# One escalated difference of a book_matches_broker detail, "kind key: ours X, broker Y (for N
# step(s))", joined by "; " (reconcile_pass.py). Anchored at the start or a separator: unanchored,
# a word inside one difference's text ("broker cum_qty=40 ...") read as the next one's kind.
_DIFFERENCE = re.compile(r"(?:^|; )([a-z_]+) (.*?): ours ")
_AGE = re.compile(r" \(for (\d+) step\(s\)\)$")  # the end of one escalated difference
OK_STEPS_KEPT = 64  # good reconciliation steps remembered, to withdraw those a late finding voids

T = TypeVar("T")


# ----------------------------------------------------------------------------- the value


@dataclass(frozen=True, slots=True)
class Bounded(Generic[T]):
    """The first items of a list (at most the fold's `limit`) and how many there were in all."""

    items: tuple[T, ...] = ()
    total: int = 0

    @property
    def omitted(self) -> int:
        return self.total - len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return self.total > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    step: int
    from_state: str
    to_state: str
    trigger: str
    reason: str | None = None  # the stop reason, operator note, invariants or failed checks


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One message between session and broker, as the audit records it."""

    step: int
    seq: int
    direction: str  # "to_broker" or "from_broker"
    kind: str  # submit, resend, cancel, replace, status, or execution_report
    client_order_id: str | None
    other_order_id: str | None = None  # the new (chained) or original id a message names
    exec_type: str | None = None  # execution reports
    status: str | None = None  # execution reports: the order's status
    outcome: str | None = None  # execution reports: applied, duplicate, unknown_order, refused
    side: str | None = None  # as recorded: a new order's, a resend's, a report's
    symbol: str | None = None
    qty: str | None = None  # the order's (new or resent), the amended (replace), or last_qty


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusalFact:
    """An order or request the session refused before it reached the broker."""

    step: int
    record: str  # order_refused, cancel_refused, replace_refused, ...
    client_order_id: str | None
    rule: str | None  # the rail or rule (for a rail refusal, the rail)
    limit: str | None
    observed: str | None
    detail: str | None
    seq: int = 0  # the refusal record's own


@dataclass(frozen=True, slots=True, kw_only=True)
class BreachFact:
    step: int
    invariant: str
    detail: str
    refused_reports: int = 0  # reports the order lifecycle refused, listed in the record


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorAction:
    step: int
    action: str  # acknowledge, stop, cancel, engage_kill_switch, rearm_kill_switch, accept_deficit
    operator: str | None  # who, when the record names them (a stop names no one)
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchEvent:
    step: int
    event: str  # "engaged" or "rearmed"
    source: str | None  # operator, rails, loss_limit, fill_throttle (engaged)
    reason: str | None  # engaged: why; rearmed: the operator's note
    operator: str | None = None  # rearmed
    rail: str | None = None  # an automatic engagement: the rail, its limit and observed value
    limit: str | None = None
    observed: str | None = None
    scope: str | None = None  # "tag=value" for a scoped switch
    already_engaged: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileFinding:
    step: int
    event: str  # pending, cleared, escalated, resolved (an in-flight timeout)
    kind: str | None  # the difference kind (reconciler.DifferenceKind) or the in-flight finding
    key: str | None  # the order id, symbol or currency
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedOperation:
    """An operation the session refused and audited (an illegal transition, a step past the
    bound, an action in the wrong state)."""

    step: int
    record: str
    operation: str | None
    detail: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cash:
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainFacts:
    """How far the audit chain vouches for the trail (audit_verify)."""

    verified: bool  # every record verifies (and, for a file with a seal, matches it)
    sealed: bool | None  # a seal lies beside the file; None when there is no file
    records: int  # the records that verify: the facts are folded from exactly these
    head: str
    reason: str | None = None  # why not verified (or, verified but unsealed, why that matters)
    first_bad_line: int | None = None
    torn_tail: bool = False

    @property
    def summary(self) -> str:
        """One sentence: verified and sealed, or what is wrong."""
        if not self.verified:
            return f"not verified: {self.reason}"
        if self.sealed is None:
            return f"verified: {self.records} records, head {self.head[:12]} (no file, no seal)"
        if not self.sealed:
            return f"verified but not sealed: {self.reason}"
        return f"verified and sealed: {self.records} records, head {self.head[:12]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """What the metrics count. Keyed counters are sorted tuples of (key, count); keys are as
    recorded (at most MAX_COUNTER_KEYS distinct, then OTHER)."""

    records: int = 0
    orders_place: int = 0
    orders_cancel: int = 0
    orders_replace: int = 0
    orders_query: int = 0
    order_resends: int = 0
    execution_reports: int = 0
    refusals: int = 0
    retry_attempts: int = 0
    kill_switch_engagements: int = 0  # not counting an engage while already engaged
    kill_switch_rearms: int = 0
    transitions: tuple[tuple[tuple[str, str], int], ...] = ()  # session states ((from, to), n)
    order_transitions: tuple[tuple[tuple[str, str], int], ...] = ()  # order statuses
    reconcile_mismatches: tuple[tuple[str, int], ...] = ()  # (difference kind, count)
    rail_trips: tuple[tuple[str, int], ...] = ()  # (rail or rule, count)
    invariant_breaches: tuple[tuple[str, int], ...] = ()
    record_types: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFacts:
    """Everything an operator is shown about one session, from its audit trail alone."""

    scenario_id: str | None  # the session id the trail opens with (a scenario's id)
    title: str | None  # the scenario's title when the caller knows it; the trail does not
    broker_kind: str | None
    live_enabled: bool | None  # config.live.enabled as the session recorded it
    final_state: str | None  # the state of the last verified record
    final_step: int
    closed: bool  # the trail ends with session_closed
    preflight_failed: tuple[str, ...]  # the checks that failed preflight, if it failed
    transitions: Bounded[StateChange]
    messages: Bounded[Message]
    refusals: Bounded[RefusalFact]
    breaches: Bounded[BreachFact]
    last_breach: BreachFact | None
    operator_actions: Bounded[OperatorAction]
    kill_switch: Bounded[KillSwitchEvent]
    kill_switch_engaged: bool  # at the end of the trail
    reconciliation: Bounded[ReconcileFinding]
    reconciler_every_steps: int | None
    reconciler_last_ok_step: int | None
    refused_operations: Bounded[RefusedOperation]
    open_orders: tuple[str, ...]  # sorted
    positions: tuple[tuple[str, Decimal], ...] | None  # sorted; None: cannot be derived
    positions_source: str  # "summary" (the session's own) or "reports" (derived, trail cut)
    cash: Cash | None  # only when the session keeps an account with cash
    counts: Counts
    chain: ChainFacts
    problems: tuple[str, ...] = ()  # records the fold could not read (a forged or odd trail)
    last_kill_switch: KillSwitchEvent | None = None  # the last engage or re-arm, kept or not

    @property
    def first_breach(self) -> BreachFact | None:
        return self.breaches.items[0] if self.breaches.items else None

    @property
    def rails_tripped(self) -> tuple[str, ...]:
        return tuple(rail for rail, _ in self.counts.rail_trips)

    @property
    def states(self) -> tuple[str, ...]:
        """The states entered, in order (from the kept transitions)."""
        return tuple(t.to_state for t in self.transitions.items)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: Decimals as strings, bounded lists as {items, total, omitted}."""
        return _plain(self)


def _plain(value: object) -> Any:
    if isinstance(value, Bounded):
        return {
            "items": [_plain(i) for i in value.items],
            "total": value.total,
            "omitted": value.omitted,
        }
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        out: dict[str, Any] = {n: _plain(getattr(value, n)) for n in value.__dataclass_fields__}
        if isinstance(value, AuditFacts):
            out["chain"]["summary"] = value.chain.summary
            out["positions"] = None if value.positions is None else dict(out["positions"])
            counts = out["counts"]
            for name in ("transitions", "order_transitions"):
                counts[name] = [
                    {"from": a, "to": b, "count": n} for (a, b), n in getattr(value.counts, name)
                ]
            for name in ("reconcile_mismatches", "rail_trips", "invariant_breaches"):
                counts[name] = dict(getattr(value.counts, name))
            counts["record_types"] = dict(value.counts.record_types)
        return out
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


# ----------------------------------------------------------------------------- the fold


class _List(Generic[T]):
    __slots__ = ("items", "limit", "total")

    def __init__(self, limit: int) -> None:
        self.items: list[T] = []
        self.limit, self.total = limit, 0

    def add(self, item: T) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    def frozen(self) -> Bounded[T]:
        return Bounded(tuple(self.items), self.total)


class _Counter:
    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[Any, int] = {}

    def add(self, key: Any) -> None:
        counts = self.counts
        if key not in counts and len(counts) >= MAX_COUNTER_KEYS:
            key = (OTHER, OTHER) if isinstance(key, tuple) else OTHER
        counts[key] = counts.get(key, 0) + 1

    def frozen(self) -> tuple[tuple[Any, int], ...]:
        return tuple(sorted(self.counts.items(), key=lambda kv: repr(kv[0])))


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Fold:
    """The mutable accumulator behind `fold_records`: bounded lists, counters, a few scalars."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.scenario_id: str | None = None
        self.broker_kind: str | None = None
        self.live_enabled: bool | None = None
        self.every_steps: int | None = None
        self.state: str | None = None
        self.step = 0
        self.closed = False
        self.preflight_failed: tuple[str, ...] = ()
        self.transitions: _List[StateChange] = _List(limit)
        self.messages: _List[Message] = _List(limit)
        self.refusals: _List[RefusalFact] = _List(limit)
        self.breaches: _List[BreachFact] = _List(limit)
        self.last_breach: BreachFact | None = None
        self.actions: _List[OperatorAction] = _List(limit)
        self.kill: _List[KillSwitchEvent] = _List(limit)
        self.kill_engaged = False
        self.last_kill: KillSwitchEvent | None = None
        self.reconciliation: _List[ReconcileFinding] = _List(limit)
        self.refused_ops: _List[RefusedOperation] = _List(limit)
        self.summary: Mapping[str, Any] | None = None
        self.account_currency: str | None = None
        self.cash: Decimal | None = None
        # order id -> last status: open orders, and the most recent closed ones (bounded)
        self.open: dict[str, str] = {}
        self.closed_orders: OrderedDict[str, str] = OrderedDict()
        self.positions: dict[str, Decimal] = {}
        self.positions_derivable = True
        self.problems: list[str] = []
        # counters
        self.n = {
            "records": 0,
            "orders_place": 0,
            "orders_cancel": 0,
            "orders_replace": 0,
            "orders_query": 0,
            "order_resends": 0,
            "execution_reports": 0,
            "refusals": 0,
            "retry_attempts": 0,
            "kill_switch_engagements": 0,
            "kill_switch_rearms": 0,
        }
        self.c_transitions = _Counter()
        self.c_order_transitions = _Counter()
        self.c_mismatches = _Counter()
        self.c_rails = _Counter()
        self.c_breaches = _Counter()
        self.c_types = _Counter()
        # reconciler: differences outstanding, the step being folded, and how it began
        self.outstanding: set[tuple[str, str]] = set()
        self.step_start_state: str | None = None
        self.step_bad = False
        self.step_stop_began = False  # a stop began at the step being folded
        self.last_ok: int | None = None
        self.ok_steps: deque[int] = deque(maxlen=OK_STEPS_KEPT)  # the last good steps, in order

    # --- per record
    def add(self, record: Mapping[str, Any]) -> None:
        kind, step, payload = record.get("type"), record.get("step"), record.get("payload")
        state = record.get("state")
        if not isinstance(kind, str) or not isinstance(step, int) or isinstance(step, bool):
            self._problem(record, "it has no type or step")
            return
        if not isinstance(payload, Mapping) or not isinstance(state, str):
            self._problem(record, "it has no payload or state")
            return
        if step != self.step:
            self._advance(step)
        self.n["records"] += 1
        self.c_types.add(kind)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, step, payload, record)
        elif kind in RETRY_RECORD_TYPES:
            self.n["retry_attempts"] += 1
        self.state = state

    def _problem(self, record: Mapping[str, Any], why: str) -> None:
        seq = record.get("seq")
        if len(self.problems) < self.limit:
            self.problems.append(f"record {seq!r} cannot be read: {why}")

    # --- the reconciler's last good step
    def _advance(self, step: int) -> None:
        """The clock moves on to `step`: judge the step just folded, then the silent ones."""
        self._judge(self.step, self.step_start_state)
        first_silent, last_silent = self.step + 1, step - 1
        if last_silent >= first_silent:
            self._judge_silent(first_silent, last_silent)
        self.step, self.step_start_state, self.step_bad = step, self.state, False
        self.step_stop_began = False

    def _due(self, step: int) -> bool:
        return self.every_steps is not None and step >= 1 and step % self.every_steps == 0

    def _compared(self, step: int, began_in: str | None) -> bool:
        """Whether the session compared the books at `step` (orchestrator._reconcile): a due
        step begun trading, every step of a drain (it compares each step to decide), and the
        step a stop began at (the stop compares then unless that step already had)."""
        if self.every_steps is None or step < 1:
            return False  # no valid reconciler: preflight refused the session
        if began_in == "STOPPING" or self.step_stop_began:
            return True
        return began_in == "DRYRUN_ACTIVE" and self._due(step)

    def _judge(self, step: int, began_in: str | None) -> None:
        if self._compared(step, began_in) and not self.step_bad and not self.outstanding:
            self._ok(step)

    def _ok(self, step: int) -> None:
        self.last_ok = step
        if not self.ok_steps or self.ok_steps[-1] != step:
            self.ok_steps.append(step)

    def seen_since(self, first_seen: int) -> None:
        """A difference escalated now was there since `first_seen` without a record (a stop's
        own comparison escalates without a breach; the next drain step breaches): no step from
        then on was good."""
        kept = self.ok_steps
        while kept and kept[-1] >= first_seen:  # bounded by OK_STEPS_KEPT
            kept.pop()
        if self.last_ok is not None and self.last_ok >= first_seen:
            # the last good step before it, or none when it is older than those remembered
            self.last_ok = kept[-1] if kept else None

    def _judge_silent(self, first: int, last: int) -> None:
        # No record in these steps: each began in the current state, with nothing new found.
        if self.every_steps is None or self.state not in _RECONCILING_STATES or self.outstanding:
            return
        # a drain compares at every step; trading, only at the due ones
        due = last if self.state == "STOPPING" else last - last % self.every_steps
        if due >= max(first, 1):
            self._ok(due)

    def finish(self, chain: ChainFacts) -> AuditFacts:
        self._judge(self.step, self.step_start_state)
        open_orders, positions, source = self._book()
        n = self.n
        counts = Counts(
            records=n["records"],
            orders_place=n["orders_place"],
            orders_cancel=n["orders_cancel"],
            orders_replace=n["orders_replace"],
            orders_query=n["orders_query"],
            order_resends=n["order_resends"],
            execution_reports=n["execution_reports"],
            refusals=n["refusals"],
            retry_attempts=n["retry_attempts"],
            kill_switch_engagements=n["kill_switch_engagements"],
            kill_switch_rearms=n["kill_switch_rearms"],
            transitions=self.c_transitions.frozen(),
            order_transitions=self.c_order_transitions.frozen(),
            reconcile_mismatches=self.c_mismatches.frozen(),
            rail_trips=self.c_rails.frozen(),
            invariant_breaches=self.c_breaches.frozen(),
            record_types=self.c_types.frozen(),
        )
        return AuditFacts(
            scenario_id=self.scenario_id,
            title=None,
            broker_kind=self.broker_kind,
            live_enabled=self.live_enabled,
            final_state=self.state,
            final_step=self.step,
            closed=self.closed,
            preflight_failed=self.preflight_failed,
            transitions=self.transitions.frozen(),
            messages=self.messages.frozen(),
            refusals=self.refusals.frozen(),
            breaches=self.breaches.frozen(),
            last_breach=self.last_breach,
            operator_actions=self.actions.frozen(),
            kill_switch=self.kill.frozen(),
            kill_switch_engaged=self.kill_engaged,
            reconciliation=self.reconciliation.frozen(),
            reconciler_every_steps=self.every_steps,
            reconciler_last_ok_step=self.last_ok,
            refused_operations=self.refused_ops.frozen(),
            open_orders=open_orders,
            positions=positions,
            positions_source=source,
            cash=self._cash(),
            counts=counts,
            chain=chain,
            problems=tuple(self.problems),
            last_kill_switch=self.last_kill,
        )

    def _book(self) -> tuple[tuple[str, ...], tuple[tuple[str, Decimal], ...] | None, str]:
        summary = self.summary
        if summary is not None:
            orders = summary.get("open_orders")
            held = summary.get("positions")
            if isinstance(orders, list) and isinstance(held, Mapping):
                open_orders = tuple(sorted(o for o in orders if isinstance(o, str)))
                pairs = [(s, _decimal(q)) for s, q in held.items()]
                positions = tuple(sorted((s, q) for s, q in pairs if q is not None))
                return open_orders, positions, "summary"
        positions = None
        if self.positions_derivable:
            positions = tuple(sorted((s, q) for s, q in self.positions.items() if q))
        return tuple(sorted(self.open)), positions, "reports"

    def order_status(self, order_id: str, status: str, *, closed: bool) -> None:
        """The order's status moves to `status`: counted as an order state transition."""
        before = self.open.get(order_id) or self.closed_orders.get(order_id)
        if before is not None and before != status:
            self.c_order_transitions.add((before, status))
        if closed:
            self.open.pop(order_id, None)
            self.closed_orders[order_id] = status
            self.closed_orders.move_to_end(order_id)
            if len(self.closed_orders) > CLOSED_ORDERS_KEPT:
                self.closed_orders.popitem(last=False)
        else:  # open, or open again (a bust of a filled order)
            self.closed_orders.pop(order_id, None)
            self.open[order_id] = status

    def known_order(self, *ids: str | None) -> str | None:
        return next(
            (i for i in ids if i is not None and (i in self.open or i in self.closed_orders)), None
        )

    def _cash(self) -> Cash | None:
        summary = self.summary
        if summary is not None:
            account = summary.get("account")
            if isinstance(account, Mapping):
                currency, amount = account.get("currency"), _decimal(account.get("cash"))
                if isinstance(currency, str) and amount is not None:
                    return Cash(currency=currency, amount=amount)
                return None
        if self.account_currency is not None and self.cash is not None:
            return Cash(currency=self.account_currency, amount=self.cash)
        return None


# --- handlers, one per record type read (payload fields as orchestrator.py writes them)


def _on_opened(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.scenario_id = _text(p.get("session_id"))
    config = p.get("config")
    if not isinstance(config, Mapping):
        return
    fold.broker_kind = _text(config.get("broker_kind"))
    live = config.get("live")
    if isinstance(live, Mapping) and isinstance(live.get("enabled"), bool):
        fold.live_enabled = live["enabled"]
    try:
        fold.every_steps = ReconcilerConfig.from_mapping(config.get("reconciler") or {}).every_steps
    except (ReconcilerConfigError, TypeError, ValueError):
        fold.every_steps = None  # preflight refuses such a session: it never reconciles


def _on_transition(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    source, target = _text(p.get("from")) or "?", _text(p.get("to")) or "?"
    trigger = _text(p.get("trigger")) or "?"
    reason = p.get("reason", p.get("note"))
    if reason is None and isinstance(p.get("invariants"), list):
        reason = ", ".join(str(i) for i in p["invariants"])
    if reason is None and isinstance(p.get("failed_checks"), list):
        fold.preflight_failed = tuple(str(c) for c in p["failed_checks"][: fold.limit])
        reason = ", ".join(fold.preflight_failed)
    fold.transitions.add(
        StateChange(
            step=step, from_state=source, to_state=target, trigger=trigger, reason=_text(reason)
        )
    )
    fold.c_transitions.add((source, target))
    if target == "STOPPING":
        fold.step_stop_began = True  # the stop compares the books at its step (_begin_stop)
    if trigger == "acknowledge":
        fold.actions.add(
            OperatorAction(
                step=step,
                action="acknowledge",
                operator=_text(p.get("operator")),
                note=_text(p.get("note")),
            )
        )
    elif trigger in ("stop_requested", "cancel"):
        text = _text(p.get("reason"))
        if not (trigger == "stop_requested" and text is not None and _AUTO_STOP.fullmatch(text)):
            action = "stop" if trigger == "stop_requested" else "cancel"
            fold.actions.add(OperatorAction(step=step, action=action, operator=None, note=text))


def _on_outbound(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    kind = _OUTBOUND[r["type"]]
    cid = _text(p.get("client_order_id"))
    other = _text(p.get("new_client_order_id") or p.get("orig_client_order_id"))
    fold.messages.add(
        Message(
            step=step,
            seq=_seq(r),
            direction="to_broker",
            kind=kind,
            client_order_id=cid,
            other_order_id=other,
            side=_text(p.get("side")),
            symbol=_text(p.get("symbol")),
            qty=_text(p.get("qty", p.get("new_qty"))),
        )
    )
    counter = {
        "submit": "orders_place",
        "resend": "order_resends",
        "cancel": "orders_cancel",
        "replace": "orders_replace",
        "status": "orders_query",
    }[kind]
    fold.n[counter] += 1
    if kind == "submit" and cid is not None:
        fold.order_status(cid, "pending_new", closed=False)


def _on_report(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.n["execution_reports"] += 1
    cid, exec_type = _text(p.get("client_order_id")), _text(p.get("exec_type"))
    status, outcome = _text(p.get("status")), _text(p.get("outcome"))
    fold.messages.add(
        Message(
            step=step,
            seq=_seq(r),
            direction="from_broker",
            kind="execution_report",
            client_order_id=cid,
            other_order_id=_text(p.get("orig_client_order_id")),
            exec_type=exec_type,
            status=status,
            outcome=outcome,
            side=_text(p.get("side")),
            symbol=_text(p.get("symbol")),
            qty=_text(p.get("last_qty")),
        )
    )
    if outcome != "applied":
        return
    orig = _text(p.get("orig_client_order_id"))
    order_id = fold.known_order(cid, orig)
    if exec_type in _REQUEST_REJECTS and status == "rejected":
        # A reject of a request for an order the broker does not know (FIX B.1.f): the request
        # failed and the order stays as it was (order_lifecycle.explain), whatever the report's
        # OrdStatus says; the reconciler judges the disagreement.
        status = None
    if order_id is not None and status is not None:
        if exec_type == "replaced" and cid is not None and order_id != cid:
            # a chained replace: the order goes by the request's id from now on
            before = fold.open.pop(order_id, None) or fold.closed_orders.pop(order_id, status)
            fold.open[cid] = before
            order_id = cid
        done = status in _CLOSED_STATUSES or (
            status == "done_for_day" and _decimal(p.get("leaves_qty")) == 0
        )
        fold.order_status(order_id, status, closed=done)
    if exec_type in ("trade_cancel", "trade_correct"):
        fold.positions_derivable = False  # the book recomputes from the executions that stand
    elif exec_type == "trade":
        qty, symbol, side = _decimal(p.get("last_qty")), _text(p.get("symbol")), p.get("side")
        if qty is None or symbol is None or side not in ("buy", "sell"):
            fold.positions_derivable = False
            return
        signed = qty if side == "buy" else -qty
        fold.positions[symbol] = fold.positions.get(symbol, Decimal(0)) + signed


def _on_refusal(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.n["refusals"] += 1
    rule = _text(p.get("rule"))
    fold.refusals.add(
        RefusalFact(
            step=step,
            record=r["type"],
            client_order_id=_text(p.get("client_order_id")),
            rule=rule,
            limit=_text(p.get("limit")),
            observed=_text(p.get("observed")),
            detail=_text(p.get("detail")),
            seq=_seq(r),
        )
    )
    if rule is not None:
        fold.c_rails.add(rule)


def _on_breach(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    invariant, detail = _text(p.get("invariant")) or "?", _text(p.get("detail")) or ""
    refused = p.get("refused_reports")
    breach = BreachFact(
        step=step,
        invariant=invariant,
        detail=detail,
        refused_reports=len(refused) if isinstance(refused, list) else 0,
    )
    fold.breaches.add(breach)
    fold.last_breach = breach
    fold.c_breaches.add(invariant)
    if invariant == "book_matches_broker":
        fold.step_bad = True
        matches = list(_DIFFERENCE.finditer(detail))  # "kind key: ours X, broker Y (...)"; ...
        for index, match in enumerate(matches):
            kind, key = match[1], match[2]
            end = matches[index + 1].start() if index + 1 < len(matches) else len(detail)
            age = _AGE.search(detail, match.end(), end)
            if age is not None and (kind, key) not in fold.outstanding:
                fold.seen_since(step - int(age[1]))
            fold.reconciliation.add(
                ReconcileFinding(step=step, event="escalated", kind=kind, key=key, detail=None)
            )
            if (kind, key) not in fold.outstanding:  # first seen escalated (no grace)
                fold.outstanding.add((kind, key))
                fold.c_mismatches.add(kind)
    elif invariant == "broker_calls_succeed" and detail.startswith("snapshot raised"):
        fold.step_bad = True  # no snapshot: no evidence that the books agree
    elif invariant == "in_flight_orders_resolved":
        fold.step_bad = True


def _on_pending(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    kind, key = _text(p.get("kind")) or "?", _text(p.get("key")) or "?"
    ours, theirs = _text(p.get("ours")), _text(p.get("theirs"))
    fold.reconciliation.add(
        ReconcileFinding(
            step=step, event="pending", kind=kind, key=key, detail=f"ours {ours}, broker {theirs}"
        )
    )
    fold.outstanding.add((kind, key))
    fold.c_mismatches.add(kind)


def _on_cleared(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    kind, key = _text(p.get("kind")) or "?", _text(p.get("key")) or "?"
    fold.reconciliation.add(
        ReconcileFinding(step=step, event="cleared", kind=kind, key=key, detail=None)
    )
    fold.outstanding.discard((kind, key))


def _on_resolved(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    status = _LOCAL_CLOSES.get(p.get("resolution"))  # type: ignore[arg-type]
    order_id = fold.known_order(_text(p.get("client_order_id")))
    if status is not None and order_id is not None:
        fold.order_status(order_id, status, closed=True)  # closed by the timeout table
    fold.reconciliation.add(
        ReconcileFinding(
            step=step,
            event="resolved",
            kind=_text(p.get("finding")),
            key=_text(p.get("client_order_id")),
            detail=_text(p.get("detail")),
        )
    )


def _on_engaged(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    already = p.get("already_engaged") is True
    scope = p.get("scope")
    scope_text = f"{scope.get('tag')}={scope.get('value')}" if isinstance(scope, Mapping) else None
    source, reason = _text(p.get("source")), _text(p.get("reason"))
    rail = _text(p.get("rule"))
    event = KillSwitchEvent(
        step=step,
        event="engaged",
        source=source,
        reason=reason,
        rail=rail,
        limit=_text(p.get("limit")),
        observed=_text(p.get("observed")),
        scope=scope_text,
        already_engaged=already,
    )
    fold.kill.add(event)
    fold.last_kill = event
    if not already:
        fold.n["kill_switch_engagements"] += 1
    if scope is None:
        fold.kill_engaged = True
    if rail is not None:
        fold.c_rails.add(rail)  # loss limits and the fill throttle trip through the switch
    if source == "operator":
        fold.actions.add(
            OperatorAction(step=step, action="engage_kill_switch", operator=None, note=reason)
        )


def _on_rearmed(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    operator, note = _text(p.get("operator")), _text(p.get("note"))
    scope = p.get("scope")
    scope_text = f"{scope.get('tag')}={scope.get('value')}" if isinstance(scope, Mapping) else None
    event = KillSwitchEvent(
        step=step,
        event="rearmed",
        source="operator",
        reason=note,
        operator=operator,
        scope=scope_text,
    )
    fold.kill.add(event)
    fold.last_kill = event
    fold.n["kill_switch_rearms"] += 1
    if scope is None:
        fold.kill_engaged = False
    fold.actions.add(
        OperatorAction(step=step, action="rearm_kill_switch", operator=operator, note=note)
    )


def _on_deficit(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.actions.add(
        OperatorAction(
            step=step,
            action="accept_deficit",
            operator=_text(p.get("operator")),
            note=_text(p.get("cash")),
        )
    )


def _on_refused_op(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    operation = p.get("operation", p.get("trigger"))
    if r["type"] == "step_bound_refused":
        operation = "run_n_steps"
    fold.refused_ops.add(
        RefusedOperation(
            step=step, record=r["type"], operation=_text(operation), detail=_text(p.get("detail"))
        )
    )


def _on_account(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    statement = p.get("statement")
    if isinstance(statement, Mapping):
        currency, cash = statement.get("currency"), _decimal(statement.get("cash"))
        if isinstance(currency, str) and cash is not None:
            fold.account_currency, fold.cash = currency, cash


def _on_fill_booked(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    cash = _decimal(p.get("cash"))
    if cash is not None:
        fold.cash = cash


def _on_summary(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.summary = p
    failed = p.get("failed_checks")
    if isinstance(failed, list) and failed:
        fold.preflight_failed = tuple(str(c) for c in failed[: fold.limit])
    if isinstance(p.get("kill_switch_engaged"), bool):
        fold.kill_engaged = p["kill_switch_engaged"]


def _on_submit_failed(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    order_id = fold.known_order(_text(p.get("client_order_id")))
    if order_id is not None:
        fold.order_status(order_id, "rejected", closed=True)  # it never reached the broker


def _on_fate(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    order_id = fold.known_order(_text(p.get("client_order_id")))
    if p.get("fate") == "mark_rejected" and order_id is not None:
        fold.order_status(order_id, "rejected", closed=True)  # a given-up submit never placed


def _on_closed(fold: _Fold, step: int, p: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    fold.closed = True


def _seq(record: Mapping[str, Any]) -> int:
    seq = record.get("seq")
    return seq if isinstance(seq, int) else 0


_HANDLERS = {
    "session_opened": _on_opened,
    "transition": _on_transition,
    **dict.fromkeys(_OUTBOUND, _on_outbound),
    "execution_report": _on_report,
    **dict.fromkeys(_REFUSALS, _on_refusal),
    "invariant_breach": _on_breach,
    "reconcile_pending": _on_pending,
    "reconcile_cleared": _on_cleared,
    "in_flight_resolved": _on_resolved,
    "kill_switch_engaged": _on_engaged,
    "kill_switch_rearmed": _on_rearmed,
    "account_deficit_accepted": _on_deficit,
    **dict.fromkeys(_REFUSED_OPERATIONS, _on_refused_op),
    "account_opened": _on_account,
    "fill_booked": _on_fill_booked,
    "session_summary": _on_summary,
    "session_closed": _on_closed,
    "submit_failed": _on_submit_failed,
    "fate_resolved": _on_fate,  # the retry fate table (execution/live/retry/fate_query.py)
}


# ----------------------------------------------------------------------------- entry points


def fold_records(
    records: Iterable[Mapping[str, Any]],
    *,
    chain: ChainFacts | None = None,
    title: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AuditFacts:
    """The pure core: the facts of `records` (parsed audit records, in trail order).

    `chain` says how far the records are vouched for; without it the records are taken as given
    (chain `verified=False`, reason "not checked"). Every list keeps its first `limit` items and
    counts the rest. Memory is bounded by `limit`, the counters' key bound, and the orders open at
    once; the records are consumed one at a time and never kept."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be a whole number >= 0, got {limit!r}")
    fold = _Fold(limit)
    for record in records:  # bounded by the trail
        if isinstance(record, Mapping):
            fold.add(record)
        else:
            fold._problem({}, "it is not a JSON object")
    if chain is None:
        chain = ChainFacts(
            verified=False,
            sealed=None,
            records=fold.n["records"],
            head=GENESIS_HASH,
            reason="not checked: the records were given without their chain",
        )
    facts = fold.finish(chain)
    return facts if title is None else replace(facts, title=title)


def _chain(result: VerifyResult, *, sealed: bool | None) -> ChainFacts:
    reason = result.reason
    if result.ok and sealed is False:
        reason = (
            "no seal lies beside the file: the session crashed, is still running, lost a sink, "
            "or the seal was deleted, so a cut at a record boundary would go unnoticed"
        )
    return ChainFacts(
        verified=result.ok,
        sealed=sealed,
        records=result.count,
        head=result.head,
        reason=reason,
        first_bad_line=result.first_bad_line,
        torn_tail=result.torn_tail,
    )


def _parsed(lines: Iterable[bytes | str], count: int, problems: list[str]) -> Iterator[Any]:
    """The first `count` lines, parsed (they verified, so each is one canonical record)."""
    for number, line in enumerate(lines, start=1):  # bounded by `count`
        if number > count:
            return
        try:
            yield json.loads(line)
        except (ValueError, RecursionError):
            problems.append(f"line {number} is not a JSON record")
            return


def facts_from_lines(
    lines: Iterable[bytes | str],
    *,
    title: str | None = None,
    limit: int = DEFAULT_LIMIT,
    replay: Iterable[bytes | str] | None = None,
) -> AuditFacts:
    """The facts of audit lines held outside a file (no seal: `chain.sealed` is None).

    The lines are verified first and then folded up to the first bad one; `replay` gives the
    same lines again for the second pass (pass it for a one-shot iterator)."""
    lines = lines if replay is not None else list(lines)  # a list can be walked twice
    result = verify_lines(lines)
    chain = _chain(result, sealed=None)
    problems: list[str] = []
    source = replay if replay is not None else lines
    facts = fold_records(_parsed(source, result.count, problems), chain=chain, limit=limit)
    return _finish(facts, title, problems)


def read_facts(path: Path, *, title: str | None = None, limit: int = DEFAULT_LIMIT) -> AuditFacts:
    """The facts of the audit file `path`, checked against its chain and seal first.

    Raises OSError (an `UnreadableFile` for a FIFO, a device or a folder) when the file cannot be
    read; every finding about its content is in `chain`."""
    path = Path(path)
    result = verify_file(path)
    chain = _chain(result, sealed=result.sealed)
    problems: list[str] = []
    with open_regular(path) as handle:
        lines = iter_bounded_lines(handle, MAX_RECORD_BYTES)
        facts = fold_records(_parsed(lines, result.count, problems), chain=chain, limit=limit)
    return _finish(facts, title, problems)


def run_facts(result: RunResult, *, limit: int = DEFAULT_LIMIT) -> AuditFacts:
    """The facts of a harness run, from its own trail capture (title from the scenario)."""
    trail = result.trail
    return facts_from_lines(
        trail.lines(), title=result.scenario.title, limit=limit, replay=trail.lines()
    )


def _finish(facts: AuditFacts, title: str | None, problems: list[str]) -> AuditFacts:
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if problems:
        changes["problems"] = facts.problems + tuple(problems)
    return replace(facts, **changes) if changes else facts
