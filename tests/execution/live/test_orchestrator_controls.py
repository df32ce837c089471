"""The orchestrator's side of the issue-12 controls: the kill switch API (scope, mode), cancels
counted as messages, cancel on breach off, the loss limit after a re-arm, rails_bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, OrderType, Side
from peak_trade.execution.live.errors import IllegalOperation
from peak_trade.execution.live.intents import CancelIntent, SubmitIntent
from peak_trade.execution.live.state import SessionState
from peak_trade.execution.live.tags import OrderTags

D = Decimal


def order(cid: str, limit: str | None = None, qty: str = "100") -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        symbol="AAPL",
        side=Side.BUY,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
    )


def _mock(**spec) -> MockBroker:
    return MockBroker(parse_broker_spec({"reference_prices": {"AAPL": "100"}, **spec}))


def _started(make_session, broker=None, **config):
    session = make_session(broker=broker if broker is not None else _mock(), **config)
    session.orchestrator.preflight()
    session.orchestrator.start()
    return session


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"mode": "soft"}, "mode must be block or reduce_only"),
        ({"tag": ("desk", "x")}, "the tag must be one of strategy, trader, account"),
        ({"tag": ("strategy", "")}, "a strategy tag is 1-64"),
        ({"tag": "alpha"}, "a tag is a pair"),
    ],
)
def test_a_bad_kill_request_is_refused_and_audited(make_session, kwargs, problem):
    session = _started(make_session)
    with pytest.raises(IllegalOperation, match=problem):
        session.orchestrator.engage_kill_switch("halt", **kwargs)
    assert session.of_type("illegal_operation")[-1]["payload"]["operation"] == "engage_kill_switch"
    assert not session.of_type("kill_switch_engaged")


def test_rearm_of_a_tag_not_engaged_is_refused(make_session):
    session = _started(make_session)
    session.orchestrator.engage_kill_switch("alpha", tag=("strategy", "alpha"))
    with pytest.raises(IllegalOperation, match="not engaged for strategy beta"):
        session.orchestrator.rearm_kill_switch("ops", "n", tag=("strategy", "beta"))
    session.orchestrator.rearm_kill_switch("ops", "n", tag=("strategy", "alpha"))
    assert session.of_type("kill_switch_rearmed")[-1]["payload"]["scope"] == {
        "tag": "strategy",
        "value": "alpha",
    }


def test_a_partial_kill_cancels_only_the_tagged_orders(make_session):
    session = _started(make_session, broker=_mock(default=["ack"]))
    o = session.orchestrator
    session.intents.add(
        1,
        SubmitIntent(order=order("o-1", limit="99"), tags=OrderTags(strategy="alpha")),
        SubmitIntent(order=order("o-2", limit="98"), tags=OrderTags(strategy="beta")),
    )
    o.step()
    o.engage_kill_switch("alpha only", tag=("strategy", "alpha"))
    cancelled = [r["payload"]["client_order_id"] for r in session.of_type("cancel_requested")]
    assert cancelled == ["o-1"]


def test_cancel_on_breach_off_leaves_resting_orders_working(make_session):
    broker = _mock(by_order={"o-1": ["ack"], "o-2": ["ack", {"fill": {"qty": "200"}}]})
    session = _started(make_session, broker=broker, rails={"cancel_on_breach": False})
    session.intents.add(1, SubmitIntent(order=order("o-1", limit="99")))
    session.intents.add(1, SubmitIntent(order=order("o-2")))
    session.orchestrator.step()
    session.orchestrator.step()
    assert session.orchestrator.state is SessionState.ERROR_REQUIRES_OPERATOR
    assert not session.of_type("cancel_requested")
    assert "o-1" in session.orchestrator.book.open_orders


def test_cancels_count_as_messages(make_session):
    session = _started(
        make_session, broker=_mock(default=["ack"]), rails={"max_messages_per_step": 2}
    )
    session.intents.add(1, SubmitIntent(order=order("o-1", limit="99")))
    session.orchestrator.step()
    session.intents.add(2, SubmitIntent(order=order("o-2", limit="98")))
    session.intents.add(2, CancelIntent(client_order_id="o-1"))
    session.intents.add(3, SubmitIntent(order=order("o-3", limit="97")))
    session.orchestrator.step()  # o-2 and the cancel: two messages
    assert [r["payload"]["client_order_id"] for r in session.of_type("cancel_requested")] == ["o-1"]
    session.orchestrator.step()
    assert session.of_type("order_submitted")[-1]["payload"]["client_order_id"] == "o-3"


def test_preflight_fails_without_order_size_limits(make_session):
    # the fixture declares unbounded for configs without both limits; undo it here
    session = make_session(broker=_mock(), rails={"max_order_qty": "10", "unbounded": False})
    results = session.orchestrator.preflight()
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == ["rails_bounded"]
    assert "no limits, no trading" in failed[0].detail


def test_a_credit_limit_without_account_or_threshold_fails_preflight(make_session):
    session = make_session(
        broker=_mock(),
        rails={"max_order_qty": "10", "max_order_notional": "1000", "credit_limit": {}},
    )
    results = session.orchestrator.preflight()
    assert [r.name for r in results if not r.ok] == ["rails_valid"]
