"""The issue-12 rails (rails/controls.py) at their edges, the kill switch's modes and scopes, and
the session's table of configured rails."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.account import FeeSchedule
from peak_trade.execution.broker.model import OrderType, Side
from peak_trade.execution.live.rails import rules
from peak_trade.execution.live.rails.config import RailsConfig, RailsConfigError
from peak_trade.execution.live.rails.controls import reduces_position, worst_case_cost
from peak_trade.execution.live.rails.kill_switch import KillScope
from peak_trade.execution.live.rails.rules import (
    RAIL_NAMES,
    RecentOrder,
    active_rails,
    check_message,
    check_order,
)
from peak_trade.execution.live.tags import OrderTags
from tests.execution.live.rails.test_rules import STEP, buy, context, ref, resting, sell, verdict

D = Decimal
ALPHA = OrderTags(strategy="alpha")


def recent(cid: str, step: int, qty: str = "100", limit: str | None = None, side=Side.BUY):
    return RecentOrder(
        step=step,
        client_order_id=cid,
        symbol="AAPL",
        side=side,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
    )


CONTROL_CASES = [
    # attribution
    pytest.param({"require_strategy": True}, buy(), {"tags": ALPHA}, None, id="attributed"),
    pytest.param(
        {"require_strategy": True},
        buy(),
        {},
        ("attribution", "a strategy tag", "no strategy"),
        id="no strategy",
    ),
    # price collar over time: AAPL at 100 now; 5% over 3 steps
    pytest.param(
        {"price_move_limit": (D("5"), 3)},
        buy(),
        {"reference_history": {"AAPL": (ref("95.24", STEP - 2),)}},
        None,
        id="moved 4.99%",
    ),
    pytest.param(
        {"price_move_limit": (D("5"), 3)},
        buy(),
        {"reference_history": {"AAPL": (ref("105", STEP - 1), ref("95", STEP - 2))}},
        ("price_move_limit", "5% over 3 steps", "5.26%"),
        id="moved 5.26% against the low",
    ),
    # credit: cash 10000; AAPL at 100
    pytest.param(
        {"credit_limit": True},
        buy("100", limit="100"),
        {"buying_power": D("10000")},
        None,
        id="credit exactly at buying power",
    ),
    pytest.param(
        {"credit_limit": True},
        buy("1", limit="100"),
        {
            "buying_power": D("10000"),
            "open_orders": (resting("r-1", Side.BUY, "100", limit="100"),),
        },
        ("credit_limit", "10000", "10100"),
        id="open orders count against credit",
    ),
    pytest.param(
        {"credit_limit": True, "credit_threshold": D("5000")},
        buy("60", limit="100"),
        {"buying_power": D("10000")},
        ("credit_limit", "5000", "6000"),
        id="the threshold binds",
    ),
    pytest.param(
        {"credit_limit": True},
        sell("100"),
        {"buying_power": D("0"), "positions": {"AAPL": D("100")}},
        None,
        id="selling what is held costs nothing",
    ),
    pytest.param(
        {"credit_limit": True},
        buy("100"),
        {"buying_power": D("10000"), "reference_prices": {"AAPL": ref("100")}},
        None,
        id="market order at the reference",
    ),
    pytest.param(
        {"credit_limit": True, "price_collar_pct": D("1")},
        buy("100"),
        {"buying_power": D("10000")},
        ("credit_limit", "10000", "10100"),
        id="market order at the top of the collar",
    ),
    pytest.param(
        {"credit_limit": True},
        buy("1", limit="100"),
        {},
        ("credit_limit", "an account or a credit threshold", "none"),
        id="no account, no threshold",
    ),
    # per-strategy limits
    pytest.param(
        {"per_strategy": {"alpha": {"max_order_qty": "100"}}},
        buy("101"),
        {"tags": OrderTags(strategy="beta")},
        None,
        id="another strategy's limit",
    ),
    pytest.param(
        {"per_strategy": {"alpha": {"max_order_qty": "100"}}},
        buy("101"),
        {"tags": ALPHA},
        ("strategy_limits", "alpha max_order_qty 100", "101"),
        id="strategy qty",
    ),
    pytest.param(
        {"per_strategy": {"alpha": {"max_open_orders": 1}}},
        buy("1"),
        {
            "tags": ALPHA,
            "open_orders": (resting("r-1", Side.BUY, "5"),),
            "order_tags": {"r-1": ALPHA},
        },
        ("strategy_limits", "alpha max_open_orders 1", "2"),
        id="strategy open orders",
    ),
    pytest.param(
        {"per_strategy": {"alpha": {"max_position": "100"}}},
        buy("11"),
        {"tags": ALPHA, "strategy_positions": {("alpha", "AAPL"): D("90")}},
        ("strategy_limits", "alpha max_position 100", "101"),
        id="strategy position",
    ),
    # duplicative orders within 3 steps
    pytest.param(
        {"duplicate_orders_steps": 3},
        buy("100"),
        {"recent_orders": (recent("o-1", STEP - 3),)},
        None,
        id="identical, 4 steps ago",
    ),
    pytest.param(
        {"duplicate_orders_steps": 3},
        buy("100", limit="100"),
        {"recent_orders": (recent("o-1", STEP - 2, limit="100.01"),)},
        None,
        id="another price",
    ),
    pytest.param(
        {"duplicate_orders_steps": 3},
        buy("100"),
        {"recent_orders": (recent("o-1", STEP - 2),)},
        ("duplicate_order", "no identical order within 3 steps", f"same as o-1 (step {STEP - 2})"),
        id="identical within the window",
    ),
    # messages count cancels too
    pytest.param(
        {"max_messages_per_step": 2},
        buy(),
        {"message_steps": (STEP,)},
        None,
        id="2nd message in the step",
    ),
    pytest.param(
        {"max_messages_per_step": 2},
        buy(),
        {"message_steps": (STEP, STEP)},
        ("max_messages_per_step", "2", "3"),
        id="3rd message in the step",
    ),
    pytest.param(
        {"max_messages_per_window": (3, 2)},
        buy(),
        {"message_steps": (STEP - 2, STEP - 1, STEP - 1, STEP)},
        ("max_messages_per_window", "3 per 2 steps", "4"),
        id="4th message in the window",
    ),
    # reduce-only kill switch
    pytest.param(
        {},
        sell("40"),
        {
            "kill_switch_engaged": True,
            "kill_switch_mode": "reduce_only",
            "positions": {"AAPL": D("100")},
            "open_orders": (resting("r-1", Side.SELL, "60"),),
        },
        None,
        id="reduce-only: reduces with the resting sells",
    ),
    pytest.param(
        {},
        sell("41"),
        {
            "kill_switch_engaged": True,
            "kill_switch_mode": "reduce_only",
            "positions": {"AAPL": D("100")},
            "open_orders": (resting("r-1", Side.SELL, "60"),),
        },
        (
            "kill_switch",
            "reduce-only: an order that only reduces an open position",
            "does not reduce",
        ),
        id="reduce-only: would flip",
    ),
    pytest.param(
        {},
        buy("1"),
        {
            "kill_scopes": (KillScope(tag="strategy", value="alpha"),),
            "tags": OrderTags(strategy="beta"),
        },
        None,
        id="partial kill: another strategy",
    ),
    pytest.param(
        {},
        buy("1"),
        {"kill_scopes": (KillScope(tag="strategy", value="alpha"),), "tags": ALPHA},
        ("kill_switch", "not engaged for strategy alpha", "engaged for strategy alpha"),
        id="partial kill: its strategy",
    ),
]


@pytest.mark.parametrize(("config", "new", "ctx", "expected"), CONTROL_CASES)
def test_control_rails(config, new, ctx, expected):
    result = check_order(new, RailsConfig(**config), context(**ctx))
    assert verdict(result) == expected
    if result is not None:
        assert result.detail.startswith(f"rail {result.rail}: ")
        assert f"(limit: {result.limit}; observed: {result.observed}); " in result.detail


def test_only_configured_rails_are_in_the_table():
    table = [name for name, _ in active_rails(RailsConfig())]
    assert table == [
        "kill_switch",
        "symbol_allowlist",
        "duplicate_client_order_id",
        "well_formed_order",
        "self_trade_prevention",
    ]
    full = RailsConfig(
        restricted=frozenset({"GME"}),
        max_order_qty=D(1),
        max_order_notional=D(1),
        price_collar_pct=D(1),
        max_position=D(1),
        max_gross_exposure=D(1),
        max_orders_per_step=1,
        max_orders_per_window=(1, 1),
        max_open_orders=1,
        require_strategy=True,
        credit_limit=True,
        per_strategy={"alpha": {"max_order_qty": "1"}},
        duplicate_orders_steps=1,
        max_messages_per_step=1,
        max_messages_per_window=(1, 1),
        price_move_limit=(D(1), 1),
    )
    assert [name for name, _ in active_rails(full)] == list(RAIL_NAMES)


def test_an_unconfigured_rail_is_never_called(monkeypatch):
    def boom(order, config, ctx):
        raise AssertionError("called")

    monkeypatch.setattr(rules, "rail_credit_limit", boom)
    assert check_order(buy("1"), RailsConfig(), context()) is None


def test_a_cancel_is_judged_by_the_message_rails_only():
    config = RailsConfig(max_messages_per_step=1, max_order_qty=D("1"))
    assert check_message(config, context(), buy("500")) is None
    refused = check_message(config, context(message_steps=(STEP,)), buy("500"))
    assert verdict(refused) == ("max_messages_per_step", "1", "2")


def test_worst_case_cost_counts_fees_and_short_sales():
    ctx = context(
        positions={"AAPL": D("10")},
        open_orders=(resting("r-1", Side.SELL, "5", limit="100"),),
        fees=FeeSchedule(per_fill=D("1")),
    )
    # resting sell 5 (covered by the long 10): 0 + fee 1; this sell 10: 5 covered, 5 short at 100
    assert worst_case_cost(sell("10", limit="100"), RailsConfig(credit_limit=True), ctx) == D("502")


def test_reduces_position():
    long = context(positions={"AAPL": D("10")})
    assert reduces_position(sell("10"), long)
    assert not reduces_position(sell("11"), long)
    assert not reduces_position(buy("1"), long)
    assert not reduces_position(sell("1"), context())
    assert reduces_position(buy("3"), context(positions={"AAPL": D("-3")}))


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({"credit_limit": {"max": "1"}}, "/credit_limit/max"),
        ({"credit_limit": {"threshold": "0"}}, "/credit_limit/threshold"),
        ({"credit_limit": True}, "/credit_limit"),
        ({"duplicate_orders": {}}, "/duplicate_orders/window_steps"),
        ({"duplicate_orders": {"window_steps": 0}}, "/duplicate_orders/window_steps"),
        ({"price_move_limit": {"pct": "5"}}, "/price_move_limit/steps"),
        ({"max_messages_per_window": {"count": 0, "steps": 1}}, "/max_messages_per_window/count"),
        ({"max_fills_per_window": {"fills": 1}}, "/max_fills_per_window/steps"),
        ({"per_strategy": {"alpha": {}}}, "/per_strategy/alpha"),
        ({"per_strategy": {"alpha": {"max_qty": "1"}}}, "/per_strategy/alpha/max_qty"),
        (
            {"per_strategy": {"alpha": {"max_open_orders": "1"}}},
            "/per_strategy/alpha/max_open_orders",
        ),
        ({"kill_switch_mode": "soft"}, "/kill_switch_mode"),
        ({"cancel_on_breach": "yes"}, "/cancel_on_breach"),
        ({"unbounded": 1}, "/unbounded"),
        ({"max_realised_loss": "-5"}, "/max_realised_loss"),
    ],
)
def test_control_config_errors_name_their_pointer(data, pointer):
    with pytest.raises(RailsConfigError) as caught:
        RailsConfig.from_mapping(data)
    assert caught.value.pointer == pointer
