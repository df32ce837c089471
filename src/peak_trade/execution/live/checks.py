"""Preflight and runtime checks: pure functions from a snapshot of facts to named verdicts.

Each check has a stable name (scenarios and operators refer to it) and returns a sentence that
says what was found and what to fix. A check that raises is a failed check, never a pass: the
session fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from peak_trade.execution.broker.order_lifecycle import Refusal
from peak_trade.execution.broker.protocol import BrokerHealth, BrokerKind
from peak_trade.execution.live.audit_trail.redaction import MIN_REDACTABLE_LENGTH
from peak_trade.execution.live.audit_trail.secret_strength import STRENGTH_RULE, secret_weakness
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.breach import Breach
from peak_trade.execution.live.config import (
    AUDIT_SINK_KINDS,
    FSYNC_POLICIES,
    HARD_MAX_STEPS,
    SessionConfig,
)
from peak_trade.execution.live.pnl import PNL_METHODS
from peak_trade.execution.live.rails.config import RailsConfig, RailsConfigError
from peak_trade.execution.live.reconcile.config import ReconcilerConfig, ReconcilerConfigError
from peak_trade.execution.live.retry.config import retry_problem

SYMBOL_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._/:-]{0,31}")
MIN_SECRET_LENGTH = (
    MIN_REDACTABLE_LENGTH  # the redactor's floor; strength: audit_trail/secret_strength.py
)
MAX_DRAIN_STEPS = 10_000
# Any of these in the environment is someone asking for a live session; peak_trade has none.
LIVE_ENV_PATTERN = re.compile(r"PEAK_TRADE_\w*(LIVE|ENABLE|REAL|PROD)\w*", re.IGNORECASE)
# A PEAK_TRADE_* variable whose value is one of these words asks for live, whatever its name.
LIVE_VALUE_PATTERN = re.compile(r"\s*(live|real|prod|production)\s*", re.IGNORECASE)

PREFLIGHT_CHECKS = (
    "config_keys_known",
    "live_disabled",
    "live_environment_clear",
    "allowlist_valid",
    "broker_is_mock",
    "audit_sink_writable",
    "step_bound_configured",
    "runtime_limits_valid",
    "rails_valid",
    "rails_bounded",
    "reconciler_valid",
    "secrets_redactable",
)

RUNTIME_INVARIANTS = (
    "broker_healthy",
    "broker_calls_succeed",
    "orders_within_allowlist",
    "execution_reports_sound",
    "position_matches_fills",
    "audit_sequence_increasing",
    "audit_sink_healthy",
    "drain_within_bound",
    "broker_is_mock",
    "book_matches_broker",
    "in_flight_orders_resolved",
    "account_not_negative",
    "broker_state_known",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def to_payload(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightFacts:
    """Everything preflight judges, gathered by the orchestrator before any check runs."""

    config: SessionConfig
    broker_kind: object
    audit_failures: tuple[tuple[str, str], ...]
    environ_names: tuple[str, ...]
    environ_live_values: tuple[str, ...] = ()  # names whose *value* asks for live (see below)
    broker_account: bool = False  # whether the broker reported an account before trading


def _guarded(name: str, check: Callable[[], tuple[bool, str]]) -> CheckResult:
    try:
        ok, detail = check()
    except Exception as exc:  # a check that raises is a failed check, never a pass
        return CheckResult(name=name, ok=False, detail=f"check raised {type(exc).__name__}: {exc}")
    return CheckResult(name=name, ok=ok, detail=detail)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_config_keys(config: SessionConfig) -> tuple[bool, str]:
    if config.unknown_keys:
        keys = ", ".join(config.unknown_keys)
        return False, (
            f"unknown config keys: {keys}; fix the spelling "
            "(an unknown key is never ignored: it could be a misspelt safety switch)"
        )
    return True, "every config key is known"


def check_live_disabled(config: SessionConfig) -> tuple[bool, str]:
    enabled, override = config.live.enabled, config.live.test_override
    if not isinstance(enabled, bool):
        return False, f"live.enabled must be the boolean false, found {type(enabled).__name__}"
    if not isinstance(override, bool):
        return False, f"live.test_override must be a boolean, found {type(override).__name__}"
    if not enabled:
        return True, "live trading is off"
    if override:
        return True, (
            "live.enabled is set under the explicit test override; the session still runs "
            "against the mock broker only"
        )
    return False, (
        "live.enabled is true without live.test_override: peak_trade never trades live; "
        "set live.enabled to false"
    )


def live_valued_names(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Names of PEAK_TRADE_* variables whose value asks for a live session (PEAK_TRADE_MODE=live).
    Only names leave this function: a value may be a secret, so it is never recorded."""
    return tuple(
        sorted(
            name
            for name, value in environ.items()  # bounded: the process environment
            if name.upper().startswith("PEAK_TRADE_") and LIVE_VALUE_PATTERN.fullmatch(value)
        )
    )


def check_live_environment(
    environ_names: Iterable[str], live_valued: Iterable[str] = ()
) -> tuple[bool, str]:
    asking = sorted({n for n in environ_names if LIVE_ENV_PATTERN.fullmatch(n)} | set(live_valued))
    if asking:
        return False, (
            f"environment variable(s) {', '.join(asking)} ask for a live session; "
            "peak_trade has no live mode: unset them"
        )
    return True, "no environment variable asks for a live session"


def check_allowlist(config: SessionConfig) -> tuple[bool, str]:
    allowlist = config.allowlist
    if allowlist is None:
        return False, "no allowlist configured: list the symbols the session may trade"
    if not isinstance(allowlist, tuple):
        return False, f"the allowlist must be a list of symbols, found {type(allowlist).__name__}"
    if not allowlist:
        return False, "the allowlist is empty: list the symbols the session may trade"
    bad = [s for s in allowlist if not (isinstance(s, str) and SYMBOL_PATTERN.fullmatch(s))]
    if bad:
        shown = ", ".join(repr(s) for s in bad)
        return False, (
            f"malformed symbols in the allowlist: {shown}; a symbol is 1-32 upper-case letters, "
            "digits or . _ / : -, starting with a letter or digit"
        )
    duplicates = sorted({s for s in allowlist if allowlist.count(s) > 1})
    if duplicates:
        return False, f"symbols listed twice in the allowlist: {', '.join(duplicates)}"
    return True, f"{len(allowlist)} symbol(s) allowed: {', '.join(allowlist)}"


def check_broker_is_mock(config: SessionConfig, broker_kind: object) -> tuple[bool, str]:
    if config.broker_kind != BrokerKind.MOCK.value:
        return False, (
            f"config broker_kind is {config.broker_kind!r}: only the mock broker exists; "
            "set broker_kind to 'mock'"
        )
    if broker_kind is not BrokerKind.MOCK:
        shown = getattr(broker_kind, "value", broker_kind)
        return False, f"the adapter handed to the session is of kind {shown!r}, not 'mock': refused"
    return True, "broker adapter is the mock"


def check_audit_sink(
    config: SessionConfig, failures: Iterable[tuple[str, str]]
) -> tuple[bool, str]:
    sink, fsync = config.audit.sink, config.audit.fsync
    if sink not in AUDIT_SINK_KINDS:
        return False, f"unknown audit sink {sink!r}; use one of {', '.join(AUDIT_SINK_KINDS)}"
    if fsync not in FSYNC_POLICIES:
        return False, f"unknown fsync policy {fsync!r}; use one of {', '.join(FSYNC_POLICIES)}"
    problems = [f"{name}: {reason}" for name, reason in failures]
    if problems:
        return False, "audit sink unusable: " + "; ".join(problems)
    return True, f"audit sink {sink} is open and writable"


def check_step_bound(config: SessionConfig) -> tuple[bool, str]:
    max_steps, drain = config.max_steps, config.drain_steps
    if max_steps is None:
        return False, "no step bound configured: set max_steps (every run must have a bound)"
    if not _is_int(max_steps) or not 1 <= max_steps <= HARD_MAX_STEPS:
        return (
            False,
            f"max_steps must be a whole number from 1 to {HARD_MAX_STEPS}, found {max_steps!r}",
        )
    if not _is_int(drain) or not 1 <= drain <= MAX_DRAIN_STEPS:
        return (
            False,
            f"drain_steps must be a whole number from 1 to {MAX_DRAIN_STEPS}, found {drain!r}",
        )
    return True, f"at most {max_steps} steps, then at most {drain} drain steps"


def account_problem(config: SessionConfig) -> str | None:
    """Why `config.account` cannot be used; None when it can (see live/account.py)."""
    account = config.account
    if not isinstance(account, Mapping):
        return f"account must be a mapping such as {{pnl_method: fifo}}, found {account!r}"
    unknown = sorted(str(k) for k in account if k != "pnl_method")
    if unknown:
        return f"unknown account key(s) {', '.join(unknown)}; the only key is pnl_method"
    method = account.get("pnl_method", "fifo")
    if method not in PNL_METHODS:
        return f"account.pnl_method must be one of {', '.join(PNL_METHODS)}, found {method!r}"
    return None


def check_runtime_limits(config: SessionConfig) -> tuple[bool, str]:
    problem = account_problem(config) or retry_problem(config.retry)
    if problem is not None:
        return False, problem
    unhealthy, retention = config.max_unhealthy_steps, config.closed_order_retention
    if not _is_int(unhealthy) or unhealthy < 0:
        return False, f"max_unhealthy_steps must be a whole number >= 0, found {unhealthy!r}"
    if not _is_int(retention) or retention < 1:
        return False, f"closed_order_retention must be a whole number >= 1, found {retention!r}"
    return True, f"broker may be unhealthy for {unhealthy} step(s); {retention} closed orders kept"


def check_rails(config: SessionConfig, has_account: bool = True) -> tuple[bool, str]:
    try:
        rails = RailsConfig.from_mapping(config.rails)
    except RailsConfigError as exc:
        return False, (
            f"rails config /rails{exc.pointer}: {exc.problem}; "
            "fix it (a rail that cannot be read is never treated as off)"
        )
    if rails.credit_limit and rails.credit_threshold is None and not has_account:
        return False, (
            "rails config /rails/credit_limit: the broker reports no account and no threshold "
            "is set, so no order's credit could be judged; give broker.account or "
            "credit_limit.threshold"
        )
    active = [
        k
        for k, v in rails.to_payload().items()
        if v is not None and v != [] and v is not False and (v != {} or k == "credit_limit")
    ]
    return True, f"rails on: {', '.join(active)}"


def check_rails_bounded(config: SessionConfig) -> tuple[bool, str]:
    """No limits, no trading (FIA 1.1): an order size limit in both quantity and value, or the
    explicit, audited declaration `rails: {unbounded: true}`."""
    try:
        rails = RailsConfig.from_mapping(config.rails)
    except RailsConfigError:
        return False, "the rails config cannot be read (see rails_valid): no limits, no trading"
    qty, notional = rails.max_order_qty, rails.max_order_notional
    if qty is not None and notional is not None:
        return True, f"orders are bounded: max_order_qty {qty}, max_order_notional {notional}"
    if rails.unbounded:
        missing = " and ".join(
            n for n, v in (("max_order_qty", qty), ("max_order_notional", notional)) if v is None
        )
        return True, (
            f"rails: {{unbounded: true}} declared: the session trades without {missing} "
            "(recorded here as the explicit decision)"
        )
    missing = [
        n for n, v in (("max_order_qty", qty), ("max_order_notional", notional)) if v is None
    ]
    return False, (
        f"no limits, no trading: config.rails has no {' and no '.join(missing)}; set both, or "
        "declare rails: {unbounded: true} to trade without them on purpose"
    )


def check_reconciler(config: SessionConfig) -> tuple[bool, str]:
    try:
        settings = ReconcilerConfig.from_mapping(config.reconciler, pointer="/reconciler")
    except ReconcilerConfigError as exc:
        return False, f"reconciler config: {exc}"
    return True, (
        f"reconcile every {settings.every_steps} step(s), grace {settings.grace_steps} step(s); "
        f"ack timeout {settings.ack_timeout_steps}, cancel timeout {settings.cancel_timeout_steps}"
    )


def check_secrets(config: SessionConfig) -> tuple[bool, str]:
    # Names only: a weak secret is still a secret, and the reason never describes its value.
    weak = sorted(str(name) for name, value in config.secrets.items() if secret_weakness(value))
    if weak:
        return False, (
            f"secret(s) {', '.join(weak)} are too weak to be redacted reliably ({STRENGTH_RULE})"
        )
    return True, f"{len(config.secrets)} secret(s) registered for redaction"


def run_preflight(facts: PreflightFacts) -> list[CheckResult]:
    """Every preflight check, in the order of PREFLIGHT_CHECKS."""
    config = facts.config
    checks: dict[str, Callable[[], tuple[bool, str]]] = {
        "config_keys_known": lambda: check_config_keys(config),
        "live_disabled": lambda: check_live_disabled(config),
        "live_environment_clear": lambda: check_live_environment(
            facts.environ_names, facts.environ_live_values
        ),
        "allowlist_valid": lambda: check_allowlist(config),
        "broker_is_mock": lambda: check_broker_is_mock(config, facts.broker_kind),
        "audit_sink_writable": lambda: check_audit_sink(config, facts.audit_failures),
        "step_bound_configured": lambda: check_step_bound(config),
        "runtime_limits_valid": lambda: check_runtime_limits(config),
        "rails_valid": lambda: check_rails(config, facts.broker_account),
        "rails_bounded": lambda: check_rails_bounded(config),
        "reconciler_valid": lambda: check_reconciler(config),
        "secrets_redactable": lambda: check_secrets(config),
    }
    return [_guarded(name, checks[name]) for name in PREFLIGHT_CHECKS]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFacts:
    """What one step observed, for the runtime invariants."""

    health: BrokerHealth | None  # None when asking for it raised (see call_failures)
    unhealthy_streak: int
    max_unhealthy_steps: int
    allowlist: frozenset[str]
    report_violations: tuple[str, ...]
    call_failures: tuple[str, ...]
    audit_failures: tuple[str, ...]
    audit_sequence_problem: str | None
    broker_kind: object
    account_problem: str | None = None  # live/account.py: negative cash or buying power
    report_refusals: tuple[Refusal, ...] = ()  # each also has its sentence in report_violations


def _broker_healthy(facts: StepFacts, book: SessionBook) -> tuple[bool, str]:
    if facts.health is None or facts.health.ok:
        return True, ""
    streak, allowed = facts.unhealthy_streak, facts.max_unhealthy_steps
    return streak <= allowed, (
        f"broker unhealthy for {streak} consecutive step(s), allowed {allowed}: "
        f"{facts.health.detail}"
    )


def _orders_within_allowlist(facts: StepFacts, book: SessionBook) -> tuple[bool, str]:
    outside = sorted(
        f"{o.client_order_id} ({o.symbol})"
        for o in book.open_orders.values()
        if o.symbol not in facts.allowlist
    )
    return not outside, f"orders outside the allowlist: {', '.join(outside)}"


def _position_matches_fills(facts: StepFacts, book: SessionBook) -> tuple[bool, str]:
    breaks = book.position_breaks()
    return not breaks, "; ".join(breaks)


def _none_listed(items: tuple[str, ...]) -> tuple[bool, str]:
    return not items, "; ".join(items)


# (invariant, check) in reporting order. Module-level functions, not closures: this runs every
# step of a session, so building nothing per call matters.
RUNTIME_CHECKS: tuple[tuple[str, Callable[[StepFacts, SessionBook], tuple[bool, str]]], ...] = (
    ("broker_healthy", _broker_healthy),
    ("broker_calls_succeed", lambda f, b: _none_listed(f.call_failures)),
    ("orders_within_allowlist", _orders_within_allowlist),
    ("execution_reports_sound", lambda f, b: _none_listed(f.report_violations)),
    ("position_matches_fills", _position_matches_fills),
    (
        "audit_sequence_increasing",
        lambda f, b: (f.audit_sequence_problem is None, f.audit_sequence_problem or ""),
    ),
    ("audit_sink_healthy", lambda f, b: _none_listed(f.audit_failures)),
    (
        "broker_is_mock",
        lambda f, b: (f.broker_kind is BrokerKind.MOCK, "the broker adapter is no longer the mock"),
    ),
    (
        "account_not_negative",
        lambda f, b: (f.account_problem is None, f.account_problem or ""),
    ),
)


_MOCK = BrokerKind.MOCK  # a global read; `BrokerKind.MOCK` goes through the Enum metaclass hook


def _all_hold(facts: StepFacts, book: SessionBook) -> bool:
    """True only when every check of RUNTIME_CHECKS would pass: each test below is that check's
    own condition for ok, read directly instead of through the table (most steps break nothing,
    and then no verdict, sentence or Breach needs building). A check that would fail, or whose
    condition is not met here, such as an unhealthy broker still within its allowed streak,
    leaves the verdict to the full pass; so does any exception."""
    health = facts.health
    if not (health is None or health.ok):
        return False
    if facts.call_failures or facts.report_violations or facts.audit_failures:
        return False
    if facts.audit_sequence_problem is not None or facts.broker_kind is not _MOCK:
        return False
    if facts.account_problem is not None:
        return False
    allowlist = facts.allowlist
    for order in book.open_orders.values():  # bounded by the open orders
        if order.symbol not in allowlist:
            return False
    return not book.position_breaks()


# The invariants _all_hold reads the pass condition of. A check added to RUNTIME_CHECKS without a
# condition above would be skipped on every quiet step, so the module refuses to load instead.
_ALL_HOLD_COVERS = (
    "broker_healthy",
    "broker_calls_succeed",
    "orders_within_allowlist",
    "execution_reports_sound",
    "position_matches_fills",
    "audit_sequence_increasing",
    "audit_sink_healthy",
    "broker_is_mock",
    "account_not_negative",
)
if tuple(name for name, _ in RUNTIME_CHECKS) != _ALL_HOLD_COVERS:
    raise TypeError("RUNTIME_CHECKS changed: give _all_hold the new check's pass condition")


def run_runtime_checks(facts: StepFacts, book: SessionBook) -> list[Breach]:
    """The invariants broken after a step, each named with the values involved."""
    try:
        if _all_hold(facts, book):
            return []
    except Exception:  # the full pass below turns whatever raised into a breach
        pass
    breaches = []
    for name, check in RUNTIME_CHECKS:
        try:
            ok, detail = check(facts, book)
        except Exception as exc:  # a check that raises is a breach, never a pass
            ok, detail = False, f"check raised {type(exc).__name__}: {exc}"
        if not ok:
            refusals = facts.report_refusals if name == "execution_reports_sound" else ()
            breaches.append(Breach(invariant=name, detail=detail, refusals=refusals))
    return breaches
