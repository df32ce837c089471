"""Composition root: build an orchestrator, its audit trail and redactor from a SessionConfig.

This is the imperative edge: it resolves the audit file path against a base directory and reads
the names (never the values) of the process environment for the preflight's live-env check.
"""

from __future__ import annotations

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
from peak_trade.execution.live.checks import MIN_SECRET_LENGTH, live_valued_names
from peak_trade.execution.live.config import FSYNC_POLICIES, SessionConfig
from peak_trade.execution.live.intents import IntentSource, ReferencePriceSource
from peak_trade.execution.live.orchestrator import LiveSessionOrchestrator
from peak_trade.execution.live.redaction import Redactor


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
    # Secrets too short to redact fail preflight (secrets_redactable); they cannot be registered.
    values = [
        v for v in config.secrets.values() if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH
    ]
    return Redactor(values)


def build_configured_sink(config: SessionConfig, base_dir: Path | None) -> AuditSink:
    settings = config.audit
    if settings.sink == "memory":
        return MemorySink()
    if settings.sink != "file":
        return UnusableSink(str(settings.sink), "unknown audit sink kind")
    if not isinstance(settings.path, str) or not settings.path:
        return UnusableSink("file", "audit.path is required for the file sink")
    if settings.fsync not in FSYNC_POLICIES:
        return UnusableSink(settings.path, f"unknown fsync policy {settings.fsync!r}")
    path = Path(settings.path)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return JsonlFileSink(path, fsync=settings.fsync, name=settings.path)  # type: ignore[arg-type]


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
) -> LiveSessionOrchestrator:
    """An orchestrator whose audit goes to the configured sink plus `extra_sinks` (e.g. a memory
    capture for snapshots). `environ_names` defaults to the names in os.environ; `environ`, to
    os.environ itself, whose PEAK_TRADE_* values are read for a live request (never recorded);
    given names without `environ`, no value is read."""
    sinks = [build_configured_sink(config, base_dir), *extra_sinks]
    trail = AuditTrail(sinks, build_redactor(config))
    if environ is None and environ_names is None:
        environ = os.environ
    names = tuple(environ if environ_names is None else environ_names)  # type: ignore[arg-type]
    live_values = live_valued_names(environ) if environ is not None else ()
    return LiveSessionOrchestrator(
        config=config,
        broker=broker,
        intents=intents,
        audit=trail,
        environ_names=names,
        environ_live_values=live_values,
        prices=prices,
    )
