"""observe.facts against real scenario runs (through the harness), and corrupted trails."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.harness.model import load_scenario
from peak_trade.harness.runner import RunResult, run_scenario
from peak_trade.observe.facts import (
    AuditFacts,
    Bounded,
    facts_from_lines,
    fold_records,
    read_facts,
    run_facts,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def run(name: str, audit: Path | None = None) -> RunResult:
    return run_scenario(load_scenario(SCENARIOS / name), audit_file=audit)


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit")


def file_facts(name: str, audit_dir: Path) -> tuple[RunResult, AuditFacts, Path]:
    path = audit_dir / (Path(name).stem + ".jsonl")
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".seal").unlink(missing_ok=True)
    result = run(name, path)
    return result, read_facts(path, title=result.scenario.title), path


def test_happy_path_facts(audit_dir: Path) -> None:
    result, facts, _ = file_facts("happy_path_full_fills.yaml", audit_dir)
    assert facts.scenario_id == "happy_path_full_fills"
    assert facts.title == result.scenario.title
    assert facts.broker_kind == "mock"
    assert facts.live_enabled is False
    assert facts.final_state == "STOPPED" == result.final_state
    assert facts.final_step == result.steps_run
    assert facts.closed
    assert facts.chain.verified
    assert facts.chain.sealed
    assert facts.chain.records == result.count == facts.counts.records
    assert facts.chain.head == result.head
    assert facts.chain.summary.startswith("verified and sealed")
    assert facts.states == ("PREFLIGHT_OK", "DRYRUN_ACTIVE", "STOPPING", "STOPPED")
    assert facts.counts.orders_place == 2
    assert facts.counts.execution_reports == 4
    assert [m.direction for m in facts.messages][:2] == ["to_broker", "from_broker"]
    assert facts.open_orders == ()
    assert dict(facts.positions or ()) == {"AAPL": Decimal("100"), "MSFT": Decimal("-50")}
    assert facts.positions_source == "summary"
    assert facts.breaches.total == 0
    assert facts.last_breach is None
    assert [(a.action, a.note) for a in facts.operator_actions] == [("stop", "end of rehearsal")]
    # reconciled every step and every one agreed: the last ok step is the last step
    assert facts.reconciler_every_steps == 1
    assert facts.reconciler_last_ok_step == facts.final_step
    assert facts.cash is None  # no account
    # the same facts from the run's own capture (no seal: no file)
    from_run = run_facts(result)
    assert from_run.chain.sealed is None
    assert from_run.chain.verified
    assert from_run.counts == facts.counts
    assert from_run.messages == facts.messages


def test_breach_and_acknowledgement() -> None:
    facts = run_facts(run("overfill_breach_acknowledged.yaml"))
    breach = facts.first_breach
    assert breach is not None
    assert breach.invariant == "execution_reports_sound"
    assert "overfill" in breach.detail
    assert breach.step == 2
    assert facts.last_breach == breach
    assert dict(facts.counts.invariant_breaches) == {"execution_reports_sound": 1}
    (ack,) = [a for a in facts.operator_actions if a.action == "acknowledge"]
    assert ack.operator == "alice"
    assert "phone" in (ack.note or "")
    assert ("DRYRUN_ACTIVE", "ERROR_REQUIRES_OPERATOR") in dict(facts.counts.transitions)
    timeline = [(t.from_state, t.to_state, t.reason) for t in facts.transitions]
    assert ("DRYRUN_ACTIVE", "ERROR_REQUIRES_OPERATOR", "execution_reports_sound") in timeline
    # steps 3 and 4 began in ERROR_REQUIRES_OPERATOR, which does not reconcile; the
    # acknowledgement at step 4 begins the stop, which compares the books then (and they agree)
    assert facts.reconciler_last_ok_step == 4


def test_refusals_and_automatic_kill_switch() -> None:
    facts = run_facts(run("rails/rail_kill_switch_automatic.yaml"))
    refused = [(r.rule, r.limit, r.observed) for r in facts.refusals]
    assert refused[0] == ("max_order_qty", "100", "101")
    assert dict(facts.counts.rail_trips)["max_order_qty"] == 3
    engaged = [k for k in facts.kill_switch if k.event == "engaged"]
    assert engaged
    assert engaged[0].source == "rails"
    assert facts.counts.kill_switch_engagements == 1
    assert facts.counts.kill_switch_rearms == 1
    assert not facts.kill_switch_engaged  # re-armed before the end
    rearm = [a for a in facts.operator_actions if a.action == "rearm_kill_switch"]
    assert rearm[0].operator == "risk desk"


def test_reconciliation_pending_then_escalated() -> None:
    facts = run_facts(run("failure_matrix/fm_position_drift_escalates.yaml"))
    events = [(f.event, f.kind, f.key) for f in facts.reconciliation]
    assert events == [
        ("pending", "position_mismatch", "AAPL"),
        ("escalated", "position_mismatch", "AAPL"),
    ]
    assert dict(facts.counts.reconcile_mismatches) == {"position_mismatch": 1}  # one finding
    assert facts.final_state == "ERROR_REQUIRES_OPERATOR"
    # the drift is seen at step 3: the last pass that agreed is step 2
    assert facts.reconciler_last_ok_step == 2


def test_reconciliation_clears() -> None:
    facts = run_facts(run("failure_matrix/fm_position_drift_clears.yaml"))
    assert [f.event for f in facts.reconciliation] == ["pending", "cleared"]
    assert facts.reconciler_last_ok_step == facts.final_step


def test_cash_when_the_account_exists() -> None:
    facts = run_facts(run("failure_matrix/fm_account_cash_and_fees.yaml"))
    assert facts.cash is not None
    assert facts.cash.currency == "USD"
    assert isinstance(facts.cash.amount, Decimal)


def test_preflight_failure() -> None:
    facts = run_facts(run("preflight/preflight_audit_sink_unusable.yaml"))
    assert facts.final_state == "PREFLIGHT_FAILED"
    assert facts.preflight_failed == ("audit_sink_writable",)
    assert facts.reconciler_last_ok_step is None  # never reconciled


def test_messages_are_bounded() -> None:
    result = run("rails/rail_attribution_partial_kill.yaml")
    full = run_facts(result)
    small = run_facts(result, limit=3)
    assert len(small.messages) == 3
    assert small.messages.total == full.messages.total
    assert small.messages.omitted == full.messages.total - 3
    assert small.messages.items == full.messages.items[:3]
    assert small.counts == full.counts  # counts never depend on the bound
    with pytest.raises(ValueError, match="limit"):
        run_facts(result, limit=-1)


def test_to_json_is_plain_and_deterministic(audit_dir: Path) -> None:
    _, facts, _ = file_facts("failure_matrix/fm_account_cash_and_fees.yaml", audit_dir)
    first = json.dumps(facts.to_json(), sort_keys=True)
    again = json.dumps(read_facts(audit_dir / "fm_account_cash_and_fees.jsonl").to_json())
    assert json.loads(first)["cash"]["amount"] == str(facts.cash.amount)  # type: ignore[union-attr]
    assert json.loads(first)["chain"]["summary"].startswith("verified and sealed")
    assert json.loads(again)["counts"] == json.loads(first)["counts"]


# --- corrupted and truncated trails


def test_torn_last_line(audit_dir: Path) -> None:
    _, whole, path = file_facts("happy_path_full_fills.yaml", audit_dir)
    data = path.read_bytes()
    path.with_name(path.name + ".seal").unlink()
    path.write_bytes(data[:-20])  # a crash mid-append
    facts = read_facts(path)
    assert not facts.chain.verified
    assert facts.chain.torn_tail
    assert "torn last line" in (facts.chain.reason or "")
    assert facts.counts.records == whole.counts.records - 1  # the verified prefix only
    assert not facts.closed


def test_modified_record_stops_the_fold(audit_dir: Path) -> None:
    _, _, path = file_facts("happy_path_full_fills.yaml", audit_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[15] = lines[15].replace(b'"qty":"100"', b'"qty":"900"')
    path.write_bytes(b"".join(lines))
    facts = read_facts(path)
    assert not facts.chain.verified
    assert facts.chain.first_bad_line == 16
    assert "hash mismatch at line 16" in facts.chain.summary
    assert facts.counts.records == 15
    assert facts.counts.orders_place == 0  # the modified order is not vouched for


def test_cut_at_a_record_boundary_with_seal(audit_dir: Path) -> None:
    _, _, path = file_facts("happy_path_full_fills.yaml", audit_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:18]))
    facts = read_facts(path)
    assert not facts.chain.verified
    assert facts.chain.sealed
    assert "truncated" in (facts.chain.reason or "")
    # a cut trail without a summary: the book is derived from the reports
    assert facts.positions_source == "reports"
    assert facts.final_state == "DRYRUN_ACTIVE"


def test_unsealed_file(audit_dir: Path) -> None:
    _, _, path = file_facts("happy_path_full_fills.yaml", audit_dir)
    path.with_name(path.name + ".seal").unlink()
    facts = read_facts(path)
    assert facts.chain.verified
    assert facts.chain.sealed is False
    assert facts.chain.summary.startswith("verified but not sealed")
    assert facts.closed


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    facts = read_facts(empty)
    assert not facts.chain.verified
    assert "empty" in (facts.chain.reason or "")
    assert facts.final_state is None
    assert facts.counts.records == 0
    with pytest.raises(OSError, match="folder"):
        read_facts(tmp_path)  # a folder
    with pytest.raises(FileNotFoundError):
        read_facts(tmp_path / "missing.jsonl")


def test_derived_open_orders_and_positions_without_summary() -> None:
    result = run("partial_fill_remainder_cancelled_on_stop.yaml")
    lines = [line for line in result.trail.lines() if '"type":"session_summary"' not in line]
    # the lines no longer chain; fold them as given, unverified
    facts = fold_records(json.loads(line) for line in lines)
    assert not facts.chain.verified
    assert "not checked" in (facts.chain.reason or "")
    assert facts.positions_source == "reports"
    whole = run_facts(result)
    assert facts.positions == whole.positions
    assert facts.open_orders == whole.open_orders


def test_odd_records_are_problems_not_crashes() -> None:
    facts = fold_records(
        [
            {"type": "session_opened", "step": 0, "state": "INIT", "payload": {"config": 3}},
            {"type": 7, "step": 0},
            "not a record",  # type: ignore[list-item]
            {"type": "transition", "step": 1, "state": "X", "payload": {"from": ["odd"]}},
            {"type": "invariant_breach", "step": 1, "state": "X", "payload": {}},
        ]
    )
    assert len(facts.problems) == 2
    assert facts.final_state == "X"
    assert facts.breaches.total == 1
    assert facts.reconciler_every_steps is None


def test_counter_keys_are_bounded() -> None:
    records = (
        {
            "type": "order_refused",
            "step": 1,
            "state": "DRYRUN_ACTIVE",
            "payload": {"rule": f"r{i}"},
        }
        for i in range(1000)
    )
    facts = fold_records(records, limit=5)
    trips = dict(facts.counts.rail_trips)
    assert len(trips) == 257
    assert trips["other"] == 1000 - 256
    assert facts.refusals.total == 1000
    assert len(facts.refusals) == 5


def test_lines_without_replay_are_walked_twice() -> None:
    result = run("happy_path_full_fills.yaml")
    facts = facts_from_lines(iter(list(result.trail.lines())))
    assert facts.chain.verified
    assert facts.counts.records == result.count


def test_bounded_protocol() -> None:
    empty: Bounded[int] = Bounded()
    assert not empty
    assert len(empty) == 0
    assert empty.omitted == 0
    some = Bounded((1, 2), 5)
    assert some
    assert list(some) == [1, 2]
    assert some.omitted == 3


LIBRARY = sorted(SCENARIOS.rglob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_facts_agree_with_the_run(path: Path) -> None:
    """Every scenario of the library: the facts say what the session itself says."""
    result = run_scenario(load_scenario(path))
    facts = run_facts(result)
    records = result.records
    types = [r["type"] for r in records]
    assert facts.chain.verified
    assert facts.problems == ()
    assert facts.final_state == result.final_state
    assert facts.final_step == result.steps_run
    assert facts.counts.records == result.count
    assert facts.closed
    assert facts.transitions.total == types.count("transition")
    assert facts.breaches.total == types.count("invariant_breach")
    assert facts.counts.orders_place == types.count("order_submitted")
    assert facts.counts.execution_reports == types.count("execution_report")
    assert facts.scenario_id == result.scenario.config.session_id
    summary = result.summary
    if summary is not None:
        assert summary["orders_submitted"] == facts.counts.orders_place
        assert list(facts.open_orders) == summary["open_orders"]
        assert facts.kill_switch_engaged == summary["kill_switch_engaged"]
    held = {s: q for s, q in result.positions.items() if q}
    assert {s: q for s, q in facts.positions or () if q} == held
    if facts.final_state in ("STOPPED", "ERROR_REQUIRES_OPERATOR", "STOPPING") and (
        facts.reconciler_last_ok_step is not None
    ):
        assert 1 <= facts.reconciler_last_ok_step <= facts.final_step
    # without its summary (a cut trail), the book derived from the reports is the same
    cut = fold_records(r for r in records if r["type"] != "session_summary")
    assert cut.positions_source == "reports"
    if summary is not None:
        assert list(cut.open_orders) == summary["open_orders"]
    if cut.positions is not None:
        assert {s: q for s, q in cut.positions if q} == held


def test_messages_carry_side_symbol_qty_and_refusals_their_seq(audit_dir: Path) -> None:
    _, facts, path = file_facts("rails/rail_max_order_qty.yaml", audit_dir)
    by_seq = {r["seq"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    assert facts.messages.total > 0
    for message in facts.messages:
        payload = by_seq[message.seq]["payload"]
        assert message.side == payload.get("side")
        assert message.symbol == payload.get("symbol")
        qty = payload.get("last_qty") if message.direction == "from_broker" else payload.get("qty")
        assert message.qty == (qty if qty is not None else payload.get("new_qty"))
    assert facts.refusals.total > 0
    for refusal in facts.refusals:
        assert by_seq[refusal.seq]["type"] == refusal.record
        assert by_seq[refusal.seq]["payload"].get("rule") == refusal.rule


def test_retries_and_the_last_kill_switch_event_are_kept(audit_dir: Path) -> None:
    _, facts, path = file_facts("failure_matrix/fm_retry_attempts_exhausted.yaml", audit_dir)
    trail = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    retried = sum(1 for r in trail if r["type"] == "request_retried")
    assert facts.counts.retry_attempts == retried > 0
    _, facts, _ = file_facts("rails/rail_max_drawdown.yaml", audit_dir)
    assert facts.last_kill_switch is not None
    assert facts.last_kill_switch == facts.kill_switch.items[-1]
    assert facts.last_kill_switch.rail == "max_drawdown"
