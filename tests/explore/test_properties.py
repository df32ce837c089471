"""Each safety property holds on a landed scenario's run and fails on the run made wrong.

The planted-bug tests (test_planted_bugs.py) break the session itself; here the observation of a
real run is altered the way each property's bug would show, so every check is seen to fail.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.broker.protocol import BrokerError
from peak_trade.explore.properties import PROPERTIES, BrokerWatch, Observation, check, observation
from peak_trade.harness.model import load_scenario
from peak_trade.harness.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]


def observe(name: str, *, rerun: bool = False) -> Observation:
    scenario = load_scenario(ROOT / "scenarios" / name)
    broker = BrokerWatch(scenario.broker)
    return observation(run_scenario(scenario, broker=broker), broker, rerun=rerun)


@pytest.fixture(scope="module")
def stop() -> Observation:
    return observe("graceful_stop_cancels_open_orders.yaml", rerun=True)


def test_every_property_holds_on_a_landed_run(stop: Observation) -> None:
    assert check(stop) == {}
    assert stop.rerun_head == stop.result.head
    assert stop.rerun_sealed


def _with_record(obs: Observation, index: int, **changes: object) -> Observation:
    records = [dict(r) for r in obs.records]
    records[index] = {**records[index], **changes}
    return replace(obs, records=records)


def _index(obs: Observation, kind: str, last: bool = False) -> int:
    found = [i for i, r in enumerate(obs.records) if r["type"] == kind]
    return found[-1] if last else found[0]


def test_fails_closed_catches_an_order_after_a_breach(stop: Observation) -> None:
    breach = {
        "type": "invariant_breach",
        "seq": 0,
        "state": "DRYRUN_ACTIVE",
        "step": 1,
        "payload": {"invariant": "book_matches_broker", "detail": "x"},
    }
    at = _index(stop, "order_submitted")
    records = [*stop.records[:at], breach, *stop.records[at:]]
    assert "fails_closed" in check(replace(stop, records=records))


def test_no_order_after_stopping_catches_a_submit_while_stopping(stop: Observation) -> None:
    tampered = _with_record(stop, _index(stop, "order_submitted"), state="STOPPING")
    assert "no_order_after_stopping" in check(tampered)
    late = NewOrder(client_order_id="late", symbol="AAPL", side=Side.BUY, qty=Decimal(1))
    stop.broker.commands.append((99, late))
    try:
        assert "no_order_after_stopping" in check(stop)
    finally:
        stop.broker.commands.pop()


def test_refused_never_reach_broker_catches_a_refused_or_disallowed_order() -> None:
    obs = observe("order_outside_allowlist_refused.yaml")
    assert "refused_never_reach_broker" not in check(obs)
    sent = NewOrder(client_order_id="o-2", symbol="TSLA", side=Side.BUY, qty=Decimal(10))
    obs.broker.commands.append((1, sent))
    problems = check(obs)["refused_never_reach_broker"]
    assert any("was refused" in p for p in problems)
    assert any("outside the allowlist" in p for p in problems)


def test_the_watched_broker_sees_a_second_live_order_for_one_id(stop: Observation) -> None:
    from peak_trade.execution.broker.fill_script import parse_broker_spec

    watch = BrokerWatch(parse_broker_spec({"by_order": {"dup": ["ack"]}}))
    order = NewOrder(client_order_id="dup", symbol="AAPL", side=Side.BUY, qty=Decimal(1))
    watch.submit(order, 1)
    watch.poll(1)
    with pytest.raises(BrokerError):
        watch.submit(order, 2)
    assert watch.second_live == [(2, "dup")]
    assert "one_live_order_per_id" not in check(stop)
    stop.broker.second_live.append((2, "o-1"))
    try:
        assert "one_live_order_per_id" in check(stop)
    finally:
        stop.broker.second_live.pop()


def test_book_agrees_at_stopped_catches_a_position_the_broker_does_not_hold(
    stop: Observation,
) -> None:
    positions = dict(stop.final.positions)
    positions["AAPL"] = positions.get("AAPL", Decimal(0)) + 1
    tampered = replace(stop, final=replace(stop.final, positions=positions))
    assert "book_agrees_at_stopped" in check(tampered)
    assert "fails_closed" in check(tampered)


def test_positions_explained_catches_a_report_counted_twice() -> None:
    obs = observe("happy_path_full_fills.yaml")
    trade = next(
        r
        for r in obs.records
        if r["type"] == "execution_report" and r["payload"]["exec_type"] == "trade"
    )
    other = {**trade, "payload": {**trade["payload"], "exec_id": "other"}}
    assert "positions_explained" in check(replace(obs, records=[*obs.records, other]))
    again = [*obs.records, trade]  # the same execution again: still counted once
    assert "positions_explained" not in check(replace(obs, records=again))


def test_audit_chain_sealed_catches_a_changed_line_and_a_missing_close(stop: Observation) -> None:
    lines = list(stop.lines)
    lines[3] = lines[3].replace('"ok":true', '"ok":false')
    assert "audit_chain_sealed" in check(replace(stop, lines=tuple(lines)))
    assert "audit_chain_sealed" in check(replace(stop, rerun_sealed=False))


def test_no_secret_in_output_finds_a_planted_secret_in_a_line() -> None:
    obs = observe("redaction_of_planted_secrets.yaml")
    assert obs.secrets
    assert "no_secret_in_output" not in check(obs)
    leaked = (*obs.lines, json.dumps({"leak": obs.secrets[0]}))
    assert "no_secret_in_output" in check(replace(obs, lines=leaked))


def test_terminates_in_bounds_catches_trading_past_the_step_bound(stop: Observation) -> None:
    at = next(
        i
        for i, r in enumerate(stop.records)
        if r["type"] == "transition" and r["payload"]["from"] == "DRYRUN_ACTIVE"
    )
    assert "terminates_in_bounds" in check(_with_record(stop, at, step=100))
    assert "terminates_in_bounds" in check(replace(stop, max_records=1))


def test_rerun_identical_catches_a_different_head(stop: Observation) -> None:
    assert "rerun_identical" in check(replace(stop, rerun_head="0" * 64))


def test_every_property_has_a_test_here() -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    for prop in PROPERTIES:
        assert f'"{prop.name}"' in text
