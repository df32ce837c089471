"""P&L per symbol: FIFO and average cost, exact, through partial closes and flips."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.broker.model import Side
from peak_trade.execution.live.pnl import PnlLedger, PnlMethod

D = Decimal
B, S = Side.BUY, Side.SELL


def run(method: PnlMethod, fills) -> tuple[PnlLedger, list[Decimal]]:
    ledger = PnlLedger(method)
    realised = [ledger.on_fill("AAPL", side, D(q), D(p)) for side, q, p in fills]
    return ledger, realised


def test_fifo_closes_the_oldest_lot_first():
    ledger, realised = run(PnlMethod.FIFO, [(B, "10", "100"), (B, "10", "120"), (S, "15", "130")])
    # 10 x (130 - 100) + 5 x (130 - 120)
    assert realised == [D(0), D(0), D("350")]
    assert ledger.position("AAPL") == D("5")
    assert ledger.unrealised("AAPL", D("110")) == D("-50")  # 5 left at 120


def test_average_cost_uses_one_basis():
    ledger, realised = run(
        PnlMethod.AVERAGE_COST, [(B, "10", "100"), (B, "10", "120"), (S, "15", "130")]
    )
    # average 110: 15 x (130 - 110)
    assert realised[-1] == D("300")
    assert ledger.unrealised("AAPL", D("110")) == D("0")


@pytest.mark.parametrize("method", list(PnlMethod))
def test_a_flip_closes_then_opens_at_the_fill_price(method):
    ledger, realised = run(method, [(B, "10", "100"), (S, "15", "110"), (B, "5", "100")])
    assert realised == [D(0), D("100"), D("50")]
    assert ledger.position("AAPL") == D(0)
    assert ledger.unrealised("AAPL", D("1")) == D(0)


@pytest.mark.parametrize("method", list(PnlMethod))
def test_shorts_gain_when_the_price_falls(method):
    ledger, realised = run(method, [(S, "10", "100"), (B, "4", "90")])
    assert realised == [D(0), D("40")]
    assert ledger.unrealised("AAPL", D("80")) == D("120")


def test_average_cost_that_does_not_terminate_still_conserves_money():
    ledger, realised = run(
        PnlMethod.AVERAGE_COST,
        [(B, "1", "100"), (B, "1", "100"), (B, "1", "101"), (S, "1", "101"), (S, "2", "101")],
    )
    # Paid 301, received 303: everything realised once the position is flat, exactly.
    assert sum(realised) == D("2")
    assert ledger.position("AAPL") == D(0)


quantities = st.integers(min_value=1, max_value=50).map(D)
prices = st.integers(min_value=1, max_value=20_000).map(lambda c: D(c) / 100)
fills = st.lists(st.tuples(st.sampled_from([B, S]), quantities, prices), max_size=30)


@given(fills=fills, mark=prices, method=st.sampled_from(list(PnlMethod)))
def test_realised_plus_unrealised_is_the_cash_flow_marked_to_market(fills, mark, method):
    """Whatever the method, total P&L = cash received - cash paid + position x mark, exactly
    (average cost divides, but moves no money between realised and nowhere)."""
    ledger = PnlLedger(method)
    cash = D(0)
    for side, qty, price in fills:
        ledger.on_fill("AAPL", side, qty, price)
        cash += -qty * price if side is B else qty * price
    total = ledger.total_realised() + ledger.unrealised("AAPL", mark)
    expected = cash + ledger.position("AAPL") * mark
    if method is PnlMethod.FIFO:
        assert total == expected
    else:
        assert abs(total - expected) < D("1e-60")  # a non-terminating basis, 100 digits kept
