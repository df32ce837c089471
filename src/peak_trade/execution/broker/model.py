"""Orders and execution reports with FIX semantics.

Vocabulary follows FIX 4.4 execution reports: OrderQty, CumQty, LeavesQty, LastQty, LastPx, AvgPx,
ExecType and OrdStatus. Every quantity and price is a `Decimal`; nothing here touches a float.

The session judges every report against the order lifecycle (order_lifecycle.py: which report
may follow which status, and the quantity rules of each). `report_violations` below checks one
report on its own against the invariants that need no history beyond the previous cum:
- while the order works, `leaves_qty == order_qty - cum_qty` (the order_qty of the same report:
  after a REPLACED that is the amended quantity);
- in a closed status (filled, canceled, rejected, expired) `leaves_qty == 0`;
- `cum_qty` never decreases and never exceeds `order_qty`;
- a rejected order has `cum_qty == 0`; a trade report raises `cum_qty` by exactly `last_qty`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum

ZERO = Decimal(0)
# The reason a broker gives when asked about an order it does not know (FIX OrdRejReason 5,
# "unknown order"): a status reply with status REJECTED and this reason.
UNKNOWN_ORDER = "unknown order"


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(Enum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(Enum):
    """FIX TimeInForce (59) of an order: DAY (0, the default), GTC (1), IOC (3), FOK (4)."""

    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(Enum):
    """FIX OrdStatus (39), as the Appendix D order state change matrices use it.

    PENDING_NEW is also the session's own status for an order sent but not yet acknowledged.
    DONE_FOR_DAY (3): no further executions today; a DAY order is then done (leaves 0), a GTC
    order keeps its leaves and is restated the next day, so the status alone does not close it.
    STOPPED (7): the sell side guarantees an execution (Appendix D L.1.a). SUSPENDED (9): the
    order is held, e.g. in a trading halt. Not modelled: CALCULATED (B) and ACCEPTED_FOR_BIDDING
    (D), which no Appendix D matrix uses, and REPLACED (5), which FIX 5.0 no longer uses as a
    status (a replace is reported with the order's resulting status).
    """

    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"
    STOPPED = "stopped"
    SUSPENDED = "suspended"

    @property
    def is_closed(self) -> bool:
        # By value string, not by member: the set lookup then hashes a str in C, where hashing
        # the member runs Enum.__hash__ in Python (this runs several times per report).
        return self._value_ in _CLOSED_VALUES


CLOSED_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
_CLOSED_VALUES = frozenset(status.value for status in CLOSED_STATUSES)


class ExecType(Enum):
    """FIX ExecType (150): the event a report tells of. CANCEL_REJECTED and REPLACE_REJECTED stand
    for an OrderCancelReject message (to a cancel, to a cancel/replace request).

    TRADE_CANCEL (H) busts and TRADE_CORRECT (G) corrects an earlier execution, named by the
    report's `exec_ref_id`. RESTATED (D) is an unsolicited change by the sell side (a GTC order
    renewed the next day, a reduced or raised order qty). ORDER_STATUS (I) answers a status request
    or a PossResend of a known order and changes nothing. STOPPED (7) carries a guaranteed price
    and quantity in last_px / last_qty without moving cum_qty.
    """

    NEW = "new"
    TRADE = "trade"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    CANCEL_REJECTED = "cancel_rejected"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    REPLACE_REJECTED = "replace_rejected"
    REJECTED = "rejected"
    EXPIRED = "expired"
    PENDING_NEW = "pending_new"
    DONE_FOR_DAY = "done_for_day"
    STOPPED = "stopped"
    SUSPENDED = "suspended"
    RESTATED = "restated"
    TRADE_CANCEL = "trade_cancel"
    TRADE_CORRECT = "trade_correct"
    ORDER_STATUS = "order_status"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """A command to the broker: place an order. `limit_price` is None for a market order.

    `time_in_force` None means DAY (FIX's default) and is left out of the payload, so an order
    that names none is recorded as before. `poss_resend` marks a resend of an order that may have
    been received already (FIX PossResend 97): a broker that knows the id answers ORDER_STATUS.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    poss_resend: bool = False

    def to_payload(self) -> dict[str, object]:
        # `_value_` is the member's value as stored; `.value` reaches it through two Python-level
        # descriptor calls, which count on the per-order path.
        payload: dict[str, object] = {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side._value_,
            "qty": str(self.qty),
            "order_type": self.order_type._value_,
        }
        if self.limit_price is not None:
            payload["limit_price"] = str(self.limit_price)
        if self.time_in_force is not None:
            payload["time_in_force"] = self.time_in_force._value_
        if self.poss_resend:
            payload["poss_resend"] = True
        return payload

    @property
    def effective_time_in_force(self) -> TimeInForce:
        return TimeInForce.DAY if self.time_in_force is None else self.time_in_force


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """A command to the broker: cancel the remainder of a working order.

    `client_order_id` names the order (FIX OrigClOrdID of the request). `new_client_order_id`,
    when set, is the request's own ClOrdID (FIX chaining, Appendix D B.1 and D.2): the broker's
    answers then carry it as client_order_id with the order's id as orig_client_order_id.
    """

    client_order_id: str
    new_client_order_id: str | None = None

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"client_order_id": self.client_order_id}
        if self.new_client_order_id is not None:
            payload["new_client_order_id"] = self.new_client_order_id
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """A command to the broker: amend a working order (FIX OrderCancelReplaceRequest).

    `new_qty` is the new total order quantity (OrderQty), not the new leaves: the broker keeps the
    filled quantity, so leaves become `new_qty - cum_qty`; a `new_qty` at or below the filled
    quantity leaves the order FILLED at its filled quantity. `new_limit_price` amends the price of
    a limit order. None keeps the current value; a request that changes neither is rejected.
    `new_client_order_id` is the request's own ClOrdID, as for CancelOrder: once REPLACED, the
    order goes by that id (FIX cancel/replace chaining).
    """

    client_order_id: str
    new_qty: Decimal | None = None
    new_limit_price: Decimal | None = None
    new_client_order_id: str | None = None

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"client_order_id": self.client_order_id}
        if self.new_qty is not None:
            payload["new_qty"] = str(self.new_qty)
        if self.new_limit_price is not None:
            payload["new_limit_price"] = str(self.new_limit_price)
        if self.new_client_order_id is not None:
            payload["new_client_order_id"] = self.new_client_order_id
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRequest:
    """A command to the broker: report the order's current state (FIX OrderStatusRequest). The
    answer is an ORDER_STATUS report, which changes nothing; for an order the broker does not
    know it carries status REJECTED (Appendix D G.1.a)."""

    client_order_id: str

    def to_payload(self) -> dict[str, object]:
        return {"client_order_id": self.client_order_id}


BrokerCommand = NewOrder | CancelOrder | ReplaceOrder | StatusRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionReport:
    """One FIX-style execution report from the broker about one order.

    `order_qty` is the order's quantity as the broker holds it when it sends the report: the old
    quantity up to and including PENDING_REPLACE (and on fills that race a pending replace), the
    amended one from REPLACED on. `limit_price` (FIX Price) is set on REPLACED reports only: the
    order's limit price after the replace (None for a market order, and on every other report).

    FIX fields the Appendix D matrices need, each None/False unless set (and then left out of the
    payload, so a report that uses none of them is recorded as before):
    - `exec_ref_id` (ExecRefID 19): the exec id of the earlier execution a TRADE_CANCEL or
      TRADE_CORRECT busts or corrects. A TRADE_CORRECT's last_qty / last_px are the corrected
      values of that execution; a TRADE_CANCEL carries last_qty 0.
    - `orig_client_order_id` (OrigClOrdID 41): on the answers to a chained cancel or replace, the
      order's previous id; `client_order_id` is then the request's new id.
    - `poss_resend` (PossResend 97): the broker may have sent this report before.
    - `time_in_force` (59): the order's time in force, when the broker states it.
    - `day_order_qty` / `day_cum_qty` (DayOrderQty 424 / DayCumQty 425): a GTC order's quantity
      and fills for the current day after a restatement (Appendix D H.1, J.1.c).
    - `reason`: FIX Text / OrdRejReason / CxlRejReason / ExecRestatementReason in words.
    """

    exec_id: str
    client_order_id: str
    exec_type: ExecType
    status: OrderStatus
    symbol: str
    side: Side
    order_qty: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    last_qty: Decimal = ZERO
    last_px: Decimal | None = None
    avg_px: Decimal | None = None
    reason: str | None = None
    poss_resend: bool = False
    limit_price: Decimal | None = None
    exec_ref_id: str | None = None
    orig_client_order_id: str | None = None
    time_in_force: TimeInForce | None = None
    day_order_qty: Decimal | None = None
    day_cum_qty: Decimal | None = None

    def to_payload(self) -> dict[str, object]:
        # `_value_`, not `.value`: see NewOrder.to_payload (this runs once per report).
        payload: dict[str, object] = {
            "exec_id": self.exec_id,
            "client_order_id": self.client_order_id,
            "exec_type": self.exec_type._value_,
            "status": self.status._value_,
            "symbol": self.symbol,
            "side": self.side._value_,
            "order_qty": str(self.order_qty),
            "cum_qty": str(self.cum_qty),
            "leaves_qty": str(self.leaves_qty),
            "last_qty": str(self.last_qty),
        }
        if self.last_px is not None:
            payload["last_px"] = str(self.last_px)
        if self.avg_px is not None:
            payload["avg_px"] = str(self.avg_px)
        if self.reason is not None:
            payload["reason"] = self.reason
        if self.poss_resend:
            payload["poss_resend"] = True
        if self.limit_price is not None:
            payload["limit_price"] = str(self.limit_price)
        if self.exec_ref_id is not None:
            payload["exec_ref_id"] = self.exec_ref_id
        if self.orig_client_order_id is not None:
            payload["orig_client_order_id"] = self.orig_client_order_id
        if self.time_in_force is not None:
            payload["time_in_force"] = self.time_in_force._value_
        if self.day_order_qty is not None:
            payload["day_order_qty"] = str(self.day_order_qty)
        if self.day_cum_qty is not None:
            payload["day_cum_qty"] = str(self.day_cum_qty)
        return payload


# The fields of ExecutionReport in declaration order, and a setter per field: the slot's own
# descriptor, which stores the value without the frozen class's refusing __setattr__.
_REPORT_FIELDS = (
    "exec_id",
    "client_order_id",
    "exec_type",
    "status",
    "symbol",
    "side",
    "order_qty",
    "cum_qty",
    "leaves_qty",
    "last_qty",
    "last_px",
    "avg_px",
    "reason",
    "poss_resend",
    "limit_price",
    "exec_ref_id",
    "orig_client_order_id",
    "time_in_force",
    "day_order_qty",
    "day_cum_qty",
)
if tuple(f.name for f in fields(ExecutionReport)) != _REPORT_FIELDS or hasattr(
    ExecutionReport, "__post_init__"
):  # build_report would leave a field unset or skip a check: refuse to import instead
    raise TypeError("build_report is out of step with ExecutionReport's fields")
(
    _set_exec_id,
    _set_client_order_id,
    _set_exec_type,
    _set_status,
    _set_symbol,
    _set_side,
    _set_order_qty,
    _set_cum_qty,
    _set_leaves_qty,
    _set_last_qty,
    _set_last_px,
    _set_avg_px,
    _set_reason,
    _set_poss_resend,
    _set_limit_price,
    _set_exec_ref_id,
    _set_orig_client_order_id,
    _set_time_in_force,
    _set_day_order_qty,
    _set_day_cum_qty,
) = (vars(ExecutionReport)[name].__set__ for name in _REPORT_FIELDS)
_new_object = object.__new__


def build_report(
    exec_id: str,
    client_order_id: str,
    exec_type: ExecType,
    status: OrderStatus,
    symbol: str,
    side: Side,
    order_qty: Decimal,
    cum_qty: Decimal,
    leaves_qty: Decimal,
    last_qty: Decimal,
    last_px: Decimal | None,
    avg_px: Decimal | None,
    reason: str | None,
    poss_resend: bool,
    limit_price: Decimal | None,
    exec_ref_id: str | None = None,
    orig_client_order_id: str | None = None,
    time_in_force: TimeInForce | None = None,
    day_order_qty: Decimal | None = None,
    day_cum_qty: Decimal | None = None,
) -> ExecutionReport:
    """The same ExecutionReport as `ExecutionReport(exec_id=..., ...)` with every field given,
    built in about half the time: the generated __init__ of a frozen dataclass stores each
    field through object.__setattr__ and parses every keyword, and the mock builds one report
    per event. The FIX fields after `limit_price` default to unset. The result is an ordinary,
    frozen ExecutionReport (equal, hashed and printed the same); the import-time check above
    keeps the field list in step with the class."""
    report = _new_object(ExecutionReport)
    _set_exec_id(report, exec_id)
    _set_client_order_id(report, client_order_id)
    _set_exec_type(report, exec_type)
    _set_status(report, status)
    _set_symbol(report, symbol)
    _set_side(report, side)
    _set_order_qty(report, order_qty)
    _set_cum_qty(report, cum_qty)
    _set_leaves_qty(report, leaves_qty)
    _set_last_qty(report, last_qty)
    _set_last_px(report, last_px)
    _set_avg_px(report, avg_px)
    _set_reason(report, reason)
    _set_poss_resend(report, poss_resend)
    _set_limit_price(report, limit_price)
    _set_exec_ref_id(report, exec_ref_id)
    _set_orig_client_order_id(report, orig_client_order_id)
    _set_time_in_force(report, time_in_force)
    _set_day_order_qty(report, day_order_qty)
    _set_day_cum_qty(report, day_cum_qty)
    return report


# Members as module constants for the per-report paths: `ExecType.TRADE` is a lookup through the
# Enum metaclass (its __getattr__ hook makes every class attribute read slow), a global is not.
_REJECTED = OrderStatus.REJECTED
_TRADE = ExecType.TRADE


def report_violations(report: ExecutionReport, previous_cum: Decimal = ZERO) -> list[str]:
    """The FIX invariants this report breaks, as sentences naming the values; empty when sound.

    `previous_cum` is the cumulative quantity the receiver had applied before this report.
    """
    problems: list[str] = []
    r = report
    if r.cum_qty < previous_cum:
        problems.append(f"cum_qty decreased from {previous_cum} to {r.cum_qty}")
    if r.cum_qty > r.order_qty:
        problems.append(f"overfill: cum_qty {r.cum_qty} exceeds order_qty {r.order_qty}")
    if r.status.is_closed:
        if r.leaves_qty != ZERO:
            problems.append(f"leaves_qty is {r.leaves_qty} in closed status {r.status.value}")
    elif r.leaves_qty != r.order_qty - r.cum_qty:
        problems.append(
            f"leaves_qty {r.leaves_qty} != order_qty {r.order_qty} - cum_qty {r.cum_qty}"
        )
    if r.status is _REJECTED and r.cum_qty != ZERO:
        problems.append(f"rejected order has cum_qty {r.cum_qty}")
    if r.exec_type is _TRADE:
        if r.last_qty <= ZERO:
            problems.append(f"trade report has last_qty {r.last_qty}")
        elif r.cum_qty != previous_cum + r.last_qty and not r.poss_resend:
            problems.append(
                f"cum_qty {r.cum_qty} != previous cum_qty {previous_cum} + last_qty {r.last_qty}"
            )
        if r.last_px is None or r.last_px <= ZERO:
            problems.append(f"trade report has last_px {r.last_px}")
    elif r.last_qty != ZERO:
        problems.append(f"non-trade report ({r.exec_type.value}) has last_qty {r.last_qty}")
    return problems
