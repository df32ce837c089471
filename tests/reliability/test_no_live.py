"""NO-LIVE: every way of asking for a live session fails preflight, with an audited reason.

The ways: the live flag (without its test override, or not a boolean), a live-kind adapter, a
broker kind in the config, an environment variable (in process through `environ_names`, and
through the CLI in a subprocess whose environment sets it), and a typo'd key that could be a
misspelt safety switch (at the top level and inside `live`; through the CLI such a scenario is
refused at validation, exit 2). Each failed preflight is audited (the failing check's record and
the PREFLIGHT_FAILED transition naming it), nothing reaches the broker, and the session cannot be
started. With the explicit test override only the mock ever runs, and the override is audited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.broker.protocol import BrokerKind
from peak_trade.execution.live.audit import AuditTrail, MemorySink, verify_file, verify_lines
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import LiveBrokerRefused, SessionError
from peak_trade.execution.live.intents import ScriptedIntents, SubmitIntent
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator
from peak_trade.execution.live.session import build_session
from peak_trade.execution.live.state import IllegalTransition, SessionState
from tests.execution.live.support import ScriptedBroker, bounded

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "bad_scenarios"
BASE = {"session_id": "no-live", "allowlist": ["AAPL"], "max_steps": 5, "drain_steps": 2}


def mock_broker() -> MockBroker:
    return MockBroker(parse_broker_spec({"reference_prices": {"AAPL": "190.10"}}))


def make(overrides=None, *, broker=None, environ=()):
    """`environ`: variable names, or a mapping of names to values (then values are read too)."""
    config = SessionConfig.from_mapping(bounded({**BASE, **(overrides or {})}))
    intents = ScriptedIntents()
    order = NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=Decimal(10))
    intents.add(1, SubmitIntent(order=order))
    memory = MemorySink()
    broker = mock_broker() if broker is None else broker
    where = {"environ": environ} if isinstance(environ, dict) else {"environ_names": environ}
    session = build_session(config, broker, intents, extra_sinks=[memory], **where)
    return session, memory, broker


def records(memory: MemorySink) -> list[dict]:
    return [json.loads(line) for line in memory.lines]


# way -> (config overrides, adapter factory or None, environment names, checks that must fail)
WAYS = {
    "live.enabled without the override": ({"live": {"enabled": True}}, None, (), ["live_disabled"]),
    "live.enabled as the string 'true'": (
        {"live": {"enabled": "true"}},
        None,
        (),
        ["live_disabled"],
    ),
    "live.enabled as the number 1": ({"live": {"enabled": 1}}, None, (), ["live_disabled"]),
    "the override as a string": (
        {"live": {"enabled": True, "test_override": "yes"}},
        None,
        (),
        ["live_disabled"],
    ),
    "live given as a bare true": ({"live": True}, None, (), ["config_keys_known", "live_disabled"]),
    "a live-kind adapter": (
        {},
        lambda: ScriptedBroker(kind=BrokerKind.LIVE),
        (),
        ["broker_is_mock"],
    ),
    "a live-kind adapter under the override": (
        {"live": {"enabled": True, "test_override": True}},
        lambda: ScriptedBroker(kind=BrokerKind.LIVE),
        (),
        ["broker_is_mock"],
    ),
    "broker_kind: live in the config": ({"broker_kind": "live"}, None, (), ["broker_is_mock"]),
    "PEAK_TRADE_LIVE in the environment": (
        {},
        None,
        ("PEAK_TRADE_LIVE",),
        ["live_environment_clear"],
    ),
    "peak_trade_enable_live in the environment": (
        {},
        None,
        ("HOME", "peak_trade_enable_live"),
        ["live_environment_clear"],
    ),
    "PEAK_TRADE_PROD in the environment": (
        {},
        None,
        ("PEAK_TRADE_PROD",),
        ["live_environment_clear"],
    ),
    "PEAK_TRADE_MODE=live in the environment": (
        {},
        None,
        {"HOME": "/home/q", "PEAK_TRADE_MODE": "live"},
        ["live_environment_clear"],
    ),
    "peak_trade_target= PROD in the environment": (
        {},
        None,
        {"peak_trade_target": " PROD "},
        ["live_environment_clear"],
    ),
    "typo at the top level: enabeld": ({"enabeld": True}, None, (), ["config_keys_known"]),
    "typo inside live: live.enabeld": (
        {"live": {"enabeld": True}},
        None,
        (),
        ["config_keys_known"],
    ),
    "typo inside live: live.enable": ({"live": {"enable": True}}, None, (), ["config_keys_known"]),
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_way_of_asking_for_live_fails_preflight_with_an_audited_reason(way: str) -> None:
    overrides, adapter, environ, failing = WAYS[way]
    broker = adapter() if adapter else None
    session, memory, broker = make(overrides, broker=broker, environ=environ)
    results = session.preflight()
    assert session.state is SessionState.PREFLIGHT_FAILED
    assert [r.name for r in results if not r.ok] == failing
    audited = {
        r["payload"]["check"]: r["payload"]
        for r in records(memory)
        if r["type"] == "preflight_check"
    }
    for name in failing:
        assert audited[name]["ok"] is False
        assert audited[name]["detail"], "the reason is written down"
    transition = [r for r in records(memory) if r["type"] == "transition"]
    assert transition[-1]["payload"]["to"] == "PREFLIGHT_FAILED"
    assert transition[-1]["payload"]["failed_checks"] == failing
    with pytest.raises(IllegalTransition):
        session.start()
    with pytest.raises(SessionError):
        session.step()
    session.close()
    assert broker.commands == [], "nothing may reach the adapter"
    assert not any(r["type"] == "live_override_used" for r in records(memory))
    assert verify_lines([line + "\n" for line in memory.lines]).ok


def test_under_the_test_override_only_the_mock_runs_and_the_override_is_audited() -> None:
    session, memory, broker = make({"live": {"enabled": True, "test_override": True}})
    session.preflight()
    session.start()
    session.run_n_steps(3)
    session.request_stop("end")
    session.close()
    assert isinstance(broker, MockBroker)
    assert broker.kind is BrokerKind.MOCK
    assert [cmd.client_order_id for _, cmd in broker.commands] == ["o-1"]
    kinds = [r["type"] for r in records(memory)]
    assert kinds.index("live_override_used") < kinds.index("order_submitted")
    opened = records(memory)[0]["payload"]["config"]
    assert opened["live"] == {"enabled": True, "test_override": True}
    assert opened["broker_kind"] == "mock"
    assert session.state is SessionState.STOPPED


class TurncoatBroker(MockBroker):
    """A mock that reports a live kind once preflight has passed: the orchestrator's second line
    of defence must refuse to send it anything."""

    turned = False

    @property
    def kind(self) -> BrokerKind:
        return BrokerKind.LIVE if self.turned else BrokerKind.MOCK


def test_an_adapter_that_turns_live_after_preflight_receives_nothing() -> None:
    broker = TurncoatBroker(parse_broker_spec({"reference_prices": {"AAPL": "190.10"}}))
    session, memory, _ = make(broker=broker)
    session.preflight()
    session.start()
    broker.turned = True
    with pytest.raises(LiveBrokerRefused):
        session.step()
    assert broker.commands == []
    kinds = [r["type"] for r in records(memory)]
    assert "live_broker_refused" in kinds
    assert session.state is SessionState.ERROR_REQUIRES_OPERATOR
    breach = [r for r in records(memory) if r["type"] == "invariant_breach"]
    assert breach[0]["payload"]["invariant"] == "broker_is_mock"


def test_after_the_turn_an_operator_stop_sends_nothing_and_names_the_orders_left() -> None:
    broker = TurncoatBroker(parse_broker_spec({"reference_prices": {"AAPL": "190.10"}}))
    session, memory, _ = make(broker=broker)
    session.preflight()
    session.start()
    session.step()  # o-1 is sent
    sent = list(broker.commands)
    assert [cmd.client_order_id for _, cmd in sent] == ["o-1"]
    open_now = sorted(session.book.open_orders)
    assert open_now == ["o-1"]  # acked, its fill still to come
    broker.turned = True
    with pytest.raises(LiveBrokerRefused):
        session.step()
    for attempt in (lambda: session.acknowledge("ops", "live adapter"), session.step):
        with pytest.raises(LiveBrokerRefused):
            attempt()
    assert broker.commands == sent, "nothing more reaches the adapter"
    refused = [r["payload"] for r in records(memory) if r["type"] == "live_broker_refused"]
    assert [p["operation"] for p in refused] == ["poll", "cancel", "poll"]
    assert all(p["open_orders"] == open_now for p in refused)
    assert session.state is SessionState.ERROR_REQUIRES_OPERATOR  # it cannot drain the orders
    session.close()
    assert verify_lines([line + "\n" for line in memory.lines]).ok


def test_build_session_judges_the_values_of_the_names_it_is_given(monkeypatch) -> None:
    """Names only used to hide a value: PEAK_TRADE_MODE=live passed preflight through the API."""
    monkeypatch.setenv("PEAK_TRADE_MODE", " LiVe ")
    for environ in (("PEAK_TRADE_MODE",), ("HOME", "PEAK_TRADE_MODE"), list(os.environ)):
        session, memory, broker = make(environ=environ)
        results = session.preflight()
        assert session.state is SessionState.PREFLIGHT_FAILED, environ
        assert [r.name for r in results if not r.ok] == ["live_environment_clear"]
        assert "PEAK_TRADE_MODE" in next(r.detail for r in results if not r.ok)
        assert "LiVe" not in "".join(memory.lines)  # the name is recorded, never the value
        assert broker.commands == []
    # An explicit empty environment is one: nothing is read (tests isolate themselves so).
    session, _, _ = make(environ=())
    session.preflight()
    assert session.state is SessionState.PREFLIGHT_OK


def test_build_session_and_the_orchestrator_default_to_the_process_environment(
    monkeypatch,
) -> None:
    monkeypatch.setenv("PEAK_TRADE_MODE", " Production ")
    config = SessionConfig.from_mapping(bounded(BASE))
    memory = MemorySink()
    session = build_session(config, mock_broker(), ScriptedIntents(), extra_sinks=[memory])
    session.preflight()
    assert session.state is SessionState.PREFLIGHT_FAILED
    direct = LiveSessionOrchestrator(
        config=config,
        broker=mock_broker(),
        intents=ScriptedIntents(),
        audit=AuditTrail([MemorySink()]),
    )
    results = direct.preflight()
    assert [r.name for r in results if not r.ok] == ["live_environment_clear"]
    assert "Production" not in "".join(memory.lines)


# --- through the command line -------------------------------------------------------------------


def test_a_peak_trade_variable_with_an_ordinary_value_passes_and_no_value_is_recorded() -> None:
    environ = {"PEAK_TRADE_MODE": "paper", "PEAK_TRADE_TOKEN": "live-s3cr3t-value", "X": "live"}
    session, memory, _ = make(environ=environ)
    session.preflight()
    assert session.state is SessionState.PREFLIGHT_OK
    assert "s3cr3t" not in "".join(memory.lines)
    # Flagged values that appear nowhere else: the record must name the variables, not them.
    session, memory, _ = make(environ={"PEAK_TRADE_MODE": " Prod ", "PEAK_TRADE_KEY": "REAL"})
    session.preflight()
    check = next(
        r for r in records(memory) if r["payload"].get("check") == "live_environment_clear"
    )
    assert check["payload"]["detail"] == (
        "environment variable(s) PEAK_TRADE_KEY, PEAK_TRADE_MODE ask for a live session; "
        "peak_trade has no live mode: unset them"
    )
    assert "Prod" not in "".join(memory.lines)
    assert "REAL" not in "".join(memory.lines)


@pytest.mark.parametrize(("name", "value"), [("PEAK_TRADE_LIVE", "1"), ("PEAK_TRADE_MODE", "live")])
def test_the_cli_refuses_a_live_environment_variable(tmp_path: Path, name: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PEAK_TRADE")}
    env[name] = value
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "peak_trade",
            "scenario",
            "run",
            "scenarios/happy_path_full_fills.yaml",
            "--audit-dir",
            str(tmp_path / "audit"),
            "--evidence-dir",
            str(tmp_path / "evidence"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL happy_path_full_fills  PREFLIGHT_FAILED" in done.stdout
    audit = tmp_path / "audit" / "happy_path_full_fills.jsonl"
    assert verify_file(audit).ok
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    check = next(r for r in lines if r["payload"].get("check") == "live_environment_clear")
    assert check["payload"]["ok"] is False
    assert name in check["payload"]["detail"]
    assert not any(r["type"] == "order_submitted" for r in lines)
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())


def test_the_cli_runs_the_live_flag_scenario_into_an_audited_preflight_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = ROOT / "scenarios" / "preflight" / "preflight_live_enabled_without_override.yaml"
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.upper().startswith("PEAK_TRADE")]:
        monkeypatch.delenv(name)
    main(["scenario", "run", str(scenario), "--audit-dir", "audit", "--evidence-dir", "ev"])
    capsys.readouterr()
    audit = Path("audit") / f"{scenario.stem}.jsonl"
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    check = next(r for r in lines if r["payload"].get("check") == "live_disabled")
    assert check["payload"]["ok"] is False
    assert "without live.test_override" in check["payload"]["detail"]
    assert [r["payload"]["to"] for r in lines if r["type"] == "transition"] == ["PREFLIGHT_FAILED"]


@pytest.mark.parametrize("name", ["typo_config_enabeld.yaml", "typo_live_enabeld.yaml"])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_the_cli_refuses_a_typod_live_key_before_anything_runs(
    name: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["scenario", command, str(CORPUS / name)]
    if command == "run":
        argv += ["--audit-dir", "audit", "--evidence-dir", "ev"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{CORPUS / name}:4:" in err
    assert "unknown key 'enabeld'" in err
    assert list(tmp_path.iterdir()) == []
