"""The mock's and the model's short-cuts against what they stand in for: the positional report
constructor, the value-keyed status tests, the remembered script facts, and playing the active
orders without sorting them while they are known to be in submission order."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker import mock as mock_module
from peak_trade.execution.broker.fill_script import (
    Ack,
    Fill,
    MockBrokerSpec,
    OrderScript,
    SilentFill,
    Wait,
    parse_broker_spec,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    CLOSED_STATUSES,
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    ReplaceOrder,
    Side,
    TimeInForce,
    build_report,
)
from peak_trade.execution.broker.protocol import BrokerKind

D = Decimal

# ----------------------------------------------------------------------------- build_report

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000)
maybe_decimals = st.none() | decimals
texts = st.text(max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(
        texts,
        texts,
        st.sampled_from(ExecType),
        st.sampled_from(OrderStatus),
        texts,
        st.sampled_from(Side),
        decimals,
        decimals,
        decimals,
        decimals,
        maybe_decimals,
        maybe_decimals,
        st.none() | texts,
        st.booleans(),
        maybe_decimals,
        st.none() | texts,  # exec_ref_id
        st.none() | texts,  # orig_client_order_id
        st.none() | st.sampled_from(TimeInForce),
        maybe_decimals,  # day_order_qty
        maybe_decimals,  # day_cum_qty
    )
)
def test_property_build_report_equals_the_dataclass_constructor(values):
    names = [f.name for f in fields(ExecutionReport)]
    expected = ExecutionReport(**dict(zip(names, values, strict=True)))
    built = build_report(*values)
    if values[15:] == (None,) * 5:  # the mock's 15-argument call leaves the FIX fields unset
        assert build_report(*values[:15]) == built
    assert type(built) is ExecutionReport
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    assert built.to_payload() == expected.to_payload()


def test_a_built_report_is_frozen_like_any_other():
    report = build_report(
        "o-1:1",
        "o-1",
        ExecType.NEW,
        OrderStatus.NEW,
        "AAPL",
        Side.BUY,
        D(100),
        D(0),
        D(100),
        D(0),
        None,
        None,
        None,
        False,
        None,
    )
    with pytest.raises(FrozenInstanceError):
        report.cum_qty = D(1)  # type: ignore[misc]


# ----------------------------------------------------------------------------- enums by value


@pytest.mark.parametrize("status", list(OrderStatus))
def test_is_closed_is_membership_of_closed_statuses(status):
    assert status.is_closed is (status in CLOSED_STATUSES)


def test_payloads_carry_the_enum_values():
    order = NewOrder(
        client_order_id="o-1",
        symbol="AAPL",
        side=Side.SELL,
        qty=D(5),
        order_type=OrderType.LIMIT,
        limit_price=D("1.5"),
    )
    assert order.to_payload() == {
        "client_order_id": "o-1",
        "symbol": "AAPL",
        "side": Side.SELL.value,
        "qty": "5",
        "order_type": OrderType.LIMIT.value,
        "limit_price": "1.5",
    }
    for exec_type in ExecType:
        for status in OrderStatus:
            report = ExecutionReport(
                exec_id="x",
                client_order_id="o-1",
                exec_type=exec_type,
                status=status,
                symbol="AAPL",
                side=Side.SELL,
                order_qty=D(5),
                cum_qty=D(0),
                leaves_qty=D(5),
            )
            payload = report.to_payload()
            assert (payload["exec_type"], payload["status"], payload["side"]) == (
                exec_type.value,
                status.value,
                "sell",
            )


def test_the_mock_says_it_is_the_mock():
    assert MockBroker().kind is BrokerKind.MOCK


# ----------------------------------------------------------------------------- script facts


def order(cid: str, symbol: str = "AAPL") -> NewOrder:
    return NewOrder(client_order_id=cid, symbol=symbol, side=Side.BUY, qty=D(10))


def test_a_remembered_script_still_rejects_every_order_without_a_price():
    broker = MockBroker(parse_broker_spec({"reference_prices": {"MSFT": "5"}}))
    for i in range(3):  # the default script, asked three times: walked once, same answer
        broker.submit(order(f"o-{i}"), 1)
    broker.submit(order("m-1", symbol="MSFT"), 1)
    reasons = [(r.client_order_id, r.reason) for r in broker.poll(1)]
    assert reasons == [
        ("o-0", "no reference price for AAPL"),
        ("o-1", "no reference price for AAPL"),
        ("o-2", "no reference price for AAPL"),
        ("m-1", None),
    ]


class InventingSpec(MockBrokerSpec):
    """A spec whose script_for builds a new script for every order (alternately priced)."""

    def script_for(self, order: NewOrder) -> OrderScript:
        priced = int(order.client_order_id.split("-")[1]) % 2 == 0
        fill = Fill(price=D("9")) if priced else Fill()
        return OrderScript(actions=(Ack(), fill))


def test_script_facts_stay_bounded_and_right_for_scripts_made_per_order():
    broker = MockBroker(InventingSpec(), record_commands=False)
    n = mock_module._SCRIPT_MEMORY + 50
    for i in range(n):
        broker.submit(order(f"o-{i}"), 1)
    assert len(broker._script_facts) == mock_module._SCRIPT_MEMORY
    rejected = {r.client_order_id for r in broker.poll(1) if r.exec_type is ExecType.REJECTED}
    assert rejected == {f"o-{i}" for i in range(n) if i % 2}


def test_a_silent_fill_without_price_needs_a_reference_price_too():
    spec = MockBrokerSpec(by_order={"o-1": OrderScript(actions=(Ack(), SilentFill()))})
    broker = MockBroker(spec)
    broker.submit(order("o-1"), 1)
    assert [r.reason for r in broker.poll(1)] == ["no reference price for AAPL"]


# ----------------------------------------------------------------------------- play order


def test_revived_idle_orders_are_played_in_submission_order_on_every_later_poll():
    # o-1 and o-2 rest after their ack; o-3 and o-4 keep working. Cancels revive o-2, then o-1,
    # after the working ones: each poll must still answer in submission order.
    spec = MockBrokerSpec(
        reference_prices={"AAPL": D("100")},
        by_order={
            "o-1": OrderScript(actions=(Ack(),), cancel_delay=2),
            "o-2": OrderScript(actions=(Ack(),), cancel_delay=1),
        },
        default=OrderScript(actions=(Ack(), Wait(steps=1), Fill(qty=D(1)), Wait(steps=1), Fill())),
    )
    broker = MockBroker(spec)
    for cid in ("o-1", "o-2", "o-3", "o-4"):
        broker.submit(order(cid), 1)
    assert [r.client_order_id for r in broker.poll(1)] == ["o-1", "o-2", "o-3", "o-4"]
    broker.cancel(CancelOrder(client_order_id="o-2"), 2)
    broker.cancel(CancelOrder(client_order_id="o-1"), 2)
    seen = {step: [r.exec_id for r in broker.poll(step)] for step in range(2, 7)}
    assert seen == {
        2: ["o-1:2", "o-2:2"],  # both PENDING_CANCEL; o-3 and o-4 wait this step
        3: ["o-2:3", "o-3:2", "o-4:2"],  # o-2 CANCELED; partial fills
        4: ["o-1:3"],  # o-1 CANCELED; o-3 and o-4 wait
        5: ["o-3:3", "o-4:3"],  # the rest fills
        6: [],
    }


@st.composite
def command_plans(draw):
    """Per step: submits (scripts that rest, wait or fill), then cancels and amends of any id."""
    plan = []
    for step in range(1, draw(st.integers(2, 10)) + 1):
        commands = []
        for _ in range(draw(st.integers(0, 2))):
            commands.append(("submit", draw(st.sampled_from(["rest", "slow", "fast"]))))
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["cancel", "replace"]))
            commands.append((kind, draw(st.integers(0, 8))))
        plan.append((step, commands))
    return plan


SCRIPTS = {
    "rest": OrderScript(actions=(Ack(),), cancel_delay=1, replace_delay=1),
    "slow": OrderScript(actions=(Ack(), Wait(steps=2), Fill(qty=D(3)), Wait(steps=1), Fill())),
    "fast": OrderScript(actions=(Ack(), Fill())),
}


@settings(max_examples=200, deadline=None)
@given(command_plans())
def test_property_each_poll_plays_the_orders_in_submission_order(plan):
    by_order: dict[str, OrderScript] = {}
    number = 0
    for _, commands in plan:
        for kind, arg in commands:
            if kind == "submit":
                by_order[f"o-{number}"] = SCRIPTS[arg]
                number += 1
    broker = MockBroker(MockBrokerSpec(reference_prices={"AAPL": D(7)}, by_order=by_order))
    submitted = 0
    for step, commands in plan:
        for kind, arg in commands:
            if kind == "submit":
                broker.submit(order(f"o-{submitted}"), step)
                submitted += 1
            elif kind == "cancel":
                broker.cancel(CancelOrder(client_order_id=f"o-{arg}"), step)
            else:
                broker.replace(ReplaceOrder(client_order_id=f"o-{arg}", new_qty=D(20)), step)
        reports = broker.poll(step)
        # Answers about unknown or closed orders come first (in the order received); after
        # them, the played orders' reports run in submission order.
        played = [
            int(r.client_order_id.split("-")[1])
            for r in reports
            if not (r.reason or "").startswith(("unknown order", "order already"))
        ]
        assert played == sorted(played)
