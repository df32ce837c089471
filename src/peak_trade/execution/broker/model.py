"""Orders and execution reports with FIX semantics.

Vocabulary follows FIX 4.4 execution reports: OrderQty, CumQty, LeavesQty, LastQty, LastPx, AvgPx,
ExecType and OrdStatus. Every quantity and price is a `Decimal`; nothing here touches a float.

The invariants that must hold for every report (checked by `report_violations`):
- while the order works, `leaves_qty == order_qty - cum_qty` (the order_qty of the same report:
  after a REPLACED that is the amended quantity);
- in a closed status (filled, canceled, rejected, expired) `leaves_qty == 0`;
- `cum_qty` never decreases and never exceeds `order_qty`;
- a rejected order has `cum_qty == 0`; a trade report raises `cum_qty` by exactly `last_qty`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

ZERO = Decimal(0)


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(Enum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(Enum):
    """FIX OrdStatus, plus PENDING_NEW for an order sent but not yet acknowledged."""

    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUSES


CLOSED_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class ExecType(Enum):
    """FIX ExecType; CANCEL_REJECTED stands for an OrderCancelReject message."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """A command to the broker: place an order. `limit_price` is None for a market order."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "order_type": self.order_type.value,
        }
        if self.limit_price is not None:
            payload["limit_price"] = str(self.limit_price)
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """A command to the broker: cancel the remainder of a working order."""

    client_order_id: str

    def to_payload(self) -> dict[str, object]:
        return {"client_order_id": self.client_order_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """A command to the broker: amend a working order (FIX OrderCancelReplaceRequest).

    `new_qty` is the new total order quantity (OrderQty), not the new leaves: the broker keeps the
    filled quantity, so leaves become `new_qty - cum_qty`; a `new_qty` at or below the filled
    quantity leaves the order FILLED at its filled quantity. `new_limit_price` amends the price of
    a limit order. None keeps the current value; a request that changes neither is rejected.
    """

    client_order_id: str
    new_qty: Decimal | None = None
    new_limit_price: Decimal | None = None

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"client_order_id": self.client_order_id}
        if self.new_qty is not None:
            payload["new_qty"] = str(self.new_qty)
        if self.new_limit_price is not None:
            payload["new_limit_price"] = str(self.new_limit_price)
        return payload


BrokerCommand = NewOrder | CancelOrder | ReplaceOrder


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionReport:
    """One FIX-style execution report from the broker about one order.

    `order_qty` is the order's quantity as the broker holds it when it sends the report: the old
    quantity up to and including PENDING_REPLACE (and on fills that race a pending replace), the
    amended one from REPLACED on. `limit_price` (FIX Price) is set on REPLACED reports only: the
    order's limit price after the replace (None for a market order, and on every other report).
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

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "exec_id": self.exec_id,
            "client_order_id": self.client_order_id,
            "exec_type": self.exec_type.value,
            "status": self.status.value,
            "symbol": self.symbol,
            "side": self.side.value,
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
        return payload


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
    if r.status is OrderStatus.REJECTED and r.cum_qty != ZERO:
        problems.append(f"rejected order has cum_qty {r.cum_qty}")
    if r.exec_type is ExecType.TRADE:
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
