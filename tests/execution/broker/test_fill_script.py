"""parse_broker_spec: the plain-data shape, its shorthands, and errors that name their path."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import yaml

from peak_trade.execution.broker.fill_script import (
    DEFAULT_SCRIPT,
    Ack,
    CancelBehaviour,
    CancelUnsolicited,
    Duplicate,
    Expire,
    Fill,
    FillScriptError,
    HealthOutage,
    MockBrokerSpec,
    OrderScript,
    Reject,
    Wait,
    parse_broker_spec,
)
from peak_trade.execution.broker.model import NewOrder, Side

D = Decimal

DOCUMENTED_EXAMPLE = """
reference_prices: {AAPL: "190.10", MSFT: "410.00"}
default: [ack, fill]
by_symbol:
  MSFT: [ack, {fill: {qty: "40", price: "410.5"}}, fill]
by_order:
  o-2:
    actions: [{wait: 2}, {reject: insufficient margin}]
    on_cancel: reject
  o-3: {actions: [ack, {fill: {qty: "10"}}], cancel_delay: 2}
  o-4: {fail_submit: connection reset}
  o-5: {on_cancel: ignore}
health:
  - {from_step: 3, steps: 2, detail: gateway down}
"""


def test_documented_example() -> None:
    spec = parse_broker_spec(yaml.safe_load(DOCUMENTED_EXAMPLE))
    assert spec == MockBrokerSpec(
        reference_prices={"AAPL": D("190.10"), "MSFT": D("410.00")},
        default=DEFAULT_SCRIPT,
        by_symbol={
            "MSFT": OrderScript(actions=(Ack(), Fill(qty=D(40), price=D("410.5")), Fill())),
        },
        by_order={
            "o-2": OrderScript(
                actions=(Wait(steps=2), Reject(reason="insufficient margin")),
                on_cancel=CancelBehaviour.REJECT,
            ),
            "o-3": OrderScript(actions=(Ack(), Fill(qty=D(10))), cancel_delay=2),
            "o-4": OrderScript(actions=DEFAULT_SCRIPT.actions, fail_submit="connection reset"),
            "o-5": OrderScript(actions=DEFAULT_SCRIPT.actions, on_cancel=CancelBehaviour.IGNORE),
        },
        health=(HealthOutage(from_step=3, steps=2, detail="gateway down"),),
    )


def test_empty_data_gives_the_default_spec() -> None:
    assert parse_broker_spec({}) == MockBrokerSpec()
    assert MockBrokerSpec().default == OrderScript(actions=(Ack(), Fill()))


@pytest.mark.parametrize(
    ("plain", "action"),
    [
        ("ack", Ack()),
        ("fill", Fill()),
        ("duplicate", Duplicate()),
        ("expire", Expire()),
        ({"ack": None}, Ack()),
        ({"ack": {}}, Ack()),
        ({"fill": None}, Fill()),
        ({"fill": {}}, Fill()),
        ({"fill": {"qty": "40"}}, Fill(qty=D(40))),
        ({"fill": {"price": D("1.5")}}, Fill(price=D("1.5"))),
        ({"fill": {"qty": 40, "price": "410.50"}}, Fill(qty=D(40), price=D("410.50"))),
        ({"wait": 2}, Wait(steps=2)),
        ({"wait": {"steps": 2}}, Wait(steps=2)),
        ({"reject": "no margin"}, Reject(reason="no margin")),
        ({"reject": {"reason": "no margin"}}, Reject(reason="no margin")),
        ({"cancel_unsolicited": "halted"}, CancelUnsolicited(reason="halted")),
        ({"cancel_unsolicited": {"reason": "halted"}}, CancelUnsolicited(reason="halted")),
        ({"duplicate": {}}, Duplicate()),
        ({"expire": None}, Expire()),
    ],
)
def test_action_forms(plain: object, action: object) -> None:
    assert parse_broker_spec({"default": [plain]}).default.actions == (action,)


def test_script_lookup_order() -> None:
    spec = parse_broker_spec(
        {"default": ["ack"], "by_symbol": {"MSFT": ["expire"]}, "by_order": {"o-1": ["fill"]}}
    )

    def order(cid: str, symbol: str) -> NewOrder:
        return NewOrder(client_order_id=cid, symbol=symbol, side=Side.BUY, qty=D(1))

    assert spec.script_for(order("o-1", "MSFT")).actions == (Fill(),)
    assert spec.script_for(order("o-2", "MSFT")).actions == (Expire(),)
    assert spec.script_for(order("o-2", "AAPL")).actions == (Ack(),)


def test_mapping_script_without_actions_takes_the_default_actions() -> None:
    spec = parse_broker_spec({"default": ["ack"], "by_order": {"o-1": {"on_cancel": "ignore"}}})
    assert spec.by_order["o-1"] == OrderScript(actions=(Ack(),), on_cancel=CancelBehaviour.IGNORE)


def test_decimal_values_keep_their_digits() -> None:
    spec = parse_broker_spec({"reference_prices": {"A": "190.10", "B": 7, "C": D("0.001")}})
    assert [str(p) for p in spec.reference_prices.values()] == ["190.10", "7", "0.001"]


def test_health_outage_window() -> None:
    spec = parse_broker_spec({"health": [{"from_step": 3, "steps": 2}]})
    (outage,) = spec.health
    assert outage == HealthOutage(from_step=3, steps=2, detail="scripted outage")
    assert [s for s in range(7) if outage.covers(s)] == [3, 4]


def test_error_is_a_value_error() -> None:
    assert issubclass(FillScriptError, ValueError)


ERRORS = [
    (
        {"by_order": {"o-1": ["ack", "ack", {"fill": {"qty": "-5"}}]}},
        "/by_order/o-1/2/fill/qty: must be a positive decimal, got '-5'",
    ),
    (
        {"by_order": {"o-1": {"actions": ["ack", {"fill": {"price": 0}}]}}},
        "/by_order/o-1/actions/1/fill/price: must be a positive decimal, got 0",
    ),
    (
        {"default": [{"fill": {"qty": 0.1}}]},
        "/default/0/fill/qty: must be a positive decimal written as a string, got float 0.1",
    ),
    (
        {"default": [{"fill": {"qty": True}}]},
        "/default/0/fill/qty: must be a positive decimal, got True",
    ),
    (
        {"default": [{"fill": {"qty": "NaN"}}]},
        "/default/0/fill/qty: must be a positive decimal, got 'NaN'",
    ),
    (
        {"default": [{"fill": {"qty": "Infinity"}}]},
        "/default/0/fill/qty: must be a positive decimal, got 'Infinity'",
    ),
    (
        {"default": [{"fill": {"qty": "ten"}}]},
        "/default/0/fill/qty: must be a positive decimal, got 'ten'",
    ),
    (
        {"reference_prices": {"AAPL": "-1"}},
        "/reference_prices/AAPL: must be a positive decimal, got '-1'",
    ),
    (
        {"default": [{"fill": {"qty": "1", "px": "2"}}]},
        "/default/0/fill/px: unknown key (expected one of qty, price)",
    ),
    ({"default": [{"wait": 0}]}, "/default/0/wait/steps: must be an integer >= 1, got 0"),
    ({"default": [{"wait": "2"}]}, "/default/0/wait/steps: must be an integer >= 1, got '2'"),
    ({"default": [{"wait": {}}]}, "/default/0/wait/steps: is required"),
    ({"default": [{"reject": ""}]}, "/default/0/reject/reason: must be a non-empty string, got ''"),
    ({"default": ["wait"]}, "/default/0: action 'wait' needs a value, e.g. {wait: ...}"),
    (
        {"default": ["fil"]},
        "/default/0: unknown action 'fil' (expected one of ack, fill, wait, reject, duplicate, "
        "expire, cancel_unsolicited)",
    ),
    (
        {"default": [{"refuse": "x"}]},
        "/default/0/refuse: unknown action (expected one of ack, fill, wait, reject, duplicate, "
        "expire, cancel_unsolicited)",
    ),
    (
        {"default": [{"ack": {}, "fill": {}}]},
        "/default/0: an action is a name or a one-key mapping such as {wait: 2}, "
        "got {'ack': {}, 'fill': {}}",
    ),
    ({"default": [{"ack": 1}]}, "/default/0/ack: must be a mapping, got 1"),
    ({"default": [{"fill": "40"}]}, "/default/0/fill: must be a mapping, got '40'"),
    ({"default": "ack"}, "/default: a script must be a list of actions or a mapping, got 'ack'"),
    (
        {"by_symbol": {"MSFT": {"actions": ["ack"], "on_cancle": "reject"}}},
        "/by_symbol/MSFT/on_cancle: unknown key "
        "(expected one of actions, on_cancel, cancel_delay, fail_submit)",
    ),
    (
        {"by_order": {"o-1": {"on_cancel": False}}},
        "/by_order/o-1/on_cancel: must be one of accept, reject, ignore, got False",
    ),
    (
        {"by_order": {"o-1": {"cancel_delay": -1}}},
        "/by_order/o-1/cancel_delay: must be an integer >= 0, got -1",
    ),
    (
        {"by_order": {"o-1": {"on_cancel": "ignore", "cancel_delay": 2}}},
        "/by_order/o-1/cancel_delay: only applies with on_cancel: accept",
    ),
    (
        {"by_order": {"o-1": {"fail_submit": 3}}},
        "/by_order/o-1/fail_submit: must be a non-empty string, got 3",
    ),
    (
        {"by_order": {123: ["ack"]}},
        "/by_order/123: a name must be a non-empty string (quote it in YAML), got 123",
    ),
    ({"by_order": ["o-1"]}, "/by_order: must be a mapping, got ['o-1']"),
    ({"health": {"from_step": 1}}, "/health: must be a list, got {'from_step': 1}"),
    ({"health": [{"from_step": -1, "steps": 1}]}, "/health/0/from_step: must be an integer >= 0"),
    ({"health": [{"from_step": 1}]}, "/health/0/steps: is required"),
    ({"health": [{"from_step": 1, "steps": 0}]}, "/health/0/steps: must be an integer >= 1"),
    (
        {"health": [{"from_step": 1, "steps": 1, "why": "x"}]},
        "/health/0/why: unknown key (expected one of from_step, steps, detail)",
    ),
    (
        {"scripts": {}},
        "/scripts: unknown key "
        "(expected one of reference_prices, default, by_symbol, by_order, health)",
    ),
    (
        {"by_order": {"a/b~c": [{"wait": -1}]}},
        "/by_order/a~1b~0c/0/wait/steps: must be an integer >= 1, got -1",
    ),
]


@pytest.mark.parametrize(("data", "message"), ERRORS, ids=[m.split(":")[0] for _, m in ERRORS])
def test_error_names_its_path(data: dict, message: str) -> None:
    with pytest.raises(FillScriptError, match=f"^{re.escape(message)}"):
        parse_broker_spec(data)


def test_error_path_prefix_says_where_the_spec_sits() -> None:
    with pytest.raises(FillScriptError, match=r"^/broker/default/0/wait/steps: "):
        parse_broker_spec({"default": [{"wait": 0}]}, path="/broker")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(FillScriptError, match=r"^/: must be a mapping, got None"):
        parse_broker_spec(None)  # type: ignore[arg-type]


def test_yaml_pitfalls_are_refused() -> None:
    """An unquoted price is a binary float; an unquoted numeric id is an int."""
    with pytest.raises(FillScriptError, match=r"^/reference_prices/AAPL: .*float 190\.1$"):
        parse_broker_spec(yaml.safe_load("reference_prices: {AAPL: 190.10}"))
    with pytest.raises(FillScriptError, match=r"^/by_order/42: a name must be"):
        parse_broker_spec(yaml.safe_load("by_order: {42: [ack]}"))
