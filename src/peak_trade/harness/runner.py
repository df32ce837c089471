"""Run a scenario: build the mock broker and the orchestrator, play the declared bounded steps.

Per `steps` entry: its intents are handed to the session for the entry's first step, the step
(or `run: N` steps) is executed, then the entry's operator actions (stop, acknowledge) happen at
the same logical time. Session errors raised to the caller are audited by the session; the runner
records their kind and goes on, so a scenario can show that an operation is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.protocol import BrokerAdapter
from peak_trade.execution.live.audit import AuditSink, JsonlFileSink
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.checks import CheckResult
from peak_trade.execution.live.errors import SessionError
from peak_trade.execution.live.intents import ScriptedIntents
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator
from peak_trade.execution.live.session import build_session
from peak_trade.execution.live.state import STEPPING_STATES, SessionState
from peak_trade.harness.audit_lock import AuditPathLock
from peak_trade.harness.model import Scenario, StepSpec
from peak_trade.harness.trail import TrailCapture

ERROR_KINDS = {
    "IllegalTransition": "illegal_transition",
    "SessionNotRunning": "session_not_running",
    "StepBoundExceeded": "step_bound_exceeded",
    "LiveBrokerRefused": "live_broker_refused",
    "SessionClosed": "session_closed",
    "IllegalOperation": "illegal_operation",
    "AuditSealFailed": "audit_seal_failed",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RaisedError:
    kind: str
    entry: int  # index in `steps`, -1 for preflight/start
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    scenario: Scenario
    trail: TrailCapture  # the run's audit trail, folded and spooled (never a list in memory)
    final_state: str
    steps_run: int
    errors: tuple[RaisedError, ...]
    orders: Mapping[str, OrderState]
    positions: Mapping[str, Decimal]
    preflight: tuple[CheckResult, ...]
    summary: Mapping[str, object] | None
    head: str
    audit_failures: tuple[str, ...] = ()  # sink write or seal failures: the run cannot pass
    # FIX id chaining: an id a request or a replaced order took -> the id it stands for
    aliases: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, client_order_id: str) -> str:
        """The id under which `orders` holds the order `client_order_id` names."""
        seen = 0
        while client_order_id in self.aliases and seen <= len(self.aliases):  # bounded
            client_order_id = self.aliases[client_order_id]
            seen += 1
        return client_order_id

    @property
    def audit_lines(self) -> tuple[str, ...]:
        """Every audit line, read back from the spool: for tests and small runs."""
        return tuple(self.trail.lines())

    @property
    def records(self) -> list[dict[str, object]]:
        """Every audit record, parsed: for tests and small runs (the harness never asks)."""
        return [json.loads(line) for line in self.trail.lines()]

    @property
    def count(self) -> int:
        return self.trail.count


def run_scenario(
    scenario: Scenario,
    *,
    audit_file: Path | None = None,
    environ_names: Iterable[str] | None = None,
    broker: BrokerAdapter | None = None,
) -> RunResult:
    """Run `scenario` once. `audit_file`, when given, receives the trail as JSON Lines (+ seal).
    `broker` stands in for the scenario's mock broker (tests of what the session does with an
    adapter that misbehaves)."""
    # expect.reports needs the execution reports themselves; only then are they parsed
    wanted = frozenset({"execution_report"}) if scenario.expect.reports else frozenset()
    capture = TrailCapture(parse_types=wanted)
    # The capture is the configured memory sink itself when there is one: one copy of the trail.
    in_memory = scenario.config.audit.sink == "memory"
    extra: list[AuditSink] = [] if in_memory else [capture]
    with ExitStack() as owned:  # released in reverse, also on an exception or a signal
        if audit_file is not None:
            owned.enter_context(AuditPathLock(audit_file))  # AuditPathInUse: another run has it
            for stale in (audit_file, audit_file.with_name(audit_file.name + ".seal")):
                stale.unlink(missing_ok=True)  # a new rehearsal, a new trail: never append
            extra.append(JsonlFileSink(audit_file, name=audit_file.name))
        # A scenario's own file sink (config.audit.path) lands in a private scratch directory;
        # most scenarios audit to memory and need none (making one costs more than a short run).
        scratch = None
        if not in_memory:
            scratch = owned.enter_context(TemporaryDirectory(prefix="peak-trade-"))
        if broker is None:
            broker = MockBroker(scenario.broker)
        intents = ScriptedIntents()
        session = build_session(
            scenario.config,
            broker,
            intents,
            base_dir=None if scratch is None else Path(scratch),
            extra_sinks=extra,
            environ_names=environ_names,  # None: the process environment, names and live values
            prices=intents,
            memory_sink=capture if in_memory else None,
        )
        errors, preflight = _play(session, intents, scenario.steps, broker)
        try:
            session.close()
        except SessionError as exc:  # a seal that failed (also in audit_failures below)
            errors.append(
                RaisedError(kind=ERROR_KINDS[type(exc).__name__], entry=-1, message=str(exc))
            )
    status = session.status()
    return RunResult(
        scenario=scenario,
        trail=capture,
        final_state=status.state.value,
        steps_run=status.step,
        errors=tuple(errors),
        orders=session.book.orders(),
        positions=dict(status.positions),
        preflight=tuple(preflight),
        summary=status.summary,
        head=status.audit_head,
        audit_failures=status.audit_failures,
        aliases=dict(session.book.aliases),
    )


def _play(
    session: LiveSessionOrchestrator,
    intents: ScriptedIntents,
    steps: tuple[StepSpec, ...],
    broker: MockBroker,
) -> tuple[list[RaisedError], list[CheckResult]]:
    errors: list[RaisedError] = []

    def attempt(entry: int, action, *args) -> object:
        try:
            return action(*args)
        except SessionError as exc:  # audited by the session; recorded here for expectations
            kind = ERROR_KINDS.get(type(exc).__name__, type(exc).__name__)
            errors.append(RaisedError(kind=kind, entry=entry, message=str(exc)))
            return None

    preflight = attempt(-1, session.preflight) or []
    if session.state is SessionState.PREFLIGHT_OK:
        attempt(-1, session.start)
    for spec in steps:  # bounded: the declared entries, each at most `run` <= max_steps steps
        if session.state not in STEPPING_STATES:
            break
        first_step = session.step_clock + 1
        if spec.intents:
            intents.add(first_step, *spec.intents)
        if spec.reference_prices:
            intents.add_prices(first_step, spec.reference_prices)
        if spec.end_of_day:  # the market's clock, not the session's: the broker is told
            broker.end_trading_day(first_step)
        if spec.run is None:
            attempt(spec.index, session.step)
        else:
            attempt(spec.index, session.run_n_steps, spec.run)
        if session.step_clock < first_step:
            intents.withdraw(first_step)  # the entry's steps were refused, and so are its orders
        if spec.kill is not None:
            kill = spec.kill
            attempt(
                spec.index,
                lambda k=kill: session.engage_kill_switch(k.reason, tag=k.tag, mode=k.mode),
            )
        if spec.rearm is not None:
            r = spec.rearm
            attempt(
                spec.index,
                lambda r=r: session.rearm_kill_switch(r.operator, r.note, tag=r.tag),
            )
        if spec.stop is not None:
            stop = session.cancel if spec.stop.mode == "cancel" else session.request_stop
            attempt(spec.index, stop, spec.stop.reason)
        if spec.acknowledge is not None:
            ack = spec.acknowledge
            attempt(spec.index, session.acknowledge, ack.operator, ack.note)
    return errors, list(preflight)  # type: ignore[arg-type]
