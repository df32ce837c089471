"""Pre-trade rails: what a refusal tells the operator, and the corners of valuation and crossing.

Found by `make mutate`: the rail table asserts each refusal's rail, limit and observed value, but
not its sentence (the part an operator reads), and some corners of the valuation (a sell limit
below the market, a limit order without a usable price, references dated wrongly) had no case.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.model import NewOrder, OrderType, Side
from peak_trade.execution.live.rails import rules
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.rules import (
    ReferencePrice,
    check_order,
    initial_references,
)
from tests.execution.live.rails.test_rules import STEP, buy, context, ref, resting, sell

D = Decimal


def refusal(config: dict, new: NewOrder, **ctx: object):
    result = check_order(new, RailsConfig.from_mapping(config), context(**ctx))
    assert result is not None, "expected a refusal"
    return result


# Every rail's sentence, in full: it names the limit, the observed value and the order's part.
DETAILS = [
    pytest.param(
        {},
        buy(),
        {"kill_switch_engaged": True},
        "rail kill_switch: the kill switch is engaged: no new orders until an operator rearms it "
        "(limit: not engaged; observed: engaged); the order is refused",
        id="kill_switch",
    ),
    pytest.param(
        {},
        buy(symbol="TSLA"),
        {},
        "rail symbol_allowlist: symbol TSLA is not in the session allowlist of 3 symbol(s) "
        "(limit: one of the 3 allowlisted symbols; observed: TSLA); the order is refused",
        id="symbol_allowlist",
    ),
    pytest.param(
        {"restricted": ["GME"]},
        buy(symbol="GME"),
        {},
        "rail restricted_list: symbol GME is on the restricted list "
        "(limit: not restricted; observed: GME); the order is refused",
        id="restricted_list",
    ),
    pytest.param(
        {},
        buy(cid="o-old"),
        {},
        "rail duplicate_client_order_id: client order id 'o-old' was already used in this session "
        "(limit: an id not used before in this session; observed: o-old); the order is refused",
        id="duplicate_client_order_id",
    ),
    pytest.param(
        {"max_order_qty": "10"},
        buy("11"),
        {},
        "rail max_order_qty: order qty 11 exceeds the limit 10 (limit: 10; observed: 11); "
        "the order is refused",
        id="max_order_qty",
    ),
    pytest.param(
        {"max_order_notional": "1000"},
        buy("11"),
        {"reference_prices": {}},
        "rail reference_price: no reference price for AAPL; a missing, unusable or stale "
        "reference never passes (limit: a positive reference price; observed: missing); "
        "the order is refused",
        id="reference_price",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="106"),
        {},
        "rail price_collar: limit price 106 is outside the collar [95, 105] (5% around the "
        "reference 100) (limit: [95, 105]; observed: 106); the order is refused",
        id="price_collar",
    ),
    pytest.param(
        {"max_order_notional": "1000"},
        buy("11"),
        {},
        "rail max_order_notional: order notional 1100 (11 x 100) exceeds the limit 1000 "
        "(limit: 1000; observed: 1100); the order is refused",
        id="max_order_notional",
    ),
    pytest.param(
        {"max_position": "100"},
        buy("30"),
        {"positions": {"AAPL": D(50)}, "open_orders": (resting("o-1", Side.BUY, "30"),)},
        "rail max_position: worst-case AAPL position 110 (|position 50 + open buys 30 + this buy "
        "30|) exceeds the limit 100 (limit: 100; observed: 110); the order is refused",
        id="max_position buy",
    ),
    pytest.param(
        {"max_position": "100"},
        sell("30"),
        {"positions": {"AAPL": D(-50)}, "open_orders": (resting("o-1", Side.SELL, "30"),)},
        "rail max_position: worst-case AAPL position 110 (|position -50 - open sells 30 - this "
        "sell 30|) exceeds the limit 100 (limit: 100; observed: 110); the order is refused",
        id="max_position sell",
    ),
    pytest.param(
        {"max_orders_per_step": 2},
        buy(),
        {"accepted_order_steps": (STEP, STEP)},
        "rail max_orders_per_step: this would be order 3 accepted in step 10, above the limit 2 "
        "(limit: 2; observed: 3); the order is refused",
        id="max_orders_per_step",
    ),
    pytest.param(
        {"max_orders_per_window": {"count": 2, "steps": 3}},
        buy(),
        {"accepted_order_steps": (STEP - 2, STEP - 1)},
        "rail max_orders_per_window: this would be order 3 accepted in steps 8..10, above the "
        "limit 2 per 3 steps (limit: 2 per 3 steps; observed: 3); the order is refused",
        id="max_orders_per_window",
    ),
    pytest.param(
        {"max_open_orders": 1},
        buy(),
        {"open_orders": (resting("o-1", Side.BUY, "1", symbol="MSFT"),)},
        "rail max_open_orders: this would be open order 2 (working and in-flight included), "
        "above the limit 1 (limit: 1; observed: 2); the order is refused",
        id="max_open_orders",
    ),
    pytest.param(
        {},
        buy(limit="101"),
        {"open_orders": (resting("o-1", Side.SELL, "7", limit="100"),)},
        "rail self_trade_prevention: buy 100 AAPL @ 101 would cross our own resting sell o-1 "
        "(7 @ 100) (limit: no cross with our own resting orders; observed: crosses o-1 sell 7 @ "
        "100); the order is refused",
        id="self_trade_prevention limit",
    ),
    pytest.param(
        {},
        sell("5"),
        {"open_orders": (resting("o-1", Side.BUY, "7"),)},
        "rail self_trade_prevention: sell 5 AAPL @ market would cross our own resting buy o-1 "
        "(7 @ market) (limit: no cross with our own resting orders; observed: crosses o-1 buy 7 @ "
        "market); the order is refused",
        id="self_trade_prevention market",
    ),
]


@pytest.mark.parametrize(("config", "new", "ctx", "detail"), DETAILS)
def test_a_refusal_says_what_was_refused_and_why(config, new, ctx, detail):
    assert refusal(config, new, **ctx).detail == detail


def test_gross_exposure_sentence_adds_up_its_parts():
    # MSFT short 4 at 50 = 200; a resting buy of 3 AAPL at market (100) = 300; this buy 5 = 500.
    result = refusal(
        {"max_gross_exposure": "999"},
        buy("5"),
        positions={"MSFT": D(-4)},
        open_orders=(resting("o-1", Side.BUY, "3"),),
    )
    assert result.detail == (
        "rail max_gross_exposure: gross exposure 1000 (positions 200 + open orders 300 + this "
        "order 500) exceeds the limit 999 (limit: 999; observed: 1000); the order is refused"
    )


@pytest.mark.parametrize(
    ("new", "observed", "named"),
    [
        pytest.param(buy(cid="o-\ud800"), "'o-\\ud800'", "client order id", id="id"),
        pytest.param(buy(symbol="A\ud800"), "'A\\ud800'", "symbol", id="symbol"),
    ],
)
def test_text_that_is_not_unicode_is_named_with_its_field(new, observed, named):
    allowlist = frozenset({"AAPL", "A\ud800"})
    result = check_order(new, RailsConfig(), context(allowlist=allowlist))
    assert result is not None
    assert (result.rail, result.observed) == ("well_formed_order", observed)
    assert result.detail.startswith(f"rail well_formed_order: {named} ")
    assert "is not valid Unicode text" in result.detail


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("side", "buy", "side 'buy' is not buy or sell"),
        ("order_type", "limit", "order type 'limit' is not market or limit"),
    ],
)
def test_a_side_or_type_that_is_not_ours_is_named(field, value, sentence):
    fields = {"client_order_id": "o-new", "symbol": "AAPL", "side": Side.BUY, "qty": D(1)}
    fields[field] = value
    result = check_order(NewOrder(**fields), RailsConfig(), context())
    assert result is not None
    assert (result.rail, result.observed) == ("well_formed_order", repr(value))
    assert sentence in result.detail


def test_an_unprintable_exception_still_refuses_with_a_sentence(monkeypatch):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no text")

    def boom(order, config, ctx):
        raise Unprintable

    monkeypatch.setattr(rules, "rail_max_order_qty", boom)
    result = check_order(buy("1"), RailsConfig(max_order_qty=D("10")), context())
    assert result is not None
    assert result.detail == (
        "rail max_order_qty raised Unprintable: <unprintable>; the order is refused (fail closed)"
    )


# --- valuation and crossing corners ------------------------------------------------------------


def test_a_resting_sell_limit_below_the_market_is_valued_at_the_market():
    # sell 2 @ 90 while AAPL trades at 100: it fills at the market, so it counts 200, not 180.
    result = refusal(
        {"max_gross_exposure": "299"},
        buy("1"),
        open_orders=(resting("o-1", Side.SELL, "2", limit="90"),),
    )
    assert result.observed == "300"
    assert "open orders 200" in result.detail


def test_a_resting_limit_order_without_a_price_is_valued_at_its_reference():
    # An order the session holds as LIMIT but without a usable price: valued at the reference,
    # and that reference is required (missing: the reference rail refuses, naming the symbol).
    unpriced = resting("o-1", Side.BUY, "2", limit="1", symbol="MSFT")
    unpriced = type(unpriced)(**{**_fields(unpriced), "limit_price": None})
    result = refusal({"max_gross_exposure": "149"}, buy("1"), open_orders=(unpriced,))
    assert (result.rail, result.observed) == ("max_gross_exposure", "200")  # 2 x 50 + 1 x 100
    no_msft = {"AAPL": ref("100")}
    result = refusal(
        {"max_gross_exposure": "1000"}, buy("1"), open_orders=(unpriced,), reference_prices=no_msft
    )
    assert (result.rail, result.observed) == ("reference_price", "missing")
    assert "MSFT" in result.detail


def _fields(order) -> dict:
    return {name: getattr(order, name) for name in order.__slots__}


def test_a_resting_limit_without_a_usable_price_cannot_be_ruled_out_as_a_cross():
    for side, new in ((Side.SELL, buy(limit="1")), (Side.BUY, sell(limit="1000"))):
        unpriced = resting("o-1", side, "2", limit="1")
        unpriced = type(unpriced)(**{**_fields(unpriced), "limit_price": None})
        result = refusal({}, new, open_orders=(unpriced,))
        assert result.rail == "self_trade_prevention"
        assert result.observed.startswith("crosses o-1 ")


def test_only_the_references_a_configured_rail_reads_are_required():
    # The collar reads the order's own reference only: a position in a symbol without one is
    # no reason to refuse (the gross-exposure rail, not configured here, would read it).
    ctx = {"positions": {"MSFT": D(10)}, "reference_prices": {"AAPL": ref("100")}}
    assert (
        check_order(
            buy(limit="100"),
            RailsConfig.from_mapping({"price_collar_pct": "5"}),
            context(**ctx),  # type: ignore[arg-type]
        )
        is None
    )
    result = refusal(
        {"price_collar_pct": "5", "max_gross_exposure": "1000000"}, buy(limit="100"), **ctx
    )
    assert (result.rail, result.observed) == ("reference_price", "missing")


@pytest.mark.parametrize(
    ("as_of", "observed"),
    [
        pytest.param(True, "as of step True", id="a boolean"),
        pytest.param("1", "as of step 1", id="a string"),
        pytest.param(STEP + 1, f"as of step {STEP + 1}", id="the future"),
    ],
)
def test_a_reference_dated_with_anything_but_a_past_step_is_refused(as_of, observed):
    refs = {"AAPL": ReferencePrice(price=D(100), as_of_step=as_of)}  # type: ignore[arg-type]
    result = refusal({"max_order_notional": "1000000"}, buy("1"), reference_prices=refs)
    assert (result.rail, result.observed) == ("reference_price", observed)


def test_configured_reference_prices_are_as_of_the_session_start():
    config = RailsConfig.from_mapping({"reference_prices": {"AAPL": "190.10", "MSFT": "5"}})
    assert initial_references(config) == {
        "AAPL": ReferencePrice(price=D("190.10"), as_of_step=0),
        "MSFT": ReferencePrice(price=D(5), as_of_step=0),
    }
    # so with a bound of 3 steps, a configured price is still usable at step 3, not at step 4
    aged = RailsConfig.from_mapping(
        {
            "max_reference_age_steps": 3,
            "max_order_notional": "1000000",
            "reference_prices": {"AAPL": "1"},
        }
    )
    refs = initial_references(aged)
    assert check_order(buy("1"), aged, context(step=3, reference_prices=refs)) is None
    result = check_order(buy("1"), aged, context(step=4, reference_prices=refs))
    assert result is not None
    assert (result.rail, result.observed) == ("reference_price", "age 4 steps")


def test_order_type_limit_without_price_is_refused_before_valuation():
    new = NewOrder(
        client_order_id="o-new", symbol="AAPL", side=Side.BUY, qty=D(1), order_type=OrderType.LIMIT
    )
    result = check_order(new, RailsConfig.from_mapping({"max_order_notional": "10"}), context())
    assert result is not None
    assert result.rail == "well_formed_order"
