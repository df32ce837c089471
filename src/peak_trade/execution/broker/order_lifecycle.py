"""The order lifecycle: which execution report may follow which order status, as data.

Rule: everything that decides whether the session accepts an execution report about an order it
knows lives in this file: the table below, the quantity rules after it, and `judge`, a pure
function over both. The book (execution/live/book.py) asks `judge(order, report)` before it
applies a report, and applies nothing the judge refuses.

Theory of operation
===================

An execution report is an event (FIX ExecType) together with the order's status after it (FIX
OrdStatus). The book holds the order's status before it. A report is accepted when

1. `(status before, exec type)` is a row of TRANSITIONS and the report's status is one of the
   statuses that row allows, and
2. its quantities keep every FIX invariant tied to that status and exec type (QUANTITY_RULES):
   while the order works leaves = order qty - cum; a closed order has leaves 0; FILLED means cum
   = order qty; a trade has last qty > 0 and moves cum by exactly last qty; cum goes down only
   through a TRADE_CANCEL / TRADE_CORRECT naming an execution of this order that still stands;
   every other report keeps cum; a rejected order has cum 0; ...

Anything else is refused with a `Refusal` that names the rule and the values, and changes
nothing. A refusal is a runtime breach of the session (`execution_reports_sound`), never a number
to store: the session cannot tell which half of a contradictory report is true, and a closed
order must stay closed.

Where the order is in several states at once, the report's status follows FIX OrdStatus
precedence (highest first): PENDING_CANCEL, PENDING_REPLACE, DONE_FOR_DAY, FILLED, STOPPED,
CANCELED, PARTIALLY_FILLED, NEW / REJECTED / PENDING_NEW. So a fill while a cancel is pending
keeps PENDING_CANCEL even when it completes the order, and a bust of a canceled order's fill
stays CANCELED. docs/order-lifecycle.md lists every choice made where FIX leaves one.

Closed orders. FILLED, CANCELED, REJECTED and EXPIRED are terminal, and so is DONE_FOR_DAY for an
order whose leaves are 0 (a DAY order; a GTC order done for the day keeps its leaves and is
restated the next day). A closed order is never reopened by an ack, a pending or replaced report
or a late fill, and its status is never rewritten (FILLED -> CANCELED, REJECTED -> EXPIRED): its
rows only take answers that carry its own status (rejects of a cancel/replace, status replies,
late acks) and busts/corrections of its executions, which FIX reports under the closed status
(J.1.b, J.1.d). The one way out is FIX's own: a bust or a correction that takes a FILLED order's
cum below its order qty makes it PARTIALLY_FILLED (or NEW) again (Appendix D J.1.a), since its
leaves can then trade; the session holds that exposure as open rather than hide it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from peak_trade.execution.broker.model import (
    _CLOSED_VALUES,
    ZERO,
    ExecType,
    ExecutionReport,
    OrderStatus,
    Side,
    TimeInForce,
)

S = OrderStatus
X = ExecType

# (status in the book, exec type of the report) -> the statuses the report may carry, which the
# order then takes. One row per line; the docs' diagram is generated from this table.
TRANSITIONS: dict[tuple[OrderStatus, ExecType], tuple[OrderStatus, ...]] = {
    # transitional: sent, not yet acknowledged (a fill may overtake the ack)
    (S.PENDING_NEW, X.PENDING_NEW): (S.PENDING_NEW,),
    (S.PENDING_NEW, X.NEW): (S.NEW,),
    (S.PENDING_NEW, X.TRADE): (S.PARTIALLY_FILLED, S.FILLED),
    (S.PENDING_NEW, X.REJECTED): (S.REJECTED,),
    (S.PENDING_NEW, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.PENDING_NEW, X.CANCELED): (S.CANCELED,),
    (S.PENDING_NEW, X.CANCEL_REJECTED): (S.PENDING_NEW, S.NEW),
    (S.PENDING_NEW, X.PENDING_REPLACE): (S.PENDING_REPLACE,),
    (S.PENDING_NEW, X.REPLACED): (S.NEW,),
    (S.PENDING_NEW, X.REPLACE_REJECTED): (S.PENDING_NEW, S.NEW),
    (S.PENDING_NEW, X.EXPIRED): (S.EXPIRED,),
    (S.PENDING_NEW, X.ORDER_STATUS): (S.PENDING_NEW, S.NEW),
    # working
    (S.NEW, X.NEW): (S.NEW,),
    (S.NEW, X.TRADE): (S.PARTIALLY_FILLED, S.FILLED),
    (S.NEW, X.REJECTED): (S.REJECTED, S.NEW),
    (S.NEW, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.NEW, X.CANCELED): (S.CANCELED,),
    (S.NEW, X.CANCEL_REJECTED): (S.NEW,),
    (S.NEW, X.PENDING_REPLACE): (S.PENDING_REPLACE,),
    (S.NEW, X.REPLACED): (S.NEW,),
    (S.NEW, X.REPLACE_REJECTED): (S.NEW,),
    (S.NEW, X.EXPIRED): (S.EXPIRED,),
    (S.NEW, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.NEW, X.RESTATED): (S.NEW,),
    (S.NEW, X.STOPPED): (S.STOPPED,),
    (S.NEW, X.SUSPENDED): (S.SUSPENDED,),
    (S.NEW, X.ORDER_STATUS): (S.NEW,),
    (S.PARTIALLY_FILLED, X.NEW): (S.PARTIALLY_FILLED,),
    (S.PARTIALLY_FILLED, X.TRADE): (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, X.REJECTED): (S.PARTIALLY_FILLED,),
    (S.PARTIALLY_FILLED, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.PARTIALLY_FILLED, X.CANCELED): (S.CANCELED,),
    (S.PARTIALLY_FILLED, X.CANCEL_REJECTED): (S.PARTIALLY_FILLED,),
    (S.PARTIALLY_FILLED, X.PENDING_REPLACE): (S.PENDING_REPLACE,),
    (S.PARTIALLY_FILLED, X.REPLACED): (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, X.REPLACE_REJECTED): (S.PARTIALLY_FILLED,),
    (S.PARTIALLY_FILLED, X.EXPIRED): (S.EXPIRED,),
    (S.PARTIALLY_FILLED, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.PARTIALLY_FILLED, X.RESTATED): (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, X.STOPPED): (S.STOPPED,),
    (S.PARTIALLY_FILLED, X.SUSPENDED): (S.SUSPENDED,),
    (S.PARTIALLY_FILLED, X.TRADE_CANCEL): (S.PARTIALLY_FILLED, S.NEW),
    (S.PARTIALLY_FILLED, X.TRADE_CORRECT): (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, X.ORDER_STATUS): (S.PARTIALLY_FILLED,),
    (S.STOPPED, X.NEW): (S.STOPPED,),
    (S.STOPPED, X.TRADE): (S.STOPPED, S.PARTIALLY_FILLED, S.FILLED),
    (S.STOPPED, X.STOPPED): (S.STOPPED,),
    (S.STOPPED, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.STOPPED, X.CANCELED): (S.CANCELED,),
    (S.STOPPED, X.CANCEL_REJECTED): (S.STOPPED,),
    (S.STOPPED, X.REPLACE_REJECTED): (S.STOPPED,),
    (S.STOPPED, X.EXPIRED): (S.EXPIRED,),
    (S.STOPPED, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.STOPPED, X.TRADE_CANCEL): (S.STOPPED,),
    (S.STOPPED, X.TRADE_CORRECT): (S.STOPPED,),
    (S.STOPPED, X.ORDER_STATUS): (S.STOPPED,),
    (S.SUSPENDED, X.SUSPENDED): (S.SUSPENDED,),
    (S.SUSPENDED, X.RESTATED): (S.NEW, S.PARTIALLY_FILLED),
    (S.SUSPENDED, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.SUSPENDED, X.CANCELED): (S.CANCELED,),
    (S.SUSPENDED, X.CANCEL_REJECTED): (S.SUSPENDED,),
    (S.SUSPENDED, X.REPLACE_REJECTED): (S.SUSPENDED,),
    (S.SUSPENDED, X.EXPIRED): (S.EXPIRED,),
    (S.SUSPENDED, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.SUSPENDED, X.TRADE_CANCEL): (S.SUSPENDED,),
    (S.SUSPENDED, X.TRADE_CORRECT): (S.SUSPENDED,),
    (S.SUSPENDED, X.ORDER_STATUS): (S.SUSPENDED,),
    # transitional: a cancel or a replace is pending; both outrank every other status
    (S.PENDING_CANCEL, X.NEW): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.TRADE): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.REJECTED): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.CANCELED): (S.CANCELED,),
    (S.PENDING_CANCEL, X.CANCEL_REJECTED): (
        S.NEW,
        S.PARTIALLY_FILLED,
        S.FILLED,
        S.PENDING_REPLACE,
        S.STOPPED,
        S.SUSPENDED,
    ),
    (S.PENDING_CANCEL, X.REPLACED): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.REPLACE_REJECTED): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.EXPIRED): (S.EXPIRED,),
    (S.PENDING_CANCEL, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.PENDING_CANCEL, X.RESTATED): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.TRADE_CANCEL): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.TRADE_CORRECT): (S.PENDING_CANCEL,),
    (S.PENDING_CANCEL, X.ORDER_STATUS): (S.PENDING_CANCEL,),
    (S.PENDING_REPLACE, X.NEW): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.TRADE): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.REJECTED): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.PENDING_CANCEL): (S.PENDING_CANCEL,),
    (S.PENDING_REPLACE, X.CANCELED): (S.CANCELED,),
    (S.PENDING_REPLACE, X.CANCEL_REJECTED): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.PENDING_REPLACE): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.REPLACED): (S.NEW, S.PARTIALLY_FILLED, S.FILLED),
    (S.PENDING_REPLACE, X.REPLACE_REJECTED): (S.NEW, S.PARTIALLY_FILLED, S.FILLED),
    (S.PENDING_REPLACE, X.EXPIRED): (S.EXPIRED,),
    (S.PENDING_REPLACE, X.DONE_FOR_DAY): (S.DONE_FOR_DAY,),
    (S.PENDING_REPLACE, X.RESTATED): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.TRADE_CANCEL): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.TRADE_CORRECT): (S.PENDING_REPLACE,),
    (S.PENDING_REPLACE, X.ORDER_STATUS): (S.PENDING_REPLACE,),
    # done for the day: terminal for a DAY order (leaves 0); a GTC order keeps its leaves and
    # is restated the next day (the rows marked GTC below need leaves > 0, see DORMANT_ONLY)
    (S.DONE_FOR_DAY, X.RESTATED): (S.NEW, S.PARTIALLY_FILLED),  # GTC
    (S.DONE_FOR_DAY, X.PENDING_CANCEL): (S.PENDING_CANCEL,),  # GTC
    (S.DONE_FOR_DAY, X.CANCELED): (S.CANCELED,),  # GTC
    (S.DONE_FOR_DAY, X.EXPIRED): (S.EXPIRED,),  # GTC
    (S.DONE_FOR_DAY, X.CANCEL_REJECTED): (S.DONE_FOR_DAY,),
    (S.DONE_FOR_DAY, X.REPLACE_REJECTED): (S.DONE_FOR_DAY,),
    (S.DONE_FOR_DAY, X.TRADE_CANCEL): (S.DONE_FOR_DAY,),
    (S.DONE_FOR_DAY, X.TRADE_CORRECT): (S.DONE_FOR_DAY,),
    (S.DONE_FOR_DAY, X.ORDER_STATUS): (S.DONE_FOR_DAY,),
    # terminal: only answers that carry the closed status, and busts/corrections of executions
    (S.FILLED, X.NEW): (S.FILLED,),
    (S.FILLED, X.CANCEL_REJECTED): (S.FILLED,),
    (S.FILLED, X.REPLACE_REJECTED): (S.FILLED,),
    (S.FILLED, X.TRADE_CANCEL): (S.PARTIALLY_FILLED, S.NEW),
    (S.FILLED, X.TRADE_CORRECT): (S.FILLED, S.PARTIALLY_FILLED),
    (S.FILLED, X.ORDER_STATUS): (S.FILLED,),
    (S.CANCELED, X.NEW): (S.CANCELED,),
    (S.CANCELED, X.CANCEL_REJECTED): (S.CANCELED,),
    (S.CANCELED, X.REPLACE_REJECTED): (S.CANCELED,),
    (S.CANCELED, X.TRADE_CANCEL): (S.CANCELED,),
    (S.CANCELED, X.TRADE_CORRECT): (S.CANCELED,),
    (S.CANCELED, X.ORDER_STATUS): (S.CANCELED,),
    (S.EXPIRED, X.NEW): (S.EXPIRED,),
    (S.EXPIRED, X.CANCEL_REJECTED): (S.EXPIRED,),
    (S.EXPIRED, X.REPLACE_REJECTED): (S.EXPIRED,),
    (S.EXPIRED, X.TRADE_CANCEL): (S.EXPIRED,),
    (S.EXPIRED, X.TRADE_CORRECT): (S.EXPIRED,),
    (S.EXPIRED, X.ORDER_STATUS): (S.EXPIRED,),
    (S.REJECTED, X.REJECTED): (S.REJECTED,),
    (S.REJECTED, X.CANCEL_REJECTED): (S.REJECTED,),
    (S.REJECTED, X.REPLACE_REJECTED): (S.REJECTED,),
    (S.REJECTED, X.ORDER_STATUS): (S.REJECTED,),
}

TERMINAL_STATUSES = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
# DONE_FOR_DAY is terminal when the order's leaves are 0: see is_closed.
# Rows a done-for-day order takes only while it keeps leaves (a GTC order waiting for the next
# day); for a DAY order, done for the day, they would reopen a closed order.
DORMANT_ONLY = frozenset(
    {
        (S.DONE_FOR_DAY, X.RESTATED),
        (S.DONE_FOR_DAY, X.PENDING_CANCEL),
        (S.DONE_FOR_DAY, X.CANCELED),
        (S.DONE_FOR_DAY, X.EXPIRED),
    }
)
# Orders whose done-for-day status keeps their leaves (the order lives on to the next day).
MULTI_DAY = frozenset({TimeInForce.GTC})

# The rules a report's quantities must keep, by name; a Refusal names one of these or
# "transition" (the table has no such row, or the row does not allow the reported status).
QUANTITY_RULES: dict[str, str] = {
    "order_identity": "a report describes the order the session sent: symbol, side and order "
    "qty (the order qty changes only on REPLACED and RESTATED, and must stay positive)",
    "cum_within_order_qty": "0 <= cum qty <= order qty (more is an overfill)",
    "leaves_while_working": "while the order works, leaves = order qty - cum qty (a GTC order "
    "done for the day keeps working leaves)",
    "leaves_when_closed": "in a closed status (filled, canceled, rejected, expired, done for "
    "day of a DAY order) leaves = 0",
    "status_matches_cum": "NEW and PENDING_NEW have cum 0; PARTIALLY_FILLED has 0 < cum < "
    "order qty; FILLED has cum = order qty; CANCELED, EXPIRED and DONE_FOR_DAY have cum < order "
    "qty (a complete order is FILLED, which outranks them); a REJECTED order has cum 0",
    "trade_moves_cum": "a TRADE has last qty > 0 and last px > 0 and raises cum by exactly last "
    "qty (a PossResend too: its exec id was never applied, so it must fit the book's cum)",
    "bust_names_execution": "a TRADE_CANCEL or TRADE_CORRECT names, in exec_ref_id, an "
    "execution of this order that still stands",
    "bust_moves_cum": "a TRADE_CANCEL has last qty 0 and lowers cum by the busted quantity; a "
    "TRADE_CORRECT has last qty > 0 and last px > 0 and moves cum by (last qty - the "
    "corrected execution's qty); nothing else lowers cum",
    "non_trade_keeps_cum": "every other report keeps cum and has last qty 0 (a STOPPED report "
    "carries its guaranteed quantity in last qty)",
    "dormant_only": "a done-for-day order is restated, canceled or expired only while it keeps "
    "leaves (a GTC order); a DAY order done for the day is closed",
}

# Members as module constants for the per-report path: a global read, not the Enum metaclass's
# attribute hook (see broker/model.py).
# TRANSITIONS by value strings: a str hashes in C (its hash is cached), a member runs
# Enum.__hash__ in Python, and this lookup runs for every report.
_ALLOWED = {
    (source._value_, exec_type._value_): frozenset(t._value_ for t in targets)
    for (source, exec_type), targets in TRANSITIONS.items()
}
_PF, _FILLED = S.PARTIALLY_FILLED, S.FILLED
_REJECTED, _DFD = S.REJECTED, S.DONE_FOR_DAY
_X_TRADE, _X_TRADE_CANCEL, _X_TRADE_CORRECT = X.TRADE, X.TRADE_CANCEL, X.TRADE_CORRECT
_X_REPLACED, _X_RESTATED, _X_STOPPED = X.REPLACED, X.RESTATED, X.STOPPED
_X_CANCEL_REJECTED, _X_REPLACE_REJECTED = X.CANCEL_REJECTED, X.REPLACE_REJECTED
# judge()'s fast path: the rows for the common sound reports, by value strings, each with its
# reported statuses and whether it is a trade. Left out, so always judged in full: rows from or
# to DONE_FOR_DAY (closure depends on time in force), and every exec type but a trade or one
# that keeps cum and the order's qty (busts, corrections, restatements, replaces, stops,
# rejects of orders and requests).
_FAST_EXEC_TYPES = {
    X.TRADE: True,
    **dict.fromkeys(
        (X.NEW, X.PENDING_NEW, X.PENDING_CANCEL, X.CANCELED, X.PENDING_REPLACE, X.EXPIRED),
        False,
    ),
    X.ORDER_STATUS: False,
}
_FAST = {
    (source._value_, exec_type._value_): (
        frozenset(t._value_ for t in targets if t is not S.DONE_FOR_DAY),
        _FAST_EXEC_TYPES[exec_type],
    )
    for (source, exec_type), targets in TRANSITIONS.items()
    if exec_type in _FAST_EXEC_TYPES and source is not S.DONE_FOR_DAY
}
# Per status (by value, DONE_FOR_DAY aside): whether it is closed (leaves 0), and which cum it
# needs: any (0), zero, 0 < cum < qty, cum = qty, cum < qty.
_CUM_ANY, _CUM_ZERO, _CUM_PARTIAL, _CUM_FULL, _CUM_BELOW = range(5)
_STATUS_FACTS = {
    S.PENDING_NEW.value: (False, _CUM_ZERO),
    S.NEW.value: (False, _CUM_ZERO),
    S.PARTIALLY_FILLED.value: (False, _CUM_PARTIAL),
    S.FILLED.value: (True, _CUM_FULL),
    S.PENDING_CANCEL.value: (False, _CUM_ANY),
    S.PENDING_REPLACE.value: (False, _CUM_ANY),
    S.CANCELED.value: (True, _CUM_BELOW),
    S.REJECTED.value: (True, _CUM_ZERO),
    S.EXPIRED.value: (True, _CUM_BELOW),
    S.STOPPED.value: (False, _CUM_ANY),
    S.SUSPENDED.value: (False, _CUM_ANY),
}
# Statuses whose cum must stay below the order qty (a complete order is reported FILLED).
_BELOW_QTY = frozenset(s.value for s in (S.CANCELED, S.EXPIRED, S.DONE_FOR_DAY))
# The statuses an overfilling trade may carry: FILLED, or a pending request that outranks it.
_OVERFILL_STATUSES = frozenset(s.value for s in (S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE))
_ZERO_CUM = frozenset(s.value for s in (S.NEW, S.PENDING_NEW, S.REJECTED))

del S, X


class OrderFacts(Protocol):
    """What the judge reads of the book's order (the book's OrderState has these fields)."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def order_qty(self) -> Decimal: ...
    @property
    def status(self) -> OrderStatus: ...
    @property
    def cum_qty(self) -> Decimal: ...
    @property
    def leaves_qty(self) -> Decimal: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def executions(self) -> tuple[tuple[str, Decimal, Decimal], ...]:
        """The trades that stand, in order: (exec id, last qty, last px)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a report was refused: each broken rule with a sentence naming the values. The order
    is unchanged."""

    client_order_id: str
    exec_id: str
    exec_type: ExecType
    from_status: OrderStatus
    to_status: OrderStatus
    rules: tuple[str, ...]
    problems: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        return self.rules[0]

    @property
    def detail(self) -> str:
        return (
            f"{self.client_order_id} {self.exec_id}: {self.exec_type.value} "
            f"{self.from_status.value} -> {self.to_status.value} refused: "
            + "; ".join(self.problems)
        )

    def to_payload(self) -> dict[str, object]:
        return {
            "client_order_id": self.client_order_id,
            "exec_id": self.exec_id,
            "exec_type": self.exec_type.value,
            "from_status": self.from_status.value,
            "to_status": self.to_status.value,
            "rules": list(self.rules),
            "problems": list(self.problems),
            "values": dict(self.values),
        }


def is_closed(status: OrderStatus, leaves_qty: Decimal) -> bool:
    """Whether an order in `status` with `leaves_qty` is closed: terminal, or done for the day
    with nothing left (a GTC order done for the day keeps its leaves and stays open)."""
    return status._value_ in _CLOSED_VALUES or (status is _DFD and not leaves_qty)


def judge(order: OrderFacts, report: ExecutionReport) -> OrderStatus | Refusal:
    """The status `order` takes from `report`, or a Refusal naming the rules it breaks.

    The caller has matched the report to the order and set duplicates (an exec id already
    applied) aside. Pure: reads both, changes neither.

    This runs for every report, so the common sound report (a trade, or a report that keeps cum,
    on an order not done for the day, with the order's own qty) is recognised here with a few
    comparisons; anything else, sound or not, goes through `explain`, which states every rule
    and is the reference (tests check that both always agree)."""
    r = report
    fast = _FAST.get((order.status._value_, r.exec_type._value_))
    value = r.status._value_
    if fast is None or value not in fast[0]:
        return explain(order, report)
    cum, qty, leaves = r.cum_qty, r.order_qty, r.leaves_qty
    if (
        r.symbol != order.symbol
        or r.side is not order.side
        or qty != order.order_qty
        or qty <= ZERO
        or cum > qty
    ):
        return explain(order, report)
    if fast[1]:  # a trade
        last, px = r.last_qty, r.last_px
        if last <= ZERO or px is None or px <= ZERO or cum != order.cum_qty + last:
            return explain(order, report)
    elif cum != order.cum_qty or r.last_qty:
        return explain(order, report)
    closed, cum_rule = _STATUS_FACTS[value]
    if (leaves if closed else leaves != qty - cum) or (
        cum_rule
        and (
            (cum_rule == _CUM_ZERO and cum)
            or (cum_rule == _CUM_PARTIAL and not ZERO < cum < qty)
            or (cum_rule == _CUM_FULL and cum != qty)
            or (cum_rule == _CUM_BELOW and cum >= qty)
        )
    ):
        return explain(order, report)
    return r.status


def explain(order: OrderFacts, report: ExecutionReport) -> OrderStatus | Refusal:
    """`judge` in full: every rule checked and, on a refusal, each broken one named with its
    values. Also the place of the two reports accepted outside the plain rules: a reject of a
    request for an order the broker does not know, and an honest overfill."""
    before = order.status
    exec_type = report.exec_type
    reported = report.status
    if (exec_type is _X_CANCEL_REJECTED or exec_type is _X_REPLACE_REJECTED) and (
        reported is _REJECTED
    ):
        # The broker does not know the order (FIX B.1.f: status REJECTED, no quantities): the
        # request failed, the order is as it was. The reconciler judges the disagreement.
        return before
    value = reported._value_
    allowed = _ALLOWED.get((before._value_, exec_type._value_))
    rules: list[str] = []
    problems: list[str] = []
    if allowed is None or value not in allowed:
        # Refused already; the quantity rules below still run, to name every problem.
        rules.append("transition")
        problems.append(_transition_problem(order, report))
    r = report
    cum, qty, leaves = r.cum_qty, r.order_qty, r.leaves_qty
    previous_cum = order.cum_qty
    if before is _DFD and (before, exec_type) in DORMANT_ONLY and not order.leaves_qty:
        rules.append("dormant_only")
        problems.append(f"{exec_type.value} of a done-for-day order with no leaves (closed)")
    # -- identity (a reject of a request or a status reply must carry the order's own qty)
    qty_may_change = exec_type is _X_REPLACED or exec_type is _X_RESTATED
    if (
        r.symbol != order.symbol
        or r.side is not order.side
        or qty <= ZERO
        or (qty != order.order_qty and not qty_may_change)
    ):
        rules.append("order_identity")
        problems.append(
            f"report describes {r.side.value} {qty} {r.symbol}, the order is "
            f"{order.side.value} {order.order_qty} {order.symbol}"
        )
    # -- cum and leaves against the reported status
    if cum > qty and not rules and is_overfill(order, report):
        return reported  # adopted; the caller flags it (see is_overfill)
    if cum < ZERO or cum > qty:
        rules.append("cum_within_order_qty")
        problems.append(f"cum_qty {cum} outside 0..order_qty {qty}")
    if value in _CLOSED_VALUES or (reported is _DFD and order.time_in_force not in MULTI_DAY):
        if leaves != ZERO:
            rules.append("leaves_when_closed")
            problems.append(f"leaves_qty {leaves} in closed status {reported.value} (must be 0)")
    elif leaves != qty - cum:
        rules.append("leaves_while_working")
        problems.append(
            f"leaves_qty {leaves} != order_qty {qty} - cum_qty {cum} in {reported.value}"
        )
    if (
        (value in _ZERO_CUM and cum != ZERO)
        or (reported is _PF and not ZERO < cum < qty)
        or (reported is _FILLED and cum != qty)
        or (value in _BELOW_QTY and cum >= qty)
    ):
        rules.append("status_matches_cum")
        problems.append(f"status {value} with cum_qty {cum} of order_qty {qty}")
    # -- how cum may move
    last = r.last_qty
    if exec_type is _X_TRADE:
        if last <= ZERO or r.last_px is None or r.last_px <= ZERO:
            rules.append("trade_moves_cum")
            problems.append(f"trade with last_qty {last} and last_px {r.last_px}")
        elif cum != previous_cum + last:
            rules.append("trade_moves_cum")
            problems.append(f"cum_qty {cum} != previous cum_qty {previous_cum} + last_qty {last}")
    elif exec_type is _X_TRADE_CANCEL or exec_type is _X_TRADE_CORRECT:
        named = _standing(order, r.exec_ref_id)
        if named is None:
            rules.append("bust_names_execution")
            problems.append(
                f"{exec_type.value} names exec_ref_id {r.exec_ref_id}, which is no standing "
                f"execution of {r.client_order_id}"
            )
        else:
            expected = previous_cum - named
            if exec_type is _X_TRADE_CANCEL:
                ok = last == ZERO
            else:
                ok = last > ZERO and r.last_px is not None and r.last_px > ZERO
                expected += last
            if not ok or cum != expected:
                rules.append("bust_moves_cum")
                problems.append(
                    f"{exec_type.value} of {r.exec_ref_id} ({named}) with last_qty {last}: "
                    f"cum_qty {cum}, expected {expected}"
                )
    else:
        if cum != previous_cum:
            rules.append("non_trade_keeps_cum")
            problems.append(
                f"{exec_type.value} moves cum_qty from {previous_cum} to {cum} (missing report?)"
            )
        if last != ZERO and exec_type is not _X_STOPPED:
            rules.append("non_trade_keeps_cum")
            problems.append(f"{exec_type.value} report has last_qty {last} (must be 0)")
    if rules:
        return _refuse(order, report, tuple(rules), tuple(problems))
    return reported


def is_overfill(order: OrderFacts, report: ExecutionReport) -> bool:
    """Whether `report` is an honest overfill of the working `order`: a trade whose fields agree
    with each other and with the order's history (cum = previous cum + last qty, leaves = order
    qty - cum) and that only executes more than the order's qty. Unlike a contradictory report
    it is true (the shares traded), and it closes a working order rather than reopen a closed
    one, so the session adopts it, keeping the exposure counted, and breaches
    `execution_reports_sound` on it: an operator must act. Nothing else above order qty is."""
    r = report
    return (
        r.exec_type is _X_TRADE
        and r.status._value_ in _OVERFILL_STATUSES
        and not is_closed(order.status, order.leaves_qty)
        and r.order_qty == order.order_qty
        and r.cum_qty > r.order_qty
        and r.last_qty > ZERO
        and r.last_px is not None
        and r.last_px > ZERO
        and r.cum_qty == order.cum_qty + r.last_qty
        and r.leaves_qty == r.order_qty - r.cum_qty
    )


def _standing(order: OrderFacts, exec_id: str | None) -> Decimal | None:
    """The quantity of the standing execution `exec_id` of `order`, or None."""
    if exec_id is None:
        return None
    for standing_id, qty, _px in order.executions:  # bounded by the order's executions
        if standing_id == exec_id:
            return qty
    return None


def _transition_problem(order: OrderFacts, report: ExecutionReport) -> str:
    allowed = TRANSITIONS.get((order.status, report.exec_type))
    before, exec_type = order.status.value, report.exec_type.value
    if allowed is None:
        return f"an order in status {before} takes no {exec_type} report"
    shown = " or ".join(s.value for s in allowed)
    return (
        f"an order in status {before} takes a {exec_type} report only with status {shown}; "
        f"this one has {report.status.value}"
    )


def _refuse(
    order: OrderFacts,
    report: ExecutionReport,
    rules: tuple[str, ...],
    problems: tuple[str, ...],
) -> Refusal:
    values = {
        "order_qty": str(report.order_qty),
        "cum_qty": str(report.cum_qty),
        "leaves_qty": str(report.leaves_qty),
        "last_qty": str(report.last_qty),
        "previous_cum_qty": str(order.cum_qty),
        "previous_order_qty": str(order.order_qty),
    }
    if report.last_px is not None:
        values["last_px"] = str(report.last_px)
    if report.exec_ref_id is not None:
        values["exec_ref_id"] = report.exec_ref_id
    return Refusal(
        client_order_id=report.client_order_id,
        exec_id=report.exec_id,
        exec_type=report.exec_type,
        from_status=order.status,
        to_status=report.status,
        rules=rules,
        problems=problems,
        values=values,
    )


def allowed_exec_types(status: OrderStatus) -> tuple[ExecType, ...]:
    """The exec types a report about an order in `status` may have, in table order."""
    return tuple(x for (s, x) in TRANSITIONS if s is status)


def mermaid_diagram() -> str:
    """A mermaid state diagram of TRANSITIONS: one edge per (from, to), labelled with its exec
    types (docs/order-lifecycle.md is generated from this)."""
    edges: dict[tuple[OrderStatus, OrderStatus], list[str]] = {}
    for (source, exec_type), targets in TRANSITIONS.items():
        for target in targets:
            edges.setdefault((source, target), []).append(exec_type.value)
    lines = ["stateDiagram-v2", f"    [*] --> {OrderStatus.PENDING_NEW.value}"]
    for (source, target), exec_types in edges.items():
        lines.append(f"    {source.value} --> {target.value}: {', '.join(exec_types)}")
    lines.extend(
        f"    {status.value} --> [*]"
        for status in (*sorted(TERMINAL_STATUSES, key=lambda s: s.value), OrderStatus.DONE_FOR_DAY)
    )
    return "\n".join(lines) + "\n"
