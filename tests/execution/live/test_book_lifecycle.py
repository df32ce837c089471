"""The book under the order lifecycle: a refused report changes nothing, no sequence of reports
reopens or rewrites a closed order, and the counts and positions stay whole."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.model import (
    ExecType,
    NewOrder,
    OrderStatus,
    Side,
    TimeInForce,
)
from peak_trade.execution.broker.order_lifecycle import is_closed
from peak_trade.execution.live.book import Outcome, SessionBook
from tests.execution.broker.test_order_lifecycle import APPENDIX_D, fix, report_for

D = Decimal
S = OrderStatus
X = ExecType


def book_with(qty: int = 100, tif: TimeInForce | None = None) -> SessionBook:
    book = SessionBook()
    order = NewOrder(
        client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=D(qty), time_in_force=tif
    )
    book.add(order, step=1)
    return book


def snapshot(book: SessionBook) -> tuple[object, ...]:
    return (
        dict(book.open_orders),
        dict(book.closed_orders),
        dict(book.positions),
        dict(book.signed_cum),
        dict(book.status_counts),
        book.fills,
        book.duplicates,
    )


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([None, TimeInForce.DAY, TimeInForce.GTC]))
def test_property_refused_reports_change_nothing_and_closed_orders_stay_closed(data, tif):
    book = book_with(tif=tif)
    used: list[str] = []
    for n in range(14):  # bounded
        order = book.known("o-1")
        assert order is not None
        report = data.draw(report_for(order, n), label=f"report {n}")
        if used and data.draw(st.integers(0, 5)) == 0:  # now and then an exec id seen before
            report = replace(report, exec_id=data.draw(st.sampled_from(used)))
        before = snapshot(book)
        was_closed = order.is_closed
        result = book.apply(report)
        if result.outcome is Outcome.REFUSED:
            assert snapshot(book) == before, "a refused report changed the book"
            assert result.refusal is not None
            assert result.order == order
            continue
        used.append(report.exec_id)
        after = book.known("o-1")
        assert after is not None
        if result.outcome is Outcome.DUPLICATE:
            assert after == order
        if was_closed:
            if after.is_closed:
                assert after.status is order.status, "a closed status was rewritten"
            else:  # FIX J.1.a: only a bust or correction below a filled order's qty reopens it
                assert order.status is S.FILLED
                assert report.exec_type in (X.TRADE_CANCEL, X.TRADE_CORRECT)
                assert after.cum_qty < after.order_qty
        # the book's own bookkeeping stays whole
        assert ("o-1" in book.open_orders) is not is_closed(after.status, after.leaves_qty)
        assert ("o-1" in book.closed_orders) is is_closed(after.status, after.leaves_qty)
        assert book.status_counts == dict(
            Counter(o.status.value for o in book.closed_orders.values())
        )
        assert book.position_breaks() == []
        assert after.fills == len(after.executions)


def test_a_refused_late_ack_leaves_a_canceled_order_closed_and_counted_once():
    book = book_with()
    for report in [
        fix(X.NEW, S.NEW, 100, 0, 100, n=1),
        fix(X.CANCELED, S.CANCELED, 100, 0, 0, n=2),
    ]:
        assert book.apply(report).outcome is Outcome.APPLIED
    assert book.status_counts == {"canceled": 1}
    for n, report in enumerate(
        [
            fix(X.NEW, S.NEW, 100, 0, 100),
            fix(X.PENDING_CANCEL, S.PENDING_CANCEL, 100, 0, 100),
            fix(X.REPLACED, S.NEW, 120, 0, 120),
            fix(X.EXPIRED, S.EXPIRED, 100, 0, 0),
            fix(X.TRADE, S.CANCELED, 100, 10, 0, 10),
        ],
        start=3,
    ):
        result = book.apply(replace(report, exec_id=f"o-1:{n}"))
        assert result.outcome is Outcome.REFUSED, report
    assert book.open_orders == {}
    assert book.closed_orders["o-1"].status is S.CANCELED
    assert book.status_counts == {"canceled": 1}
    assert book.positions == {}


def test_a_bust_of_a_filled_order_reopens_it_and_moves_the_position_back():
    book = book_with(qty=10000)
    _, reports = APPENDIX_D["J.1.a"]
    results = [book.apply(r) for r in reports]
    assert [r.outcome for r in results] == [Outcome.APPLIED] * len(reports)
    order = book.closed_orders["o-1"]
    assert (order.status, order.cum_qty, order.fills) == (S.FILLED, D(10000), 2)
    # J.1.a AvgPx 120 after the last correction: (9000 * 120 + 1000 * 120) / 10000
    assert order.avg_px == D(120)
    assert book.positions == {"AAPL": D(10000)}
    assert book.status_counts == {"filled": 1}
    # after the bust at row 5 it was open again with leaves 1000, then filled once more
    orders = [r.order for r in results]
    assert orders[3] is not None
    assert (orders[3].status, orders[3].avg_px) == (S.PARTIALLY_FILLED, D(110))
    assert [o.avg_px for o in orders[4:6] if o is not None] == [D(100), D(102)]


def test_a_gtc_order_done_for_the_day_stays_open_and_a_day_order_closes():
    gtc = book_with(qty=10000, tif=TimeInForce.GTC)
    for report in APPENDIX_D["H.1.c"][1][:3]:
        assert gtc.apply(report).outcome is Outcome.APPLIED
    assert gtc.open_orders["o-1"].status is S.DONE_FOR_DAY
    assert gtc.open_orders["o-1"].leaves_qty == D(8000)
    day = book_with(qty=10000)
    for report in APPENDIX_D["A.1.b"][1]:
        assert day.apply(report).outcome is Outcome.APPLIED
    assert day.closed_orders["o-1"].status is S.DONE_FOR_DAY
    assert day.status_counts == {"done_for_day": 1}
    late = fix(X.TRADE, S.DONE_FOR_DAY, 10000, 4000, 0, 1000, n=9)
    assert day.apply(late).outcome is Outcome.REFUSED


def test_the_book_follows_cancel_replace_id_chaining():
    # D.1.a with ids: X is replaced by Y (Y,X), then Y by Z (Z,Y); fills name whichever id is
    # current; the book holds the order by its first id.
    book = SessionBook()
    book.add(NewOrder(client_order_id="X", symbol="AAPL", side=Side.BUY, qty=D(10000)), step=1)

    def on(cid, orig, report):
        return replace(report, client_order_id=cid, orig_client_order_id=orig)

    steps = [
        on("X", None, fix(X.NEW, S.NEW, 10000, 0, 10000, n=1)),
        on("X", None, fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 1000, 9000, 1000, n=2)),
        on("Y", "X", fix(X.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000, n=3)),
        on("X", None, fix(X.TRADE, S.PENDING_REPLACE, 10000, 1500, 8500, 500, n=4)),
        on("Y", "X", fix(X.REPLACED, S.PARTIALLY_FILLED, 8000, 1500, 6500, n=5)),
        on("Y", None, fix(X.TRADE, S.PARTIALLY_FILLED, 8000, 3500, 4500, 2000, n=6)),
        on("Z", "Y", fix(X.PENDING_REPLACE, S.PENDING_REPLACE, 8000, 3500, 4500, n=7)),
        on("Z", "Y", fix(X.REPLACED, S.PARTIALLY_FILLED, 6000, 3500, 2500, n=8)),
        on("Z", None, fix(X.TRADE, S.FILLED, 6000, 6000, 0, 2500, n=9)),
    ]
    for report in steps:
        assert book.apply(report).outcome is Outcome.APPLIED, report
    order = book.closed_orders["X"]
    assert (order.status, order.order_qty, order.cum_qty, order.fills) == (
        S.FILLED,
        D(6000),
        D(6000),
        4,
    )
    assert book.aliases == {"Y": "X", "Z": "X"}
    assert book.positions == {"AAPL": D(6000)}
    # an id the session never chained is still unknown
    stray = on("W", "V", fix(X.NEW, S.NEW, 10000, 0, 10000, n=10))
    assert book.apply(stray).outcome is Outcome.UNKNOWN_ORDER


# --- the book's counts and windows when an order reopens or leaves the day (found by
# `make mutate` on the order lifecycle's book)


def filled_books(*cids: str) -> SessionBook:
    book = SessionBook()
    for cid in cids:
        book.add(NewOrder(client_order_id=cid, symbol="AAPL", side=Side.BUY, qty=D(100)), step=1)
        for report in [
            fix(X.NEW, S.NEW, 100, 0, 100, n=1),
            fix(X.TRADE, S.PARTIALLY_FILLED, 100, 40, 60, 40, n=2),
            fix(X.TRADE, S.FILLED, 100, 100, 0, 60, n=3),
        ]:
            report = replace(report, client_order_id=cid, exec_id=f"{cid}:{report.exec_id}")
            assert book.apply(report).outcome is Outcome.APPLIED
    return book


def bust(cid: str, ref: int, cum: int, status: OrderStatus = S.PARTIALLY_FILLED):
    report = fix(X.TRADE_CANCEL, status, 100, cum, 100 - cum, n=9, exec_ref_id=f"{cid}:o-1:{ref}")
    return replace(report, client_order_id=cid, exec_id=f"{cid}:bust{ref}")


def test_a_reopened_order_leaves_the_closed_window_and_its_count():
    book = filled_books("o-1")
    assert book.status_counts == {"filled": 1}
    result = book.apply(bust("o-1", 3, 40))
    assert (result.outcome, result.violations) == (Outcome.APPLIED, ())
    assert result.traded == D(-60)
    assert book.status_counts == {}  # no order is closed any more
    assert list(book.open_orders) == ["o-1"]
    assert "o-1" not in book.closed_orders  # held once, as open
    assert list(book.orders()) == ["o-1"]
    assert book.positions == book.signed_cum == {"AAPL": D(40)}


def test_a_reopened_order_takes_only_its_own_count_away():
    book = filled_books("o-1", "o-2", "o-3")
    assert book.status_counts == {"filled": 3}
    book.apply(bust("o-2", 3, 40))
    assert book.status_counts == {"filled": 2}
    book.apply(bust("o-3", 2, 60))
    assert book.status_counts == {"filled": 1}
    assert sorted(book.open_orders) == ["o-2", "o-3"]
    assert list(book.closed_orders) == ["o-1"]
    # filled again: counted again, once
    again = fix(X.TRADE, S.FILLED, 100, 100, 0, 60, n=10)
    book.apply(replace(again, client_order_id="o-2", exec_id="o-2:again"))
    assert book.status_counts == {"filled": 2}
    assert list(book.closed_orders) == ["o-1", "o-2"]


def test_an_accepted_bust_correction_or_stop_carries_no_violation():
    # report_violations alone would call these a cum decrease or a non-trade last qty: the book
    # flags an accepted report only when it is an honest overfill.
    book = filled_books("o-1")
    assert book.apply(bust("o-1", 2, 60)).violations == ()
    correct = fix(
        X.TRADE_CORRECT, S.PARTIALLY_FILLED, 100, 30, 70, 30, n=11, exec_ref_id="o-1:o-1:3"
    )
    result = book.apply(replace(correct, exec_id="o-1:correct"))
    assert (result.outcome, result.violations, result.traded) == (Outcome.APPLIED, (), D(-30))
    stopped = book_with(qty=10000)
    for report in APPENDIX_D["L.1.a"][1]:  # STOPPED carries its guaranteed qty in last qty
        result = stopped.apply(report)
        assert (result.outcome, result.violations) == (Outcome.APPLIED, ()), report
    assert stopped.positions == {"AAPL": D(1000)}  # the guarantee itself moves nothing


def test_an_honest_overfill_is_flagged_against_the_books_cum():
    book = book_with()
    book.apply(fix(X.NEW, S.NEW, 100, 0, 100, n=1))
    book.apply(fix(X.TRADE, S.PARTIALLY_FILLED, 100, 40, 60, 40, n=2))
    result = book.apply(fix(X.TRADE, S.FILLED, 100, 120, -20, 80, n=3))
    assert result.outcome is Outcome.APPLIED
    assert result.violations == (
        "overfill: cum_qty 120 exceeds order_qty 100",
        "leaves_qty is -20 in closed status filled",
    )  # the trade itself moved cum by its last qty: nothing else is flagged
    assert book.positions == {"AAPL": D(120)}


def test_a_cancel_reject_returns_a_pending_cancel_to_the_status_it_reports():
    book = book_with()
    for report in [
        fix(X.NEW, S.NEW, 100, 0, 100, n=1),
        fix(X.TRADE, S.PARTIALLY_FILLED, 100, 40, 60, 40, n=2),
        fix(X.PENDING_CANCEL, S.PENDING_CANCEL, 100, 40, 60, n=3),
    ]:
        book.apply(report)
    assert book.open_orders["o-1"].status is S.PENDING_CANCEL
    result = book.apply(fix(X.CANCEL_REJECTED, S.PARTIALLY_FILLED, 100, 40, 60, n=4))
    assert result.outcome is Outcome.APPLIED
    order = book.open_orders["o-1"]
    assert (order.status, order.cum_qty, order.leaves_qty) == (S.PARTIALLY_FILLED, D(40), D(60))
    assert "o-1:4" in order.exec_ids


def test_a_gtc_order_done_for_the_day_is_counted_when_it_closes_later():
    gtc = book_with(qty=10000, tif=TimeInForce.GTC)
    for report in APPENDIX_D["H.1.c"][1]:
        assert gtc.apply(report).outcome is Outcome.APPLIED
    assert gtc.closed_orders["o-1"].status is S.CANCELED
    assert gtc.status_counts == {"canceled": 1}  # done for the day did not close it
    dormant = book_with(qty=10000, tif=TimeInForce.GTC)
    for report in APPENDIX_D["H.1.c"][1][:3]:
        dormant.apply(report)
    dormant.apply(fix(X.CANCELED, S.CANCELED, 10000, 2000, 0, n=7))  # canceled while dormant
    assert dormant.status_counts == {"canceled": 1}
    assert dormant.open_orders == {}


def test_a_bust_in_the_middle_keeps_the_executions_around_it():
    book = book_with()
    for report in [
        fix(X.NEW, S.NEW, 100, 0, 100, n=1),
        fix(X.TRADE, S.PARTIALLY_FILLED, 100, 10, 90, 10, D(10), n=2),
        fix(X.TRADE, S.PARTIALLY_FILLED, 100, 30, 70, 20, D(11), n=3),
        fix(X.TRADE, S.PARTIALLY_FILLED, 100, 60, 40, 30, D(12), n=4),
    ]:
        assert book.apply(report).outcome is Outcome.APPLIED
    result = book.apply(
        fix(X.TRADE_CANCEL, S.PARTIALLY_FILLED, 100, 40, 60, n=5, exec_ref_id="o-1:3")
    )
    assert (result.outcome, result.traded) == (Outcome.APPLIED, D(-20))
    order = book.open_orders["o-1"]
    assert order.executions == (("o-1:2", D(10), D(10)), ("o-1:4", D(30), D(12)))
    assert (order.fills, order.cum_qty, order.notional) == (2, D(40), D(460))
    assert order.avg_px == D("11.5")
    assert book.positions == book.signed_cum == {"AAPL": D(40)}
    # the first one, then the last: each bust takes one fill away
    book.apply(fix(X.TRADE_CANCEL, S.PARTIALLY_FILLED, 100, 30, 70, n=6, exec_ref_id="o-1:2"))
    book.apply(fix(X.TRADE_CANCEL, S.NEW, 100, 0, 100, n=7, exec_ref_id="o-1:4"))
    order = book.open_orders["o-1"]
    assert (order.fills, order.executions, order.notional, order.avg_px) == (0, (), D(0), None)
    assert book.positions == book.signed_cum == {"AAPL": D(0)}
    assert book.position_breaks() == []


def test_a_reports_own_client_order_id_comes_before_its_orig_id():
    book = SessionBook()
    for cid in ("o-1", "o-2"):
        book.add(NewOrder(client_order_id=cid, symbol="AAPL", side=Side.BUY, qty=D(100)), step=1)
    # known ClOrdID, OrigClOrdID of another order or of none the session sent: the ClOrdID wins
    for n, orig in enumerate(("o-2", "never-sent"), start=1):
        ack = replace(fix(X.NEW, S.NEW, 100, 0, 100, n=n), orig_client_order_id=orig)
        result = book.apply(ack)
        assert result.outcome is Outcome.APPLIED
        assert result.order is not None
        assert result.order.client_order_id == "o-1"
    assert book.open_orders["o-1"].status is S.NEW
    assert book.open_orders["o-2"].status is S.PENDING_NEW
    assert book.aliases == {}
