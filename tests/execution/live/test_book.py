"""The session book: what reports do to orders, and which ids count as used."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

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


# --- what each report does to the book (found by `make mutate`) --------------------------------


def er(
    n: int,
    exec_type: ExecType,
    status: OrderStatus,
    cum: str = "0",
    *,
    cid: str = "o-1",
    qty: str = "10",
    leaves: str | None = None,
    last: str = "0",
    px: str | None = None,
    side: Side = Side.BUY,
    poss_resend: bool = False,
) -> ExecutionReport:
    if leaves is None:
        leaves = "0" if status.is_closed else str(D(qty) - D(cum))
    return ExecutionReport(
        exec_id=f"{cid}:{n}",
        client_order_id=cid,
        exec_type=exec_type,
        status=status,
        symbol="AAPL",
        side=side,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(leaves),
        last_qty=D(last),
        last_px=None if px is None else D(px),
        poss_resend=poss_resend,
    )


def acked(*cids: str, side: Side = Side.BUY) -> SessionBook:
    book = SessionBook()
    for cid in cids:
        order = NewOrder(client_order_id=cid, symbol="AAPL", side=side, qty=D(10))
        book.add(order, step=1)
        book.apply(er(1, ExecType.NEW, OrderStatus.NEW, cid=cid, side=side))
    return book


@pytest.mark.parametrize("exec_type", [ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED])
def test_a_rejected_request_takes_the_status_only_when_cum_agrees(exec_type) -> None:
    book = acked("o-1")
    book.apply(er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="10"))
    # the broker's answer carries the order's current status: taken, nothing else changes
    result = book.apply(er(3, exec_type, OrderStatus.PARTIALLY_FILLED, "4"))
    assert (result.outcome, result.violations) == (Outcome.APPLIED, ())
    order = book.open_orders["o-1"]
    assert result.order == order
    assert (order.status, order.cum_qty, order.leaves_qty, order.fills) == (
        OrderStatus.PARTIALLY_FILLED, D(4), D(6), 1,
    )  # fmt: skip
    assert "o-1:3" in order.exec_ids
    assert book.apply(er(3, exec_type, OrderStatus.PARTIALLY_FILLED, "4")).outcome is (
        Outcome.DUPLICATE
    )
    # a status resting on fills the session never saw is a missing report, and is not taken
    result = book.apply(er(4, exec_type, OrderStatus.FILLED, "10"))
    assert result.violations  # flagged, whatever the wording
    assert any("cum_qty" in v or "cum" in v for v in result.violations)
    order = book.open_orders["o-1"]
    assert (order.status, order.cum_qty) == (OrderStatus.PARTIALLY_FILLED, D(4))
    assert book.positions == {"AAPL": D(4)}
    assert book.position_breaks() == []


@pytest.mark.parametrize("exec_type", [ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED])
def test_a_reject_for_an_order_the_broker_does_not_know_keeps_ours_working(exec_type) -> None:
    book = acked("o-1")
    answer = er(2, exec_type, OrderStatus.REJECTED, "0", leaves="0", qty="0")
    result = book.apply(answer)
    order = book.open_orders["o-1"]
    assert result.order == order
    assert (order.status, order.order_qty, order.leaves_qty) == (OrderStatus.NEW, D(10), D(10))
    assert book.status_counts == {}


def test_a_replaced_report_amends_the_quantity_and_the_price() -> None:
    book = acked("o-1")
    replaced = ExecutionReport(
        exec_id="o-1:2",
        client_order_id="o-1",
        exec_type=ExecType.REPLACED,
        status=OrderStatus.NEW,
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(6),
        cum_qty=D(0),
        leaves_qty=D(6),
        limit_price=D("9.75"),
    )
    result = book.apply(replaced)
    assert (result.outcome, result.violations) == (Outcome.APPLIED, ())
    order = book.open_orders["o-1"]
    assert (order.order_qty, order.leaves_qty, order.limit_price) == (D(6), D(6), D("9.75"))
    # from now on the amended quantity is the one the session sent
    fill = er(3, ExecType.TRADE, OrderStatus.FILLED, "6", qty="6", last="6", px="9.75")
    assert book.apply(fill).violations == ()
    assert book.closed_orders["o-1"].cum_qty == D(6)


def test_a_trade_on_a_closed_order_is_named() -> None:
    book = acked("o-1")
    book.apply(er(2, ExecType.CANCELED, OrderStatus.CANCELED, "0"))
    late = er(3, ExecType.TRADE, OrderStatus.FILLED, "10", last="10", px="10")
    violations = book.apply(late).violations
    assert violations
    assert any("canceled" in v for v in violations)  # names the status it was closed in


def test_a_non_trade_report_never_adds_to_the_notional() -> None:
    # A malformed ack that carries a last qty and price: flagged, and priced nowhere.
    book = acked("o-1")
    bad = er(2, ExecType.NEW, OrderStatus.NEW, "0", last="5", px="99")
    assert book.apply(bad).violations
    order = book.open_orders["o-1"]
    assert (order.notional, order.fills, order.avg_px) == (D(0), 0, None)
    assert book.positions == {}
    assert book.fills == 0


def test_a_duplicate_carries_the_order_as_the_session_knows_it() -> None:
    book = acked("o-1")
    fill = er(2, ExecType.TRADE, OrderStatus.FILLED, "10", last="10", px="10")
    book.apply(fill)
    result = book.apply(fill)
    assert result.outcome is Outcome.DUPLICATE
    assert result.order == book.closed_orders["o-1"]
    assert result.order.status is OrderStatus.FILLED
    assert (book.duplicates, book.fills) == (1, 1)
    book.apply(fill)
    assert (book.duplicates, book.fills) == (2, 1)
    assert book.positions == {"AAPL": D(10)}


def test_an_order_payload_names_every_field_the_audit_shows() -> None:
    book = acked("o-1")
    assert book.open_orders["o-1"].to_payload() == {
        "client_order_id": "o-1",
        "symbol": "AAPL",
        "side": "buy",
        "order_qty": "10",
        "status": "new",
        "cum_qty": "0",
        "leaves_qty": "10",
        "avg_px": None,
        "fills": 0,
    }
    book.apply(er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="10.5"))
    payload = book.open_orders["o-1"].to_payload()
    assert (payload["cum_qty"], payload["leaves_qty"], payload["avg_px"], payload["fills"]) == (
        "4", "6", "10.5", 1,
    )  # fmt: skip
    assert payload["status"] == "partially_filled"


def test_orders_are_numbered_in_submission_order_and_listed_so() -> None:
    book = acked("o-b", "o-a", "o-c")
    assert [book.open_orders[c].number for c in ("o-b", "o-a", "o-c")] == [1, 2, 3]
    assert book.orders_submitted == 3
    book.apply(er(2, ExecType.CANCELED, OrderStatus.CANCELED, cid="o-a"))
    book.apply(er(2, ExecType.CANCELED, OrderStatus.CANCELED, cid="o-b"))
    assert list(book.orders()) == ["o-b", "o-a", "o-c"]  # closed and open, by number
    assert book.orders()["o-a"].status is OrderStatus.CANCELED
    assert "o-a" in book
    assert book.known("o-a") is book.closed_orders["o-a"]


def test_each_order_is_counted_once_in_its_final_status() -> None:
    book = acked("o-1", "o-2", "o-3")
    book.apply(er(2, ExecType.CANCELED, OrderStatus.CANCELED, cid="o-1"))
    book.apply(er(2, ExecType.CANCELED, OrderStatus.CANCELED, cid="o-2"))
    book.apply(er(2, ExecType.TRADE, OrderStatus.FILLED, "10", cid="o-3", last="10", px="1"))
    assert book.status_counts == {"canceled": 2, "filled": 1}
    # a late report about a closed order does not count it again
    book.apply(er(3, ExecType.CANCEL_REJECTED, OrderStatus.FILLED, "10", cid="o-3"))
    assert book.status_counts == {"canceled": 2, "filled": 1}


def test_the_closed_window_holds_exactly_its_retention() -> None:
    book = SessionBook(closed_retention=2)
    for cid in ("o-1", "o-2", "o-3"):
        book.add(NewOrder(client_order_id=cid, symbol="AAPL", side=Side.BUY, qty=D(1)), step=1)
    book.close_locally("o-1", OrderStatus.CANCELED)
    book.close_locally("o-2", OrderStatus.CANCELED)
    assert list(book.closed_orders) == ["o-1", "o-2"]  # at the bound: nothing evicted
    book.close_locally("o-3", OrderStatus.CANCELED)
    assert list(book.closed_orders) == ["o-2", "o-3"]  # the oldest goes first
    assert "o-1" in book


def test_close_locally_closes_an_open_order_with_no_leaves() -> None:
    book = acked("o-1", "o-2")
    book.apply(er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="10"))
    closed = book.close_locally("o-1", OrderStatus.EXPIRED)
    assert closed is book.closed_orders["o-1"]
    assert (closed.status, closed.cum_qty, closed.leaves_qty) == (OrderStatus.EXPIRED, D(4), D(0))
    assert "o-1" not in book.open_orders
    assert "o-2" in book.open_orders  # the other order is untouched
    assert book.status_counts == {"expired": 1}
    assert book.close_locally("o-1", OrderStatus.CANCELED) is None  # no longer open
    assert book.close_locally("ghost", OrderStatus.CANCELED) is None
    assert book.closed_orders["o-1"].status is OrderStatus.EXPIRED


def test_positions_and_cum_are_signed_and_summed_per_symbol() -> None:
    book = acked("b-1", "b-2")
    book.add(NewOrder(client_order_id="s-1", symbol="AAPL", side=Side.SELL, qty=D(10)), step=1)
    book.apply(er(1, ExecType.NEW, OrderStatus.NEW, cid="s-1", side=Side.SELL))
    book.apply(
        er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", cid="b-1", last="4", px="1")
    )
    book.apply(
        er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "3", cid="b-2", last="3", px="1")
    )
    book.apply(
        er(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "2", cid="s-1", last="2", px="1",
           side=Side.SELL)
    )  # fmt: skip
    assert book.positions == {"AAPL": D(5)}
    assert book.signed_cum == {"AAPL": D(5)}
    assert book.fills == 3
    assert book.position_breaks() == []
