"""The session book and the FIX matrices: id chains, busts and corrections, restatements."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.model import ExecType, ExecutionReport, NewOrder, OrderStatus, Side
from peak_trade.execution.live.book import SessionBook, executed_qty

D = Decimal
E, S = ExecType, OrderStatus


def order(cid: str = "X") -> NewOrder:
    return NewOrder(client_order_id=cid, symbol="XYZ", side=Side.BUY, qty=D(10000))


def rep(n: int, exec_type: ExecType, status: OrderStatus, cum: str, **kw) -> ExecutionReport:
    qty = kw.pop("qty", "10000")
    leaves = kw.pop("leaves", None)
    return ExecutionReport(
        exec_id=kw.pop("exec_id", f"X:{n}"),
        client_order_id=kw.pop("cid", "X"),
        exec_type=exec_type,
        status=status,
        symbol="XYZ",
        side=Side.BUY,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(leaves) if leaves is not None else D(qty) - D(cum),
        **kw,
    )


def test_a_chained_replace_rekeys_the_order_and_old_ids_still_find_it() -> None:
    book = SessionBook()
    book.add(order(), 1)
    book.apply(rep(1, E.NEW, S.NEW, "0"))
    book.chain("Y", "X")
    assert "Y" in book
    assert book.known("Y") is book.open_orders["X"]  # the request's id names the order
    pending = rep(2, E.PENDING_REPLACE, S.PENDING_REPLACE, "0", cid="Y", orig_client_order_id="X")
    assert not book.apply(pending).violations
    replaced = rep(3, E.REPLACED, S.NEW, "0", qty="8000", cid="Y", orig_client_order_id="X")
    result = book.apply(replaced)
    assert not result.violations
    assert list(book.open_orders) == ["Y"]
    assert book.open_orders["Y"].order_qty == D(8000)
    assert book.resolve("X") == "Y"
    assert book.known("X") is book.open_orders["Y"]
    book.chain("Z", "X")  # a request naming the old id goes for the order's current one
    assert book.aliases == {"X": "Y", "Z": "Y"}


def test_bust_and_correct_recompute_notional_and_position_from_what_stands() -> None:
    book = SessionBook()
    book.add(order(), 1)
    book.apply(rep(1, E.NEW, S.NEW, "0"))
    book.apply(rep(2, E.TRADE, S.PARTIALLY_FILLED, "1000", last_qty=D(1000), last_px=D(100)))
    book.apply(rep(3, E.TRADE, S.FILLED, "10000", last_qty=D(9000), last_px=D(110)))
    assert book.orders()["X"].avg_px == D(109)
    bust = rep(4, E.TRADE_CANCEL, S.PARTIALLY_FILLED, "9000", last_px=D(0), exec_ref_id="X:2")
    assert not book.apply(bust).violations[1:]  # (the cum decrease is the judge's to accept)
    x = book.open_orders["X"]  # a busted filled order works again
    assert (x.cum_qty, x.avg_px, executed_qty(x)) == (D(9000), D(110), D(9000))
    assert book.positions == {"XYZ": D(9000)}
    assert book.status_counts == {}  # it was counted filled; it is not final any more
    correct = rep(
        5, E.TRADE_CORRECT, S.PARTIALLY_FILLED, "9000", last_qty=D(9000), last_px=D(100),
        exec_ref_id="X:3",
    )  # fmt: skip
    book.apply(correct)
    x = book.open_orders["X"]
    assert x.avg_px == D(100)
    assert x.executions == (("X:5", D(9000), D(100)),)
    assert book.positions == {"XYZ": D(9000)}
    assert book.position_breaks() == []


def test_a_bust_of_an_execution_never_applied_changes_nothing_and_says_so() -> None:
    book = SessionBook()
    book.add(order(), 1)
    book.apply(rep(1, E.TRADE, S.PARTIALLY_FILLED, "1000", last_qty=D(1000), last_px=D(100)))
    result = book.apply(rep(2, E.TRADE_CANCEL, S.NEW, "0", exec_ref_id="X:9"))
    assert any(
        "names execution 'X:9', which the session never applied" in v for v in result.violations
    )
    assert book.positions == {"XYZ": D(1000)}


def test_a_restatement_changes_the_order_qty_without_a_violation() -> None:
    book = SessionBook()
    book.add(order(), 1)
    book.apply(rep(1, E.NEW, S.NEW, "0"))
    result = book.apply(rep(2, E.RESTATED, S.NEW, "0", qty="9000", reason="partial decline"))
    assert not result.violations
    assert book.open_orders["X"].order_qty == D(9000)
    assert book.open_orders["X"].leaves_qty == D(9000)
