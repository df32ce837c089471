"""The session book: what reports do to orders, and which ids count as used."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from peak_trade.execution.broker.model import (
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    Side,
)
from peak_trade.execution.live.book import OrderState, Outcome, SessionBook, apply_report

D = Decimal


def limit_buy(cid: str = "o-1") -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        symbol="AAPL",
        side=Side.BUY,
        qty=D(10),
        order_type=OrderType.LIMIT,
        limit_price=D("9.5"),
    )


def report(
    cid: str, n: int, exec_type: ExecType, status: OrderStatus, cum: str, **kw
) -> ExecutionReport:
    return ExecutionReport(
        exec_id=f"{cid}:{n}",
        client_order_id=cid,
        exec_type=exec_type,
        status=status,
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(10),
        cum_qty=D(cum),
        leaves_qty=D(10) - D(cum),
        **kw,
    )


def test_apply_report_names_every_field_of_the_order_state() -> None:
    # apply_report builds OrderState field by field (faster than dataclasses.replace): a new
    # field must be named there too, or it would silently fall back to its default.
    assert [f.name for f in fields(OrderState)] == [
        "client_order_id", "symbol", "side", "order_qty", "order_type", "limit_price",
        "submitted_step", "number", "status", "cum_qty", "leaves_qty", "notional", "exec_ids",
        "fills", "time_in_force", "executions",
    ]  # fmt: skip


def test_a_partial_fill_carries_every_other_field_over() -> None:
    book = SessionBook()
    book.add(limit_buy(), step=3)
    ack = report("o-1", 1, ExecType.NEW, OrderStatus.NEW, "0")
    trade = report(
        "o-1", 2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last_qty=D(4), last_px=D("9.5")
    )
    assert book.apply(ack).outcome is Outcome.APPLIED
    result = book.apply(trade)
    assert result.outcome is Outcome.APPLIED
    assert not result.violations
    order = book.open_orders["o-1"]
    assert order == OrderState(
        client_order_id="o-1",
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(10),
        order_type=OrderType.LIMIT,
        limit_price=D("9.5"),
        submitted_step=3,
        number=1,
        status=OrderStatus.PARTIALLY_FILLED,
        cum_qty=D(4),
        leaves_qty=D(6),
        notional=D("38.0"),
        exec_ids=frozenset({"o-1:1", "o-1:2"}),
        fills=1,
        executions=(("o-1:2", D(4), D("9.5")),),
    )
    assert order.avg_px == D("9.5")
    assert apply_report(order, trade).outcome is Outcome.DUPLICATE
    assert book.positions == {"AAPL": D(4)}
    assert book.position_breaks() == []


def test_an_id_stays_used_after_its_order_leaves_the_closed_window() -> None:
    book = SessionBook(closed_retention=1)
    for cid in ("o-1", "o-2"):
        book.add(limit_buy(cid), step=1)
        book.close_locally(cid, OrderStatus.CANCELED)
    assert "o-1" not in book.closed_orders  # evicted by o-2
    assert "o-1" in book
    assert "o-2" in book
    assert "o-3" not in book
    assert len(book.used_ids) == 2
