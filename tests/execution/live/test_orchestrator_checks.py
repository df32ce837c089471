"""One test per preflight failure, per runtime invariant breach and per illegal operation."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.model import ExecType, OrderStatus
from peak_trade.execution.broker.protocol import BrokerHealth, BrokerKind
from peak_trade.execution.live import checks
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.checks import (
    PREFLIGHT_CHECKS,
    RUNTIME_CHECKS,
    StepFacts,
    run_runtime_checks,
)
from peak_trade.execution.live.errors import (
    IllegalOperation,
    LiveBrokerRefused,
    SessionNotRunning,
    StepBoundExceeded,
)
from peak_trade.execution.live.state import IllegalTransition, SessionState
from tests.execution.live.support import ScriptedBroker, order, report, submit

S = SessionState


# --------------------------------------------------------------------------- preflight


@pytest.mark.parametrize(
    ("overrides", "environ", "failing", "fragment"),
    [
        ({"live": {"enabled": True}}, (), "live_disabled", "without live.test_override"),
        ({"live": {"enabled": "yes"}}, (), "live_disabled", "must be the boolean false"),
        ({"live": {"test_override": 1}}, (), "live_disabled", "must be a boolean"),
        ({}, ("PEAK_TRADE_LIVE",), "live_environment_clear", "PEAK_TRADE_LIVE"),
        ({"enabeld": True}, (), "config_keys_known", "enabeld"),
        ({"live": {"enabeld": True}}, (), "config_keys_known", "live.enabeld"),
        ({"allowlist": None}, (), "allowlist_valid", "no allowlist"),
        ({"allowlist": []}, (), "allowlist_valid", "empty"),
        ({"allowlist": "AAPL"}, (), "allowlist_valid", "must be a list"),
        ({"allowlist": ["AAPL", "bad symbol"]}, (), "allowlist_valid", "'bad symbol'"),
        ({"allowlist": ["AAPL", "AAPL"]}, (), "allowlist_valid", "listed twice"),
        ({"broker_kind": "live"}, (), "broker_is_mock", "only the mock broker exists"),
        ({"audit": {"sink": "kafka"}}, (), "audit_sink_writable", "unknown audit sink"),
        ({"audit": {"sink": "file"}}, (), "audit_sink_writable", "audit.path is required"),
        (
            {"audit": {"sink": "file", "path": "no/such/dir/audit.jsonl"}},
            (),
            "audit_sink_writable",
            "no/such/dir/audit.jsonl",
        ),
        ({"audit": {"fsync": "sometimes"}}, (), "audit_sink_writable", "unknown fsync policy"),
        ({"max_steps": None}, (), "step_bound_configured", "no step bound"),
        ({"max_steps": 0}, (), "step_bound_configured", "from 1 to"),
        ({"max_steps": True}, (), "step_bound_configured", "from 1 to"),
        ({"max_steps": 10**9}, (), "step_bound_configured", "from 1 to"),
        ({"drain_steps": 0}, (), "step_bound_configured", "drain_steps"),
        ({"max_unhealthy_steps": -1}, (), "runtime_limits_valid", "max_unhealthy_steps"),
        ({"secrets": {"api_key": "abc"}}, (), "secrets_redactable", "api_key"),
    ],
)
def test_each_preflight_failure_alone(
    make_session, overrides, environ, failing, fragment, tmp_path
):
    session = make_session(environ_names=environ, **overrides)
    results = session.orchestrator.preflight()

    assert session.orchestrator.state is S.PREFLIGHT_FAILED
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == [failing]
    assert fragment in failed[0].detail
    checks = session.of_type("preflight_check")
    assert [c["payload"]["check"] for c in checks] == list(PREFLIGHT_CHECKS)
    transition = session.of_type("transition")[-1]["payload"]
    assert transition["to"] == "PREFLIGHT_FAILED"
    assert transition["failed_checks"] == [failing]
    assert session.orchestrator.status().failed_checks == (failing,)
    assert session.of_type("session_summary")[0]["payload"]["failed_checks"] == [failing]


def test_every_failing_check_is_named_at_once(make_session):
    session = make_session(allowlist=[], max_steps=None, live={"enabled": True})
    session.orchestrator.preflight()
    transition = session.of_type("transition")[-1]["payload"]
    assert transition["failed_checks"] == [
        "live_disabled",
        "allowlist_valid",
        "step_bound_configured",
    ]


def test_live_adapter_is_refused_at_preflight(make_session):
    session = make_session(broker=ScriptedBroker(kind=BrokerKind.LIVE))
    results = session.orchestrator.preflight()
    assert session.orchestrator.state is S.PREFLIGHT_FAILED
    assert [r.name for r in results if not r.ok] == ["broker_is_mock"]
    assert "'live'" in next(r.detail for r in results if not r.ok)


def test_test_override_passes_and_is_audited(make_session):
    session = make_session(live={"enabled": True, "test_override": True})
    session.orchestrator.preflight()
    assert session.orchestrator.state is S.PREFLIGHT_OK
    assert len(session.of_type("live_override_used")) == 1


def test_preflight_passes_with_a_sound_config(make_session):
    session = make_session()
    results = session.orchestrator.preflight()
    assert all(r.ok for r in results)
    assert session.types()[:2] == ["session_opened", "preflight_check"]
    assert session.states() == ["PREFLIGHT_OK"]


def test_a_check_that_raises_fails_closed(make_session, monkeypatch):
    def boom(config):
        raise RuntimeError("check exploded")

    monkeypatch.setattr("peak_trade.execution.live.checks.check_allowlist", boom)
    session = make_session()
    results = session.orchestrator.preflight()
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == ["allowlist_valid"]
    assert "check raised RuntimeError: check exploded" in failed[0].detail
    assert session.orchestrator.state is S.PREFLIGHT_FAILED


# --------------------------------------------------------------------------- runtime invariants


def started(make_session, **kwargs):
    session = make_session(**kwargs)
    session.orchestrator.preflight()
    session.orchestrator.start()
    return session


def breached(session) -> list[str]:
    return [r["payload"]["invariant"] for r in session.of_type("invariant_breach")]


def test_broker_health_down_breaches(make_session):
    session = started(make_session, broker=ScriptedBroker(unhealthy_steps={2}))
    session.orchestrator.run_n_steps(3)
    assert session.orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert breached(session) == ["broker_healthy"]
    assert session.orchestrator.step_clock == 3  # the error state keeps stepping (book current)
    assert session.of_type("invariant_breach")[0]["step"] == 2


def test_broker_health_within_tolerance_is_audited_not_breached(make_session):
    broker = ScriptedBroker(unhealthy_steps={2, 3})
    session = started(make_session, broker=broker, max_unhealthy_steps=2)
    session.orchestrator.run_n_steps(5)
    assert session.orchestrator.state is S.DRYRUN_ACTIVE
    health = [r["payload"]["ok"] for r in session.of_type("broker_health")]
    assert health == [False, True]


def test_overfill_breaches_execution_reports_sound(make_session):
    broker = ScriptedBroker()
    broker.reports[1] = [report("o-1", 1, ExecType.NEW, OrderStatus.NEW)]
    broker.reports[2] = [
        report(
            "o-1",
            2,
            ExecType.TRADE,
            OrderStatus.FILLED,
            cum="150",
            leaves="0",
            last="150",
            px="10",
        )
    ]
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order())
    session.orchestrator.run_n_steps(2)
    assert session.orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert breached(session) == ["execution_reports_sound"]
    breach = session.of_type("invariant_breach")[0]["payload"]
    # leaves 0 with cum 150 of 100 cannot all be true: refused, and the book keeps cum 0
    assert "cum_qty 150 outside 0..order_qty 100" in breach["detail"]
    assert breach["refused_reports"][0]["rules"] == ["cum_within_order_qty", "status_matches_cum"]
    assert session.orchestrator.book.open_orders["o-1"].cum_qty == 0


def test_an_honest_overfill_is_adopted_and_breaches(make_session):
    broker = ScriptedBroker()
    broker.reports[1] = [report("o-1", 1, ExecType.NEW, OrderStatus.NEW)]
    broker.reports[2] = [
        report(
            "o-1",
            2,
            ExecType.TRADE,
            OrderStatus.FILLED,
            cum="150",
            leaves="-50",
            last="150",
            px="10",
        )
    ]
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order())
    session.orchestrator.run_n_steps(2)
    assert session.orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert breached(session) == ["execution_reports_sound"]
    detail = session.of_type("invariant_breach")[0]["payload"]["detail"]
    assert "overfill: cum_qty 150 exceeds order_qty 100" in detail
    assert session.orchestrator.book.closed_orders["o-1"].cum_qty == 150


def test_report_for_unknown_order_breaches(make_session):
    broker = ScriptedBroker()
    broker.reports[1] = [report("ghost", 1, ExecType.NEW, OrderStatus.NEW)]
    session = started(make_session, broker=broker)
    session.orchestrator.step()
    assert breached(session) == ["execution_reports_sound"]
    assert session.of_type("execution_report")[0]["payload"]["outcome"] == "unknown_order"


def test_inconsistent_cum_is_refused_and_the_position_stays_whole(make_session):
    broker = ScriptedBroker()
    # cum jumps by 60 while last_qty says 40: fills and cum disagree, so the report is refused
    # and applied neither way (before the order lifecycle, it broke position_matches_fills)
    broker.reports[1] = [
        report("o-1", 1, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, cum="60", last="40", px="10")
    ]
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order())
    session.orchestrator.step()
    assert breached(session) == ["execution_reports_sound"]
    refused = session.of_type("invariant_breach")[0]["payload"]["refused_reports"][0]
    assert refused["rules"] == ["trade_moves_cum"]
    assert (refused["from_status"], refused["to_status"]) == ("pending_new", "partially_filled")
    book = session.orchestrator.book
    assert book.positions == {}
    assert book.position_breaks() == []


@pytest.mark.parametrize("call", ["poll", "health", "submit", "cancel"])
def test_broker_call_that_raises_breaches(make_session, call):
    broker = ScriptedBroker(raise_on={call: ConnectionError(f"{call} failed")})
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order())
    session.orchestrator.step()
    if call == "cancel":
        assert session.orchestrator.state is S.DRYRUN_ACTIVE
        session.orchestrator.request_stop("end")  # one open order: its cancel raises
        session.orchestrator.step()
    assert session.orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert "broker_calls_succeed" in breached(session)
    assert f"{call} failed" in session.of_type("invariant_breach")[0]["payload"]["detail"]


def test_order_outside_allowlist_is_refused_before_the_broker(make_session):
    session = started(make_session)
    submit(session.intents, 1, order(symbol="TSLA"))
    session.orchestrator.step()
    refused = session.of_type("order_refused")[0]["payload"]
    assert refused["rule"] == "symbol_allowlist"
    assert session.broker.commands == []
    assert session.orchestrator.state is S.DRYRUN_ACTIVE


def quiet_facts(**changes: object) -> StepFacts:
    """A step with nothing to report, AAPL allowed and the mock broker; `changes` override."""
    fields: dict[str, object] = {
        "health": None,
        "unhealthy_streak": 0,
        "max_unhealthy_steps": 0,
        "allowlist": frozenset({"AAPL"}),
        "report_violations": (),
        "call_failures": (),
        "audit_failures": (),
        "audit_sequence_problem": None,
        "broker_kind": BrokerKind.MOCK,
    }
    return StepFacts(**{**fields, **changes})  # type: ignore[arg-type]


def test_orders_within_allowlist_invariant_names_the_order():
    book = SessionBook()
    book.add(order("o-9", symbol="TSLA"), 1)
    facts = quiet_facts()
    breaches = run_runtime_checks(facts, book)
    assert [(b.invariant, b.detail) for b in breaches] == [
        ("orders_within_allowlist", "orders outside the allowlist: o-9 (TSLA)")
    ]


def test_runtime_check_that_raises_is_a_breach(make_session, monkeypatch):
    session = started(make_session)

    def boom(self):
        raise ArithmeticError("bad book")

    monkeypatch.setattr(SessionBook, "position_breaks", boom)
    session.orchestrator.step()
    assert breached(session) == ["position_matches_fills"]
    assert (
        "check raised ArithmeticError: bad book"
        in (session.of_type("invariant_breach")[0]["payload"]["detail"])
    )


def test_adapter_turning_live_after_preflight_raises_and_is_audited(make_session):
    broker = ScriptedBroker()
    session = started(make_session, broker=broker)
    broker.kind = BrokerKind.LIVE
    submit(session.intents, 1, order())
    with pytest.raises(LiveBrokerRefused):
        session.orchestrator.step()
    assert broker.commands == []
    assert session.of_type("live_broker_refused")
    assert session.orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert breached(session) == ["broker_is_mock"]


def test_audit_sink_failure_mid_session_breaches_and_stops_orders(
    make_session, tmp_path, monkeypatch
):
    path = str(tmp_path / "a.jsonl")
    session = make_session(audit={"sink": "file", "path": path, "fsync": "per_record"})
    orchestrator = session.orchestrator
    orchestrator.preflight()
    orchestrator.start()

    def failing_fsync(fd):
        raise OSError("fsync failed: I/O error")

    monkeypatch.setattr("os.fsync", failing_fsync)
    submit(session.intents, 1, order("o-1"), order("o-2"))
    orchestrator.step()
    assert orchestrator.state is S.ERROR_REQUIRES_OPERATOR
    assert breached(session) == ["audit_sink_healthy"]
    # the first order's record failed to persist: neither order reached the broker
    assert session.broker.commands == []
    refused = [
        (r["payload"]["client_order_id"], r["payload"]["rule"])
        for r in session.of_type("order_refused")
    ]
    assert refused == [("o-1", "audit_sink_failed"), ("o-2", "audit_sink_failed")]


# --------------------------------------------------------------------------- illegal operations


@pytest.mark.parametrize(
    ("action", "state_before"),
    [
        (lambda o: o.start(), S.INIT),
        (lambda o: o.request_stop("x"), S.INIT),
        (lambda o: o.acknowledge("ops", "x"), S.INIT),
    ],
)
def test_illegal_transition_raises_changes_nothing_and_is_audited(
    make_session, action, state_before
):
    session = make_session()
    with pytest.raises(IllegalTransition):
        action(session.orchestrator)
    assert session.orchestrator.state is state_before
    assert session.types() == ["illegal_transition"]


def test_acknowledge_while_active_is_illegal(make_session):
    session = started(make_session)
    with pytest.raises(IllegalTransition, match="acknowledge is not accepted in state DRYRUN"):
        session.orchestrator.acknowledge("ops", "nothing wrong")
    assert session.orchestrator.state is S.DRYRUN_ACTIVE
    assert session.types()[-1] == "illegal_transition"


def test_preflight_twice_is_illegal(make_session):
    session = make_session()
    session.orchestrator.preflight()
    before = len(session.records)
    with pytest.raises(IllegalTransition):
        session.orchestrator.preflight()
    assert len(session.records) == before + 1


def test_step_before_start_is_refused_and_audited(make_session):
    session = make_session()
    session.orchestrator.preflight()
    with pytest.raises(SessionNotRunning):
        session.orchestrator.step()
    assert session.types()[-1] == "illegal_operation"
    assert session.orchestrator.step_clock == 0


def test_run_n_steps_refuses_more_than_the_bound(make_session):
    session = started(make_session, max_steps=5)
    with pytest.raises(StepBoundExceeded, match="max_steps=5"):
        session.orchestrator.run_n_steps(6)
    assert session.orchestrator.step_clock == 0
    assert session.of_type("step_bound_refused")[0]["payload"]["requested"] == 6


def test_step_bound_reached_stops_the_session(make_session):
    session = started(make_session, max_steps=3)
    assert session.orchestrator.run_n_steps(3) == 3
    assert session.orchestrator.state is S.STOPPED
    assert session.states() == ["PREFLIGHT_OK", "DRYRUN_ACTIVE", "STOPPING", "STOPPED"]
    assert session.of_type("transition")[2]["payload"]["reason"] == "step bound 3 reached"


def test_position_is_decimal_signed_sum(make_session):
    broker = ScriptedBroker()
    broker.reports[1] = [
        report("o-1", 1, ExecType.TRADE, OrderStatus.FILLED, cum="100", last="100", px="10.5")
    ]
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order())
    session.orchestrator.step()
    assert session.orchestrator.status().positions == {"AAPL": Decimal("100")}


def test_run_n_steps_outside_a_running_session_is_refused_and_audited(make_session):
    session = make_session()
    session.orchestrator.preflight()
    with pytest.raises(SessionNotRunning):
        session.orchestrator.run_n_steps(1)
    assert session.types()[-1] == "illegal_operation"


@pytest.mark.parametrize(
    "action",
    [
        lambda o: o.acknowledge("  ", "no name"),
        lambda o: o.run_n_steps(-1),
        lambda o: o.rearm_kill_switch("ops", "not engaged"),
    ],
    ids=["acknowledge-without-operator", "negative-steps", "rearm-not-engaged"],
)
def test_refused_operations_are_typed_and_audited(make_session, action):
    session = started(make_session)
    with pytest.raises(IllegalOperation):
        action(session.orchestrator)
    assert session.types()[-1] == "illegal_operation"
    assert session.orchestrator.state is S.DRYRUN_ACTIVE


def test_intents_planned_while_stopping_are_recorded_not_acted_on(make_session):
    broker = ScriptedBroker()
    broker.reports[1] = [report("o-1", 1, ExecType.NEW, OrderStatus.NEW)]
    session = started(make_session, broker=broker)
    submit(session.intents, 1, order("o-1"))
    submit(session.intents, 2, order("o-2"))
    session.orchestrator.step()
    session.orchestrator.request_stop("end")
    session.orchestrator.step()
    ignored = session.of_type("intent_ignored")
    assert [(r["payload"]["client_order_id"], r["state"]) for r in ignored] == [("o-2", "STOPPING")]
    assert [c.client_order_id for _, c in broker.commands if hasattr(c, "qty")] == ["o-1"]


# --------------------------------------------------------------------------- the quiet-step path


class RaisingHealth:
    """A health answer that cannot say whether it is ok."""

    detail = "?"

    @property
    def ok(self) -> bool:
        raise RuntimeError("no answer")


def table_breaches(facts: StepFacts, book: SessionBook):
    """The runtime checks with the all-clear short-cut switched off: every check in the table."""
    with mock.patch.object(checks, "_all_hold", return_value=False):
        return run_runtime_checks(facts, book)


@st.composite
def step_facts_and_books(draw):
    """A quiet step (nothing to report), then up to two things wrong with it: each check's
    failure, and its near misses (an unhealthy broker within its allowed streak, a flat
    position listed on one side only), are drawn often enough to be seen."""
    book = SessionBook()
    symbols = ["AAPL", "MSFT"]
    for i in range(draw(st.integers(0, 3))):
        book.add(order(f"o-{i}", symbol=draw(st.sampled_from(symbols))), 1)
    for symbol in draw(st.lists(st.sampled_from(symbols), unique=True)):
        quantity = Decimal(draw(st.sampled_from(["0", "10", "-10"])))
        book.positions[symbol] = quantity
        book.signed_cum[symbol] = quantity
    fields = {
        "health": draw(st.sampled_from([None, BrokerHealth(ok=True)])),
        "unhealthy_streak": 0,
        "max_unhealthy_steps": 0,
        "allowlist": frozenset(symbols),
        "report_violations": (),
        "call_failures": (),
        "audit_failures": (),
        "audit_sequence_problem": None,
        "broker_kind": BrokerKind.MOCK,
    }
    wrongs = draw(
        st.lists(
            st.sampled_from(
                [
                    "unhealthy",
                    "unhealthy_within_streak",
                    "health_raises",
                    "report_violations",
                    "call_failures",
                    "audit_failures",
                    "audit_sequence_problem",
                    "not_mock",
                    "unknown_kind",
                    "outside_allowlist",
                    "position_break",
                    "flat_on_one_side",
                ]
            ),
            max_size=2,
        )
    )
    for wrong in wrongs:
        if wrong in ("unhealthy", "unhealthy_within_streak"):
            fields["health"] = BrokerHealth(ok=False, detail="gateway down")
            fields["unhealthy_streak"] = 1
            fields["max_unhealthy_steps"] = 0 if wrong == "unhealthy" else 2
        elif wrong == "health_raises":
            fields["health"] = RaisingHealth()
        elif wrong in ("report_violations", "call_failures", "audit_failures"):
            fields[wrong] = ("something went wrong",)
        elif wrong == "audit_sequence_problem":
            fields[wrong] = "audit record 3 written where 2 was due"
        elif wrong == "not_mock":
            fields["broker_kind"] = BrokerKind.LIVE
        elif wrong == "unknown_kind":
            fields["broker_kind"] = "unknown (RuntimeError)"
        elif wrong == "outside_allowlist":
            book.add(order("o-x", symbol="TSLA"), 1)
        elif wrong == "position_break":
            symbol = draw(st.sampled_from(symbols))
            book.signed_cum[symbol] = book.signed_cum.get(symbol, Decimal(0)) + 1
        elif wrong == "flat_on_one_side":
            book.positions["IBM"] = Decimal("0.0")  # no break: 0 against an absent 0
    return StepFacts(**fields), book


@settings(max_examples=400, deadline=None)
@given(step_facts_and_books())
def test_property_runtime_checks_equal_the_full_table(data):
    facts, book = data
    assert run_runtime_checks(facts, book) == table_breaches(facts, book)


def test_the_quiet_step_breaks_nothing_and_every_table_check_agrees():
    book = SessionBook()
    book.add(order("o-1"), 1)
    facts = quiet_facts(health=BrokerHealth(ok=True))
    assert run_runtime_checks(facts, book) == []
    assert all(check(facts, book)[0] for _, check in RUNTIME_CHECKS)


def test_a_check_that_raises_on_a_quiet_step_is_still_a_breach(monkeypatch):
    def boom(self):
        raise ArithmeticError("bad book")

    monkeypatch.setattr(SessionBook, "position_breaks", boom)
    facts = quiet_facts()
    breaches = run_runtime_checks(facts, SessionBook())
    assert [(b.invariant, b.detail) for b in breaches] == [
        ("position_matches_fills", "check raised ArithmeticError: bad book")
    ]
