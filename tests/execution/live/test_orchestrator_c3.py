"""C3 through the orchestrator: kill switch, reference prices, amends judged by the rails,
reconciliation escalation and in-flight timeout resolutions, each seen in the audit trail.

The rails, the reconciler and the kill-switch state machine have their own pure unit tests; these
check that the orchestrator carries their decisions out (and audits them) as documented.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecType,
    NewOrder,
    OrderStatus,
    OrderType,
    ReplaceOrder,
    Side,
)
from peak_trade.execution.live.audit import MemorySink
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import IllegalOperation
from peak_trade.execution.live.intents import CancelIntent, ReplaceIntent, ScriptedIntents
from peak_trade.execution.live.session import build_session
from peak_trade.execution.live.state import SessionState
from tests.execution.live.support import (
    BASE_CONFIG,
    ScriptedBroker,
    Session,
    bounded,
    order,
    report,
    submit,
)

D = Decimal


def _mock(spec: dict | None = None) -> MockBroker:
    data = {"reference_prices": {"AAPL": "100", "MSFT": "200"}}
    data.update(spec or {})
    return MockBroker(parse_broker_spec(data))


def _started(make_session, broker=None, **config) -> Session:
    session = make_session(broker=broker if broker is not None else _mock(), **config)
    session.orchestrator.preflight()
    session.orchestrator.start()
    assert session.orchestrator.state is SessionState.DRYRUN_ACTIVE, session.types()
    return session


def _priced_session(broker, **config) -> Session:
    """A started session whose intents source also feeds the rails' reference prices (the
    make_session fixture passes no price source)."""
    intents = ScriptedIntents()
    sink = MemorySink()
    orchestrator = build_session(
        SessionConfig.from_mapping(bounded({**BASE_CONFIG, **config})),
        broker,
        intents,
        extra_sinks=[sink],
        environ_names=(),
        prices=intents,
    )
    session = Session(orchestrator, sink, broker, intents)
    orchestrator.preflight()
    orchestrator.start()
    assert orchestrator.state is SessionState.DRYRUN_ACTIVE, session.types()
    return session


def _limit(cid: str, qty: str, price: str, side: Side = Side.BUY, symbol: str = "AAPL"):
    return NewOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType.LIMIT,
        limit_price=D(price),
    )


def _refusals(session: Session) -> dict[str, dict]:
    return {r["payload"]["client_order_id"]: r["payload"] for r in session.of_type("order_refused")}


def _sent(broker, kind: type) -> list:
    return [command for _, command in broker.commands if isinstance(command, kind)]


# ----------------------------------------------------------------------------- kill switch


def test_operator_kill_switch_cancels_open_orders_and_refuses_new_ones_until_rearmed(
    make_session,
):
    broker = _mock({"default": ["ack"]})
    session = _started(make_session, broker)
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"), order("o-2", symbol="MSFT"))
    orch.step()
    assert set(orch.book.open_orders) == {"o-1", "o-2"}

    orch.engage_kill_switch("risk desk halt")
    (engaged,) = session.of_type("kill_switch_engaged")
    assert engaged["payload"] == {
        "reason": "risk desk halt",
        "source": "operator",
        "already_engaged": False,
    }
    cancels = session.of_type("cancel_requested")
    assert [c["payload"] for c in cancels] == [
        {"client_order_id": "o-1", "reason": "kill switch"},
        {"client_order_id": "o-2", "reason": "kill switch"},
    ]
    assert [c.client_order_id for c in _sent(broker, CancelOrder)] == ["o-1", "o-2"]

    for step, cid in ((2, "o-3"), (3, "o-4")):  # it stays on: it does not time out
        submit(session.intents, step, order(cid))
        orch.step()
    refused = _refusals(session)
    assert {cid: p["rule"] for cid, p in refused.items()} == {
        "o-3": "kill_switch",
        "o-4": "kill_switch",
    }
    assert refused["o-3"]["limit"] == "not engaged"
    assert refused["o-3"]["observed"] == "engaged"
    assert [o.client_order_id for o in _sent(broker, NewOrder)] == ["o-1", "o-2"]
    assert orch.book.open_orders == {}
    assert orch.book.orders()["o-1"].status is OrderStatus.CANCELED
    assert orch.state is SessionState.DRYRUN_ACTIVE  # a halt, not a breach

    orch.rearm_kill_switch("risk desk", "limits reviewed")
    (rearmed,) = session.of_type("kill_switch_rearmed")
    assert rearmed["payload"] == {"operator": "risk desk", "note": "limits reviewed"}
    submit(session.intents, 4, order("o-5"))
    orch.step()
    assert [o.client_order_id for o in _sent(broker, NewOrder)] == ["o-1", "o-2", "o-5"]
    assert "o-5" not in _refusals(session)


def test_engaging_an_engaged_kill_switch_is_audited_and_cancels_nothing_twice(make_session):
    broker = _mock({"default": ["ack"]})
    session = _started(make_session, broker)
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"))
    orch.step()
    orch.engage_kill_switch("first")
    orch.engage_kill_switch("second")
    records = [r["payload"] for r in session.of_type("kill_switch_engaged")]
    assert [(r["reason"], r["already_engaged"]) for r in records] == [
        ("first", False),
        ("second", True),
    ]
    assert len(_sent(broker, CancelOrder)) == 1  # the cancel in flight is not sent again


def test_rearm_when_not_engaged_raises_and_is_audited(make_session):
    session = _started(make_session)
    orch = session.orchestrator
    with pytest.raises(IllegalOperation, match="not engaged"):
        orch.rearm_kill_switch("risk desk", "nothing to rearm")
    (refused,) = session.of_type("illegal_operation")
    assert refused["payload"]["operation"] == "rearm_kill_switch"
    assert "not engaged" in refused["payload"]["detail"]
    assert not session.of_type("kill_switch_rearmed")
    assert orch.state is SessionState.DRYRUN_ACTIVE


def test_rearm_needs_an_operator_name(make_session):
    session = _started(make_session)
    orch = session.orchestrator
    orch.engage_kill_switch("halt")
    with pytest.raises(IllegalOperation, match="operator"):
        orch.rearm_kill_switch("  ", "who?")
    assert not session.of_type("kill_switch_rearmed")
    submit(session.intents, 1, order("o-1"))
    orch.step()
    assert _refusals(session)["o-1"]["rule"] == "kill_switch"  # still engaged


@pytest.mark.parametrize("operation", ["engage_kill_switch", "rearm_kill_switch"])
def test_kill_switch_operations_before_preflight_are_refused_and_audited(make_session, operation):
    session = make_session()
    args = ("halt",) if operation == "engage_kill_switch" else ("desk", "note")
    with pytest.raises(IllegalOperation, match="preflight has not passed"):
        getattr(session.orchestrator, operation)(*args)
    assert session.of_type("illegal_operation")[-1]["payload"]["operation"] == operation


def _automatic_kill_switch_session(make_session) -> tuple[Session, MockBroker]:
    broker = _mock({"default": ["ack"]})
    session = _started(
        make_session,
        broker,
        rails={"max_order_qty": "100", "kill_switch": {"rejections": 2, "window_steps": 3}},
    )
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1", qty="10"), order("o-2", qty="101"))
    orch.step()  # one rejection: the switch stays off
    assert not session.of_type("kill_switch_engaged")
    submit(session.intents, 2, order("o-3", qty="101"))
    orch.step()  # the second within 3 steps engages it
    return session, broker


def test_automatic_kill_switch_after_n_rejections_in_the_window(make_session):
    session, broker = _automatic_kill_switch_session(make_session)
    orch = session.orchestrator
    (engaged,) = session.of_type("kill_switch_engaged")
    assert engaged["payload"]["source"] == "rails"
    assert engaged["step"] == 2
    assert [c.client_order_id for c in _sent(broker, CancelOrder)] == ["o-1"]

    submit(session.intents, 3, order("o-4", qty="10"))  # within every limit, still refused
    orch.step()
    assert {cid: p["rule"] for cid, p in _refusals(session).items()} == {
        "o-2": "max_order_qty",
        "o-3": "max_order_qty",
        "o-4": "kill_switch",
    }
    assert orch.book.orders()["o-1"].status is OrderStatus.CANCELED
    orch.request_stop("end")
    assert orch.status().summary["kill_switch_engaged"] is True


def test_automatic_kill_switch_needs_the_rejections_within_the_window(make_session):
    session = _started(
        make_session,
        rails={"max_order_qty": "100", "kill_switch": {"rejections": 2, "window_steps": 3}},
    )
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1", qty="101"))
    submit(session.intents, 4, order("o-2", qty="101"))  # steps 2..4 hold one rejection
    submit(session.intents, 5, order("o-3", qty="10"))
    orch.run_n_steps(5)
    assert not session.of_type("kill_switch_engaged")
    assert [o.client_order_id for o in _sent(session.broker, NewOrder)] == ["o-3"]


def test_automatic_kill_switch_record_says_it_was_not_already_engaged(make_session):
    session, _ = _automatic_kill_switch_session(make_session)
    (engaged,) = session.of_type("kill_switch_engaged")
    assert engaged["payload"]["already_engaged"] is False


# ----------------------------------------------------------------------------- reference prices


def test_reference_prices_from_the_price_source_age_for_max_reference_age_steps():
    session = _priced_session(
        _mock(), rails={"max_order_notional": "1000000", "max_reference_age_steps": 1}
    )
    orch, intents = session.orchestrator, session.intents
    intents.add_prices(1, {"AAPL": D("100")})
    intents.add_prices(4, {"AAPL": D("101")})
    for step, cid in ((1, "o-1"), (2, "o-2"), (3, "o-3"), (4, "o-4")):
        submit(intents, step, order(cid, qty="1"))
    orch.run_n_steps(4)

    prices = session.of_type("reference_prices")
    assert [(r["step"], r["payload"]) for r in prices] == [
        (1, {"AAPL": "100"}),
        (4, {"AAPL": "101"}),
    ]
    refused = _refusals(session)
    assert list(refused) == ["o-3"]  # age 0 and age 1 (the limit) pass; age 2 is stale
    assert refused["o-3"]["rule"] == "reference_price"
    assert refused["o-3"]["limit"] == "age <= 1 steps"
    assert refused["o-3"]["observed"] == "age 2 steps"
    sent = [o.client_order_id for o in _sent(session.broker, NewOrder)]
    assert sent == ["o-1", "o-2", "o-4"]  # the step-4 update is observed before its orders


def test_configured_reference_prices_are_as_of_step_zero():
    session = _priced_session(
        _mock(),
        rails={
            "max_order_notional": "1000000",
            "max_reference_age_steps": 1,
            "reference_prices": {"AAPL": "100"},
        },
    )
    submit(session.intents, 1, order("o-1", qty="1"))
    submit(session.intents, 2, order("o-2", qty="1"))
    session.orchestrator.run_n_steps(2)
    refused = _refusals(session)
    assert list(refused) == ["o-2"]
    assert refused["o-2"]["observed"] == "age 2 steps"


def test_a_zero_reference_price_refuses_the_order():
    session = _priced_session(
        _mock(), rails={"price_collar_pct": "5", "reference_prices": {"AAPL": "100"}}
    )
    session.intents.add_prices(1, {"AAPL": D("0")})
    submit(session.intents, 1, _limit("o-1", "10", "100"))
    session.orchestrator.step()
    refused = _refusals(session)["o-1"]
    assert (refused["rule"], refused["observed"]) == ("reference_price", "0")


# ----------------------------------------------------------------------------- amends and rails


def test_an_amend_is_judged_as_replacing_itself(make_session):
    broker = _mock({"default": ["ack"]})
    session = _started(
        make_session,
        broker,
        rails={"max_order_qty": "100", "max_open_orders": 1, "max_position": "100"},
    )
    orch = session.orchestrator
    submit(session.intents, 1, _limit("o-1", "100", "100"))
    orch.step()
    # Its own id is no duplicate; it is not a second open order; its old leaves do not count.
    session.intents.add(2, ReplaceIntent(client_order_id="o-1", new_limit_price=D("99")))
    orch.step()
    assert not session.of_type("replace_refused")
    (requested,) = session.of_type("replace_requested")
    assert requested["payload"] == {"client_order_id": "o-1", "new_limit_price": "99"}
    assert orch.book.open_orders["o-1"].limit_price == D("99")

    session.intents.add(3, ReplaceIntent(client_order_id="o-1", new_qty=D("101")))
    orch.step()
    (refused,) = session.of_type("replace_refused")
    assert refused["payload"]["rule"] == "max_order_qty"
    assert (refused["payload"]["limit"], refused["payload"]["observed"]) == ("100", "101")
    assert _sent(broker, ReplaceOrder) == [
        ReplaceOrder(client_order_id="o-1", new_limit_price=D("99"))
    ]
    assert orch.book.open_orders["o-1"].order_qty == D("100")
    assert not session.of_type("order_refused")  # an amend refusal is no order refusal


def test_a_second_amend_while_one_is_pending_is_refused(make_session):
    broker = _mock({"by_order": {"o-1": {"actions": ["ack"], "replace_delay": 2}}})
    session = _started(make_session, broker)
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"))
    session.intents.add(2, ReplaceIntent(client_order_id="o-1", new_qty=D("80")))
    session.intents.add(3, ReplaceIntent(client_order_id="o-1", new_qty=D("60")))
    orch.run_n_steps(3)
    assert orch.book.open_orders["o-1"].status is OrderStatus.PENDING_REPLACE
    (refused,) = session.of_type("replace_refused")
    assert refused["step"] == 3
    assert refused["payload"]["rule"] == "order_state"
    assert refused["payload"]["detail"] == "a cancel or amend of this order is in flight"
    assert [r.new_qty for r in _sent(broker, ReplaceOrder)] == [D("80")]

    orch.step()  # step 4: REPLACED; the amend is no longer in flight
    assert orch.book.open_orders["o-1"].order_qty == D("80")
    session.intents.add(5, ReplaceIntent(client_order_id="o-1", new_qty=D("60")))
    orch.step()
    assert [r.new_qty for r in _sent(broker, ReplaceOrder)] == [D("80"), D("60")]


def test_an_amend_while_a_cancel_is_in_flight_is_refused(make_session):
    broker = _mock({"by_order": {"o-1": {"actions": ["ack"], "cancel_delay": 2}}})
    session = _started(make_session, broker)
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"))
    session.intents.add(2, CancelIntent(client_order_id="o-1"))
    session.intents.add(3, ReplaceIntent(client_order_id="o-1", new_qty=D("50")))
    orch.run_n_steps(3)
    (refused,) = session.of_type("replace_refused")
    assert refused["payload"]["rule"] == "order_state"
    assert _sent(broker, ReplaceOrder) == []


def test_an_amend_counts_towards_the_message_rate(make_session):
    broker = _mock({"default": ["ack"]})
    session = _started(make_session, broker, rails={"max_orders_per_step": 1})
    submit(session.intents, 1, order("o-1"))
    session.orchestrator.step()
    session.intents.add(2, ReplaceIntent(client_order_id="o-1", new_qty=D("50")))
    submit(session.intents, 2, order("o-2"))
    session.orchestrator.step()
    assert _refusals(session)["o-2"]["rule"] == "max_orders_per_step"


# ----------------------------------------------------------------------------- always-on rails


def test_duplicate_client_order_id_is_refused_before_the_broker(make_session):
    # Scenarios cannot show this rail: the loader refuses a repeated id in a scenario file.
    broker = _mock()
    session = _started(make_session, broker)
    submit(session.intents, 1, order("o-1", qty="10"))
    submit(session.intents, 3, order("o-1", qty="20"))  # o-1 is filled and closed by then
    session.orchestrator.run_n_steps(3)
    refused = _refusals(session)["o-1"]
    assert (refused["rule"], refused["observed"]) == ("duplicate_client_order_id", "o-1")
    assert [o.qty for o in _sent(broker, NewOrder)] == [D("10")]


def test_a_malformed_order_is_refused_before_the_broker(make_session):
    # Scenarios cannot show this rail either: the schema only admits well-formed orders.
    broker = _mock()
    session = _started(make_session, broker)
    submit(session.intents, 1, order("o-1", qty="0"))
    session.orchestrator.step()
    assert _refusals(session)["o-1"]["rule"] == "well_formed_order"
    assert _sent(broker, NewOrder) == []


# ----------------------------------------------------------------------------- reconciliation


@pytest.mark.parametrize("grace", [0, 1, 3])
def test_reconciliation_escalates_exactly_at_grace_steps(make_session, grace):
    drift_from = 2
    broker = _mock({"position_drift": [{"from_step": drift_from, "symbol": "AAPL", "qty": "5"}]})
    session = _started(make_session, broker, reconciler={"grace_steps": grace})
    orch = session.orchestrator
    for _ in range(drift_from + grace - 1):  # every step before the escalation
        orch.step()
        assert orch.state is SessionState.DRYRUN_ACTIVE, session.types()
    orch.step()
    assert orch.step_clock == drift_from + grace
    assert orch.state is SessionState.ERROR_REQUIRES_OPERATOR
    (breach,) = session.of_type("invariant_breach")
    assert breach["payload"]["invariant"] == "book_matches_broker"
    assert f"(for {grace} step(s))" in breach["payload"]["detail"]
    pending = session.of_type("reconcile_pending")
    if grace == 0:
        assert pending == []  # escalated at first sight, never pending
    else:
        assert [(r["step"], r["payload"]["kind"]) for r in pending] == [
            (drift_from, "position_mismatch")
        ]
    assert orch.book.positions.get("AAPL", D(0)) == 0  # never "fixed" from the snapshot


def test_reconciliation_runs_only_every_k_steps(make_session):
    broker = _mock({"position_drift": [{"from_step": 1, "symbol": "AAPL", "qty": "5"}]})
    session = _started(make_session, broker, reconciler={"every_steps": 3, "grace_steps": 0})
    orch = session.orchestrator
    orch.run_n_steps(2)
    assert orch.state is SessionState.DRYRUN_ACTIVE
    orch.step()
    assert orch.state is SessionState.ERROR_REQUIRES_OPERATOR
    assert session.of_type("invariant_breach")[0]["step"] == 3


# ----------------------------------------------------------------------------- timeouts


def test_ack_timeout_not_found_marks_the_order_rejected_and_the_summary_counts_it(make_session):
    # The scripted broker never saw o-1: its snapshot has no open order and no AAPL position.
    session = _started(
        make_session, ScriptedBroker(), reconciler={"ack_timeout_steps": 1, "grace_steps": 2}
    )
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"))
    orch.step()
    assert orch.book.open_orders["o-1"].status is OrderStatus.PENDING_NEW
    orch.step()  # step 2: one step without an ack -> the timeout resolves from the snapshot
    (resolved,) = session.of_type("in_flight_resolved")
    assert resolved["payload"]["client_order_id"] == "o-1"
    assert resolved["payload"]["in_flight"] == "awaiting_ack"
    assert resolved["payload"]["finding"] == "not_found"
    assert resolved["payload"]["resolution"] == "mark_rejected"
    assert orch.book.open_orders == {}
    closed = orch.book.orders()["o-1"]
    assert (closed.status, closed.cum_qty, closed.leaves_qty) == (OrderStatus.REJECTED, 0, 0)
    assert orch.state is SessionState.DRYRUN_ACTIVE  # a resolution, not a breach
    assert not session.of_type("invariant_breach")

    orch.step()  # the pending order_unknown_to_broker difference clears
    assert [r["payload"]["kind"] for r in session.of_type("reconcile_cleared")] == [
        "order_unknown_to_broker"
    ]
    orch.request_stop("end of test")
    assert orch.state is SessionState.STOPPED
    summary = orch.status().summary
    assert summary["orders_by_final_status"] == {"rejected": 1}
    assert summary["open_orders"] == []
    assert session.of_type("session_summary")[0]["payload"] == summary


def test_cancel_timeout_not_found_marks_the_order_canceled_keeping_cum(make_session):
    broker = ScriptedBroker(
        reports={1: [report("o-1", 1, ExecType.NEW, OrderStatus.NEW)]},
    )
    session = _started(
        make_session, broker, reconciler={"cancel_timeout_steps": 1, "grace_steps": 5}
    )
    orch = session.orchestrator
    submit(session.intents, 1, order("o-1"))
    session.intents.add(2, CancelIntent(client_order_id="o-1"))
    orch.run_n_steps(3)
    (resolved,) = session.of_type("in_flight_resolved")
    assert resolved["step"] == 3
    assert (resolved["payload"]["in_flight"], resolved["payload"]["resolution"]) == (
        "awaiting_cancel",
        "mark_canceled",
    )
    assert orch.book.orders()["o-1"].status is OrderStatus.CANCELED
    assert orch.state is SessionState.DRYRUN_ACTIVE


def test_ack_timeout_with_the_order_working_at_the_broker_escalates(make_session):
    broker = _mock({"by_order": {"o-1": [{"wait": 5}, "ack"]}})
    session = _started(make_session, broker, reconciler={"ack_timeout_steps": 2})
    submit(session.intents, 1, order("o-1"))
    session.orchestrator.run_n_steps(3)
    (resolved,) = session.of_type("in_flight_resolved")
    assert (resolved["payload"]["finding"], resolved["payload"]["resolution"]) == (
        "working",
        "escalate",
    )
    assert session.orchestrator.state is SessionState.ERROR_REQUIRES_OPERATOR
    assert [b["payload"]["invariant"] for b in session.of_type("invariant_breach")] == [
        "in_flight_orders_resolved"
    ]
    assert "o-1" in session.orchestrator.book.open_orders  # never closed on a guess
