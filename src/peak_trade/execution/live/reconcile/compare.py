"""Reconciliation: the session's own book against the broker's snapshot, as findings only.

Theory of operation
===================

Everything here is a pure function of its arguments: nothing changes the book, reads a clock or
keeps hidden state. Time is the logical step. The caller (the orchestrator) decides what a
finding does to the session; this module only says what it found.

Call it after the step's execution reports have been applied, with a snapshot taken after that
poll, on every step where `ReconcilerConfig.is_due(step)` (config.py):

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
   `resolve_timeouts(...)` looks each up in the snapshot and answers from `RESOLUTION_TABLE`
   (in_flight.py).

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
- CASH_MISMATCH: the session keeps an account view (live/account.py) and its cash differs from
  the broker's statement, or the broker's snapshot carries no account at all (never "agreement").
  The key is the currency. Like positions, it is pending within the grace period.

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
- A timed-out order that is not open at the broker is only closed without fills when the
  broker's position in its symbol equals the session's (see in_flight.py).
- The reconciler never writes into the book, so no absent value ever becomes a stored 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum
from types import MappingProxyType

from peak_trade.execution.broker.model import ZERO, OrderStatus
from peak_trade.execution.broker.protocol import BrokerOrderView, BrokerSnapshot
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.reconcile.config import _is_whole

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
    CASH_MISMATCH = "cash_mismatch"


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
    # the working statuses of the FIX order lifecycle beyond these (order_lifecycle.py)
    (S.NEW, S.STOPPED): "the guarantee is in flight",
    (S.PARTIALLY_FILLED, S.STOPPED): "the guarantee is in flight",
    (S.STOPPED, S.STOPPED): "agree",
    (S.STOPPED, S.PENDING_CANCEL): "our cancel's pending report is in flight",
    (S.NEW, S.SUSPENDED): "the suspension is in flight",
    (S.PARTIALLY_FILLED, S.SUSPENDED): "the suspension is in flight",
    (S.SUSPENDED, S.SUSPENDED): "agree",
    (S.SUSPENDED, S.NEW): "the reinstatement is in flight",
    (S.SUSPENDED, S.PARTIALLY_FILLED): "the reinstatement is in flight",
    (S.NEW, S.DONE_FOR_DAY): "the done-for-day report of a GTC order is in flight",
    (S.PARTIALLY_FILLED, S.DONE_FOR_DAY): "the done-for-day report of a GTC order is in flight",
    (S.DONE_FOR_DAY, S.DONE_FOR_DAY): "agree (a GTC order done for the day, open on both sides)",
    (S.DONE_FOR_DAY, S.NEW): "the next day's restatement is in flight",
    (S.DONE_FOR_DAY, S.PARTIALLY_FILLED): "the next day's restatement is in flight",
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


def _cash_difference(cash: tuple[str, Decimal], snapshot: BrokerSnapshot) -> Difference | None:
    currency, ours = cash
    _qty(ours, "session cash")
    statement = snapshot.account
    if statement is None:
        return Difference(
            kind=DifferenceKind.CASH_MISMATCH,
            key=currency,
            ours=str(ours),
            theirs="no account in the broker snapshot",
        )
    theirs = _qty(statement.cash, "broker cash")
    if statement.currency == currency and theirs == ours:
        return None
    return Difference(
        kind=DifferenceKind.CASH_MISMATCH,
        key=currency,
        ours=f"{ours} {currency}",
        theirs=f"{theirs} {statement.currency}",
    )


def diff_books(
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
    snapshot: BrokerSnapshot,
    cash: tuple[str, Decimal] | None = None,
) -> list[Difference]:
    """Every difference between the session's open orders and positions and the broker's
    snapshot, sorted by kind (declaration order), then key. Raises TypeError for a quantity that
    is not a finite Decimal and ValueError for a snapshot that lists one order id twice. `cash`,
    (currency, amount) when the session keeps an account, is compared with the broker's
    statement. See the module docstring for the rules."""
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
    if cash is not None:
        difference = _cash_difference(cash, snapshot)
        if difference is not None:
            found.append(difference)
    return sorted(found, key=lambda d: _sort_key(d.ident))


def books_agree(
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
    snapshot: BrokerSnapshot,
    cash: tuple[str, Decimal] | None = None,
) -> bool:
    """True only when `diff_books(open_orders, positions, snapshot)` would return no difference
    (and not raise): the cheap test for the common step where both books agree, so that the
    reconciliation pass builds nothing. False means "not shown to agree": the caller then runs
    `diff_books`, which finds and words every difference (or raises) exactly as without this test.

    It applies diff_books' rules, only stricter: every quantity a finite Decimal, the same open
    order ids on both sides (each listed once by the broker), per order the same symbol, side,
    order_qty, cum_qty and leaves_qty and a pair of statuses in STATUS_COMPATIBLE, and per symbol
    of either side the same position (absent compared as 0). Anything unexpected, an exception
    included, answers False and so leaves the verdict to diff_books."""
    try:
        if cash is not None and _cash_difference(cash, snapshot) is not None:
            return False
        return _books_agree(open_orders, positions, snapshot)
    except Exception:  # a malformed input is diff_books' to name (it raises the same way)
        return False


def _books_agree(
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
    snapshot: BrokerSnapshot,
) -> bool:
    dec = Decimal
    views = snapshot.open_orders
    count = len(views)
    if count != len(open_orders):
        return False
    # Equal counts, every view's id open in the session and no id listed twice: the two id sets
    # are equal, so there is no ORDER_UNKNOWN_TO_* and no duplicate view for diff_books to raise.
    if count > 1 and len({v.client_order_id for v in views}) != count:
        return False
    for v in views:  # bounded by the broker's open orders
        o = open_orders.get(v.client_order_id)
        if o is None:
            return False
        o_qty, o_cum, o_leaves = o.order_qty, o.cum_qty, o.leaves_qty
        v_qty, v_cum, v_leaves = v.order_qty, v.cum_qty, v.leaves_qty
        if not (
            isinstance(o_qty, dec)
            and isinstance(o_cum, dec)
            and isinstance(o_leaves, dec)
            and isinstance(v_qty, dec)
            and isinstance(v_cum, dec)
            and isinstance(v_leaves, dec)
            and o_qty.is_finite()
            and o_cum.is_finite()
            and o_leaves.is_finite()
            and v_qty.is_finite()
            and v_cum.is_finite()
            and v_leaves.is_finite()
            # Equal quantities: no QUANTITY_MISMATCH and, with equal cum, no MISSING_REPORT.
            and o_qty == v_qty
            and o_cum == v_cum
            and o_leaves == v_leaves
            # `==` on each part is at least as strict as diff_books' tuple comparison.
            and o.symbol == v.symbol
            and o.side == v.side
            and (o.status, v.status) in STATUS_COMPATIBLE
        ):
            return False
    theirs = snapshot.positions
    for symbol, q in positions.items():  # bounded by the session's symbols
        if not (isinstance(q, dec) and q.is_finite()):
            return False
        t = theirs.get(symbol, ZERO)  # an absent position is compared as 0
        if not (isinstance(t, dec) and t.is_finite() and t == q):
            return False
    # Every broker position a finite Decimal (else diff_books raises), 0 where the session lists
    # no position; bounded by the broker's symbols.
    return all(
        isinstance(q, dec) and q.is_finite() and (symbol in positions or q == ZERO)
        for symbol, q in theirs.items()
    )


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
    if not differences and not state.first_seen:
        # Nothing found now and nothing pending before: the outcome below would be empty. This is
        # the common step, so the shared empty outcome (immutable) is handed out instead.
        return NOTHING_FOUND
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


# The outcome of a reconciliation that finds nothing with nothing pending from before: built once
# and shared (every field is immutable). Its state is the empty state that follows such a step.
NOTHING_FOUND = ReconcileOutcome(state=ReconcileState(first_seen=MappingProxyType({})))
