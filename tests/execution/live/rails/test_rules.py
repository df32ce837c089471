"""Pre-trade rails: every limit exactly at its edge passes and one unit over is refused, with the
rejection's rail, limit and observed value asserted; a rail that fails refuses; an engaged kill
switch refuses every order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.model import NewOrder, OrderStatus, OrderType, Side
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.rails import rules
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.kill_switch import KillSwitchState, engage
from peak_trade.execution.live.rails.rules import (
    RAIL_NAMES,
    RailContext,
    RailRejection,
    ReferencePrice,
    check_order,
    initial_references,
    prune_accepted_steps,
)
from tests.execution.live.rails.support import FULL_EXAMPLE

D = Decimal
STEP = 10


def order(
    side: Side = Side.BUY,
    qty: object = "100",
    symbol: str = "AAPL",
    limit: object = None,
    cid: str = "o-new",
    order_type: OrderType | None = None,
) -> NewOrder:
    kind = order_type or (OrderType.MARKET if limit is None else OrderType.LIMIT)
    return NewOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        qty=D(qty) if isinstance(qty, str) else qty,  # type: ignore[arg-type]
        order_type=kind,
        limit_price=D(limit) if isinstance(limit, str) else limit,  # type: ignore[arg-type]
    )


def buy(qty: object = "100", **kw: object) -> NewOrder:
    return order(Side.BUY, qty, **kw)  # type: ignore[arg-type]


def sell(qty: object = "100", **kw: object) -> NewOrder:
    return order(Side.SELL, qty, **kw)  # type: ignore[arg-type]


def resting(
    cid: str,
    side: Side,
    leaves: str,
    symbol: str = "AAPL",
    limit: str | None = None,
    cum: str = "0",
    status: OrderStatus = OrderStatus.NEW,
) -> OrderState:
    return OrderState(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_qty=D(leaves) + D(cum),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
        submitted_step=1,
        status=status,
        cum_qty=D(cum),
        leaves_qty=D(leaves),
    )


def ref(price: str, as_of: int = STEP) -> ReferencePrice:
    return ReferencePrice(price=D(price), as_of_step=as_of)


BASE_REFS = {"AAPL": ref("100"), "MSFT": ref("50")}


def context(**kw: object) -> RailContext:
    fields: dict[str, object] = {
        "step": STEP,
        "allowlist": frozenset({"AAPL", "MSFT", "GME"}),
        "reference_prices": BASE_REFS,
        "positions": {},
        "open_orders": (),
        "known_client_order_ids": frozenset({"o-old"}),
        "accepted_order_steps": (),
        "kill_switch_engaged": False,
    }
    fields.update(kw)
    return RailContext(**fields)  # type: ignore[arg-type]


def verdict(result: RailRejection | None) -> tuple[str, str, str] | None:
    return None if result is None else (result.rail, result.limit, result.observed)


# Each case: (config kwargs, order, context overrides, expected (rail, limit, observed) or None).
CASES = [
    # --- kill_switch: always applies -----------------------------------------------------------
    pytest.param({}, buy(), {}, None, id="kill_switch/off passes"),
    pytest.param(
        {},
        buy(),
        {"kill_switch_engaged": True},
        ("kill_switch", "not engaged", "engaged"),
        id="kill_switch/engaged",
    ),
    # --- symbol_allowlist ----------------------------------------------------------------------
    pytest.param({}, buy(symbol="MSFT"), {}, None, id="allowlist/listed passes"),
    pytest.param(
        {},
        buy(symbol="IBM"),
        {},
        ("symbol_allowlist", "one of the 3 allowlisted symbols", "IBM"),
        id="allowlist/unlisted",
    ),
    pytest.param(
        {},
        buy(),
        {"allowlist": frozenset()},
        ("symbol_allowlist", "one of the 0 allowlisted symbols", "AAPL"),
        id="allowlist/empty refuses all",
    ),
    # --- restricted_list -----------------------------------------------------------------------
    pytest.param({"restricted": ["GME"]}, buy(), {}, None, id="restricted/other symbol passes"),
    pytest.param(
        {"restricted": ["GME"]},
        buy(symbol="GME"),
        {},
        ("restricted_list", "not restricted", "GME"),
        id="restricted/restricted symbol",
    ),
    # --- duplicate_client_order_id -------------------------------------------------------------
    pytest.param({}, buy(cid="o-2"), {}, None, id="duplicate/new id passes"),
    pytest.param(
        {},
        buy(cid="o-old"),
        {},
        ("duplicate_client_order_id", "an id not used before in this session", "o-old"),
        id="duplicate/known id",
    ),
    pytest.param(
        {},
        buy(cid="o-open"),
        {
            "open_orders": (resting("o-open", Side.BUY, "1", symbol="MSFT"),),
            "known_client_order_ids": frozenset(),
        },
        ("duplicate_client_order_id", "an id not used before in this session", "o-open"),
        id="duplicate/id of an open order",
    ),
    # --- well_formed_order ---------------------------------------------------------------------
    pytest.param(
        {},
        buy("0"),
        {},
        ("well_formed_order", "a well-formed order", "qty Decimal('0')"),
        id="shape/zero qty",
    ),
    pytest.param(
        {},
        buy("-1"),
        {},
        ("well_formed_order", "a well-formed order", "qty Decimal('-1')"),
        id="shape/negative qty",
    ),
    pytest.param(
        {},
        buy("NaN"),
        {},
        ("well_formed_order", "a well-formed order", "qty Decimal('NaN')"),
        id="shape/NaN qty",
    ),
    pytest.param(
        {},
        buy(1.5),
        {},
        ("well_formed_order", "a well-formed order", "qty 1.5"),
        id="shape/float qty",
    ),
    pytest.param(
        {},
        buy(order_type=OrderType.LIMIT),
        {},
        ("well_formed_order", "a well-formed order", "limit_price None"),
        id="shape/limit without price",
    ),
    pytest.param(
        {},
        buy(limit="0"),
        {},
        ("well_formed_order", "a well-formed order", "limit_price Decimal('0')"),
        id="shape/limit price zero",
    ),
    pytest.param(
        {},
        buy(limit="100", order_type=OrderType.MARKET),
        {},
        ("well_formed_order", "a well-formed order", "limit_price Decimal('100')"),
        id="shape/market with a price",
    ),
    # --- max_order_qty -------------------------------------------------------------------------
    pytest.param({"max_order_qty": "1000"}, buy("1000"), {}, None, id="qty/at limit passes"),
    pytest.param(
        {"max_order_qty": "1000"},
        buy("1000.0001"),
        {},
        ("max_order_qty", "1000", "1000.0001"),
        id="qty/one tick over",
    ),
    pytest.param(
        {"max_order_qty": "1000"},
        buy("1001"),
        {},
        ("max_order_qty", "1000", "1001"),
        id="qty/one share over",
    ),
    pytest.param(
        {"max_order_qty": "1000"},
        sell("1001"),
        {},
        ("max_order_qty", "1000", "1001"),
        id="qty/sell one over",
    ),
    # --- reference_price (max_order_notional makes a price necessary) ------------------------
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(symbol="GME"),
        {},
        ("reference_price", "a positive reference price", "missing"),
        id="ref/missing",
    ),
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("0")}},
        ("reference_price", "a positive reference price", "0"),
        id="ref/zero",
    ),
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("-1")}},
        ("reference_price", "a positive reference price", "-1"),
        id="ref/negative",
    ),
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("NaN")}},
        ("reference_price", "a positive reference price", "NaN"),
        id="ref/NaN",
    ),
    pytest.param(
        {"max_order_notional": "1000000", "max_reference_age_steps": 5},
        buy(),
        {"reference_prices": {"AAPL": ref("100", as_of=5)}},
        None,
        id="ref/age at limit passes",
    ),
    pytest.param(
        {"max_order_notional": "1000000", "max_reference_age_steps": 5},
        buy(),
        {"reference_prices": {"AAPL": ref("100", as_of=4)}},
        ("reference_price", "age <= 5 steps", "age 6 steps"),
        id="ref/one step too old",
    ),
    pytest.param(
        {"max_order_notional": "1000000", "max_reference_age_steps": 0},
        buy(),
        {},
        None,
        id="ref/age 0 allowed, current passes",
    ),
    pytest.param(
        {"max_order_notional": "1000000", "max_reference_age_steps": 0},
        buy(),
        {"reference_prices": {"AAPL": ref("100", as_of=9)}},
        ("reference_price", "age <= 0 steps", "age 1 steps"),
        id="ref/age 0 allowed, one step old",
    ),
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("100", as_of=11)}},
        ("reference_price", "as of step 10 or earlier", "as of step 11"),
        id="ref/dated in the future",
    ),
    pytest.param(
        {"max_order_notional": "1000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("100", as_of=0)}},
        None,
        id="ref/no age bound, old passes",
    ),
    pytest.param(
        {"max_order_qty": "1000"},
        buy(symbol="GME"),
        {},
        None,
        id="ref/no price rail, missing passes",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(symbol="GME"),
        {},
        ("reference_price", "a positive reference price", "missing"),
        id="ref/collar only, market order still needs it",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(symbol="GME", limit="10"),
        {},
        ("reference_price", "a positive reference price", "missing"),
        id="ref/collar only, limit order",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("100")}, "positions": {"MSFT": D("10")}},
        ("reference_price", "a positive reference price", "missing"),
        id="ref/gross needs other held symbols",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000000"},
        buy(),
        {"reference_prices": {"AAPL": ref("100")}, "positions": {"MSFT": D("0")}},
        None,
        id="ref/gross, flat symbol needs none",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000000"},
        buy(),
        {
            "reference_prices": {"AAPL": ref("100")},
            "open_orders": (resting("r-1", Side.SELL, "10", symbol="MSFT"),),
        },
        ("reference_price", "a positive reference price", "missing"),
        id="ref/gross needs the price of an open market order",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000000"},
        buy(),
        {
            "reference_prices": {"AAPL": ref("100")},
            "open_orders": (resting("r-1", Side.SELL, "10", symbol="MSFT", limit="50"),),
        },
        ("reference_price", "a positive reference price", "missing"),
        id="ref/gross needs the price of an open sell limit",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000000"},
        buy(),
        {
            "reference_prices": {"AAPL": ref("100")},
            "open_orders": (resting("r-1", Side.BUY, "10", symbol="MSFT", limit="50"),),
        },
        None,
        id="ref/gross values an open buy limit at its limit",
    ),
    # --- price_collar: reference 100, 5% -> [95, 105], limit orders only --------------------------
    pytest.param(
        {"price_collar_pct": "5"}, buy(limit="105"), {}, None, id="collar/buy at upper edge passes"
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="105.01"),
        {},
        ("price_collar", "[95, 105]", "105.01"),
        id="collar/buy one cent above",
    ),
    pytest.param(
        {"price_collar_pct": "5"}, buy(limit="95"), {}, None, id="collar/buy at lower edge passes"
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="94.99"),
        {},
        ("price_collar", "[95, 105]", "94.99"),
        id="collar/buy one cent below",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        sell(limit="105"),
        {},
        None,
        id="collar/sell at upper edge passes",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        sell(limit="105.01"),
        {},
        ("price_collar", "[95, 105]", "105.01"),
        id="collar/sell one cent above",
    ),
    pytest.param(
        {"price_collar_pct": "5"}, sell(limit="95"), {}, None, id="collar/sell at lower edge passes"
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        sell(limit="94.99"),
        {},
        ("price_collar", "[95, 105]", "94.99"),
        id="collar/sell one cent below",
    ),
    pytest.param({"price_collar_pct": "5"}, buy(), {}, None, id="collar/market order not collared"),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="199.605"),
        {"reference_prices": {"AAPL": ref("190.10")}},
        None,
        id="collar/exact band edge on 190.10",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="199.6051"),
        {"reference_prices": {"AAPL": ref("190.10")}},
        ("price_collar", "[180.595, 199.605]", "199.6051"),
        id="collar/one tick past 190.10 band",
    ),
    # --- max_order_notional: 250000 -------------------------------------------------------------
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000", limit="250"),
        {},
        None,
        id="notional/limit at limit passes",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000", limit="250.01"),
        {},
        ("max_order_notional", "250000", "250010.00"),
        id="notional/limit one cent over",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000.0001", limit="250"),
        {},
        ("max_order_notional", "250000", "250000.0250"),
        id="notional/qty one tick over",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000"),
        {"reference_prices": {"AAPL": ref("250")}},
        None,
        id="notional/market at reference passes",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000"),
        {"reference_prices": {"AAPL": ref("250.01")}},
        ("max_order_notional", "250000", "250010.00"),
        id="notional/market reference one cent over",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        buy("1000", limit="250"),
        {"reference_prices": {"AAPL": ref("300")}},
        None,
        id="notional/buy limit valued at its limit",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        sell("1000", limit="250"),
        {"reference_prices": {"AAPL": ref("200")}},
        None,
        id="notional/sell limit above reference at limit",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        sell("1000", limit="250.01"),
        {"reference_prices": {"AAPL": ref("200")}},
        ("max_order_notional", "250000", "250010.00"),
        id="notional/sell limit above ref, one over",
    ),
    pytest.param(
        {"max_order_notional": "250000"},
        sell("1000", limit="200"),
        {"reference_prices": {"AAPL": ref("250.01")}},
        ("max_order_notional", "250000", "250010.00"),
        id="notional/marketable sell valued at reference",
    ),
    # --- max_position: 5000, counting open orders ------------------------------------------------
    pytest.param(
        {"max_position": "5000"},
        buy("1000"),
        {"positions": {"AAPL": D("4000")}},
        None,
        id="position/fills to limit passes",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("1000.0001"),
        {"positions": {"AAPL": D("4000")}},
        ("max_position", "5000", "5000.0001"),
        id="position/one tick over",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("500"),
        {
            "positions": {"AAPL": D("4000")},
            "open_orders": (resting("r-1", Side.BUY, "500", limit="99"),),
        },
        None,
        id="position/open buy counts, at limit",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("501"),
        {
            "positions": {"AAPL": D("4000")},
            "open_orders": (resting("r-1", Side.BUY, "500", limit="99"),),
        },
        ("max_position", "5000", "5001"),
        id="position/open buy counts, one over",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("1"),
        {
            "positions": {"AAPL": D("4000")},
            "open_orders": (resting("r-1", Side.BUY, "1000", status=OrderStatus.PENDING_NEW),),
        },
        ("max_position", "5000", "5001"),
        id="position/open order fails what fills pass",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("501"),
        {
            "positions": {"AAPL": D("4000")},
            "open_orders": (
                resting("r-1", Side.BUY, "500", cum="1500", status=OrderStatus.PARTIALLY_FILLED),
            ),
        },
        ("max_position", "5000", "5001"),
        id="position/partial fill counts leaves",
    ),
    pytest.param(
        {"max_position": "5000"},
        sell("500"),
        {"positions": {"AAPL": D("-4000")}, "open_orders": (resting("r-1", Side.SELL, "500"),)},
        None,
        id="position/short side at limit passes",
    ),
    pytest.param(
        {"max_position": "5000"},
        sell("501"),
        {"positions": {"AAPL": D("-4000")}, "open_orders": (resting("r-1", Side.SELL, "500"),)},
        ("max_position", "5000", "5001"),
        id="position/short side one over",
    ),
    pytest.param(
        {"max_position": "5000"},
        sell("9000"),
        {"positions": {"AAPL": D("4000")}},
        None,
        id="position/long to short at limit",
    ),
    pytest.param(
        {"max_position": "5000"},
        sell("9000.0001"),
        {"positions": {"AAPL": D("4000")}},
        ("max_position", "5000", "5000.0001"),
        id="position/long to short one over",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("1001"),
        {"positions": {"AAPL": D("4000")}, "open_orders": (resting("r-1", Side.SELL, "3000"),)},
        ("max_position", "5000", "5001"),
        id="position/open sell does not net a buy",
    ),
    pytest.param(
        {"max_position": "5000"},
        buy("5000"),
        {
            "positions": {"MSFT": D("5000")},
            "open_orders": (resting("r-1", Side.BUY, "1000", symbol="MSFT"),),
        },
        None,
        id="position/other symbol not counted",
    ),
    pytest.param(
        {"max_position": "5000"},
        sell("1000"),
        {"positions": {"AAPL": D("6000")}},
        None,
        id="position/reducing while over passes",
    ),
    # --- max_gross_exposure: positions 600000 + open orders 149000 + this order ------------------
    pytest.param(
        {"max_gross_exposure": "1000000"},
        buy("2510", limit="100"),
        {
            "positions": {"AAPL": D("5000"), "MSFT": D("-2000")},
            "open_orders": (
                resting("r-1", Side.BUY, "1000", limit="99"),
                resting("r-2", Side.SELL, "1000", symbol="MSFT"),
            ),
        },
        None,
        id="gross/at limit passes",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000"},
        buy("2510.01", limit="100"),
        {
            "positions": {"AAPL": D("5000"), "MSFT": D("-2000")},
            "open_orders": (
                resting("r-1", Side.BUY, "1000", limit="99"),
                resting("r-2", Side.SELL, "1000", symbol="MSFT"),
            ),
        },
        ("max_gross_exposure", "1000000", "1000001.00"),
        id="gross/one tick over",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000"},
        buy("2510.01", limit="100"),
        {"positions": {"AAPL": D("5000"), "MSFT": D("-2000")}},
        None,
        id="gross/without the open orders it would pass",
    ),
    pytest.param(
        {"max_gross_exposure": "1000000"},
        buy("1"),
        {
            "reference_prices": {"AAPL": ref("1")},
            "open_orders": (resting("r-1", Side.BUY, "10000", limit="100"),),
        },
        ("max_gross_exposure", "1000000", "1000001"),
        id="gross/open orders alone, one over",
    ),
    # --- max_orders_per_step: 3 ------------------------------------------------------------------
    pytest.param(
        {"max_orders_per_step": 3},
        buy(),
        {"accepted_order_steps": (10, 10)},
        None,
        id="per step/third passes",
    ),
    pytest.param(
        {"max_orders_per_step": 3},
        buy(),
        {"accepted_order_steps": (10, 10, 10)},
        ("max_orders_per_step", "3", "4"),
        id="per step/fourth refused",
    ),
    pytest.param(
        {"max_orders_per_step": 3},
        buy(),
        {"accepted_order_steps": (9, 9, 9, 10, 10)},
        None,
        id="per step/previous step not counted",
    ),
    # --- max_orders_per_window: 3 per 5 steps; at step 10 the window is steps 6..10 --------------
    pytest.param(
        {"max_orders_per_window": (3, 5)},
        buy(),
        {"accepted_order_steps": (6, 8)},
        None,
        id="window/third passes",
    ),
    pytest.param(
        {"max_orders_per_window": (3, 5)},
        buy(),
        {"accepted_order_steps": (6, 8, 10)},
        ("max_orders_per_window", "3 per 5 steps", "4"),
        id="window/oldest edge step counts",
    ),
    pytest.param(
        {"max_orders_per_window": (3, 5)},
        buy(),
        {"accepted_order_steps": (5, 8, 10)},
        None,
        id="window/step before the window not counted",
    ),
    pytest.param(
        {"max_orders_per_window": (3, 5)},
        buy(),
        {"accepted_order_steps": (10, 10, 10)},
        ("max_orders_per_window", "3 per 5 steps", "4"),
        id="window/current step counts",
    ),
    # --- max_open_orders: 2 ----------------------------------------------------------------------
    pytest.param(
        {"max_open_orders": 2},
        buy(),
        {"open_orders": (resting("r-1", Side.BUY, "1", symbol="MSFT"),)},
        None,
        id="open orders/second passes",
    ),
    pytest.param(
        {"max_open_orders": 2},
        buy(),
        {
            "open_orders": (
                resting("r-1", Side.BUY, "1", symbol="MSFT"),
                resting("r-2", Side.BUY, "1", symbol="MSFT", status=OrderStatus.PENDING_NEW),
            )
        },
        ("max_open_orders", "2", "3"),
        id="open orders/third refused",
    ),
    # --- self_trade_prevention (on by default) ---------------------------------------------------
    pytest.param(
        {},
        buy(limit="101"),
        {"open_orders": (resting("r-1", Side.SELL, "100", limit="101"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 sell 100 @ 101",
        ),
        id="self trade/buy limit at our sell limit",
    ),
    pytest.param(
        {},
        buy(limit="100.99"),
        {"open_orders": (resting("r-1", Side.SELL, "100", limit="101"),)},
        None,
        id="self trade/buy limit one cent below passes",
    ),
    pytest.param(
        {},
        buy(),
        {"open_orders": (resting("r-1", Side.SELL, "100", limit="101"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 sell 100 @ 101",
        ),
        id="self trade/market buy vs our sell limit",
    ),
    pytest.param(
        {},
        buy(limit="1"),
        {"open_orders": (resting("r-1", Side.SELL, "100"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 sell 100 @ market",
        ),
        id="self trade/buy limit vs our market sell",
    ),
    pytest.param(
        {},
        sell(limit="100"),
        {"open_orders": (resting("r-1", Side.BUY, "70", limit="100"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 buy 70 @ 100",
        ),
        id="self trade/sell limit at our buy limit",
    ),
    pytest.param(
        {},
        sell(limit="100.01"),
        {"open_orders": (resting("r-1", Side.BUY, "70", limit="100"),)},
        None,
        id="self trade/sell limit one cent above passes",
    ),
    pytest.param(
        {},
        sell(),
        {"open_orders": (resting("r-1", Side.BUY, "70", limit="100"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 buy 70 @ 100",
        ),
        id="self trade/market sell vs our buy limit",
    ),
    pytest.param(
        {},
        sell(limit="1000"),
        {"open_orders": (resting("r-1", Side.BUY, "70"),)},
        (
            "self_trade_prevention",
            "no cross with our own resting orders",
            "crosses r-1 buy 70 @ market",
        ),
        id="self trade/sell limit vs our market buy",
    ),
    pytest.param(
        {},
        buy(),
        {"open_orders": (resting("r-1", Side.SELL, "100", symbol="MSFT"),)},
        None,
        id="self trade/other symbol passes",
    ),
    pytest.param(
        {},
        buy(),
        {"open_orders": (resting("r-1", Side.BUY, "100"),)},
        None,
        id="self trade/same side passes",
    ),
    pytest.param(
        {},
        buy(),
        {
            "open_orders": (
                resting("r-1", Side.SELL, "0", cum="100", status=OrderStatus.PENDING_CANCEL),
            )
        },
        None,
        id="self trade/nothing left to trade passes",
    ),
    pytest.param(
        {"self_trade_prevention": False},
        buy(),
        {"open_orders": (resting("r-1", Side.SELL, "100"),)},
        None,
        id="self trade/disabled passes",
    ),
    # --- rail order: with two violations the earlier rail is reported ---------------------------
    pytest.param(
        {},
        buy(symbol="IBM"),
        {"kill_switch_engaged": True},
        ("kill_switch", "not engaged", "engaged"),
        id="order/kill switch before allowlist",
    ),
    pytest.param(
        {"restricted": ["GME"], "max_order_qty": "10"},
        buy("11", symbol="GME"),
        {},
        ("restricted_list", "not restricted", "GME"),
        id="order/restricted before qty",
    ),
    pytest.param(
        {},
        buy("0", cid="o-old"),
        {},
        ("duplicate_client_order_id", "an id not used before in this session", "o-old"),
        id="order/duplicate before shape",
    ),
    pytest.param(
        {"max_order_qty": "10", "max_order_notional": "100"},
        buy("11"),
        {},
        ("max_order_qty", "10", "11"),
        id="order/qty before notional",
    ),
    pytest.param(
        {"price_collar_pct": "5"},
        buy(limit="1000"),
        {"reference_prices": {}},
        ("reference_price", "a positive reference price", "missing"),
        id="order/reference before collar",
    ),
    pytest.param(
        {"price_collar_pct": "5", "max_order_notional": "100"},
        buy("10", limit="200"),
        {},
        ("price_collar", "[95, 105]", "200"),
        id="order/collar before notional",
    ),
    pytest.param(
        {"max_position": "10", "max_gross_exposure": "100"},
        buy("11"),
        {},
        ("max_position", "10", "11"),
        id="order/position before gross",
    ),
    pytest.param(
        {"max_orders_per_step": 1, "max_orders_per_window": (1, 5)},
        buy(),
        {"accepted_order_steps": (10,)},
        ("max_orders_per_step", "1", "2"),
        id="order/per step before window",
    ),
    pytest.param(
        {"max_open_orders": 1},
        buy(),
        {"open_orders": (resting("r-1", Side.SELL, "100"),)},
        ("max_open_orders", "1", "2"),
        id="order/open orders before self trade",
    ),
]


@pytest.mark.parametrize(("config", "new", "ctx", "expected"), CASES)
def test_rail_table(config, new, ctx, expected):
    result = check_order(new, RailsConfig(**config), context(**ctx))
    assert verdict(result) == expected
    if result is not None:
        # Attributable: the sentence names the rail, and the limit and observed values.
        assert result.detail.startswith(f"rail {result.rail}: ")
        assert result.detail.endswith("; the order is refused")
        assert f"(limit: {result.limit}; observed: {result.observed}); " in result.detail


def test_rail_names_are_the_documented_order_and_each_has_a_function():
    assert RAIL_NAMES == (
        "kill_switch",
        "symbol_allowlist",
        "restricted_list",
        "duplicate_client_order_id",
        "well_formed_order",
        "attribution",
        "max_order_qty",
        "reference_price",
        "price_move_limit",
        "price_collar",
        "max_order_notional",
        "credit_limit",
        "strategy_limits",
        "max_position",
        "max_gross_exposure",
        "duplicate_order",
        "max_orders_per_step",
        "max_orders_per_window",
        "max_messages_per_step",
        "max_messages_per_window",
        "max_open_orders",
        "self_trade_prevention",
    )
    assert all(callable(getattr(rules, f"rail_{name}")) for name in RAIL_NAMES)
    doc = rules.__doc__ or ""
    positions = [doc.index(f" {name} ") for name in RAIL_NAMES]
    assert positions == sorted(positions), "the module docstring lists the rails in order"


def test_every_rail_has_a_case_that_refuses():
    from tests.execution.live.rails.test_controls import CONTROL_CASES

    cases = [*CASES, *CONTROL_CASES]
    refused = {case.values[-1][0] for case in cases if case.values[-1] is not None}
    assert refused == set(RAIL_NAMES)


def test_an_order_within_every_configured_limit_passes():
    config = RailsConfig.from_mapping(FULL_EXAMPLE)
    ctx = context(reference_prices=initial_references(config) | {"MSFT": ref("50")}, step=3)
    assert check_order(buy("10", limit="190"), config, ctx) is None


def test_rejection_payload():
    result = check_order(buy("1001"), RailsConfig(max_order_qty=D("1000")), context())
    assert result is not None
    assert result.to_payload() == {
        "rail": "max_order_qty",
        "limit": "1000",
        "observed": "1001",
        "detail": "rail max_order_qty: order qty 1001 exceeds the limit 1000 "
        "(limit: 1000; observed: 1001); the order is refused",
    }


# --- fail closed -------------------------------------------------------------------------------


def test_a_rail_that_raises_refuses(monkeypatch):
    def boom(order, config, ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(rules, "rail_max_order_qty", boom)
    result = check_order(buy("1"), RailsConfig(max_order_qty=D("10")), context())
    assert result == RailRejection(
        rail="max_order_qty",
        limit="a rail that evaluates without error",
        observed="error",
        detail="rail max_order_qty raised RuntimeError: boom; the order is refused (fail closed)",
    )


def test_a_rail_that_answers_nonsense_refuses(monkeypatch):
    monkeypatch.setattr(rules, "rail_self_trade_prevention", lambda order, config, ctx: "ok")
    result = check_order(buy("1"), RailsConfig(), context())
    assert verdict(result) == (
        "self_trade_prevention",
        "a rail that evaluates without error",
        "error",
    )
    assert result is not None
    assert "raised TypeError: rail answered str" in result.detail


def test_unsound_context_refuses_instead_of_raising():
    class Broken(dict):
        def get(self, *args):
            raise KeyError("positions unavailable")

    result = check_order(buy("1"), RailsConfig(max_position=D("10")), context(positions=Broken()))
    assert verdict(result) == ("max_position", "a rail that evaluates without error", "error")


def test_value_too_large_to_compute_exactly_refuses():
    # 151 x 61 significant digits need more than the exact context holds: refused, not rounded.
    qty = D("1." + "1" * 150)
    result = check_order(
        buy(qty, limit="1." + "3" * 60), RailsConfig(max_order_notional=D("100")), context()
    )
    assert verdict(result) == ("max_order_notional", "a rail that evaluates without error", "error")
    assert "Inexact" in result.detail


def test_rail_called_without_the_reference_rail_still_fails_closed():
    with pytest.raises(rules.ReferenceUnavailable, match="no reference price for GME"):
        rules.rail_max_order_notional(
            buy(symbol="GME"), RailsConfig(max_order_notional=D("1")), context()
        )


# --- kill switch -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "new",
    [buy("1"), sell("1", limit="100"), buy("1", symbol="MSFT"), buy("1", cid="o-other")],
    ids=["market buy", "limit sell", "other symbol", "other id"],
)
def test_engaged_switch_refuses_every_order(new):
    state = engage(KillSwitchState(), 2, "breach")
    assert check_order(new, RailsConfig(), context(kill_switch_engaged=False)) is None
    result = check_order(new, RailsConfig(), context(kill_switch_engaged=state.engaged))
    assert verdict(result) == ("kill_switch", "not engaged", "engaged")


def test_prune_accepted_steps_keeps_the_widest_window():
    steps = (1, 4, 5, 6, 9, 10)
    assert prune_accepted_steps(steps, 10, RailsConfig(max_orders_per_window=(3, 5))) == (6, 9, 10)
    assert prune_accepted_steps(steps, 10, RailsConfig()) == (10,)


# --- property ----------------------------------------------------------------------------------

AMOUNTS = st.one_of(
    st.decimals(min_value=D("-5"), max_value=D("5000"), places=4),
    st.sampled_from([D("0"), D("-0"), D("NaN"), D("Infinity"), D("1000"), D("0.0001")]),
)
LIMITS = st.decimals(min_value=D("0.0001"), max_value=D("5000"), places=4)


@settings(max_examples=200, deadline=None)
@given(
    qty=AMOUNTS,
    limit_price=st.one_of(st.none(), AMOUNTS),
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    reference=st.one_of(st.none(), AMOUNTS),
    as_of=st.integers(min_value=-2, max_value=12),
    max_qty=LIMITS,
    max_notional=st.one_of(LIMITS, st.decimals(min_value=D("1"), max_value=D("10000000"))),
    collar=st.one_of(st.none(), LIMITS),
    position=st.one_of(st.none(), LIMITS),
    resting_leaves=st.one_of(st.none(), LIMITS),
)
def test_check_order_never_raises_and_accepted_orders_respect_limits(
    qty,
    limit_price,
    side,
    order_type,
    reference,
    as_of,
    max_qty,
    max_notional,
    collar,
    position,
    resting_leaves,
):
    config = RailsConfig(
        max_order_qty=max_qty,
        max_order_notional=max_notional,
        price_collar_pct=collar,
        max_position=position,
        max_reference_age_steps=5,
    )
    refs = {} if reference is None else {"AAPL": ReferencePrice(price=reference, as_of_step=as_of)}
    resting_orders = (
        () if resting_leaves is None else (resting("r-1", Side.BUY, str(resting_leaves)),)
    )
    new = NewOrder(
        client_order_id="o-p",
        symbol="AAPL",
        side=side,
        qty=qty,
        order_type=order_type,
        limit_price=limit_price,
    )
    result = check_order(new, config, context(reference_prices=refs, open_orders=resting_orders))
    if result is not None:
        assert result.rail in RAIL_NAMES
        return
    assert qty <= max_qty
    price = limit_price if order_type is OrderType.LIMIT else reference
    assert price is not None
    assert qty * price <= max_notional
