"""Orchestrator + deterministic mock broker, end to end."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import CancelOrder, NewOrder, Side
from peak_trade.execution.live.audit import verify_file, verify_lines
from peak_trade.execution.live.checks import PREFLIGHT_CHECKS
from peak_trade.execution.live.state import SessionState
from tests.execution.live.support import order, submit

S = SessionState

SPEC = {
    "reference_prices": {"AAPL": "190.10", "MSFT": "410.00"},
    "by_symbol": {"MSFT": [{"fill": {"qty": "40", "price": "410.50"}}, {"fill": {}}]},
}


def run_session(make_session, **overrides):
    broker = MockBroker(parse_broker_spec(SPEC))
    session = make_session(broker=broker, **overrides)
    submit(session.intents, 1, order("o-1", "AAPL", Side.BUY, "100"))
    submit(session.intents, 2, order("o-2", "MSFT", Side.SELL, "100"))
    submit(session.intents, 3, order("o-3", "AAPL", Side.SELL, "30"))
    o = session.orchestrator
    o.preflight()
    o.start()
    o.run_n_steps(5)
    o.request_stop("end of rehearsal")
    o.close()
    return session


def test_dry_run_end_to_end(make_session):
    session = run_session(make_session)
    o = session.orchestrator

    assert session.states() == ["PREFLIGHT_OK", "DRYRUN_ACTIVE", "STOPPING", "STOPPED"]
    assert o.state is S.STOPPED
    orders = {cid: s.to_payload() for cid, s in o.book.orders().items()}
    assert list(orders) == ["o-1", "o-2", "o-3"]
    assert orders["o-1"]["status"] == "filled"
    assert orders["o-1"]["avg_px"] == "190.10"
    # MSFT: 40 @ 410.50 then 60 @ the reference 410.00 -> VWAP 410.20
    assert orders["o-2"]["cum_qty"] == "100"
    assert Decimal(orders["o-2"]["avg_px"]) == Decimal("410.20")
    assert o.status().positions == {"AAPL": Decimal("70"), "MSFT": Decimal("-100")}
    assert o.status().fills == 4

    assert session.types() == [
        "session_opened",
        *["preflight_check"] * len(PREFLIGHT_CHECKS),
        "transition",  # PREFLIGHT_OK
        "transition",  # DRYRUN_ACTIVE
        "order_submitted",  # step 1: o-1 sent and acked
        "execution_report",
        "order_submitted",  # step 2: o-1 filled; o-2 partially filled at once
        "execution_report",
        "execution_report",
        "order_submitted",  # step 3: o-2 filled; o-3 acked
        "execution_report",
        "execution_report",
        "execution_report",  # step 4: o-3 filled
        "transition",  # STOPPING (nothing open) ...
        "transition",  # ... so STOPPED at once
        "session_summary",
        "session_closed",
    ]
    summary = session.of_type("session_summary")[0]["payload"]
    assert summary == {
        "final_state": "STOPPED",
        "steps": 5,
        "orders_submitted": 3,
        "fills": 4,
        "duplicate_reports": 0,
        "orders_by_final_status": {"filled": 3},
        "open_orders": [],
        "positions": {"AAPL": "70", "MSFT": "-100"},
        "failed_checks": [],
        "kill_switch_engaged": False,
    }
    # the mock recorded exactly the commands the session sent, on the steps it sent them
    assert [(step, type(c).__name__) for step, c in session.broker.commands] == [
        (1, "NewOrder"),
        (2, "NewOrder"),
        (3, "NewOrder"),
    ]
    # the logical clock stamps every record; no wall clock anywhere
    assert [r["step"] for r in session.of_type("order_submitted")] == [1, 2, 3]


def test_two_runs_give_identical_audit_bytes_and_head(make_session, tmp_path, monkeypatch):
    files = []
    heads = []
    for name in ("first", "second"):
        run_dir = tmp_path / name
        run_dir.mkdir()
        monkeypatch.chdir(run_dir)  # same relative audit path, different directories
        session = run_session(make_session, audit={"sink": "file", "path": "audit.jsonl"})
        files.append((run_dir / "audit.jsonl").read_bytes())
        heads.append(session.orchestrator.status().audit_head)
        result = verify_file(run_dir / "audit.jsonl")
        assert result.ok, result.reason
        assert result.sealed
        assert result.head == heads[-1]
    assert files[0] == files[1]
    assert heads[0] == heads[1]
    assert len(files[0].splitlines()) == 16 + len(PREFLIGHT_CHECKS)


def test_memory_trail_verifies(make_session):
    session = run_session(make_session)
    result = verify_lines([line + "\n" for line in session.sink.lines])
    assert result.ok, result.reason
    assert result.count == len(session.sink.lines)


def test_graceful_stop_cancels_open_orders_then_stops(make_session):
    broker = MockBroker(parse_broker_spec({"default": ["ack"]}))  # orders rest, never fill
    session = make_session(broker=broker)
    submit(session.intents, 1, order("o-1"), order("o-2", "MSFT"))
    o = session.orchestrator
    o.preflight()
    o.start()
    o.run_n_steps(2)
    assert len(o.status().open_orders) == 2
    o.request_stop("operator stop")
    assert o.state is S.STOPPING
    assert [r["payload"]["client_order_id"] for r in session.of_type("cancel_requested")] == [
        "o-1",
        "o-2",
    ]
    o.step()  # the mock confirms both cancels
    assert o.state is S.STOPPED
    assert [type(c) for _, c in broker.commands][-2:] == [CancelOrder, CancelOrder]
    summary = session.of_type("session_summary")[0]["payload"]
    assert summary["orders_by_final_status"] == {"canceled": 2}
    assert summary["open_orders"] == []
    submitted_after_stop = [
        r for r in session.of_type("order_submitted") if r["state"] != "DRYRUN_ACTIVE"
    ]
    assert submitted_after_stop == []


def test_no_intent_is_acted_on_after_stopping(make_session):
    broker = MockBroker(
        parse_broker_spec({"default": ["ack"], "by_order": {"o-1": {"on_cancel": "ignore"}}})
    )
    session = make_session(broker=broker, drain_steps=3)
    submit(session.intents, 1, order("o-1"))
    submit(session.intents, 2, order("o-2"))
    o = session.orchestrator
    o.preflight()
    o.start()
    o.step()
    o.request_stop("stop")
    o.step()  # step 2 carries an intent, but the session is stopping
    assert [c.client_order_id for _, c in broker.commands if isinstance(c, NewOrder)] == ["o-1"]


def test_drain_timeout_needs_an_operator_then_stops(make_session):
    spec = {"default": ["ack"], "by_order": {"o-1": {"on_cancel": "ignore"}}}
    broker = MockBroker(parse_broker_spec(spec))
    session = make_session(broker=broker, drain_steps=2)
    submit(session.intents, 1, order("o-1"))
    o = session.orchestrator
    o.preflight()
    o.start()
    o.step()
    o.request_stop("stop")
    o.run_n_steps(2)
    assert o.state is S.ERROR_REQUIRES_OPERATOR
    breach = session.of_type("invariant_breach")[0]["payload"]
    assert breach == {
        "invariant": "drain_within_bound",
        "detail": "orders still open after 2 drain step(s): o-1",
    }
    o.acknowledge("alice", "order o-1 checked by phone with the broker")
    assert o.state is S.STOPPING
    ack = session.of_type("transition")[-1]["payload"]
    assert ack["operator"] == "alice"
    assert ack["trigger"] == "acknowledge"


def test_breach_then_acknowledge_then_stopped(make_session):
    broker = MockBroker(parse_broker_spec({"health": [{"from_step": 2, "steps": 1}]}))
    session = make_session(broker=broker)
    o = session.orchestrator
    o.preflight()
    o.start()
    o.run_n_steps(2)
    assert o.state is S.ERROR_REQUIRES_OPERATOR
    o.acknowledge("alice", "gateway restarted")
    assert o.state is S.STOPPED  # nothing was open: STOPPING drains at once
    assert session.states() == [
        "PREFLIGHT_OK",
        "DRYRUN_ACTIVE",
        "ERROR_REQUIRES_OPERATOR",
        "STOPPING",
        "STOPPED",
    ]


def test_cancel_is_a_safe_stop_from_every_state(make_session):
    for prepare, expected in [
        (lambda o: None, S.STOPPED),
        (lambda o: o.preflight(), S.STOPPED),
        (lambda o: (o.preflight(), o.start()), S.STOPPED),
    ]:
        session = make_session(broker=MockBroker(parse_broker_spec({})))
        prepare(session.orchestrator)
        session.orchestrator.cancel("kill")
        assert session.orchestrator.state is expected


def test_secrets_never_reach_the_audit(make_session):
    secret = "sk-live-canary-7f3a9"
    broker = MockBroker(parse_broker_spec({}))
    session = make_session(broker=broker, secrets={"api_key": secret})
    intent_order = NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=Decimal(1))
    from peak_trade.execution.live.intents import SubmitIntent

    session.intents.add(1, SubmitIntent(order=intent_order, note=f"token={secret}"))
    o = session.orchestrator
    o.preflight()
    o.start()
    o.run_n_steps(2)
    text = "\n".join(session.sink.lines)
    assert secret not in text
    assert "[REDACTED]" in text
    assert "o-1" in text  # ids survive redaction
