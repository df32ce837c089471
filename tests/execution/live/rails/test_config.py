"""The rails config: `config.rails` parsed to exact decimals and written back; every unusable
value is refused with the JSON pointer of where it sits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.live.rails.config import RailsConfig, RailsConfigError
from peak_trade.execution.live.rails.rules import ReferencePrice, initial_references
from tests.execution.live.rails.support import FULL_EXAMPLE

D = Decimal


def test_from_mapping_full_example_parses_to_exact_decimals():
    config = RailsConfig.from_mapping(FULL_EXAMPLE)
    assert config == RailsConfig(
        restricted=frozenset({"GME"}),
        max_order_qty=D("1000"),
        max_order_notional=D("250000"),
        price_collar_pct=D("5"),
        max_reference_age_steps=10,
        max_position=D("5000"),
        max_gross_exposure=D("1000000"),
        max_orders_per_step=5,
        max_orders_per_window=(20, 10),
        max_open_orders=10,
        self_trade_prevention=True,
        kill_switch_rejections=(3, 5),
        reference_prices={"AAPL": D("190.10")},
    )
    price = config.reference_prices["AAPL"]
    assert type(price) is Decimal
    assert str(price) == "190.10"  # exact, not 190.099999...
    assert all(
        type(getattr(config, name)) is Decimal
        for name in ("max_order_qty", "max_order_notional", "price_collar_pct", "max_position")
    )
    assert initial_references(config) == {"AAPL": ReferencePrice(price=D("190.10"), as_of_step=0)}


def test_from_mapping_payload_round_trip_and_defaults():
    config = RailsConfig.from_mapping(FULL_EXAMPLE)
    assert RailsConfig.from_mapping(config.to_payload()) == config
    assert RailsConfig.from_mapping({}) == RailsConfig()
    assert RailsConfig().self_trade_prevention is True


def test_from_mapping_accepts_ints_and_decimals():
    config = RailsConfig.from_mapping({"max_order_qty": 1000, "price_collar_pct": D("2.5")})
    assert config.max_order_qty == D("1000")
    assert type(config.max_order_qty) is Decimal
    assert config.price_collar_pct == D("2.5")


def test_reference_prices_are_read_only():
    config = RailsConfig.from_mapping(FULL_EXAMPLE)
    with pytest.raises(TypeError):
        config.reference_prices["AAPL"] = D("1")  # type: ignore[index]


BAD_CONFIGS = [
    pytest.param(
        {"max_qty": "1"},
        "/max_qty: unknown key; a misspelt safety limit is never ignored.",
        id="unknown key",
    ),
    pytest.param(
        {"zz": 1, "aa": 2}, "/aa: unknown key (also unknown: zz);", id="unknown keys listed"
    ),
    pytest.param(
        {"max_order_qty": 0.5},
        "/max_order_qty: must be a positive decimal, got the float 0.5: a binary float cannot "
        "hold money exactly",
        id="float refused",
    ),
    pytest.param(
        {"reference_prices": {"AAPL": 190.1}},
        "/reference_prices/AAPL: must be a positive decimal, got the float 190.1",
        id="float price refused",
    ),
    pytest.param(
        {"max_order_qty": True},
        "/max_order_qty: must be a positive decimal, got the bool True",
        id="bool decimal refused",
    ),
    pytest.param(
        {"max_orders_per_step": True},
        "/max_orders_per_step: must be a whole number >= 1, got the bool True",
        id="bool count refused",
    ),
    pytest.param(
        {"kill_switch": {"rejections": True, "window_steps": 5}},
        "/kill_switch/rejections: must be a whole number >= 1, got the bool True",
        id="bool in window refused",
    ),
    pytest.param(
        {"max_open_orders": D("5.0")},
        "/max_open_orders: must be a whole number >= 1, got the Decimal '5.0'",
        id="decimal count refused",
    ),
    pytest.param(
        {"max_open_orders": "5"},
        "/max_open_orders: must be a whole number >= 1, got the str '5'",
        id="string count refused",
    ),
    pytest.param(
        {"max_order_qty": "-1"},
        "/max_order_qty: must be a positive decimal, got '-1'",
        id="negative string refused",
    ),
    pytest.param(
        {"max_position": -1},
        "/max_position: must be a positive decimal, got '-1'",
        id="negative int refused",
    ),
    pytest.param(
        {"max_order_notional": "0"},
        "/max_order_notional: must be a positive decimal, got '0'",
        id="zero refused",
    ),
    pytest.param(
        {"reference_prices": {"BTC/USD": "-5"}},
        "/reference_prices/BTC~1USD: must be a positive decimal, got '-5'",
        id="negative price refused",
    ),
    pytest.param(
        {"max_gross_exposure": D("NaN")},
        "/max_gross_exposure: must be a positive decimal, got 'NaN'",
        id="NaN refused",
    ),
    pytest.param(
        {"price_collar_pct": "1e3"},
        '/price_collar_pct: must be a positive decimal such as "100" or "0.5", got \'1e3\'',
        id="exponent refused",
    ),
    pytest.param(
        {"max_order_qty": None},
        "/max_order_qty: has no value (null); omit the key to leave the rail off",
        id="null refused",
    ),
    pytest.param(
        {"max_reference_age_steps": -1},
        "/max_reference_age_steps: must be a whole number >= 0, got -1",
        id="negative count refused",
    ),
    pytest.param(
        {"max_orders_per_step": 0},
        "/max_orders_per_step: must be a whole number >= 1, got 0",
        id="zero count refused",
    ),
    pytest.param(
        {"max_orders_per_window": {"count": 20}},
        "/max_orders_per_window/steps: required",
        id="window step missing",
    ),
    pytest.param(
        {"max_orders_per_window": {"count": 20, "steps": 10, "extra": 1}},
        "/max_orders_per_window/extra: unknown key; the keys are count and steps",
        id="window unknown key",
    ),
    pytest.param(
        {"max_orders_per_window": {"count": 20, "steps": 0}},
        "/max_orders_per_window/steps: must be a whole number >= 1, got 0",
        id="window zero steps",
    ),
    pytest.param(
        {"max_orders_per_window": [20, 10]},
        "/max_orders_per_window: must be a mapping with keys count and steps, got a list",
        id="window as a list",
    ),
    pytest.param(
        {"kill_switch": {"rejections": 3, "window": 5}},
        "/kill_switch/window: unknown key",
        id="kill switch unknown key",
    ),
    pytest.param(
        {"restricted": "GME"},
        "/restricted: must be a list of symbols, got 'GME'",
        id="restricted as a string",
    ),
    pytest.param(
        {"restricted": ["GME", "amc"]},
        "/restricted/1: must be a symbol (1-32 upper-case letters, digits or . _ / : -), got 'amc'",
        id="restricted lower case",
    ),
    pytest.param(
        {"reference_prices": ["AAPL"]},
        "/reference_prices: must be a mapping of symbol to price, got a list",
        id="reference prices as a list",
    ),
    pytest.param(
        {"self_trade_prevention": "yes"},
        "/self_trade_prevention: must be true or false, got 'yes'",
        id="self trade as a string",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_CONFIGS)
def test_from_mapping_refuses(data, message):
    with pytest.raises(RailsConfigError) as caught:
        RailsConfig.from_mapping(data)
    assert str(caught.value).startswith(message)
    assert str(caught.value).startswith(caught.value.pointer + ": ")
    assert isinstance(caught.value, ValueError)


def test_from_mapping_refuses_a_non_mapping():
    with pytest.raises(RailsConfigError) as caught:
        RailsConfig.from_mapping(["max_order_qty"])  # type: ignore[arg-type]
    assert caught.value.pointer == ""
    assert str(caught.value) == "the rails config must be a mapping, got a list"


def test_direct_construction_is_validated_too():
    with pytest.raises(RailsConfigError, match=r"^/max_order_qty: must be a positive decimal"):
        RailsConfig(max_order_qty=D("-1"))
    with pytest.raises(RailsConfigError, match=r"^/kill_switch/window_steps: must be a whole"):
        RailsConfig(kill_switch_rejections=(3, 0))
    assert RailsConfig(max_order_qty="10").max_order_qty == D("10")  # type: ignore[arg-type]
