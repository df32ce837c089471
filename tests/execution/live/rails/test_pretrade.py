"""The pre-trade gate's state: market protection, the price-move history, message and fill
counts, per-strategy positions; each bounded by the window that reads it."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.model import NewOrder, OrderType, Side
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.pretrade import PreTradeGate
from peak_trade.execution.live.tags import OrderTags

D = Decimal
ALLOW = frozenset({"AAPL"})


def market(side=Side.BUY, cid="o-1", qty="10") -> NewOrder:
    return NewOrder(client_order_id=cid, symbol="AAPL", side=side, qty=D(qty))


def test_protect_turns_a_market_order_into_a_limit_at_the_band_edge():
    gate = PreTradeGate(
        RailsConfig(market_protection_pct=D("2"), reference_prices={"AAPL": "100.00"}), ALLOW
    )
    buy, ref = gate.protect(market(), 1)
    assert (buy.order_type, buy.limit_price, ref) == (OrderType.LIMIT, D("102.0000"), D("100.00"))
    sell, _ = gate.protect(market(Side.SELL), 1)
    assert sell.limit_price == D("98.0000")


def test_protect_leaves_what_it_cannot_protect():
    config = RailsConfig(
        market_protection_pct=D("2"), max_reference_age_steps=2, reference_prices={"AAPL": "100"}
    )
    gate = PreTradeGate(config, ALLOW)
    assert gate.protect(market(), 3) is None  # the reference is 3 steps old: stale
    limit = NewOrder(
        client_order_id="o-2",
        symbol="AAPL",
        side=Side.BUY,
        qty=D(1),
        order_type=OrderType.LIMIT,
        limit_price=D("99"),
    )
    assert gate.protect(limit, 1) is None
    assert PreTradeGate(RailsConfig(), ALLOW).protect(market(), 1) is None


def test_the_price_history_keeps_the_window_and_the_price_in_force_at_its_start():
    gate = PreTradeGate(
        RailsConfig(price_move_limit=(D("5"), 3), reference_prices={"AAPL": "100"}), ALLOW
    )
    for step, price in ((2, "101"), (4, "102"), (6, "103"), (7, "104")):
        gate.observe_prices({"AAPL": D(price)}, step)
    # window at step 7: steps 5..7 -> 102 (in force at step 5), 103, 104
    assert [(r.as_of_step, r.price) for r in gate._history["AAPL"]] == [
        (4, D("102")),
        (6, D("103")),
        (7, D("104")),
    ]


def test_messages_count_and_stay_bounded():
    gate = PreTradeGate(RailsConfig(max_messages_per_window=(5, 2)), ALLOW)
    for step in (1, 1, 2, 3, 3):
        gate.message(step)
    assert gate._message_steps == (2, 3, 3)


def test_a_strategy_cancel_is_judged_by_the_message_rails():
    gate = PreTradeGate(RailsConfig(max_messages_per_step=1), ALLOW)
    book = SessionBook()
    assert gate.check_cancel(market(), 1, book) is None
    gate.message(1)
    refused = gate.check_cancel(market(), 1, book)
    assert refused is not None
    assert refused.rail == "max_messages_per_step"
    assert PreTradeGate(RailsConfig(), ALLOW).check_cancel(market(), 1, book) is None


def test_the_fill_throttle_counts_fills_per_symbol_in_the_window():
    gate = PreTradeGate(RailsConfig(max_fills_per_window=(2, 3)), ALLOW)
    assert gate.filled("o-1", "AAPL", Side.BUY, D(1), 1) is None
    assert gate.filled("o-1", "AAPL", Side.BUY, D(1), 2) is None
    assert gate.filled("o-1", "AAPL", Side.BUY, D(1), 4) is None  # step 1 left the window
    assert gate.filled("o-1", "AAPL", Side.BUY, D(1), 4) == (3, 2, 3)  # 2, 4, 4 in steps 2..4
    assert len(gate._fill_steps["AAPL"]) <= 3  # bounded: one more than the limit


def test_strategy_positions_follow_the_tagged_fills():
    gate = PreTradeGate(RailsConfig(per_strategy={"alpha": {"max_position": "100"}}), ALLOW)
    gate.tags["o-1"] = OrderTags(strategy="alpha")
    gate.filled("o-1", "AAPL", Side.BUY, D(10), 1)
    gate.filled("o-1", "AAPL", Side.SELL, D(3), 2)
    gate.filled("o-9", "AAPL", Side.BUY, D(50), 2)  # untagged: nobody's strategy
    assert gate._strategy_positions == {("alpha", "AAPL"): D(7)}
