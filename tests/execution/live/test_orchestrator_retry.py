"""The session's bounded retries against the mock broker's request faults: the paths the
failure-matrix scenarios do not show (amends, adopted orders, stops, fate timeouts, config)."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.live.intents import CancelIntent, ReplaceIntent, ScriptedIntents
from tests.execution.live.support import order, submit


def _mock(faults: list[dict], **extra: object) -> MockBroker:
    spec = {"reference_prices": {"AAPL": "100"}, "request_faults": faults, **extra}
    return MockBroker(parse_broker_spec(spec))


def _run(session, steps: int) -> None:
    orchestrator = session.orchestrator
    orchestrator.preflight()
    orchestrator.start()
    for _ in range(steps):
        if orchestrator.state.value in ("STOPPED",):
            break
        orchestrator.step()


def _payloads(session, type_: str) -> list[dict]:
    return [r["payload"] for r in session.of_type(type_)]


def test_an_amend_rate_limited_is_retried_and_stays_in_flight_meanwhile(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    intents.add(2, ReplaceIntent(client_order_id="o-1", new_qty=Decimal(60)))
    intents.add(3, ReplaceIntent(client_order_id="o-1", new_qty=Decimal(50)))  # still in flight
    broker = _mock([{"requests": ["replace"], "answers": ["rate_limited"]}], default=["ack"])
    session = make_session(broker=broker, intents=intents, retry={"backoff": "fixed"})
    _run(session, 4)
    failed, retried = _payloads(session, "request_failed"), _payloads(session, "request_retried")
    assert [(p["request"], p["decision"], p["next_attempt_step"]) for p in failed] == [
        ("replace", "retry", 3)
    ]
    assert [(p["request"], p["attempt"]) for p in retried] == [("replace", 2)]
    refused = _payloads(session, "replace_refused")
    assert [p["detail"] for p in refused] == ["a cancel or amend of this order is in flight"]
    assert session.orchestrator.book.open_orders["o-1"].order_qty == Decimal(60)


def test_a_given_up_submit_the_broker_holds_is_adopted(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    broker = _mock(
        [
            {"requests": ["submit"], "answers": [{"timeout": {"reached": True}}, "gateway_busy"]},
        ],
        by_order={"o-1": [{"wait": 3}, "ack"]},
    )
    session = make_session(broker=broker, intents=intents, retry={"max_attempts": 2})
    _run(session, 3)
    (given_up,) = _payloads(session, "request_given_up")
    assert given_up["condition"] == "attempts_spent"
    (resolved,) = _payloads(session, "fate_resolved")
    assert (resolved["finding"], resolved["fate"]) == ("working", "adopt")
    assert session.orchestrator.state.value == "DRYRUN_ACTIVE"
    assert "o-1" in session.orchestrator.book.open_orders
    # the attempt after the timeout went PossResend: the broker never took a second order
    assert [p.get("poss_resend") for p in _payloads(session, "request_retried")] == [True]
    assert len(broker.snapshot(3).open_orders) == 1


def test_a_cancel_given_up_while_the_order_works_escalates(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    intents.add(2, CancelIntent(client_order_id="o-1"))
    broker = _mock([{"requests": ["cancel"], "answer": "gateway_busy"}], default=["ack"])
    session = make_session(broker=broker, intents=intents, retry={"max_attempts": 1})
    _run(session, 3)
    # the strategy's cancel, then the cancel on breach: both given up, both fates unknown
    resolved = _payloads(session, "fate_resolved")
    assert [(p["given_up"], p["finding"], p["fate"]) for p in resolved] == [
        ("cancel", "working", "escalate")
    ] * 2
    (breach,) = _payloads(session, "invariant_breach")
    assert breach["invariant"] == "broker_state_known"
    assert session.orchestrator.state.value == "ERROR_REQUIRES_OPERATOR"


def test_a_stop_gives_up_a_waiting_submit_and_asks_its_fate(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    broker = _mock([{"requests": ["submit"], "answers": [{"rate_limited": {"retry_after": 4}}]}])
    session = make_session(broker=broker, intents=intents)
    _run(session, 1)
    session.orchestrator.request_stop("end")
    session.orchestrator.step()
    (given_up,) = _payloads(session, "request_given_up")
    assert given_up["condition"] == "canceled_before_placed"
    (resolved,) = _payloads(session, "fate_resolved")
    assert resolved["fate"] == "mark_rejected"
    assert "cancel_requested" not in session.types()  # nothing sent to cancel an unplaced order
    assert session.orchestrator.state.value == "STOPPED"
    assert broker.commands[-1][1].__class__.__name__ == "StatusRequest"


def test_a_strategy_cancel_of_an_order_found_working_cancels_it(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    intents.add(2, CancelIntent(client_order_id="o-1"))
    broker = _mock(
        [{"requests": ["submit"], "answers": [{"timeout": {"reached": True}}]}],
        by_order={"o-1": [{"wait": 5}, "ack"]},
    )
    session = make_session(broker=broker, intents=intents, retry={"backoff_steps": 3})
    _run(session, 3)
    (resolved,) = _payloads(session, "fate_resolved")
    assert resolved["fate"] == "adopt"
    (cancel,) = _payloads(session, "cancel_requested")
    assert cancel["reason"] == "given-up order found working"
    assert session.orchestrator.book.known("o-1").status.value == "canceled"


def test_an_unanswered_fate_query_escalates_after_its_timeout(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    broker = _mock(
        [{"requests": ["submit"], "answer": "gateway_busy"}],
        latency={"to_broker": 0, "from_broker": 5},
    )
    session = make_session(
        broker=broker, intents=intents, retry={"max_attempts": 1, "fate_timeout_steps": 2}
    )
    _run(session, 4)
    (resolved,) = _payloads(session, "fate_resolved")
    assert (resolved["finding"], resolved["fate"]) == ("no_answer", "escalate")
    assert "no reply within 2 step(s)" in resolved["detail"]
    assert [r["step"] for r in session.of_type("fate_resolved")] == [3]
    assert session.orchestrator.state.value == "ERROR_REQUIRES_OPERATOR"


def test_a_wait_longer_than_the_cap_gives_up_at_once(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    broker = _mock([{"answers": [{"rate_limited": {"retry_after": 50}}]}])
    session = make_session(broker=broker, intents=intents, retry={"max_backoff_steps": 8})
    _run(session, 2)
    (failed,) = _payloads(session, "request_failed")
    assert (failed["decision"], failed["condition"], failed["retry_after"]) == (
        "give_up",
        "wait_beyond_cap",
        50,
    )
    assert _payloads(session, "fate_resolved")[0]["fate"] == "mark_rejected"


def test_a_plain_broker_error_keeps_its_old_path(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    broker = MockBroker(
        parse_broker_spec(
            {"reference_prices": {"AAPL": "100"}, "by_order": {"o-1": {"fail_submit": "reset"}}}
        )
    )
    session = make_session(broker=broker, intents=intents)
    _run(session, 1)
    assert "submit_failed" in session.types()
    assert "request_failed" not in session.types()
    assert _payloads(session, "invariant_breach")[0]["invariant"] == "broker_calls_succeed"


def test_a_bad_retry_config_fails_preflight_with_its_pointer(make_session):
    session = make_session(retry={"max_attempts": 0, "backof": "fixed"})
    session.orchestrator.preflight()
    (check,) = [p for p in _payloads(session, "preflight_check") if not p["ok"]]
    assert check["check"] == "runtime_limits_valid"
    assert "/retry/backof: unknown key (did you mean backoff?)" in check["detail"]
    assert "/retry/max_attempts: must be a whole number from 1 to 100" in check["detail"]
    assert session.orchestrator.state.value == "PREFLIGHT_FAILED"


def test_the_config_record_names_retry_only_when_given(make_session):
    plain = make_session()
    plain.orchestrator.preflight()
    assert "retry" not in _payloads(plain, "session_opened")[0]["config"]
    given = make_session(retry={"max_attempts": 2})
    given.orchestrator.preflight()
    assert _payloads(given, "session_opened")[0]["config"]["retry"] == {"max_attempts": 2}


def test_a_stop_sends_no_second_cancel_while_one_waits_for_its_retry(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order())
    intents.add(2, CancelIntent(client_order_id="o-1"))
    broker = _mock(
        [{"requests": ["cancel"], "answers": [{"rate_limited": {"retry_after": 3}}]}],
        default=["ack"],
    )
    session = make_session(broker=broker, intents=intents)
    _run(session, 2)
    session.orchestrator.request_stop("end")  # the cancel of o-1 waits for step 5
    _run_more(session, 4)
    cancels = [c for _, c in broker.commands if type(c).__name__ == "CancelOrder"]
    assert len(cancels) == 2  # the failed attempt and its retry: no third from the stop
    assert [p["attempt"] for p in _payloads(session, "request_retried")] == [2]
    assert session.orchestrator.state.value == "STOPPED"


def test_a_retry_counts_as_a_message_for_the_message_rails(make_session):
    intents = ScriptedIntents()
    submit(intents, 1, order("o-1"))
    submit(intents, 2, order("o-2"))  # step 2: o-1's retry already took the step's message
    broker = _mock([{"order": "o-1", "answers": ["gateway_busy"]}])
    session = make_session(
        broker=broker,
        intents=intents,
        retry={"backoff": "fixed"},
        rails={"unbounded": True, "max_messages_per_step": 1},
    )
    _run(session, 2)
    assert [p["client_order_id"] for p in _payloads(session, "request_retried")] == ["o-1"]
    (refused,) = _payloads(session, "order_refused")
    assert (refused["client_order_id"], refused["rule"]) == ("o-2", "max_messages_per_step")


def _run_more(session, steps: int) -> None:
    for _ in range(steps):
        if session.orchestrator.state.value == "STOPPED":
            break
        session.orchestrator.step()
