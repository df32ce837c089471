"""NO-LIVE at every call site: an adapter that turns live at any point receives nothing more, and
nothing it returns from then on is applied.

`TurningAdapter` wraps the mock broker of a real scenario and logs every interaction the session
has with it: each read of `kind` and each call (submit, cancel, replace, poll, health, snapshot).
From interaction `turn_at` on it says it is live; the interaction at `turn_at` itself still runs
(the adapter turns *during* it). For every `turn_at` from 0 to the number of interactions of a
clean run, the scenario is played again. Then: at most one more interaction follows the turn (the
read of `kind` that notices it), and it is a `kind` read; the execution reports in the audit are
exactly those of the polls that were confirmed mock before the turn, in order; a reconciliation
snapshot or health answer taken during the turn leaves no record; the turn is audited
(`live_broker_refused`, or the `broker_is_mock` check or invariant failing) and the session ends
in PREFLIGHT_FAILED or ERROR_REQUIRES_OPERATOR, or in STOPPED only through an operator's
acknowledgement after the turn: never as if nothing happened.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.protocol import BrokerKind
from peak_trade.harness.model import load_scenario
from peak_trade.harness.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
# Together they call every adapter method: submits and fills, partial fills and a cancel on stop,
# an amend, a health outage, reconciliation snapshots every step, the kill switch's cancels.
SCENARIOS = (
    "happy_path_full_fills.yaml",
    "partial_fill_remainder_cancelled_on_stop.yaml",
    "failure_matrix/fm_amend_price.yaml",
    "broker_health_outage.yaml",
    "failure_matrix/fm_position_drift_clears.yaml",
    "rails/rail_kill_switch_operator.yaml",
)
CALLS = ("submit", "cancel", "replace", "poll", "health", "snapshot")


class TurningAdapter:
    """The mock broker, logging each interaction; live from interaction `turn_at` on."""

    def __init__(self, inner: MockBroker, turn_at: int | None) -> None:
        self._inner = inner
        self.turn_at = turn_at
        self.log: list[tuple[str, object]] = []  # (interaction, what it returned)

    def _turned(self) -> bool:
        return self.turn_at is not None and len(self.log) >= self.turn_at

    @property
    def kind(self) -> BrokerKind:
        kind = BrokerKind.LIVE if self._turned() else BrokerKind.MOCK
        self.log.append(("kind", kind))
        return kind

    def __getattr__(self, name: str):
        if name not in CALLS:
            raise AttributeError(name)
        method = getattr(self._inner, name)

        def call(*args):
            index = len(self.log)
            self.log.append((name, None))
            result = method(*args)
            if name == "poll":
                result = tuple(result)
            self.log[index] = (name, result)
            return result

        return call


def play(path: str, turn_at: int | None):
    scenario = load_scenario(ROOT / "scenarios" / path)
    adapter = TurningAdapter(MockBroker(scenario.broker), turn_at)
    result = run_scenario(scenario, broker=adapter)
    return adapter, result, [json.loads(line) for line in result.audit_lines]


def confirmed_reports(log: list[tuple[str, object]], turn_at: int) -> list[str]:
    """Exec ids of the polls that ran, and whose confirming `kind` read said mock, before the
    turn."""
    ids = []
    for index, (name, returned) in enumerate(log):
        if name == "poll" and index + 1 < turn_at:
            ids += [report.exec_id for report in returned]  # type: ignore[attr-defined]
    return ids


def is_turn(record: dict) -> bool:
    """A record of the session noticing the turn: a refusal, or the check or invariant failing."""
    kind, payload = record["type"], record["payload"]
    return (
        kind == "live_broker_refused"
        or (kind == "invariant_breach" and payload["invariant"] == "broker_is_mock")
        or (
            kind == "preflight_check" and payload["check"] == "broker_is_mock" and not payload["ok"]
        )
    )


@pytest.mark.parametrize("path", SCENARIOS)
def test_an_adapter_turning_live_at_any_interaction_gets_nothing_more(path: str) -> None:
    clean, clean_result, _ = play(path, None)
    assert clean_result.final_state in ("STOPPED", "ERROR_REQUIRES_OPERATOR")
    called = {name for name, _ in clean.log}
    total = len(clean.log)
    assert total > 20
    for turn_at in range(total):
        adapter, result, records = play(path, turn_at)
        where = f"{path}, turned at interaction {turn_at} ({clean.log[turn_at][0]})"
        after = [name for name, _ in adapter.log[turn_at + 1 :]]
        assert after in ([], ["kind"]), f"{where}: {after}"
        applied = [r["payload"]["exec_id"] for r in records if r["type"] == "execution_report"]
        assert applied == confirmed_reports(adapter.log, turn_at), where
        assert any(is_turn(r) for r in records), where
        if result.final_state == "STOPPED":  # only through an operator, after the breach
            first = next(i for i, r in enumerate(records) if is_turn(r))
            assert any(
                r["type"] == "transition" and r["payload"]["trigger"] == "acknowledge"
                for r in records[first:]
            ), where
        else:
            assert result.final_state in ("PREFLIGHT_FAILED", "ERROR_REQUIRES_OPERATOR"), where
    assert called >= {"kind", "poll", "health"}


def test_the_scenarios_reach_every_call_site() -> None:
    called = set()
    for path in SCENARIOS:
        adapter, _, _ = play(path, None)
        called |= {name for name, _ in adapter.log}
    assert called == {"kind", *CALLS}


class LazyTurningBatch(MockBroker):
    """A mock whose poll answers with a generator that turns the adapter live while it is read."""

    turned = False

    @property
    def kind(self) -> BrokerKind:
        return BrokerKind.LIVE if self.turned else BrokerKind.MOCK

    def poll(self, step):
        for number, report in enumerate(super().poll(step)):
            if number == 0 and step == 2:
                self.turned = True
            yield report


def test_a_lazy_poll_batch_that_turns_while_it_is_read_is_discarded_whole() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "happy_path_full_fills.yaml")
    broker = LazyTurningBatch(scenario.broker)
    result = run_scenario(scenario, broker=broker)
    records = [json.loads(line) for line in result.audit_lines]
    steps = [r["step"] for r in records if r["type"] == "execution_report"]
    assert steps, "the first step's reports are applied"
    assert max(steps) < 2, "nothing of the batch read while turning is applied"
    refused = [r for r in records if r["type"] == "live_broker_refused"]
    assert refused[0]["payload"]["operation"] == "poll"
    assert "turned to kind 'live' during poll" in refused[0]["payload"]["detail"]
    assert result.final_state == "ERROR_REQUIRES_OPERATOR"


class KindRaises(MockBroker):
    """A mock that cannot say what it is from step 2 on: not the mock, so it is sent nothing."""

    step_seen = 0

    @property
    def kind(self) -> BrokerKind:
        if self.step_seen >= 2:
            raise RuntimeError("kind unavailable")
        return BrokerKind.MOCK

    def poll(self, step):
        self.step_seen = step
        return super().poll(step)

    def health(self, step):
        raise AssertionError("health must not be asked of an adapter that is not the mock")


def test_an_adapter_whose_kind_raises_is_not_the_mock() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "happy_path_full_fills.yaml")
    broker = KindRaises(scenario.broker)
    broker.step_seen = 0
    result = run_scenario(scenario, broker=broker)
    records = [json.loads(line) for line in result.audit_lines]
    refused = [r["payload"] for r in records if r["type"] == "live_broker_refused"]
    assert "turned to kind 'unknown (RuntimeError)' during poll" in refused[0]["detail"]
    assert result.final_state == "ERROR_REQUIRES_OPERATOR"
