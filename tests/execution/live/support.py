"""Helpers for orchestrator tests: a session with a memory audit, and a hand-scripted broker."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from peak_trade.execution.broker.model import (
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    Side,
)
from peak_trade.execution.broker.protocol import BrokerHealth, BrokerKind, BrokerSnapshot
from peak_trade.execution.live.audit import MemorySink
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.intents import ScriptedIntents, SubmitIntent
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator
from peak_trade.execution.live.session import build_session

BASE_CONFIG = {
    "session_id": "test",
    "allowlist": ["AAPL", "MSFT"],
    "max_steps": 20,
    "drain_steps": 3,
}


def bounded(config: dict) -> dict:
    """`config` with `rails: {unbounded: true}` declared unless it sets its own order size limits
    (no limits, no trading: preflight's rails_bounded); a non-mapping rails value is kept."""
    rails = config.get("rails", {})
    if not isinstance(rails, dict):
        return config
    if "max_order_qty" in rails and "max_order_notional" in rails:
        return config
    return {**config, "rails": {"unbounded": True, **rails}}


@dataclass
class ScriptedBroker:
    """A broker whose every answer is given per step by the test: for faults the mock won't fake."""

    kind: BrokerKind = BrokerKind.MOCK
    reports: dict[int, list[ExecutionReport]] = field(default_factory=dict)
    unhealthy_steps: set[int] = field(default_factory=set)
    raise_on: dict[str, Exception] = field(default_factory=dict)
    commands: list[tuple[int, object]] = field(default_factory=list)

    def _maybe_raise(self, name: str) -> None:
        if name in self.raise_on:
            raise self.raise_on[name]

    def submit(self, order, step):
        self._maybe_raise("submit")
        self.commands.append((step, order))

    def cancel(self, request, step):
        self._maybe_raise("cancel")
        self.commands.append((step, request))

    def replace(self, request, step):
        self._maybe_raise("replace")
        self.commands.append((step, request))

    def poll(self, step) -> Sequence[ExecutionReport]:
        self._maybe_raise("poll")
        return self.reports.get(step, [])

    def health(self, step) -> BrokerHealth:
        self._maybe_raise("health")
        if step in self.unhealthy_steps:
            return BrokerHealth(ok=False, detail="scripted outage")
        return BrokerHealth(ok=True)

    def snapshot(self, step) -> BrokerSnapshot:
        return BrokerSnapshot(step=step)


def order(cid: str = "o-1", symbol: str = "AAPL", side: Side = Side.BUY, qty: str = "100"):
    return NewOrder(client_order_id=cid, symbol=symbol, side=side, qty=Decimal(qty))


def report(
    cid: str,
    n: int,
    exec_type: ExecType,
    status: OrderStatus,
    *,
    qty: str = "100",
    cum: str = "0",
    leaves: str | None = None,
    last: str = "0",
    px: str | None = None,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
) -> ExecutionReport:
    order_qty = Decimal(qty)
    cum_qty = Decimal(cum)
    return ExecutionReport(
        exec_id=f"{cid}:{n}",
        client_order_id=cid,
        exec_type=exec_type,
        status=status,
        symbol=symbol,
        side=side,
        order_qty=order_qty,
        cum_qty=cum_qty,
        leaves_qty=Decimal(leaves) if leaves is not None else order_qty - cum_qty,
        last_qty=Decimal(last),
        last_px=Decimal(px) if px else None,
        avg_px=Decimal(px) if px else None,
    )


@dataclass
class Session:
    orchestrator: LiveSessionOrchestrator
    sink: MemorySink
    broker: object
    intents: ScriptedIntents

    @property
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.sink.lines]

    def types(self) -> list[str]:
        return [r["type"] for r in self.records]

    def of_type(self, type_: str) -> list[dict]:
        return [r for r in self.records if r["type"] == type_]

    def states(self) -> list[str]:
        return [r["payload"]["to"] for r in self.of_type("transition")]


@pytest.fixture
def make_session() -> Callable[..., Session]:
    def make(broker=None, intents=None, environ_names=(), **overrides) -> Session:
        config = SessionConfig.from_mapping(bounded({**BASE_CONFIG, **overrides}))
        sink = MemorySink()
        broker = broker if broker is not None else ScriptedBroker()
        intents = intents if intents is not None else ScriptedIntents()
        orchestrator = build_session(
            config, broker, intents, extra_sinks=[sink], environ_names=environ_names
        )
        return Session(orchestrator, sink, broker, intents)

    return make


def submit(intents: ScriptedIntents, step: int, *orders: NewOrder) -> None:
    intents.add(step, *(SubmitIntent(order=o) for o in orders))
