"""The session configuration the orchestrator receives.

`SessionConfig.from_mapping` keeps what it was given, even when it is wrong: judging the values is
preflight's job, so that every problem (a live flag, an empty allowlist, a typo'd key) fails
preflight with an audited reason instead of an exception nobody records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HARD_MAX_STEPS = 10_000_000  # no configuration may ask for a longer run than this
AUDIT_SINK_KINDS = ("memory", "file")
FSYNC_POLICIES = ("never", "per_record", "on_close")

_TOP_KEYS = frozenset(
    {
        "session_id",
        "live",
        "allowlist",
        "broker_kind",
        "audit",
        "max_steps",
        "drain_steps",
        "max_unhealthy_steps",
        "closed_order_retention",
        "rails",
        "reconciler",
        "secrets",
        "account",
        "retry",
    }
)
_LIVE_KEYS = frozenset({"enabled", "test_override"})
_AUDIT_KEYS = frozenset({"sink", "path", "fsync"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveSwitch:
    """The live flag. It stays off; only an explicit test override may set it, and even then the
    session runs against the mock broker only."""

    enabled: object = False
    test_override: object = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditSettings:
    sink: object = "memory"
    path: object = None
    fsync: object = "never"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionConfig:
    session_id: str = "session"
    live: LiveSwitch = field(default_factory=LiveSwitch)
    allowlist: object = None  # judged by preflight: present, non-empty, valid symbols
    broker_kind: object = "mock"
    audit: AuditSettings = field(default_factory=AuditSettings)
    max_steps: object = None  # the step bound; judged by preflight
    drain_steps: object = 5  # bounds are judged by preflight, like max_steps
    max_unhealthy_steps: object = 0
    closed_order_retention: object = 10_000
    rails: Mapping[str, Any] = field(default_factory=dict)
    reconciler: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    unknown_keys: tuple[str, ...] = ()
    # The session's account view (live/account.py): {pnl_method: fifo | average_cost}; judged by
    # preflight. Empty: FIFO, and the view exists only when the broker reports an account.
    account: object = field(default_factory=dict)
    # Bounded retries of broker requests (live/retry_config.py); judged by preflight. Empty:
    # the documented defaults.
    retry: object = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SessionConfig:
        unknown = sorted(k for k in data if k not in _TOP_KEYS)
        live = data.get("live") or {}
        audit = data.get("audit") or {}
        if isinstance(live, Mapping):
            unknown += [f"live.{k}" for k in sorted(live) if k not in _LIVE_KEYS]
            live_switch = LiveSwitch(
                enabled=live.get("enabled", False), test_override=live.get("test_override", False)
            )
        else:
            unknown.append("live (not a mapping)")
            live_switch = LiveSwitch(enabled=live)
        if isinstance(audit, Mapping):
            unknown += [f"audit.{k}" for k in sorted(audit) if k not in _AUDIT_KEYS]
            audit_settings = AuditSettings(
                sink=audit.get("sink", "memory"),
                path=audit.get("path"),
                fsync=audit.get("fsync", "never"),
            )
        else:
            unknown.append("audit (not a mapping)")
            audit_settings = AuditSettings(sink=audit)
        allowlist = data.get("allowlist")
        return cls(
            session_id=str(data.get("session_id", "session")),
            live=live_switch,
            allowlist=tuple(allowlist) if isinstance(allowlist, list | tuple) else allowlist,
            broker_kind=data.get("broker_kind", "mock"),
            audit=audit_settings,
            max_steps=data.get("max_steps"),
            drain_steps=data.get("drain_steps", 5),
            max_unhealthy_steps=data.get("max_unhealthy_steps", 0),
            closed_order_retention=data.get("closed_order_retention", 10_000),
            rails=dict(data.get("rails") or {}),
            reconciler=dict(data.get("reconciler") or {}),
            secrets=dict(data.get("secrets") or {}),
            unknown_keys=tuple(unknown),
            account=_account(data.get("account")),
            retry=_account(data.get("retry")),
        )

    def to_payload(self) -> dict[str, object]:
        """The config as audit payload. Secrets go in by name only; the redactor masks the rest."""
        payload: dict[str, object] = {
            "session_id": self.session_id,
            "live": {
                "enabled": _plain(self.live.enabled),
                "test_override": _plain(self.live.test_override),
            },
            "allowlist": _plain(self.allowlist),
            "broker_kind": _plain(self.broker_kind),
            "audit": {
                "sink": _plain(self.audit.sink),
                "path": _plain(self.audit.path),
                "fsync": _plain(self.audit.fsync),
            },
            "max_steps": _plain(self.max_steps),
            "drain_steps": _plain(self.drain_steps),
            "max_unhealthy_steps": _plain(self.max_unhealthy_steps),
            "closed_order_retention": _plain(self.closed_order_retention),
            "rails": _plain(dict(self.rails)),
            "reconciler": _plain(dict(self.reconciler)),
            "redaction_names": sorted(self.secrets),
            "unknown_keys": list(self.unknown_keys),
        }
        if self.account:  # only when given, so a session without one keeps its record's shape
            payload["account"] = _plain(self.account)
        if self.retry:  # likewise: the defaults apply unrecorded (docs/failure-matrix.md)
            payload["retry"] = _plain(self.retry)
        return payload


def _account(value: object) -> object:
    # Kept as given (a mapping copied): preflight judges it, so a wrong value is a failed check.
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


def _plain(value: object) -> object:
    """JSON-safe copy of user-given config data (floats become strings: the audit refuses them)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
