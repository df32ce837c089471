"""The session's own book: its orders as it understands them from execution reports, and positions.

`apply_report` is pure: it decides what one report does to one order. `SessionBook` holds the
current orders and positions and is the only mutable part. Memory stays flat over long sessions:
closed orders are kept only in a bounded window (for late reports and expectations), and the
position invariant is fed by running sums rather than a fill ledger.

Positions are derived twice on purpose: from trade reports' `last_qty`, and from the changes of
each order's `cum_qty`. The runtime invariant "position = signed sum of fills" compares the two,
so an inconsistent report or a bookkeeping bug shows up as a breach.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import Enum

from peak_trade.execution.broker.model import (
    ZERO,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    report_violations,
)
from peak_trade.execution.broker.order_lifecycle import Refusal, is_closed, is_overfill, judge
from peak_trade.execution.live.slot_build import slot_builder
from peak_trade.execution.live.used_ids import UsedIds


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderState:
    client_order_id: str
    symbol: str
    side: Side
    order_qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    submitted_step: int
    number: int = 0  # submission order within the session
    status: OrderStatus = OrderStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    leaves_qty: Decimal = ZERO
    notional: Decimal = ZERO  # sum of last_qty * last_px over applied trades
    exec_ids: frozenset[str] = frozenset()
    fills: int = 0  # trades that stand (a bust takes one away)
    time_in_force: TimeInForce = TimeInForce.DAY
    # The trades that stand, in order: (exec id, last qty, last px); a bust or a correction
    # names one of them. Bounded by the order's own executions.
    executions: tuple[tuple[str, Decimal, Decimal], ...] = ()

    @property
    def is_closed(self) -> bool:
        return is_closed(self.status, self.leaves_qty)

    @property
    def avg_px(self) -> Decimal | None:
        return self.notional / self.cum_qty if self.cum_qty else None

    def to_payload(self) -> dict[str, object]:
        avg = self.avg_px
        return {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "order_qty": str(self.order_qty),
            "status": self.status.value,
            "cum_qty": str(self.cum_qty),
            "leaves_qty": str(self.leaves_qty),
            "avg_px": None if avg is None else str(avg),
            "fills": self.fills,
        }


# OrderState's fields in declaration order and a setter per field (the slot's own descriptor,
# which stores the value without the frozen class's refusing __setattr__): the generated __init__
# of a frozen dataclass costs an object.__setattr__ call per field, on every report.
_ORDER_FIELDS = (
    "client_order_id",
    "symbol",
    "side",
    "order_qty",
    "order_type",
    "limit_price",
    "submitted_step",
    "number",
    "status",
    "cum_qty",
    "leaves_qty",
    "notional",
    "exec_ids",
    "fills",
    "time_in_force",
    "executions",
)
if tuple(f.name for f in fields(OrderState)) != _ORDER_FIELDS or hasattr(
    OrderState, "__post_init__"
):  # _order_state would leave a field unset or skip a check: refuse to import instead
    raise TypeError("_order_state is out of step with OrderState's fields")
(
    _set_client_order_id,
    _set_symbol,
    _set_side,
    _set_order_qty,
    _set_order_type,
    _set_limit_price,
    _set_submitted_step,
    _set_number,
    _set_status,
    _set_cum_qty,
    _set_leaves_qty,
    _set_notional,
    _set_exec_ids,
    _set_fills,
    _set_time_in_force,
    _set_executions,
) = (vars(OrderState)[name].__set__ for name in _ORDER_FIELDS)
_new_object = object.__new__


def _order_state(
    client_order_id: str,
    symbol: str,
    side: Side,
    order_qty: Decimal,
    order_type: OrderType,
    limit_price: Decimal | None,
    submitted_step: int,
    number: int,
    status: OrderStatus,
    cum_qty: Decimal,
    leaves_qty: Decimal,
    notional: Decimal,
    exec_ids: frozenset[str],
    fills: int,
    time_in_force: TimeInForce,
    executions: tuple[tuple[str, Decimal, Decimal], ...],
) -> OrderState:
    """OrderState(client_order_id=..., ...) with every field given, built in about half the
    time; the result is an ordinary frozen OrderState (equal, hashed and printed the same)."""
    state = _new_object(OrderState)
    _set_client_order_id(state, client_order_id)
    _set_symbol(state, symbol)
    _set_side(state, side)
    _set_order_qty(state, order_qty)
    _set_order_type(state, order_type)
    _set_limit_price(state, limit_price)
    _set_submitted_step(state, submitted_step)
    _set_number(state, number)
    _set_status(state, status)
    _set_cum_qty(state, cum_qty)
    _set_leaves_qty(state, leaves_qty)
    _set_notional(state, notional)
    _set_exec_ids(state, exec_ids)
    _set_fills(state, fills)
    _set_time_in_force(state, time_in_force)
    _set_executions(state, executions)
    return state


def new_order_state(order: NewOrder, step: int, number: int = 0) -> OrderState:
    return OrderState(
        number=number,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        order_qty=order.qty,
        order_type=order.order_type,
        limit_price=order.limit_price,
        submitted_step=step,
        leaves_qty=order.qty,
        time_in_force=order.effective_time_in_force,
    )


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # exec id already applied: applied once, audited as duplicate
    UNKNOWN_ORDER = "unknown_order"
    REFUSED = "refused"  # the order lifecycle refuses it: the book is unchanged, a breach


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportResult:
    outcome: Outcome
    order: OrderState | None  # after the report (as it was, when not applied)
    violations: tuple[str, ...] = ()
    refusal: Refusal | None = None
    traded: Decimal = ZERO  # how far the order's standing executions moved (the position)


_report_result = slot_builder(ReportResult)

# Members as module constants for the per-report path: a module global is one dict lookup, a
# member read through its Enum class is slower (see broker/model.py).
_TRADE = ExecType.TRADE
_TRADE_CANCEL, _TRADE_CORRECT = ExecType.TRADE_CANCEL, ExecType.TRADE_CORRECT
_CANCEL_REJECTED = ExecType.CANCEL_REJECTED  # with REPLACE_REJECTED: the rejects of a request
_REPLACE_REJECTED = ExecType.REPLACE_REJECTED
_REPLACED, _RESTATED = ExecType.REPLACED, ExecType.RESTATED
_BUY = Side.BUY
_APPLIED = Outcome.APPLIED
_DUPLICATE = Outcome.DUPLICATE
_REFUSED = Outcome.REFUSED


def apply_report(order: OrderState | None, report: ExecutionReport) -> ReportResult:
    """What `report` does to `order` (None when the session does not know the order).

    The order lifecycle judges the report first (broker/order_lifecycle.py); a report it refuses
    leaves the order exactly as it was and comes back as REFUSED with the refusal."""
    if order is None:
        return ReportResult(
            outcome=Outcome.UNKNOWN_ORDER,
            order=None,
            violations=(f"report {report.exec_id} for unknown order {report.client_order_id}",),
        )
    if report.exec_id in order.exec_ids:
        return ReportResult(outcome=_DUPLICATE, order=order)
    status = judge(order, report)
    if status.__class__ is Refusal:
        refusal: Refusal = status  # type: ignore[assignment]
        return ReportResult(
            outcome=_REFUSED, order=order, violations=(refusal.detail,), refusal=refusal
        )
    exec_type = report.exec_type
    exec_ids = order.exec_ids | {report.exec_id}
    # The one report adopted and flagged: an honest overfill (see order_lifecycle.is_overfill).
    violations = (
        tuple(report_violations(report, order.cum_qty))
        if report.cum_qty > report.order_qty and is_overfill(order, report)
        else ()
    )
    if exec_type is _CANCEL_REJECTED or exec_type is _REPLACE_REJECTED:  # identity: no Enum hash
        # A cancel or replace reject carries the order's current status and changes nothing else.
        updated = replace(order, status=status, exec_ids=exec_ids)  # type: ignore[arg-type]
        return ReportResult(outcome=_APPLIED, order=updated)
    notional, fills, executions = order.notional, order.fills, order.executions
    traded = ZERO
    if exec_type is _TRADE:
        last, px = report.last_qty, report.last_px or ZERO
        notional += last * px
        fills += 1
        executions = (*executions, (report.exec_id, last, px))
        traded = last
    elif exec_type is _TRADE_CANCEL or exec_type is _TRADE_CORRECT:
        kept = []
        for execution in executions:  # bounded by the order's executions
            if execution[0] != report.exec_ref_id:
                kept.append(execution)
                continue
            _, old_qty, old_px = execution
            notional -= old_qty * old_px
            traded -= old_qty
            if exec_type is _TRADE_CORRECT:
                new_px = report.last_px or ZERO
                # FIX J.1.a H(F), J.1.d E(D): the execution now goes by the correction's id
                kept.append((report.exec_id, report.last_qty, new_px))
                notional += report.last_qty * new_px
                traded += report.last_qty
            else:
                fills -= 1
        executions = tuple(kept)
    # A REPLACED or RESTATED report carries the amended quantity; every other the one we hold.
    qty_changes = exec_type is _REPLACED or exec_type is _RESTATED
    # Built through the slots rather than with dataclasses.replace or the generated __init__:
    # this is the hot path of every report (see _order_state). Every field is given, in order.
    updated = _order_state(
        order.client_order_id,
        order.symbol,
        order.side,
        report.order_qty if qty_changes else order.order_qty,
        order.order_type,
        report.limit_price or order.limit_price,
        order.submitted_step,
        order.number,
        status,  # type: ignore[arg-type]
        report.cum_qty,
        report.leaves_qty,
        notional,
        exec_ids,
        fills,
        order.time_in_force,
        executions,
    )
    # Positionally, in ReportResult's field order (see slot_build: two per order).
    return _report_result(_APPLIED, updated, violations, None, traded)


@dataclass(slots=True)
class SessionBook:
    """Open orders, a bounded window of closed ones, positions and running totals."""

    closed_retention: int = 10_000
    open_orders: dict[str, OrderState] = field(default_factory=dict)
    closed_orders: OrderedDict[str, OrderState] = field(default_factory=OrderedDict)
    positions: dict[str, Decimal] = field(default_factory=dict)  # from last_qty of trades
    signed_cum: dict[str, Decimal] = field(default_factory=dict)  # from cum_qty changes
    orders_submitted: int = 0
    fills: int = 0
    duplicates: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)  # final status of closed orders
    # Every id sent in this session, also those evicted from the closed window (~8 bytes each).
    used_ids: UsedIds = field(default_factory=UsedIds)
    # Chained ClOrdIDs (a cancel/replace's new id) -> the id the book holds the order by; one
    # entry per accepted chained request.
    aliases: dict[str, str] = field(default_factory=dict)

    def __contains__(self, client_order_id: object) -> bool:
        """Whether the id was used in this session: open, retained, or sent and evicted since."""
        return (
            client_order_id in self.open_orders
            or client_order_id in self.closed_orders
            or client_order_id in self.used_ids
        )

    def known(self, client_order_id: str) -> OrderState | None:
        return self.open_orders.get(client_order_id) or self.closed_orders.get(client_order_id)

    def add(self, order: NewOrder, step: int) -> OrderState:
        self.orders_submitted += 1
        state = new_order_state(order, step, self.orders_submitted)
        self.used_ids.add(order.client_order_id)
        self.open_orders[order.client_order_id] = state
        return state

    def order_for(self, report: ExecutionReport) -> OrderState | None:
        """The order a report is about. FIX cancel/replace chaining: a report may carry the
        request's new ClOrdID with the order's id as OrigClOrdID, and once a replace is accepted
        the order goes by the new id; both lead to the order the session holds (by its first id)."""
        aliases = self.aliases
        cid = report.client_order_id
        order = self.known(aliases.get(cid, cid) if aliases else cid)
        orig = report.orig_client_order_id
        if order is None and orig is not None:
            order = self.known(aliases.get(orig, orig))
        return order

    def apply(self, report: ExecutionReport) -> ReportResult:
        previous = self.order_for(report)
        result = apply_report(previous, report)
        if result.outcome is _DUPLICATE:
            self.duplicates += 1
        if result.outcome is not _APPLIED or previous is None or result.order is None:
            return result
        updated = result.order
        symbol = updated.symbol
        if report.exec_type is _TRADE:
            self.fills += 1
        traded = result.traded
        if traded:
            signed_traded = traded if updated.side is _BUY else -traded
            self.positions[symbol] = self.positions.get(symbol, ZERO) + signed_traded
        delta_cum = updated.cum_qty - previous.cum_qty
        if delta_cum:
            signed = delta_cum if updated.side is _BUY else -delta_cum
            self.signed_cum[symbol] = self.signed_cum.get(symbol, ZERO) + signed
        self._store(previous, updated)
        if report.client_order_id != updated.client_order_id:  # a chained id, now known
            self.aliases[report.client_order_id] = updated.client_order_id
        return result

    def close_locally(self, client_order_id: str, status: OrderStatus) -> OrderState | None:
        """Close an open order without a broker report (a failed submit, a resolved timeout).
        Quantities stay as reported; only the status changes, and leaves drop to zero."""
        order = self.open_orders.get(client_order_id)
        if order is None:
            return None
        closed = replace(order, status=status, leaves_qty=ZERO)
        self._store(order, closed)
        return closed

    def _store(self, previous: OrderState, updated: OrderState) -> None:
        cid = updated.client_order_id
        was_closed = is_closed(previous.status, previous.leaves_qty)
        if not is_closed(updated.status, updated.leaves_qty):
            if was_closed:
                # Only a bust or correction below a FILLED order's qty reopens it (FIX J.1.a;
                # see order_lifecycle): its count as filled goes, so it is never counted twice.
                self._uncount(previous.status.value)
            self.open_orders[cid] = updated
            self.closed_orders.pop(cid, None)
            return
        if not was_closed:
            self.status_counts[updated.status.value] = (
                self.status_counts.get(updated.status.value, 0) + 1
            )
        self.open_orders.pop(cid, None)
        self.closed_orders[cid] = updated
        self.closed_orders.move_to_end(cid)
        # Bounded: one eviction per insertion keeps the window at its configured size.
        if len(self.closed_orders) > self.closed_retention:
            self.closed_orders.popitem(last=False)

    def _uncount(self, status: str) -> None:
        left = self.status_counts.get(status, 0) - 1
        if left > 0:
            self.status_counts[status] = left
        else:
            self.status_counts.pop(status, None)

    def position_breaks(self) -> list[str]:
        """Symbols whose position differs from the signed sum of their orders' filled quantity."""
        return [
            f"{symbol}: position {self.positions.get(symbol, ZERO)} "
            f"!= signed cum_qty {self.signed_cum.get(symbol, ZERO)}"
            for symbol in sorted(self.positions.keys() | self.signed_cum.keys())
            if self.positions.get(symbol, ZERO) != self.signed_cum.get(symbol, ZERO)
        ]

    def orders(self) -> dict[str, OrderState]:
        """Every order still known: open ones and the retained window of closed ones."""
        merged = [*self.closed_orders.values(), *self.open_orders.values()]
        return {o.client_order_id: o for o in sorted(merged, key=lambda o: o.number)}
