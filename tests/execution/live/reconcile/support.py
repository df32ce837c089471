"""Builders for the reconciler and in-flight tests: our order state, the broker's view of it, a
book and a snapshot."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.model import OrderStatus, OrderType, Side
from peak_trade.execution.broker.protocol import BrokerOrderView, BrokerSnapshot
from peak_trade.execution.live.book import OrderState

S = OrderStatus
D = Decimal


def ours(
    cid: str = "o-1",
    *,
    status: S = S.NEW,
    qty: str = "100",
    cum: str = "0",
    leaves: str | None = None,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    submitted: int = 1,
) -> OrderState:
    return OrderState(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_qty=D(qty),
        order_type=OrderType.MARKET,
        limit_price=None,
        submitted_step=submitted,
        status=status,
        cum_qty=D(cum),
        leaves_qty=D(leaves) if leaves is not None else D(qty) - D(cum),
    )


def theirs(
    cid: str = "o-1",
    *,
    status: S = S.NEW,
    qty: str = "100",
    cum: str = "0",
    leaves: str | None = None,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
) -> BrokerOrderView:
    return BrokerOrderView(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(leaves) if leaves is not None else D(qty) - D(cum),
        status=status,
    )


def book(*orders: OrderState) -> dict[str, OrderState]:
    return {o.client_order_id: o for o in orders}


def snap(*orders: BrokerOrderView, positions: dict[str, Decimal] | None = None, step: int = 1):
    return BrokerSnapshot(step=step, open_orders=orders, positions=positions or {})
