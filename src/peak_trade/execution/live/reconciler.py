"""Reconciliation: the session's own book against the broker's snapshot, as findings only.

Theory of operation
===================

Everything here is a pure function of its arguments: nothing changes the book, reads a clock or
keeps hidden state. Time is the logical step. The caller (the orchestrator) decides what a
finding does to the session; this module only says what it found.

Call it after the step's execution reports have been applied, with a snapshot taken after that
poll, on every step where `ReconcilerConfig.is_due(step)`:

1. `diff_books(open_orders, positions, snapshot)` lists every `Difference`, sorted by kind (in
   `DifferenceKind` declaration order), then key.
2. `reconcile(state, differences, step, grace_steps)` ages them. The age of a difference is
   `step - first_seen_step`, where first_seen_step is the step of the first reconciliation that
   saw it (kept in `ReconcileState`, keyed by (kind, key)). A difference with
   `age < grace_steps` is pending: reports may still be in flight. At `age >= grace_steps` it is
   escalated, and stays escalated on every later call while it persists (level-triggered, so an
   escalation that was missed once is repeated). `grace_steps = 0` escalates at first sight. With
   the default 2, a difference seen at steps s, s+1 is pending and escalates at s+2. The age is in
   steps, not in reconciliations: with `every_steps > grace_steps` a difference seen by two
   consecutive reconciliations escalates at the second. `new_pending` holds the differences first
   seen at this step that are not already escalated (it and `escalated` never overlap).
   `cleared` holds the keys that were present last time and are gone now; the state keeps only
   the differences still present, so it is bounded by the size of the current difference list.
   A difference that disappears and comes back starts a new grace period. A difference whose
   values change while it persists (a MISSING_REPORT whose gap grows) keeps its age: the problem
   persists, whatever its size.
3. `find_timeouts(...)` lists the orders whose ack or cancel is overdue and
   `resolve_timeouts(...)` looks each up in the snapshot and answers from `RESOLUTION_TABLE`.

Difference kinds
----------------
Orders are matched by client order id between the session's open orders (PENDING_NEW included:
"in flight" is open) and the snapshot's open orders.

- ORDER_UNKNOWN_TO_BROKER: open in the session, not open at the broker. Includes an order
  submitted this step that the broker does not list yet: it is a difference like any other and
  stays pending within the grace period.
- ORDER_UNKNOWN_TO_SESSION: open at the broker, not open in the session.
- IDENTITY_MISMATCH: both know the order, but its symbol or side differ (otherwise invisible
  until fills move positions).
- QUANTITY_MISMATCH: both know the order, and order_qty differs, or the broker's cum_qty is
  below ours (the session counts fills the broker does not show), or cum_qty agrees but
  leaves_qty does not.
- MISSING_REPORT: both know the order and the broker's cum_qty is above ours: a fill report never
  arrived. This replaces QUANTITY_MISMATCH for the cum/leaves gap; an order_qty disagreement on
  the same order is still a QUANTITY_MISMATCH as well.
- STATUS_MISMATCH: both know the order and the pair (ours, theirs) is not in
  `STATUS_COMPATIBLE` (see there for the rule).
- POSITION_MISMATCH: the net position of a symbol differs. Symbols of both sides are compared; a
  symbol absent on one side is compared as 0, and the text says "absent", never "0".

A missing report never means flat
---------------------------------
The session's side can be short of information (a report that never arrived); the broker's
snapshot is the broker's statement. So nothing is ever concluded from what the session lacks:

- The broker's cum_qty above ours is a MISSING_REPORT naming the unreported quantity; it is never
  folded into a "quantity differs" that could be read as the session being right.
- An order open in the session but not at the broker is ORDER_UNKNOWN_TO_BROKER: it is never
  taken as "canceled without fills". It may have filled unseen, and then the broker's position
  for the symbol also differs from ours (POSITION_MISMATCH).
- Positions are compared symbol by symbol on both sides' keys: the session's position in a symbol
  the broker does not list, or the broker's in a symbol the session does not list, is a mismatch
  unless it is 0. An empty positions map from the broker is therefore not agreement.
- A timed-out order that is not open at the broker is only closed without fills (MARK_REJECTED,
  MARK_CANCELED) when the broker's position in its symbol equals the session's. Otherwise the
  finding is NOT_FOUND_POSITION_DIFFERS and the answer is ESCALATE: the order may have traded in
  reports the session never saw. (The snapshot has positions per symbol, not per order, so a
  difference caused by another order of the same symbol also escalates: fail closed.)
- The reconciler never writes into the book, so no absent value ever becomes a stored 0.

In-flight timeouts and the resolution table
-------------------------------------------
`find_timeouts` runs after the step's reports are applied. An order is AWAITING_ACK when its
status is still PENDING_NEW and `step - submitted_step >= ack_timeout_steps`: the broker had the
polls of steps submitted_step .. submitted_step + K and did not acknowledge. It is AWAITING_CANCEL
when the session sent a cancel at step c (`cancel_sent_steps`), the order is still open (no
CANCELED report) and `step - c >= cancel_timeout_steps`. The caller must drop an order from
`cancel_sent_steps` when a CANCEL_REJECTED (or CANCELED) report arrives, else a rejected cancel
times out as if unanswered. An order is listed once: AWAITING_ACK wins over AWAITING_CANCEL (the
ack is the older request, and the order's fate at the broker decides the cancel's). A timeout of
None disables that check; note that with the ack timeout off, a lost ack alone (the broker shows
NEW, the session PENDING_NEW, no fill) is never reported: STATUS_COMPATIBLE counts it in flight.

`resolve_timeouts` looks the order up in the snapshot: WORKING when the broker lists it open;
otherwise NOT_FOUND when the broker's position in the order's symbol equals the session's, else
NOT_FOUND_POSITION_DIFFERS (the missing-report override). Then:

    in flight        broker finding               resolution
    awaiting_ack     not_found                    mark_rejected  (never reached the broker)
    awaiting_ack     not_found_position_differs   escalate       (may have filled unseen)
    awaiting_ack     working                      escalate       (the ack report is missing)
    awaiting_cancel  not_found                    mark_canceled  (canceled; keeps its cum_qty)
    awaiting_cancel  not_found_position_differs   escalate       (fills the session has not seen)
    awaiting_cancel  working                      escalate       (the cancel did not take)

There is no KEEP_WAITING: the timeout is the configured patience, and an answer that waits again
would make it unbounded. A broker that shows PENDING_CANCEL after the cancel timeout is WORKING
and escalates: configure the timeout above the broker's cancel latency.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Any

from peak_trade.execution.broker.model import ZERO, OrderStatus
from peak_trade.execution.broker.protocol import BrokerOrderView, BrokerSnapshot
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.config import HARD_MAX_STEPS

S = OrderStatus


class DifferenceKind(Enum):
    """The declaration order is the sort order of findings."""

    ORDER_UNKNOWN_TO_BROKER = "order_unknown_to_broker"
    ORDER_UNKNOWN_TO_SESSION = "order_unknown_to_session"
    IDENTITY_MISMATCH = "identity_mismatch"
    QUANTITY_MISMATCH = "quantity_mismatch"
    MISSING_REPORT = "missing_report"
    STATUS_MISMATCH = "status_mismatch"
    POSITION_MISMATCH = "position_mismatch"


_KIND_RANK = {kind: rank for rank, kind in enumerate(DifferenceKind)}
DifferenceKey = tuple[DifferenceKind, str]

# The (session status, broker status) pairs that are not a STATUS_MISMATCH, each with why.
# Rule: a pair is fine when the sides agree, or when the session is *behind* the broker by reports
# that are normally in flight and whose loss is caught elsewhere (a lost ack by the ack timeout, a
# lost fill by MISSING_REPORT, a lost cancel or replace answer by the cancel timeout or a
# QUANTITY_MISMATCH). Every other pair matters: the session is *ahead* (it believes in an ack,
# fill or pending request the broker does not show), the sides have different requests pending,
# or either side shows a closed status for an order listed as open (no row has one).
STATUS_COMPATIBLE: dict[tuple[OrderStatus, OrderStatus], str] = {
    (S.PENDING_NEW, S.PENDING_NEW): "agree",
    (S.PENDING_NEW, S.NEW): "the ack is in flight",
    (S.PENDING_NEW, S.PARTIALLY_FILLED): "the ack and a fill are in flight",
    (S.PENDING_NEW, S.PENDING_CANCEL): "the ack and our cancel's pending report are in flight",
    (S.PENDING_NEW, S.PENDING_REPLACE): "the ack and our replace's pending report are in flight",
    (S.NEW, S.NEW): "agree",
    (S.NEW, S.PARTIALLY_FILLED): "a fill is in flight",
    (S.NEW, S.PENDING_CANCEL): "our cancel's pending report is in flight",
    (S.NEW, S.PENDING_REPLACE): "our replace's pending report is in flight",
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED): "agree",
    (S.PARTIALLY_FILLED, S.PENDING_CANCEL): "our cancel's pending report is in flight",
    (S.PARTIALLY_FILLED, S.PENDING_REPLACE): "our replace's pending report is in flight",
    (S.PENDING_CANCEL, S.PENDING_CANCEL): "agree",
    (S.PENDING_CANCEL, S.NEW): "the cancel reject is in flight",
    (S.PENDING_CANCEL, S.PARTIALLY_FILLED): "the cancel reject is in flight",
    (S.PENDING_REPLACE, S.PENDING_REPLACE): "agree",
    (S.PENDING_REPLACE, S.NEW): "the replace's answer is in flight",
    (S.PENDING_REPLACE, S.PARTIALLY_FILLED): "the replace's answer is in flight",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One disagreement between the session's book and the broker. `key` is an order id or a
    symbol; `ours` and `theirs` describe each side in words. `first_seen_step` and `age` are set
    by `reconcile` (None straight from `diff_books`)."""

    kind: DifferenceKind
    key: str
    ours: str
    theirs: str
    first_seen_step: int | None = None
    age: int | None = None

    @property
    def ident(self) -> DifferenceKey:
        return (self.kind, self.key)

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "kind": self.kind.value,
            "key": self.key,
            "ours": self.ours,
            "theirs": self.theirs,
        }
        if self.first_seen_step is not None:
            payload["first_seen_step"] = self.first_seen_step
        if self.age is not None:
            payload["age"] = self.age
        return payload


def _sort_key(ident: DifferenceKey) -> tuple[int, str]:
    return (_KIND_RANK[ident[0]], ident[1])


def _qty(value: object, where: str) -> Decimal:
    # Money and quantities are Decimal only: a float would compare inexactly, and a NaN would
    # make every comparison lie (or raise) instead of naming the bad input.
    if not isinstance(value, Decimal):
        raise TypeError(f"{where} must be a Decimal, found {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise TypeError(f"{where} must be a finite Decimal, found {value}")
    return value


def _checked_positions(positions: Mapping[str, object], side: str) -> dict[str, Decimal]:
    return {s: _qty(q, f"{side} position of {s}") for s, q in positions.items()}


def _ours_text(o: OrderState) -> str:
    return (
        f"{o.status.value} {o.side.value} {o.symbol} order_qty={o.order_qty} "
        f"cum_qty={o.cum_qty} leaves_qty={o.leaves_qty}"
    )


def _theirs_text(v: BrokerOrderView) -> str:
    return (
        f"{v.status.value} {v.side.value} {v.symbol} order_qty={v.order_qty} "
        f"cum_qty={v.cum_qty} leaves_qty={v.leaves_qty}"
    )


def _quantities(order_qty: Decimal, cum_qty: Decimal, leaves_qty: Decimal) -> str:
    return f"order_qty={order_qty} cum_qty={cum_qty} leaves_qty={leaves_qty}"


def _position_text(value: Decimal | None) -> str:
    # "absent" is kept in the words: the 0 used for the comparison is not what either side said.
    return "absent (compared as 0)" if value is None else str(value)


def _compare_order(o: OrderState, v: BrokerOrderView) -> list[Difference]:
    cid = o.client_order_id
    found: list[Difference] = []
    o_qty, o_cum, o_leaves = (
        _qty(o.order_qty, f"session order {cid} order_qty"),
        _qty(o.cum_qty, f"session order {cid} cum_qty"),
        _qty(o.leaves_qty, f"session order {cid} leaves_qty"),
    )
    v_qty, v_cum, v_leaves = (
        _qty(v.order_qty, f"broker order {cid} order_qty"),
        _qty(v.cum_qty, f"broker order {cid} cum_qty"),
        _qty(v.leaves_qty, f"broker order {cid} leaves_qty"),
    )
    if (o.symbol, o.side) != (v.symbol, v.side):
        found.append(
            Difference(
                kind=DifferenceKind.IDENTITY_MISMATCH,
                key=cid,
                ours=f"{o.side.value} {o.symbol}",
                theirs=f"{v.side.value} {v.symbol}",
            )
        )
    missing = v_cum > o_cum
    if o_qty != v_qty or (not missing and (o_cum != v_cum or o_leaves != v_leaves)):
        found.append(
            Difference(
                kind=DifferenceKind.QUANTITY_MISMATCH,
                key=cid,
                ours=_quantities(o_qty, o_cum, o_leaves),
                theirs=_quantities(v_qty, v_cum, v_leaves),
            )
        )
    if missing:
        found.append(
            Difference(
                kind=DifferenceKind.MISSING_REPORT,
                key=cid,
                ours=f"cum_qty={o_cum}",
                theirs=f"cum_qty={v_cum} ({v_cum - o_cum} filled without a report)",
            )
        )
    if (o.status, v.status) not in STATUS_COMPATIBLE:
        found.append(
            Difference(
                kind=DifferenceKind.STATUS_MISMATCH,
                key=cid,
                ours=o.status.value,
                theirs=v.status.value,
            )
        )
    return found


def diff_books(
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
    snapshot: BrokerSnapshot,
) -> list[Difference]:
    """Every difference between the session's open orders and positions and the broker's
    snapshot, sorted by kind (declaration order), then key. Raises TypeError for a quantity that
    is not a finite Decimal and ValueError for a snapshot that lists one order id twice. See the
    module docstring for the rules."""
    theirs_orders: dict[str, BrokerOrderView] = {}
    for view in snapshot.open_orders:
        # Two views of one id cannot be paired with one order; picking either would hide the
        # other, so the whole comparison fails (the caller treats a raise as a failed check).
        if view.client_order_id in theirs_orders:
            raise ValueError(f"the broker snapshot lists order {view.client_order_id} twice")
        theirs_orders[view.client_order_id] = view
    found: list[Difference] = []
    for cid in open_orders.keys() | theirs_orders.keys():
        ours, theirs = open_orders.get(cid), theirs_orders.get(cid)
        if ours is not None and theirs is not None:
            found.extend(_compare_order(ours, theirs))
        elif ours is not None:
            found.append(
                Difference(
                    kind=DifferenceKind.ORDER_UNKNOWN_TO_BROKER,
                    key=cid,
                    ours=_ours_text(ours),
                    theirs="not open at the broker",
                )
            )
        elif theirs is not None:
            found.append(
                Difference(
                    kind=DifferenceKind.ORDER_UNKNOWN_TO_SESSION,
                    key=cid,
                    ours="not open in the session",
                    theirs=_theirs_text(theirs),
                )
            )
    ours_pos = _checked_positions(positions, "session")
    theirs_pos = _checked_positions(snapshot.positions, "broker")
    for symbol in ours_pos.keys() | theirs_pos.keys():
        ours_q, theirs_q = ours_pos.get(symbol), theirs_pos.get(symbol)
        if (ZERO if ours_q is None else ours_q) != (ZERO if theirs_q is None else theirs_q):
            found.append(
                Difference(
                    kind=DifferenceKind.POSITION_MISMATCH,
                    key=symbol,
                    ours=_position_text(ours_q),
                    theirs=_position_text(theirs_q),
                )
            )
    return sorted(found, key=lambda d: _sort_key(d.ident))


# ----------------------------------------------------------------------------- grace tracking


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileState:
    """The step at which each difference still present was first seen. Bounded: `reconcile`
    keeps only the differences of its latest call."""

    first_seen: Mapping[DifferenceKey, int] = field(default_factory=dict)

    def to_payload(self) -> list[dict[str, object]]:
        return [
            {"kind": kind.value, "key": key, "first_seen_step": self.first_seen[(kind, key)]}
            for kind, key in sorted(self.first_seen, key=_sort_key)
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileOutcome:
    """What one reconciliation found. `new_pending`: first seen now, within grace (audit as
    pending). `escalated`: age >= grace_steps (the session must go to ERROR_REQUIRES_OPERATOR);
    repeated on every call while present. `cleared`: present last time, gone now."""

    state: ReconcileState
    new_pending: tuple[Difference, ...] = ()
    escalated: tuple[Difference, ...] = ()
    cleared: tuple[DifferenceKey, ...] = ()

    def to_payload(self) -> dict[str, object]:
        return {
            "new_pending": [d.to_payload() for d in self.new_pending],
            "escalated": [d.to_payload() for d in self.escalated],
            "cleared": [{"kind": kind.value, "key": key} for kind, key in self.cleared],
        }


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def reconcile(
    state: ReconcileState, differences: Sequence[Difference], step: int, grace_steps: int
) -> ReconcileOutcome:
    """Age `differences` (this step's findings) against `state` (see the module docstring).
    Raises ValueError for a negative grace or a step before a difference's first sighting (the
    logical clock never goes back)."""
    if not _is_whole(grace_steps) or grace_steps < 0:
        raise ValueError(f"grace_steps must be a whole number >= 0, got {grace_steps!r}")
    if not _is_whole(step):
        raise ValueError(f"step must be a whole number, got {step!r}")
    current: dict[DifferenceKey, Difference] = {}
    for d in differences:
        current.setdefault(d.ident, d)  # diff_books never repeats a (kind, key); first one wins
    first_seen: dict[DifferenceKey, int] = {}
    new_pending: list[Difference] = []
    escalated: list[Difference] = []
    for ident in sorted(current, key=_sort_key):
        seen = state.first_seen.get(ident, step)
        if seen > step:
            raise ValueError(
                f"step {step} is before step {seen}, when {ident[0].value} {ident[1]} was "
                "first seen: the logical clock went backwards"
            )
        first_seen[ident] = seen
        aged = replace(current[ident], first_seen_step=seen, age=step - seen)
        if step - seen >= grace_steps:
            escalated.append(aged)
        elif ident not in state.first_seen:
            new_pending.append(aged)
    cleared = tuple(sorted((i for i in state.first_seen if i not in current), key=_sort_key))
    return ReconcileOutcome(
        state=ReconcileState(first_seen=MappingProxyType(first_seen)),
        new_pending=tuple(new_pending),
        escalated=tuple(escalated),
        cleared=cleared,
    )


# ----------------------------------------------------------------------------- in-flight timeouts


class InFlight(Enum):
    AWAITING_ACK = "awaiting_ack"
    AWAITING_CANCEL = "awaiting_cancel"


class BrokerFinding(Enum):
    """What the snapshot says about a timed-out order. The snapshot lists open orders only, so
    "not found" means "not open at the broker" (never sent, rejected, canceled or filled)."""

    NOT_FOUND = "not_found"  # not open, and the broker's position in its symbol equals ours
    NOT_FOUND_POSITION_DIFFERS = "not_found_position_differs"  # not open, position differs
    WORKING = "working"  # listed open, in any status


class Resolution(Enum):
    MARK_REJECTED = "mark_rejected"  # close it as rejected: cum_qty stays 0
    MARK_CANCELED = "mark_canceled"  # close it as canceled: cum_qty kept, leaves_qty 0
    ESCALATE = "escalate"  # the session must go to ERROR_REQUIRES_OPERATOR


_ACK, _CANCEL, _F = InFlight.AWAITING_ACK, InFlight.AWAITING_CANCEL, BrokerFinding
RESOLUTION_TABLE: dict[tuple[InFlight, BrokerFinding], Resolution] = {
    (_ACK, _F.NOT_FOUND): Resolution.MARK_REJECTED,  # submitted, never reached the broker
    (_ACK, _F.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,  # may have traded unseen
    (_ACK, _F.WORKING): Resolution.ESCALATE,  # the broker has it, the ack report is missing
    (_CANCEL, _F.NOT_FOUND): Resolution.MARK_CANCELED,  # the cancel took; no fill unseen
    (_CANCEL, _F.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,  # fills we have not seen
    (_CANCEL, _F.WORKING): Resolution.ESCALATE,  # the cancel did not take
}

_RESOLUTION_TEXT = {
    Resolution.MARK_REJECTED: "mark it rejected",
    Resolution.MARK_CANCELED: "mark it canceled, keeping its cum_qty",
    Resolution.ESCALATE: "escalate: an operator must reconcile it",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutResolution:
    client_order_id: str
    in_flight: InFlight
    finding: BrokerFinding
    resolution: Resolution
    detail: str

    def to_payload(self) -> dict[str, object]:
        return {
            "client_order_id": self.client_order_id,
            "in_flight": self.in_flight.value,
            "finding": self.finding.value,
            "resolution": self.resolution.value,
            "detail": self.detail,
        }


def _timeout_ok(value: int | None, name: str) -> None:
    if value is not None and (not _is_whole(value) or value < 0):
        raise ValueError(f"{name} must be a whole number >= 0 or None, got {value!r}")


def find_timeouts(
    open_orders: Mapping[str, OrderState],
    cancel_sent_steps: Mapping[str, int],
    step: int,
    ack_timeout_steps: int | None,
    cancel_timeout_steps: int | None,
) -> list[tuple[str, InFlight]]:
    """The open orders whose ack or cancel is overdue at `step`, sorted by order id, each listed
    once (AWAITING_ACK first). A timeout of None disables that check. Entries of
    `cancel_sent_steps` for orders no longer open are ignored."""
    _timeout_ok(ack_timeout_steps, "ack_timeout_steps")
    _timeout_ok(cancel_timeout_steps, "cancel_timeout_steps")
    found: list[tuple[str, InFlight]] = []
    for cid in sorted(open_orders):
        order = open_orders[cid]
        if (
            ack_timeout_steps is not None
            and order.status is OrderStatus.PENDING_NEW
            and step - order.submitted_step >= ack_timeout_steps
        ):
            found.append((cid, InFlight.AWAITING_ACK))
            continue  # the ack is the older request: its answer decides the cancel's too
        sent = cancel_sent_steps.get(cid)
        if (
            cancel_timeout_steps is not None
            and sent is not None
            and step - sent >= cancel_timeout_steps
        ):
            found.append((cid, InFlight.AWAITING_CANCEL))
    return found


def resolve_timeouts(
    timeouts: Iterable[tuple[str, InFlight]],
    snapshot: BrokerSnapshot,
    *,
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
) -> list[TimeoutResolution]:
    """One resolution per timeout, in the given order, from the snapshot and RESOLUTION_TABLE.
    `open_orders` and `positions` are the session's (the same ones `find_timeouts` saw): the
    order's symbol and the session's position in it decide NOT_FOUND against
    NOT_FOUND_POSITION_DIFFERS. Raises ValueError for an order that is not in `open_orders`."""
    working = {v.client_order_id: v for v in snapshot.open_orders}
    resolutions: list[TimeoutResolution] = []
    for cid, in_flight in timeouts:
        order = open_orders.get(cid)
        if order is None:
            raise ValueError(f"timed-out order {cid} is not among the session's open orders")
        waiting = (
            f"{cid} still {order.status.value} since step {order.submitted_step}: no ack"
            if in_flight is InFlight.AWAITING_ACK
            else f"{cid} ({order.status.value}): no canceled or cancel-rejected report"
        )
        view = working.get(cid)
        if view is not None:
            finding = BrokerFinding.WORKING
            seen = f"the broker shows it open: {_theirs_text(view)}"
        else:
            ours_q = positions.get(order.symbol)
            theirs_q = snapshot.positions.get(order.symbol)
            ours_v = ZERO if ours_q is None else _qty(ours_q, f"session position of {order.symbol}")
            theirs_v = (
                ZERO if theirs_q is None else _qty(theirs_q, f"broker position of {order.symbol}")
            )
            compared = (
                f"the broker has no open order {cid}; its {order.symbol} position "
                f"{_position_text(theirs_q)}"
            )
            if ours_v == theirs_v:
                finding = BrokerFinding.NOT_FOUND
                seen = f"{compared} equals the session's {_position_text(ours_q)}"
            else:
                finding = BrokerFinding.NOT_FOUND_POSITION_DIFFERS
                seen = (
                    f"{compared} differs from the session's {_position_text(ours_q)}: "
                    "fills the session has not seen"
                )
        resolution = RESOLUTION_TABLE[(in_flight, finding)]
        resolutions.append(
            TimeoutResolution(
                client_order_id=cid,
                in_flight=in_flight,
                finding=finding,
                resolution=resolution,
                detail=f"{waiting}; {seen}: {_RESOLUTION_TEXT[resolution]}",
            )
        )
    return resolutions


# ----------------------------------------------------------------------------- configuration

# Per key: the smallest value allowed and whether null (None) is allowed. Every value is a whole
# number up to HARD_MAX_STEPS.
_CONFIG_FIELDS: dict[str, tuple[int, bool]] = {
    "every_steps": (1, False),  # 0 would never reconcile
    "grace_steps": (0, False),  # 0 escalates a difference at first sight
    "ack_timeout_steps": (1, True),  # null: no ack timeout; 0 would time out in the submit step
    "cancel_timeout_steps": (1, True),  # null: no cancel timeout
}


class ReconcilerConfigError(ValueError):
    """`config.reconciler` is invalid. Each problem starts with the JSON pointer of its value."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")  # RFC 6901 escaping


def _shown(value: object) -> str:
    if isinstance(value, Decimal | float):
        return f"{value} (a {type(value).__name__.lower()})"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _value_problem(name: str, value: object, pointer: str) -> str | None:
    minimum, nullable = _CONFIG_FIELDS[name]
    if value is None and nullable:
        return None
    if _is_whole(value) and minimum <= value <= HARD_MAX_STEPS:  # type: ignore[operator]
        return None
    # bool, float (5.0 included) and Decimal are refused: a step count is an integer, and YAML
    # turns "yes" and "1.0" into things that merely look like one.
    return (
        f"{pointer}/{name}: must be a whole number >= {minimum}"
        f"{' or null' if nullable else ''} (at most {HARD_MAX_STEPS}), found {_shown(value)}"
    )


def _config_problems(data: Mapping[Any, object], pointer: str) -> list[str]:
    problems: list[str] = []
    for name in _CONFIG_FIELDS:
        if name in data:
            problem = _value_problem(name, data[name], pointer)
            if problem is not None:
                problems.append(problem)
    for key in sorted(data, key=repr):
        if not isinstance(key, str):
            problems.append(f"{pointer or '(root)'}: keys must be strings, found {key!r}")
        elif key not in _CONFIG_FIELDS:
            close = difflib.get_close_matches(key, list(_CONFIG_FIELDS), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(_CONFIG_FIELDS)}"
            problems.append(f"{pointer}/{_pointer_token(key)}: unknown key ({hint})")
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcilerConfig:
    """How often to reconcile and how patient to be. Plain-data shape of `config.reconciler`
    (every key optional; the values shown are the defaults):

    - every_steps: 1 (reconcile at the steps divisible by it; 1: every step)
    - grace_steps: 2 (a difference escalates at age >= grace_steps)
    - ack_timeout_steps: null (an order pending_new this many steps times out; null: off)
    - cancel_timeout_steps: null (a cancel unanswered this many steps times out; null: off)
    """

    every_steps: int = 1
    grace_steps: int = 2
    ack_timeout_steps: int | None = None
    cancel_timeout_steps: int | None = None

    def __post_init__(self) -> None:
        problems = _config_problems(self.to_payload(), "")
        if problems:
            raise ReconcilerConfigError(problems)

    @classmethod
    def from_mapping(cls, data: object, *, pointer: str = "") -> ReconcilerConfig:
        """Strict: unknown keys and wrong types raise ReconcilerConfigError naming every problem,
        each starting with its JSON pointer (`pointer` is where `data` sits, e.g. "/reconciler").
        Missing keys take their defaults."""
        if not isinstance(data, Mapping):
            raise ReconcilerConfigError(
                [f"{pointer or '(root)'}: must be a mapping, found {type(data).__name__}"]
            )
        problems = _config_problems(data, pointer)
        if problems:
            raise ReconcilerConfigError(problems)
        return cls(**{name: data[name] for name in _CONFIG_FIELDS if name in data})

    def is_due(self, step: int) -> bool:
        """Whether the reconciliation runs at `step` (steps count from 1)."""
        return step % self.every_steps == 0

    def to_payload(self) -> dict[str, object]:
        return {
            "every_steps": self.every_steps,
            "grace_steps": self.grace_steps,
            "ack_timeout_steps": self.ack_timeout_steps,
            "cancel_timeout_steps": self.cancel_timeout_steps,
        }


def _steps_schema(name: str, description: str) -> dict[str, object]:
    minimum, nullable = _CONFIG_FIELDS[name]
    schema: dict[str, object] = {
        "description": description,
        "type": ["integer", "null"] if nullable else "integer",
        "minimum": minimum,
        "maximum": HARD_MAX_STEPS,
    }
    schema["default"] = ReconcilerConfig().to_payload()[name]
    return schema


# JSON Schema (Draft 2020-12) of `config.reconciler`. Note: jsonschema accepts 5.0 as an integer;
# from_mapping refuses it (a step count is written as an integer).
CONFIG_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "config.reconciler",
    "description": (
        "Reconciliation of the session's book against the broker's snapshot: how often, how "
        "long a difference may stay pending, and when an unanswered ack or cancel times out."
    ),
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "every_steps": _steps_schema(
            "every_steps", "Reconcile at every step divisible by this number (1: every step)."
        ),
        "grace_steps": _steps_schema(
            "grace_steps",
            "A difference first seen at step s is pending while step - s < grace_steps and "
            "escalates (ERROR_REQUIRES_OPERATOR) at step - s >= grace_steps; 0 escalates at "
            "once.",
        ),
        "ack_timeout_steps": _steps_schema(
            "ack_timeout_steps",
            "An order still pending_new this many steps after its submission step is resolved "
            "from the broker snapshot; null disables the check.",
        ),
        "cancel_timeout_steps": _steps_schema(
            "cancel_timeout_steps",
            "An order still open this many steps after its cancel was sent, with no canceled "
            "or cancel-rejected report, is resolved from the broker snapshot; null disables "
            "the check.",
        ),
    },
}
