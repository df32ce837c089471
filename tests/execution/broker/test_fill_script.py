"""parse_broker_spec: the plain-data shape, its shorthands, and errors that name their path."""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal

import pytest
import yaml

from peak_trade.execution.broker import fill_script
from peak_trade.execution.broker.fill_script import (
    DEFAULT_SCRIPT,
    Ack,
    CancelBehaviour,
    CancelUnsolicited,
    Duplicate,
    Expire,
    Fill,
    FillScriptError,
    GatewayRestart,
    HealthOutage,
    MockBrokerSpec,
    OrderScript,
    PositionDrift,
    Reject,
    ReplaceBehaviour,
    SilentFill,
    UnsolicitedReport,
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
        "/default/0/fill/px: unknown key (expected one of qty, price, label)",
    ),
    ({"default": [{"wait": 0}]}, "/default/0/wait/steps: must be an integer >= 1, got 0"),
    ({"default": [{"wait": "2"}]}, "/default/0/wait/steps: must be an integer >= 1, got '2'"),
    ({"default": [{"wait": {}}]}, "/default/0/wait/steps: is required"),
    ({"default": [{"reject": ""}]}, "/default/0/reject/reason: must be a non-empty string, got ''"),
    ({"default": ["wait"]}, "/default/0: action 'wait' needs a value, e.g. {wait: ...}"),
    (
        {"default": ["fil"]},
        "/default/0: unknown action 'fil' (expected one of ack, fill, wait, reject, duplicate, "
        "expire, cancel_unsolicited, silent_fill, bust, correct, late_fill, restate, guarantee)",
    ),
    (
        {"default": [{"refuse": "x"}]},
        "/default/0/refuse: unknown action (expected one of ack, fill, wait, reject, duplicate, "
        "expire, cancel_unsolicited, silent_fill, bust, correct, late_fill, restate, guarantee)",
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
        "(expected one of actions, on_cancel, cancel_delay, fail_submit, on_replace, "
        "replace_delay, latency)",
    ),
    (
        {"by_order": {"o-1": {"on_cancel": False}}},
        "/by_order/o-1/on_cancel: must be one of accept, reject, ignore, reject_after_pending "
        "or a non-empty list of them, got False",
    ),
    (
        {"by_order": {"o-1": {"cancel_delay": -1}}},
        "/by_order/o-1/cancel_delay: must be an integer >= 0, got -1",
    ),
    (
        {"by_order": {"o-1": {"on_cancel": "ignore", "cancel_delay": 2}}},
        "/by_order/o-1/cancel_delay: only applies with on_cancel: accept or reject_after_pending",
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
        "(expected one of reference_prices, default, by_symbol, by_order, health, "
        "unsolicited_reports, position_drift, restarts, account, latency, "
        "used_client_order_ids, request_faults)",
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


# ----------------------------------------------------------------------------- replace and faults

GHOST = {
    "step": 3,
    "client_order_id": "ghost",
    "symbol": "AAPL",
    "side": "buy",
    "qty": "10",
    "price": "100",
}

FAULTS_EXAMPLE = """
by_order:
  o-6: {actions: [ack, {silent_fill: {qty: "10"}}], on_replace: accept, replace_delay: 1}
  o-7: {on_replace: reject}
  o-8: {actions: [silent_fill], on_replace: ignore}
unsolicited_reports:
  - {step: 3, client_order_id: ghost, symbol: AAPL, side: buy, qty: "10", price: "100"}
position_drift:
  - {from_step: 4, symbol: AAPL, qty: "10"}
  - {from_step: 6, symbol: MSFT, qty: "-2.5"}
restarts:
  - {at_step: 5, replay_last: 1}
"""


def test_faults_example() -> None:
    spec = parse_broker_spec(yaml.safe_load(FAULTS_EXAMPLE))
    assert spec == MockBrokerSpec(
        by_order={
            "o-6": OrderScript(
                actions=(Ack(), SilentFill(qty=D(10))),
                on_replace=ReplaceBehaviour.ACCEPT,
                replace_delay=1,
            ),
            "o-7": OrderScript(actions=DEFAULT_SCRIPT.actions, on_replace=ReplaceBehaviour.REJECT),
            "o-8": OrderScript(actions=(SilentFill(),), on_replace=ReplaceBehaviour.IGNORE),
        },
        unsolicited_reports=(
            UnsolicitedReport(
                step=3,
                client_order_id="ghost",
                symbol="AAPL",
                side=Side.BUY,
                qty=D(10),
                price=D(100),
            ),
        ),
        position_drift=(
            PositionDrift(from_step=4, symbol="AAPL", qty=D(10)),
            PositionDrift(from_step=6, symbol="MSFT", qty=D("-2.5")),
        ),
        restarts=(GatewayRestart(at_step=5, replay_last=1),),
    )


def test_the_module_docstring_example_parses() -> None:
    """The shape documented in fill_script's docstring is exactly what the parser accepts."""
    doc = fill_script.__doc__ or ""
    block = doc.split("every key is optional):\n", 1)[1].split("\nActions.", 1)[0]
    spec = parse_broker_spec(yaml.safe_load(textwrap.dedent(block)))
    assert spec.by_order["o-6"].replace_delay == 1
    assert [r.client_order_id for r in spec.unsolicited_reports] == ["ghost"]
    assert spec.restarts == (GatewayRestart(at_step=5, replay_last=1),)


@pytest.mark.parametrize(
    ("plain", "action"),
    [
        ("silent_fill", SilentFill()),
        ({"silent_fill": None}, SilentFill()),
        ({"silent_fill": {"qty": "4"}}, SilentFill(qty=D(4))),
        ({"silent_fill": {"qty": 4, "price": "1.25"}}, SilentFill(qty=D(4), price=D("1.25"))),
    ],
)
def test_silent_fill_forms(plain: object, action: object) -> None:
    assert parse_broker_spec({"default": [plain]}).default.actions == (action,)


def test_replace_defaults() -> None:
    script = parse_broker_spec({"by_order": {"o-1": {"actions": ["ack"]}}}).by_order["o-1"]
    assert (script.on_replace, script.replace_delay) == (ReplaceBehaviour.ACCEPT, 0)
    assert parse_broker_spec({}).unsolicited_reports == ()
    assert parse_broker_spec({}).position_drift == ()
    assert parse_broker_spec({}).restarts == ()


FAULT_ERRORS = [
    (
        {"by_order": {"o-1": {"on_replace": "amend"}}},
        "/by_order/o-1/on_replace: must be one of accept, reject, ignore, reject_after_pending, "
        "got 'amend'",
    ),
    (
        {"by_order": {"o-1": {"replace_delay": -1}}},
        "/by_order/o-1/replace_delay: must be an integer >= 0, got -1",
    ),
    (
        {"by_order": {"o-1": {"replace_delay": True}}},
        "/by_order/o-1/replace_delay: must be an integer >= 0, got True",
    ),
    (
        {"by_order": {"o-1": {"on_replace": "reject", "replace_delay": 1}}},
        "/by_order/o-1/replace_delay: only applies with on_replace: accept or reject_after_pending",
    ),
    (
        {"default": [{"silent_fill": {"qty": "0"}}]},
        "/default/0/silent_fill/qty: must be a positive decimal, got '0'",
    ),
    (
        {"default": [{"silent_fill": {"size": "1"}}]},
        "/default/0/silent_fill/size: unknown key (expected one of qty, price)",
    ),
    (
        {"unsolicited_reports": {"step": 1}},
        "/unsolicited_reports: must be a list, got {'step': 1}",
    ),
    ({"unsolicited_reports": ["ghost"]}, "/unsolicited_reports/0: must be a mapping, got 'ghost'"),
    (
        {"unsolicited_reports": [{k: v for k, v in GHOST.items() if k != "price"}]},
        "/unsolicited_reports/0/price: is required",
    ),
    (
        {"unsolicited_reports": [{**GHOST, "side": "long"}]},
        "/unsolicited_reports/0/side: must be one of buy, sell, got 'long'",
    ),
    (
        {"unsolicited_reports": [{**GHOST, "qty": 1.5}]},
        "/unsolicited_reports/0/qty: must be a positive decimal written as a string, got float 1.5",
    ),
    (
        {"unsolicited_reports": [{**GHOST, "step": -1}]},
        "/unsolicited_reports/0/step: must be an integer >= 0, got -1",
    ),
    (
        {"unsolicited_reports": [{**GHOST, "client_order_id": 7}]},
        "/unsolicited_reports/0/client_order_id: must be a non-empty string, got 7",
    ),
    (
        {"unsolicited_reports": [{**GHOST, "venue": "X"}]},
        "/unsolicited_reports/0/venue: unknown key "
        "(expected one of step, client_order_id, symbol, side, qty, price)",
    ),
    (
        {"unsolicited_reports": [GHOST, {**GHOST, "step": 9}]},
        "/unsolicited_reports/1/client_order_id: 'ghost' is already used by "
        "/unsolicited_reports/0; each unsolicited report is its own order",
    ),
    (
        {"position_drift": [{"from_step": 1, "symbol": "AAPL", "qty": "0"}]},
        "/position_drift/0/qty: must be a non-zero decimal, got '0'",
    ),
    (
        {"position_drift": [{"from_step": 1, "symbol": "AAPL", "qty": -0.5}]},
        "/position_drift/0/qty: must be a non-zero decimal written as a string, got float -0.5",
    ),
    (
        {"position_drift": [{"from_step": 1, "symbol": "AAPL", "qty": "NaN"}]},
        "/position_drift/0/qty: must be a non-zero decimal, got 'NaN'",
    ),
    (
        {"position_drift": [{"symbol": "AAPL", "qty": "1"}]},
        "/position_drift/0/from_step: is required",
    ),
    (
        {"position_drift": [{"from_step": 1, "symbol": "", "qty": "1"}]},
        "/position_drift/0/symbol: must be a non-empty string, got ''",
    ),
    ({"restarts": [{"at_step": 5}]}, "/restarts/0/replay_last: is required"),
    (
        {"restarts": [{"at_step": 5, "replay_last": 0}]},
        "/restarts/0/replay_last: must be an integer >= 1, got 0",
    ),
    (
        {"restarts": [{"at_step": 5, "replay_last": 1001}]},
        "/restarts/0/replay_last: must be an integer <= 1000, got 1001",
    ),
    (
        {"restarts": [{"at_step": "5", "replay_last": 1}]},
        "/restarts/0/at_step: must be an integer >= 0, got '5'",
    ),
    (
        {"restarts": [{"at_step": 5, "replay_last": 1, "keep_orders": False}]},
        "/restarts/0/keep_orders: unknown key (expected one of at_step, replay_last)",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), FAULT_ERRORS, ids=[m.split(": ")[0] for _, m in FAULT_ERRORS]
)
def test_fault_error_names_its_path(data: dict, message: str) -> None:
    with pytest.raises(FillScriptError, match=f"^{re.escape(message)}$"):
        parse_broker_spec(data, path="")
    located = "/broker" + message.replace("used by /", "used by /broker/")  # pointers in text too
    with pytest.raises(FillScriptError, match=f"^{re.escape(located)}$"):
        parse_broker_spec(data, path="/broker")
