"""Composition root: build an orchestrator, its audit trail and redactor from a SessionConfig.

This is the imperative edge: it resolves the audit file path against a base directory and reads
the process environment for the preflight's live-env check: names, and the values of PEAK_TRADE_*
variables only to find one asking for live (PEAK_TRADE_MODE=live); values are never recorded.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from peak_trade.execution.broker.protocol import BrokerAdapter
from peak_trade.execution.live.audit import (
    AuditSink,
    AuditSinkError,
    AuditTrail,
    JsonlFileSink,
    MemorySink,
)
from peak_trade.execution.live.audit_trail.path import audit_path_problem, escape_problem
from peak_trade.execution.live.audit_trail.redaction import Redactor
from peak_trade.execution.live.checks import MIN_SECRET_LENGTH, live_valued_names
from peak_trade.execution.live.config import FSYNC_POLICIES, SessionConfig
from peak_trade.execution.live.intents import IntentSource, ReferencePriceSource
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator


class UnusableSink:
    """Stands in for a configured sink that cannot even be built; fails preflight when opened."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    def open(self) -> None:
        raise AuditSinkError(f"{self.name}: {self._reason}")

    def write(self, line: str) -> None:
        raise AuditSinkError(f"{self.name}: {self._reason}")

    def close(self) -> None:
        return None


def build_redactor(config: SessionConfig) -> Redactor:
    # Weak secrets fail preflight (secrets_redactable); those too short to redact at all cannot
    # even be registered.
    values = [
        v for v in config.secrets.values() if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH
    ]
    return _redactor(tuple(values))


@functools.lru_cache(maxsize=64)
def _redactor(values: tuple[str, ...]) -> Redactor:
    # Forms and patterns are computed once per set of secrets, not once per output written.
    return Redactor(values)


def build_configured_sink(
    config: SessionConfig, base_dir: Path | None, memory: AuditSink | None = None
) -> AuditSink:
    settings = config.audit
    if settings.sink == "memory":
        return MemorySink() if memory is None else memory
    if settings.sink != "file":
        return UnusableSink(str(settings.sink), "unknown audit sink kind")
    if not isinstance(settings.path, str) or not settings.path:
        return UnusableSink("file", "audit.path is required for the file sink")
    if settings.fsync not in FSYNC_POLICIES:
        return UnusableSink(settings.path, f"unknown fsync policy {settings.fsync!r}")
    path = Path(settings.path)
    if base_dir is not None:  # a scenario's sink: confined to the run's own directory
        problem = audit_path_problem(settings.path)
        if problem is None:
            path = base_dir / path
            problem = escape_problem(base_dir, path)
        if problem is not None:
            return UnusableSink(settings.path, problem)
    return JsonlFileSink(path, fsync=settings.fsync, name=settings.path)  # type: ignore[arg-type]


def judged_environment(
    environ: Mapping[str, str] | None, environ_names: Iterable[str] | None
) -> dict[str, str]:
    """The environment preflight judges: `environ` (os.environ if neither is given), plus each of
    `environ_names` with its value there or in os.environ ("" if it has none)."""
    if environ is None:
        environ = os.environ if environ_names is None else {}
    judged = {str(k): v if isinstance(v, str) else "" for k, v in environ.items()}
    for name in environ_names or ():  # bounded: the names given
        name = str(name)
        if name not in judged:
            judged[name] = os.environ.get(name, "")
    return judged


def build_session(
    config: SessionConfig,
    broker: BrokerAdapter,
    intents: IntentSource,
    *,
    base_dir: Path | None = None,
    extra_sinks: Sequence[AuditSink] = (),
    environ_names: Iterable[str] | None = None,
    prices: ReferencePriceSource | None = None,
    environ: Mapping[str, str] | None = None,
    memory_sink: AuditSink | None = None,
) -> LiveSessionOrchestrator:
    """An orchestrator whose audit goes to the configured sink plus `extra_sinks` (e.g. a memory
    capture for snapshots).

    The preflight judges the environment `environ` (names and values), as the CLI does: by default
    os.environ. `environ_names` (names only, as older callers pass them) is judged with the value
    each name has in `environ` or, failing that, in os.environ, so naming a variable never hides
    its value: `environ_names=["PEAK_TRADE_MODE"]` with PEAK_TRADE_MODE=live fails preflight.
    `environ_names=()` without `environ` is an empty environment (tests that must not see the
    developer's). `memory_sink` stands for the configured sink where the config says `memory`
    (the harness passes its own capture, so that a run's trail is not kept twice)."""
    sinks = [build_configured_sink(config, base_dir, memory_sink), *extra_sinks]
    trail = AuditTrail(sinks, build_redactor(config))
    judged = judged_environment(environ, environ_names)
    names = tuple(judged)
    live_values = live_valued_names(judged)
    return LiveSessionOrchestrator(
        config=config,
        broker=broker,
        intents=intents,
        audit=trail,
        environ_names=names,
        environ_live_values=live_values,
        prices=prices,
    )
