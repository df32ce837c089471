"""LiveSessionOrchestrator: the thin shell that carries out a session's effects.

The decisions live elsewhere and are pure: which state follows (`state.transition`), whether a
check passes (`checks`), what a report does to an order (`book.apply_report`). This class asks
them, talks to the broker (only through its BrokerGateway, which is shut for good once the
adapter is not the mock), and writes one audit record per event, in a fixed order, stamped with
the logical step clock. It never reads the wall clock and never invents an order.

Every loop here has a named bound: intents per step (the source's finite sequence), reports per
poll (the broker's finite batch), open orders (the book), and steps (`max_steps`, `drain_steps`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NoReturn

from peak_trade.execution.broker.account import AccountStatement, FeeSchedule
from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    ReplaceOrder,
    StatusRequest,
)
from peak_trade.execution.broker.order_lifecycle import Refusal
from peak_trade.execution.broker.protocol import BrokerAdapter, BrokerHealth, BrokerKind
from peak_trade.execution.live.account import SessionAccount
from peak_trade.execution.live.audit import AuditSinkError, AuditTrail
from peak_trade.execution.live.audit_trail.text import is_unicode_text
from peak_trade.execution.live.book import OrderState, Outcome, SessionBook
from peak_trade.execution.live.broker_gateway import BrokerGateway, BrokerSevered
from peak_trade.execution.live.checks import (
    Breach,
    CheckResult,
    PreflightFacts,
    StepFacts,
    live_valued_names,
    run_preflight,
    run_runtime_checks,
)
from peak_trade.execution.live.config import HARD_MAX_STEPS, SessionConfig
from peak_trade.execution.live.drain import DrainFacts, DrainVerdict, decide_drain
from peak_trade.execution.live.errors import (
    AuditSealFailed,
    IllegalOperation,
    LiveBrokerRefused,
    SessionClosed,
    SessionNotRunning,
    StepBoundExceeded,
)
from peak_trade.execution.live.intents import (
    CancelIntent,
    IntentSource,
    ReferencePriceSource,
    ReplaceIntent,
    ResendIntent,
    StatusIntent,
    SubmitIntent,
)
from peak_trade.execution.live.pnl import PnlMethod
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.pretrade import PreTradeGate
from peak_trade.execution.live.rails.rules import RailRejection
from peak_trade.execution.live.reconcile.compare import DifferenceKind, ReconcileState
from peak_trade.execution.live.reconcile.config import ReconcilerConfig
from peak_trade.execution.live.reconcile.one_pass import needs_snapshot, reconciliation_pass
from peak_trade.execution.live.retry.config import RetryConfig
from peak_trade.execution.live.retry.desk import RetryDesk
from peak_trade.execution.live.retry_shell import RetryShell, retry_handles
from peak_trade.execution.live.slot_build import slot_builder
from peak_trade.execution.live.state import (
    STEPPING_STATES,
    IllegalTransition,
    SessionState,
    Trigger,
    transition,
)
from peak_trade.execution.live.tags import NO_TAGS, TAG_KEYS, tag_problem

S = SessionState


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStatus:
    """A snapshot of the session for operators and tests."""

    state: SessionState
    step: int
    orders_submitted: int
    fills: int
    open_orders: tuple[OrderState, ...]
    positions: Mapping[str, Decimal]
    failed_checks: tuple[str, ...]
    breaches: tuple[Breach, ...]
    audit_records: int
    audit_head: str
    summary: Mapping[str, object] | None = field(default=None)
    audit_failures: tuple[str, ...] = ()  # each sink failure of the session, as recorded


class LiveSessionOrchestrator(RetryShell):
    def __init__(
        self,
        *,
        config: SessionConfig,
        broker: BrokerAdapter,
        intents: IntentSource,
        audit: AuditTrail,
        environ_names: Iterable[str] | None = None,
        environ_live_values: Iterable[str] | None = None,
        prices: ReferencePriceSource | None = None,
    ) -> None:
        self._config = config
        self._gateway = BrokerGateway(broker)  # the only way to the adapter (broker_gateway.py)
        self._intents = intents
        self._audit = audit
        if environ_names is None and environ_live_values is None:
            # Built directly, with no environment given: preflight judges the process's own
            # (names, and the PEAK_TRADE_* values asking for live), as build_session does.
            environ_names, environ_live_values = tuple(os.environ), live_valued_names(os.environ)
        self._environ_names = tuple(sorted(environ_names or ()))
        self._environ_live_values = tuple(sorted(environ_live_values or ()))
        self._state = S.INIT
        self._step = 0
        retention = config.closed_order_retention
        self._book = SessionBook(closed_retention=retention if isinstance(retention, int) else 1)
        self._allowlist: frozenset[str] = frozenset()
        self._gate = PreTradeGate(RailsConfig(), frozenset())  # replaced once preflight passes
        self._reconciler = ReconcilerConfig()
        self._reconcile_state = ReconcileState()
        self._account: SessionAccount | None = None  # the session's own account view
        self._pnl_peak = Decimal(0)  # the highest total P&L so far, for max_drawdown
        # The net realised P&L an operator's re-arm accepted: the loss limit engages again only
        # on a further loss (else a re-arm after a loss could never trade again).
        self._accepted_loss: Decimal | None = None
        self._prices = prices
        self._max_steps = 0  # no steps until preflight has accepted the configured bound
        self._drain_steps = 1
        self._max_unhealthy = 0
        self._failed_checks: tuple[str, ...] = ()
        self._breaches: tuple[Breach, ...] = ()
        self._unhealthy_streak = 0
        self._drain_started = 0
        self._cancel_sent_steps: dict[str, int] = {}  # open orders with a cancel in flight
        self._replace_sent: set[str] = set()  # open orders with an amend in flight
        # FIX chaining: the book's id of an order -> the ClOrdID the broker knows it by now (the
        # id of its last accepted chained replace); only orders replaced with a new id.
        self._wire_ids: dict[str, str] = {}
        # Bounded retries of requests that fail transiently (retry_shell.py); replaced by the
        # configured policy once preflight passes.
        self._retry = RetryDesk()
        self._retry_escalations: list[str] = []  # fates unknown this step: broker_state_known
        self._fate_cancels: list[str] = []  # given-up orders found working, to cancel
        self._drain_cancels: set[str] = set()  # broker-only orders the drain asked to cancel
        self._compared_step = -1  # the last step whose reconciliation compared the books
        self._summary: dict[str, object] | None = None
        self._audit_open_failures: tuple[tuple[str, str], ...] | None = None
        self._closed = False
        self._gate_ready = False
        # Problems seen during the current step, judged by the runtime checks at its end.
        self._report_violations: list[str] = []
        self._report_refusals: list[Refusal] = []
        self._call_failures: list[str] = []
        self._audit_failures: list[str] = []
        self._sequence_problem: str | None = None
        # Every distinct sink failure of the session, bounded by the number of sinks (a failed
        # sink is dropped) plus one ("no sink is left").
        self._audit_failure_log: list[str] = []

    # ----------------------------------------------------------------------------- public API

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def step_clock(self) -> int:
        return self._step

    @property
    def book(self) -> SessionBook:
        return self._book

    def preflight(self) -> list[CheckResult]:
        """Run every startup check; all pass -> PREFLIGHT_OK, any fails -> PREFLIGHT_FAILED."""
        self._require(Trigger.PREFLIGHT_PASSED)
        failures = self._open_audit()
        config = self._config
        self._record(
            "session_opened",
            {"session_id": config.session_id, "config": config.to_payload()},
        )
        written = tuple(("write", message) for message in self._audit_failures)
        statement = self._account_statement()
        results = run_preflight(
            PreflightFacts(
                config=config,
                broker_kind=self._broker_kind(),
                audit_failures=failures + written,
                environ_names=self._environ_names,
                environ_live_values=self._environ_live_values,
                broker_account=statement is not None,
            )
        )
        for result in results:
            self._record("preflight_check", result.to_payload())
        if len(self._audit_failures) > len(written):
            # A sink died while the checks themselves were recorded: judged here, not at a step.
            late = CheckResult(
                name="audit_sink_writable",
                ok=False,
                detail="audit sink failed while preflight was recorded: "
                + "; ".join(self._audit_failures[len(written) :]),
            )
            results.append(late)
            self._record("preflight_check", late.to_payload())
        self._audit_failures.clear()  # judged by preflight
        failed = tuple(dict.fromkeys(r.name for r in results if not r.ok))
        if failed:
            self._failed_checks = failed
            self._fire(Trigger.PREFLIGHT_FAILED, failed_checks=list(failed))
            self._write_summary()
            return results
        if config.live.enabled:
            self._record(
                "live_override_used",
                {"detail": "live.enabled set under the explicit test override; mock broker only"},
            )
        # Preflight has judged these values; from here on they are known to be well-formed.
        self._allowlist = frozenset(config.allowlist)  # type: ignore[arg-type]
        self._gate = PreTradeGate(RailsConfig.from_mapping(config.rails), self._allowlist)
        self._reconciler = ReconcilerConfig.from_mapping(config.reconciler, pointer="/reconciler")
        self._retry = RetryDesk.for_policy(RetryConfig.from_mapping(config.retry))
        self._open_account(statement)
        self._gate_ready = True
        self._max_steps = int(config.max_steps)  # type: ignore[call-overload]
        self._drain_steps = int(config.drain_steps)  # type: ignore[call-overload]
        self._max_unhealthy = int(config.max_unhealthy_steps)  # type: ignore[call-overload]
        self._fire(Trigger.PREFLIGHT_PASSED)
        return results

    def start(self) -> None:
        self._fire(Trigger.START)

    def step(self) -> None:
        """Advance the logical clock by one step and do that step's work."""
        self._check_open()
        state = self._state
        if state not in STEPPING_STATES:
            detail = f"step() is refused in state {state.value}: the session is not running"
            self._record("illegal_operation", {"operation": "step", "detail": detail})
            raise SessionNotRunning(detail)
        self._step += 1
        step = self._step
        self._observe_prices(step)
        if self._retry.pending:
            self._run_due_retries(step)
            state = self._state
        if state is S.DRYRUN_ACTIVE:
            self._act_on_intents(step)
        else:
            self._ignore_intents(step)
        self._apply_reports(step)
        self._check_loss_limits()
        health = self._poll_health(step)
        if state is S.ERROR_REQUIRES_OPERATOR:
            if self._retry.fates:
                self._fate_timeouts(step)  # recorded; the error already waits for its operator
            self._retry_escalations.clear()
            self._reset_step_problems()  # the book stays current; the error waits for its operator
            return
        breaches = run_runtime_checks(
            _step_facts(  # positionally, in StepFacts' field order (see slot_build)
                health,
                self._unhealthy_streak,
                self._max_unhealthy,
                self._allowlist,
                tuple(self._report_violations),
                tuple(self._call_failures),
                tuple(self._audit_failures),
                self._sequence_problem,  # audit_sequence_problem
                self._broker_kind(),
                None  # account_problem
                if self._account is None
                else self._account.problem(self._book.positions, self._gate.reference_prices()),
                tuple(self._report_refusals),
            ),
            self._book,
        )
        if self._retry or self._retry_escalations:
            breaches.extend(self._retry_breaches(step))
        breaches.extend(self._reconcile(step))
        self._reset_step_problems()
        if state is S.STOPPING and not breaches:
            decision = decide_drain(self._drain_facts(step))
            if decision.verdict is DrainVerdict.DRAINED:
                self._fire(Trigger.DRAINED)
                self._write_summary()
                return
            if decision.verdict is DrainVerdict.ESCALATE:
                breaches.append(Breach(invariant="drain_within_bound", detail=decision.detail))
            else:
                self._cancel_broker_only_orders()
        if breaches:
            self._breach(breaches)
        elif state is S.DRYRUN_ACTIVE and step >= self._max_steps:
            self._begin_stop(Trigger.STOP_REQUESTED, reason=f"step bound {self._max_steps} reached")

    def run_n_steps(self, n: int) -> int:
        """Run up to `n` steps (fewer if the session ends); refuses n above the step bound."""
        self._check_open()
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            self._refuse(
                "run_n_steps", f"run_n_steps needs a whole number of steps >= 0, got {n!r}"
            )
        if self._state not in STEPPING_STATES:
            detail = (
                f"run_n_steps() is refused in state {self._state.value}: the session is not running"
            )
            self._record("illegal_operation", {"operation": "run_n_steps", "detail": detail})
            raise SessionNotRunning(detail)
        bound = self._max_steps if self._max_steps else _configured_bound(self._config)
        if n > bound:
            detail = f"run_n_steps({n}) exceeds the step bound max_steps={bound}"
            self._record(
                "step_bound_refused", {"requested": n, "max_steps": bound, "detail": detail}
            )
            raise StepBoundExceeded(detail)
        ran = 0
        for _ in range(n):  # bounded by n <= max_steps
            if self._state not in STEPPING_STATES:
                break
            self.step()
            ran += 1
        return ran

    def request_stop(self, reason: str) -> None:
        """Graceful stop: no new orders, cancel open ones, drain, then STOPPED."""
        self._begin_stop(Trigger.STOP_REQUESTED, reason=_as_text(reason))

    def cancel(self, reason: str = "safe stop") -> None:
        """Safe stop from any state: accepted everywhere (see state.py)."""
        self._begin_stop(Trigger.CANCEL, reason=_as_text(reason))

    def acknowledge(self, operator: str, note: str) -> None:
        """An operator takes responsibility for an error; the session then stops."""
        if not isinstance(operator, str) or not operator.strip():
            self._refuse("acknowledge", "acknowledge needs the operator's name")
        self._require(Trigger.ACKNOWLEDGE)  # refused (and audited) before anything changes
        if self._account is not None:  # a deficit acknowledged is the operator's
            accepted = self._account.accept_deficit(
                self._book.positions, self._gate.reference_prices()
            )
            if accepted is not None:
                self._record("account_deficit_accepted", {"operator": operator, **accepted})
        self._begin_stop(Trigger.ACKNOWLEDGE, operator=operator, note=_as_text(note))

    def engage_kill_switch(
        self, reason: str, *, tag: tuple[str, str] | None = None, mode: str = "block"
    ) -> None:
        """Operator kill switch: cancel every open order (of the tag, when `tag` = (key, value)
        names one) and refuse every new one until rearmed. `mode` reduce_only still lets orders
        through that only reduce an open position."""
        self._require_gate("engage_kill_switch")
        reason = _as_text(reason)
        problem = _kill_problem(tag, mode)
        if problem is not None:
            self._refuse("engage_kill_switch", problem)
        state = self._gate.kill_switch
        if tag is None:
            already = state.engaged
        else:
            already = any((s.tag, s.value) == tag for s in state.scopes)
        self._gate.engage(self._step, reason, mode, tag)
        self._kill_switch_engaged(
            reason, source="operator", already_engaged=already, mode=mode, scope=tag
        )

    def rearm_kill_switch(
        self, operator: str, note: str, *, tag: tuple[str, str] | None = None
    ) -> None:
        """An operator re-enables trading after the kill switch (for all, or for one tag);
        audited with who and why."""
        self._require_gate("rearm_kill_switch")
        state = self._gate.kill_switch
        engaged = (
            state.any_engaged if tag is None else any((s.tag, s.value) == tag for s in state.scopes)
        )
        if not engaged:
            what = "" if tag is None else f" for {tag[0]} {tag[1]}"
            detail = f"rearm_kill_switch refused: the kill switch is not engaged{what}"
            self._record("illegal_operation", {"operation": "rearm_kill_switch", "detail": detail})
            raise IllegalOperation(detail)
        if not isinstance(operator, str) or not operator.strip():
            self._refuse("rearm_kill_switch", "rearm_kill_switch needs the operator's name")
        self._gate.rearm(self._step, tag)
        if tag is None and self._account is not None:
            self._accept_losses()
        payload: dict[str, object] = {"operator": operator, "note": _as_text(note)}
        if tag is not None:
            payload["scope"] = {"tag": tag[0], "value": tag[1]}
        self._record("kill_switch_rearmed", payload)

    def close(self) -> None:
        """Close the audit trail (file sinks write their seal). Idempotent.

        A sink that cannot be closed and sealed raises AuditSealFailed (a SessionError): every
        record is already written and the file verifies as a prefix, but without its seal a cut
        at a record boundary would go unnoticed, so the caller must know."""
        if self._closed:
            return
        self._record("session_closed", {"final_state": self._state.value})
        self._closed = True
        try:
            self._audit.close()
        except AuditSinkError as exc:
            self._audit_failure_log.append(str(exc))
            raise AuditSealFailed(
                f"{exc} The records before it are intact; `peak-trade audit verify` checks the "
                "file, which stays unsealed."
            ) from None

    def status(self) -> SessionStatus:
        return SessionStatus(
            state=self._state,
            step=self._step,
            orders_submitted=self._book.orders_submitted,
            fills=self._book.fills,
            open_orders=tuple(self._book.open_orders.values()),
            positions=dict(self._book.positions),
            failed_checks=self._failed_checks,
            breaches=self._breaches,
            audit_records=self._audit.seq,
            audit_head=self._audit.head,
            summary=self._summary,
            audit_failures=tuple(self._audit_failure_log),
        )

    # ----------------------------------------------------------------------------- transitions

    def _require(self, trigger: Trigger) -> None:
        """Audit and raise if `trigger` is illegal now, before any side effect happens."""
        self._check_open()
        try:
            transition(self._state, trigger)
        except IllegalTransition as exc:
            self._record(
                "illegal_transition",
                {"state": self._state.value, "trigger": trigger.value, "detail": str(exc)},
            )
            raise

    def _fire(self, trigger: Trigger, **details: object) -> SessionState:
        self._require(trigger)
        previous, self._state = self._state, transition(self._state, trigger)
        self._record(
            "transition",
            {"from": previous.value, "to": self._state.value, "trigger": trigger.value, **details},
        )
        return self._state

    def _begin_stop(self, trigger: Trigger, **details: object) -> None:
        previous = self._state
        state = self._fire(trigger, **details)
        if state is S.STOPPED:
            if self._summary is None:
                self._write_summary()
            return
        if state not in (S.STOPPING, S.ERROR_REQUIRES_OPERATOR):
            return  # a self-loop in a terminal state: recorded, nothing to do
        if state is S.STOPPING and previous is not S.STOPPING:
            self._drain_started = self._step  # the drain bound counts from entering STOPPING
        if trigger is Trigger.ACKNOWLEDGE:
            # the operator takes over: every unconfirmed cancel is sent again
            self._cancel_sent_steps.clear()
        reason = f"session {trigger.value}"
        for client_order_id in list(self._book.open_orders):  # bounded by the open orders
            if client_order_id not in self._cancel_sent_steps:
                self._cancel_order(client_order_id, reason)
        if state is S.STOPPING:
            self._drain_cancels.clear()  # a new drain (or the operator's) asks again
            if self._compared_step != self._step and self._step:
                # No comparison at this step (the error's steps make none): compare now, so that
                # "nothing pending" is current; an escalation breaches at the next drain step.
                self._reconcile(self._step, force=True)
            if decide_drain(self._drain_facts(self._step)).verdict is DrainVerdict.DRAINED:
                self._fire(Trigger.DRAINED)
                self._write_summary()
            else:
                self._cancel_broker_only_orders()

    def _drain_facts(self, step: int) -> DrainFacts:
        """The session's facts the drain decision reads (drain.py decides)."""
        first_seen = self._reconcile_state.first_seen
        retry = self._retry
        in_flight: tuple[str, ...] = ()
        if retry:
            in_flight = tuple(f"{request} {cid}" for request, cid in retry.pending) + tuple(
                f"{q.given_up.value} {q.client_order_id} (fate query)" for q in retry.fates.values()
            )
        return DrainFacts(
            open_orders=tuple(self._book.open_orders),
            pending_differences=tuple(f"{kind.value} {key}" for kind, key in first_seen)
            if first_seen
            else (),
            requests_in_flight=in_flight,
            steps_drained=step - self._drain_started,
            drain_steps=self._drain_steps,
        )

    def _cancel_broker_only_orders(self) -> None:
        """Cancel what the broker works that the session does not hold open (the reconciler saw
        it in the snapshot: a bust reopened it, or a report never arrived). Once per drain."""
        first_seen = self._reconcile_state.first_seen
        if not first_seen or self._gateway.severed is not None:
            return
        for kind, key in list(first_seen):  # bounded by the pending differences
            if kind is not DifferenceKind.ORDER_UNKNOWN_TO_SESSION or key in self._drain_cancels:
                continue
            self._drain_cancels.add(key)
            self._guard_mock("cancel", key)
            self._gate.message(self._step)
            self._record(
                "cancel_requested",
                {"client_order_id": key, "reason": "working at the broker, not open in the book"},
            )
            try:
                self._gateway.cancel(CancelOrder(client_order_id=key), self._step)
            except BrokerSevered as exc:
                self._severed(exc)
            except Exception as exc:
                self._call_failures.append(f"cancel {key} raised {type(exc).__name__}: {exc}")

    def _kill_switch_engaged(
        self,
        reason: str,
        *,
        source: str,
        already_engaged: bool,
        mode: str = "block",
        scope: tuple[str, str] | None = None,
        breach: RailRejection | None = None,
    ) -> None:
        """Record an engaged kill switch and cancel every open order it covers (all, or those of
        its tag). `breach` names the rail, limit and observed value of an automatic engagement."""
        payload: dict[str, object] = {
            "reason": reason,
            "source": source,
            "already_engaged": already_engaged,
        }
        if mode != "block":
            payload["mode"] = mode
        if scope is not None:
            payload["scope"] = {"tag": scope[0], "value": scope[1]}
        if breach is not None:
            payload.update(_refusal_fields(breach))
        self._record("kill_switch_engaged", payload)
        tags = self._gate.tags
        for client_order_id in list(self._book.open_orders):  # bounded by the open orders
            if client_order_id in self._cancel_sent_steps:
                continue
            if scope is not None and tags.get(client_order_id, NO_TAGS).value(scope[0]) != scope[1]:
                continue
            self._cancel_order(client_order_id, "kill switch")

    def _engage_automatically(self, rejection: RailRejection, source: str) -> None:
        """A control whose breach engages the kill switch for all (loss limits, throttle)."""
        if self._gate.kill_switch.engaged:
            return  # already engaged: the first cause stands, nothing more to cancel
        mode = self._gate.config.kill_switch_mode
        self._gate.engage(self._step, rejection.detail, mode)
        self._kill_switch_engaged(
            f"automatic: {rejection.detail}",
            source=source,
            already_engaged=False,
            mode=mode,
            breach=rejection,
        )

    def _accept_losses(self) -> None:
        """A re-arm for all accepts the losses so far: the realised-loss limit engages again only
        below the net realised P&L of now, and the drawdown is measured from now."""
        assert self._account is not None
        realised, unrealised, fees = self._account.pnl(self._gate.reference_prices())
        self._accepted_loss = realised - fees
        self._pnl_peak = realised - fees + unrealised

    def _check_loss_limits(self) -> None:
        """Max realised loss and max drawdown (RTS 6 Art. 17(2), FIA 4.2): a breach engages the
        kill switch. Realised is net of fees; drawdown is the fall of total P&L (realised +
        unrealised - fees) from its highest value in this session (0 at the start). After a
        re-arm, see `_accept_losses`."""
        account = self._account
        config = self._gate.config
        if account is None or (config.max_realised_loss is None and config.max_drawdown is None):
            return
        realised, unrealised, fees = account.pnl(self._gate.reference_prices())
        net_realised = realised - fees
        total = net_realised + unrealised
        self._pnl_peak = max(self._pnl_peak, total)
        limit = config.max_realised_loss
        accepted = self._accepted_loss
        if (
            limit is not None
            and -net_realised > limit
            and (accepted is None or net_realised < accepted)
        ):
            self._engage_automatically(
                RailRejection(
                    rail="max_realised_loss",
                    limit=str(limit),
                    observed=str(-net_realised),
                    detail=f"realised loss {-net_realised} (realised {realised}, fees {fees}) "
                    f"exceeds max_realised_loss {limit}",
                ),
                "loss_limit",
            )
        limit = config.max_drawdown
        drawdown = self._pnl_peak - total
        if limit is not None and drawdown > limit:
            self._engage_automatically(
                RailRejection(
                    rail="max_drawdown",
                    limit=str(limit),
                    observed=str(drawdown),
                    detail=f"drawdown {drawdown} (peak total P&L {self._pnl_peak}, now {total}: "
                    f"realised {realised}, unrealised {unrealised}, fees {fees}) exceeds "
                    f"max_drawdown {limit}",
                ),
                "loss_limit",
            )

    def _refuse(self, operation: str, detail: str) -> NoReturn:
        """Audit an operation the session will not carry out, then raise it to the caller."""
        self._check_open()  # a closed session records nothing more: SessionClosed instead
        self._record("illegal_operation", {"operation": operation, "detail": detail})
        raise IllegalOperation(detail)

    def _require_gate(self, operation: str) -> None:
        self._check_open()
        if not self._gate_ready:
            detail = f"{operation} refused in state {self._state.value}: preflight has not passed"
            self._record("illegal_operation", {"operation": operation, "detail": detail})
            raise IllegalOperation(detail)

    def _observe_prices(self, step: int) -> None:
        if self._prices is None:
            return
        prices = self._prices.prices_for(step)
        if prices:
            self._gate.observe_prices(prices, step)
            self._record("reference_prices", {s: str(p) for s, p in sorted(prices.items())})

    def _reconcile(self, step: int, *, force: bool = False) -> list[Breach]:
        """Carry out one reconciliation pass (decided by `reconcile_pass`, a pure function)."""
        # the drain's verdict needs a current comparison
        draining = force or self._state is S.STOPPING
        if not draining and not needs_snapshot(self._reconciler, step):
            return []
        try:
            snapshot = self._gateway.snapshot(step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:  # no snapshot is no evidence that the books agree
            detail = f"snapshot raised {type(exc).__name__}: {exc}"
            return [Breach(invariant="broker_calls_succeed", detail=detail)]
        open_orders: Mapping[str, OrderState] = self._book.open_orders
        if self._retry:
            # An order whose placement the session is still finding out (a submit waiting for
            # its retry or its fate query) is compared on neither side: the retry or the query
            # says where it is. Positions are still compared: an unseen fill shows there.
            unplaced = self._retry.unplaced()
            if unplaced:
                open_orders = {k: v for k, v in open_orders.items() if k not in unplaced}
                views = tuple(v for v in snapshot.open_orders if v.client_order_id not in unplaced)
                snapshot = replace(snapshot, open_orders=views)
        effects = reconciliation_pass(
            config=self._reconciler,
            state=self._reconcile_state,
            open_orders=open_orders,
            positions=self._book.positions,
            cancel_sent_steps=self._cancel_sent_steps,
            snapshot=snapshot,
            step=step,
            cash=self._cash(),
            due=draining or None,
        )
        self._reconcile_state = effects.state
        if draining or self._reconciler.is_due(step):
            self._compared_step = step
        for type_, payload in effects.records:
            self._record(type_, payload)
        for client_order_id, status in effects.closes:
            self._book.close_locally(client_order_id, status)
            self._cancel_sent_steps.pop(client_order_id, None)
        return list(effects.breaches)

    def _breach(self, breaches: list[Breach]) -> None:
        self._breaches = tuple(breaches)
        for breach in breaches:
            self._record("invariant_breach", breach.to_payload())
        self._fire(Trigger.BREACH, invariants=[b.invariant for b in breaches])
        if self._gate.config.cancel_on_breach and self._gateway.severed is None:
            # FIA 1.4 / CME cancel on disconnect: nothing keeps working while no one is in charge
            # (not through a gateway shut because the adapter is not the mock: it is sent
            # nothing, and its refusal record names the orders left open)
            for client_order_id in list(self._book.open_orders):  # bounded by the open orders
                if client_order_id not in self._cancel_sent_steps:
                    self._cancel_order(client_order_id, "cancel on breach")

    # ----------------------------------------------------------------------------- step work

    def _act_on_intents(self, step: int) -> None:
        for intent in self._intents.intents_for(step):  # bounded: a finite sequence per step
            if isinstance(intent, SubmitIntent):
                self._submit(intent, step)
            elif isinstance(intent, CancelIntent):
                self._cancel_order(
                    intent.client_order_id,
                    "strategy cancel",
                    intent.new_client_order_id,
                    strategy=True,
                )
            elif isinstance(intent, ReplaceIntent):
                self._replace_order(intent, step)
            elif isinstance(intent, StatusIntent):
                self._request_status(intent.client_order_id)
            elif isinstance(intent, ResendIntent):
                self._resend(intent.client_order_id)

    def _ignore_intents(self, step: int) -> None:
        """Outside DRYRUN_ACTIVE no intent is acted on; each one is recorded, never dropped."""
        for intent in self._intents.intents_for(step):  # bounded: a finite sequence per step
            what = getattr(intent, "order", intent)
            self._record(
                "intent_ignored",
                {
                    "intent": type(intent).__name__,
                    "client_order_id": what.client_order_id,
                    "detail": f"no intent is acted on in state {self._state.value}",
                },
            )

    def _submit(self, intent: SubmitIntent, step: int) -> None:
        order = intent.order
        tags = intent.tags
        payload = order.to_payload()
        if tags is not None:
            payload.update(tags.to_payload())
        note = intent.note
        if note is not None:
            # Not text: recorded as its repr (redacted like any text), never as the object.
            payload["note"] = note if isinstance(note, str) else repr(note)
            if not is_unicode_text(note):  # a lone surrogate or not text: refused, not sent
                detail = f"the order note {note!r} is not valid Unicode text; fix the note"
                self._record(
                    "order_refused",
                    {
                        **payload,
                        "rule": "well_formed_order",
                        "observed": repr(note),
                        "detail": detail,
                    },
                )
                return
        if self._audit_failures:
            detail = "the audit sink failed this step; no order leaves unrecorded"
            self._record(
                "order_refused", {**payload, "rule": "audit_sink_failed", "detail": detail}
            )
            return
        protected = self._gate.protect(order, step)
        if protected is not None:  # a market order travels as a limit at the band's edge
            order, reference = protected
            payload = {
                **payload,
                "order_type": order.order_type._value_,
                "limit_price": str(order.limit_price),
                "market_protection": {
                    "reference": str(reference),
                    "band_pct": str(self._gate.config.market_protection_pct),
                },
            }
        rejection = self._gate.check(
            order, step, self._book, tags=tags, buying_power=self._buying_power(), fees=self._fees()
        )
        if rejection is not None:
            self._record("order_refused", {**payload, **_refusal_fields(rejection)})
            if self._gate.rejected(step):  # engaged just now, so it was not engaged before
                rails = self._gate.kill_switch
                self._kill_switch_engaged(
                    f"automatic: {len(rails.rejection_steps)} rail rejections in the window",
                    source="rails",
                    already_engaged=False,
                    mode=rails.mode,
                )
            return
        self._guard_mock("submit", order.client_order_id)
        self._record("order_submitted", payload)
        if self._audit_failures:  # the record did not persist everywhere: the order stays here
            detail = "the audit sink failed while recording this order; it was not sent"
            self._record(
                "order_refused", {**payload, "rule": "audit_sink_failed", "detail": detail}
            )
            return
        self._book.add(order, step)
        self._gate.accepted(step, order)
        if tags is not None:
            self._gate.tags[order.client_order_id] = tags
        try:
            self._gateway.submit(order, step)
        except BrokerSevered as exc:
            if not exc.sent:  # it never left: closed here, as a failed submit would be
                self._book.close_locally(order.client_order_id, OrderStatus.REJECTED)
                self._record(
                    "submit_failed",
                    {"client_order_id": order.client_order_id, "detail": exc.detail},
                )
            self._severed(exc)
        except Exception as exc:  # the order did not reach the broker: close it here, then breach
            if retry_handles(exc, 1):  # a rate limit, a transient failure, a refusal
                self._attempt_failed("submit", order.client_order_id, 1, exc, order)
                return
            detail = f"submit {order.client_order_id} raised {type(exc).__name__}: {exc}"
            self._call_failures.append(detail)
            self._book.close_locally(order.client_order_id, OrderStatus.REJECTED)
            self._gate.tags.pop(order.client_order_id, None)
            self._record(
                "submit_failed", {"client_order_id": order.client_order_id, "detail": detail}
            )

    def _cancel_order(
        self,
        client_order_id: str,
        reason: str,
        new_id: str | None = None,
        *,
        strategy: bool = False,
    ) -> None:
        """Send a cancel. A strategy's cancel is a message the message rails judge; one the
        session sends itself (stop, kill switch, breach) is never refused. Every one counts.
        With `new_id` it goes out under its own ClOrdID (FIX chaining)."""
        named = client_order_id
        client_order_id = self._book_id(client_order_id)  # along a chain of ids
        order = self._book.open_orders.get(client_order_id)
        if order is None:
            self._record(
                "cancel_refused",
                {"client_order_id": named, "detail": "no open order with this id"},
            )
            return
        if self._retry:
            if self._cancel_unplaced(client_order_id, reason):
                return  # its submit waits for a retry or its fate: asked first, canceled if held
            if ("cancel", client_order_id) in self._retry.pending:
                return  # a cancel of it waits for its retry: that one goes out, not a second
        if new_id is not None and self._id_used(new_id):
            self._record(
                "cancel_refused",
                {
                    "client_order_id": named,
                    "new_client_order_id": new_id,
                    "rule": "duplicate_client_order_id",
                    "detail": f"the request's own id {new_id!r} is already used in this session",
                },
            )
            return
        if strategy:
            rejection = self._gate.check_cancel(_as_new_order(order), self._step, self._book)
            if rejection is not None:
                fields = _refusal_fields(rejection)
                detail = str(fields["detail"]).replace(
                    "the order is refused", "the cancel is refused"
                )
                fields["detail"] = detail
                self._record("cancel_refused", {"client_order_id": client_order_id, **fields})
                return
        self._guard_mock("cancel", client_order_id)
        self._gate.message(self._step)
        self._cancel_sent_steps[client_order_id] = self._step
        payload: dict[str, object] = {"client_order_id": client_order_id, "reason": reason}
        wire_id = self._wire_ids.get(client_order_id, client_order_id)
        if new_id is not None:
            payload["new_client_order_id"] = new_id
            self._chain(new_id, client_order_id)
        if wire_id != client_order_id:
            payload["orig_client_order_id"] = wire_id
        self._record("cancel_requested", payload)
        request = CancelOrder(client_order_id=wire_id, new_client_order_id=new_id)
        try:
            self._gateway.cancel(request, self._step)
        except BrokerSevered as exc:
            if not exc.sent:
                self._cancel_sent_steps.pop(client_order_id, None)
            self._severed(exc)
        except Exception as exc:
            if retry_handles(exc, 1):
                self._attempt_failed("cancel", client_order_id, 1, exc, request, reason=reason)
                return
            self._call_failures.append(
                f"cancel {client_order_id} raised {type(exc).__name__}: {exc}"
            )

    def _book_id(self, client_order_id: str) -> str:
        """The id the book holds an order by, from any id of its chain."""
        aliases = self._book.aliases
        return aliases.get(client_order_id, client_order_id) if aliases else client_order_id

    def _id_used(self, client_order_id: str) -> bool:
        return client_order_id in self._book or client_order_id in self._book.aliases

    def _chain(self, new_id: str, client_order_id: str) -> None:
        """A request for the order goes out under its own id: the id is used from now on, and
        names the order (so a later request may name it before any answer arrives)."""
        self._book.used_ids.add(new_id)
        self._book.aliases[new_id] = client_order_id

    def _request_status(self, client_order_id: str) -> None:
        """An order status request for an order of this session, open or closed; the answer
        (ORDER_STATUS) arrives from poll and changes nothing that agrees."""
        order = self._book.known(self._book_id(client_order_id))
        if order is None:
            self._record(
                "status_request_refused",
                {"client_order_id": client_order_id, "detail": "no order with this id"},
            )
            return
        cid = self._wire_ids.get(order.client_order_id, order.client_order_id)
        self._guard_mock("status request", cid)
        self._record("status_requested", {"client_order_id": cid})
        request = StatusRequest(client_order_id=cid)
        try:
            self._gateway.request_status(request, self._step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            if retry_handles(exc, 1):
                self._attempt_failed("status", order.client_order_id, 1, exc, request)
                return
            self._call_failures.append(f"status request {cid} raised {type(exc).__name__}: {exc}")

    def _resend(self, client_order_id: str) -> None:
        """Send an open order again marked PossResend: the same order, not a new one, so the
        rails that count orders do not see it twice."""
        order = self._book.open_orders.get(self._book_id(client_order_id))
        if order is None:
            self._record(
                "resend_refused",
                {"client_order_id": client_order_id, "detail": "no open order with this id"},
            )
            return
        resend = NewOrder(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.order_qty,
            order_type=order.order_type,
            limit_price=order.limit_price,
            time_in_force=order.time_in_force,
            poss_resend=True,
        )
        self._guard_mock("resend", order.client_order_id)
        self._record("order_resent", resend.to_payload())
        try:
            self._gateway.submit(resend, self._step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            detail = f"resend {order.client_order_id} raised {type(exc).__name__}: {exc}"
            self._call_failures.append(detail)

    def _replace_order(self, intent: ReplaceIntent, step: int) -> None:
        cid = self._book_id(intent.client_order_id)  # along a chain of ids
        new_id = intent.new_client_order_id
        request = ReplaceOrder(
            client_order_id=self._wire_ids.get(cid, cid),
            new_qty=intent.new_qty,
            new_limit_price=intent.new_limit_price,
            new_client_order_id=new_id,
        )
        payload = request.to_payload()
        order = self._book.open_orders.get(cid)
        busy = cid in self._cancel_sent_steps or cid in self._replace_sent
        if order is None or busy:
            detail = "a cancel or amend of this order is in flight" if busy else "no open order"
            self._record("replace_refused", {**payload, "rule": "order_state", "detail": detail})
            return
        if new_id is not None and self._id_used(new_id):
            detail = f"the request's own id {new_id!r} is already used in this session"
            refusal = {**payload, "rule": "duplicate_client_order_id", "detail": detail}
            self._record("replace_refused", refusal)
            return
        amended = NewOrder(
            client_order_id=cid,
            symbol=order.symbol,
            side=order.side,
            qty=intent.new_qty if intent.new_qty is not None else order.order_qty,
            order_type=order.order_type,
            limit_price=intent.new_limit_price or order.limit_price,
        )
        rejection = self._gate.check(
            amended,
            step,
            self._book,
            amending=True,
            buying_power=self._buying_power(),
            fees=self._fees(),
        )
        if rejection is not None:
            self._record("replace_refused", {**payload, **_refusal_fields(rejection)})
            return
        self._guard_mock("replace", cid)
        self._replace_sent.add(cid)
        if new_id is not None:
            self._chain(new_id, cid)
        self._gate.accepted(step)  # an amend is a message: it counts towards the rate rails
        self._record("replace_requested", payload)
        try:
            self._gateway.replace(request, step)
        except BrokerSevered as exc:
            if not exc.sent:
                self._replace_sent.discard(cid)
            self._severed(exc)
        except Exception as exc:
            if retry_handles(exc, 1):  # the amend stays in flight while it is retried
                self._attempt_failed("replace", cid, 1, exc, request)
                return
            self._replace_sent.discard(cid)
            self._call_failures.append(f"replace {cid} raised {type(exc).__name__}: {exc}")

    def _apply_reports(self, step: int) -> None:
        try:
            reports = self._gateway.poll(step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            self._call_failures.append(f"poll raised {type(exc).__name__}: {exc}")
            return
        book = self._book
        fates = self._retry.fates
        for report in reports:  # bounded: one finite batch per poll
            if (
                fates
                and report.exec_type is _ORDER_STATUS
                and report.client_order_id in fates
                and self._fate_reply(report)
            ):  # the broker does not know the order: recorded, never applied to the book
                self._record("execution_report", {**report.to_payload(), "outcome": "fate_reply"})
                continue
            result = book.apply(report)
            payload = report.to_payload()
            payload["outcome"] = result.outcome._value_  # `_value_`: see NewOrder.to_payload
            refusal = result.refusal
            if refusal is not None:
                # Refused by the order lifecycle: the book did not change; the record names the
                # rule, the statuses and the values, and the step breaches.
                payload["violations"] = list(result.violations)
                payload["refusal"] = refusal.to_payload()
                self._report_violations.extend(result.violations)
                self._report_refusals.append(refusal)
                self._record("execution_report", payload)
                continue
            if result.violations:
                payload["violations"] = list(result.violations)
                self._report_violations.extend(
                    f"{report.client_order_id} {report.exec_id}: {v}" for v in result.violations
                )
            self._record("execution_report", payload)
            order, exec_type = result.order, report.exec_type
            # The book's id for the order (a report may name it by a chained id).
            cid = report.client_order_id if order is None else order.client_order_id
            if exec_type is _TRADE and result.outcome is _APPLIED and order is not None:
                if self._account is not None:
                    self._book_fill(report, cid)
                self._count_fill(report, cid, step)
            closed = order is not None and order.is_closed
            # A closed order needs no cancel; a rejected cancel is no longer in flight, so a later
            # stop must send a fresh one.
            if result.outcome is _APPLIED and (closed or exec_type is _CANCEL_REJECTED):
                self._cancel_sent_steps.pop(cid, None)
            if closed or exec_type is _REPLACED or exec_type is _REPLACE_REJECTED:
                self._replace_sent.discard(cid)
            if closed:
                self._gate.tags.pop(cid, None)
            if (
                exec_type is _REPLACED
                and report.orig_client_order_id is not None
                and result.outcome is _APPLIED
                and order is not None
            ):  # a chained replace took: the broker knows the order by the request's id now
                self._wire_ids[cid] = report.client_order_id
            if closed and self._wire_ids:
                self._wire_ids.pop(cid, None)
        if self._fate_cancels:
            self._cancel_found_orders()

    def _book_fill(self, report: ExecutionReport, cid: str) -> None:
        """Book an applied trade in the session's account (the book's position moved with it);
        `cid` is the book's id for the order."""
        assert self._account is not None
        booking = self._account.book_fill(
            cid,
            report.symbol,
            report.side,
            report.last_qty,
            report.last_px or _ZERO,  # a priceless trade is already a breach of report soundness
        )
        self._record("fill_booked", booking.to_payload())

    def _count_fill(self, report: ExecutionReport, cid: str, step: int) -> None:
        """The repeated-execution throttle (RTS 6 Art. 15(3)): too many fills in a symbol within
        the window engage the kill switch until an audited re-arm."""
        throttled = self._gate.filled(cid, report.symbol, report.side, report.last_qty, step)
        if throttled is None:
            return
        fills, limit, window = throttled
        self._engage_automatically(
            RailRejection(
                rail="max_fills_per_window",
                limit=f"{limit} per {window} steps",
                observed=str(fills),
                detail=f"{fills} fills in {report.symbol} within {window} step(s), above the "
                f"limit {limit}",
            ),
            "fill_throttle",
        )

    def _buying_power(self) -> Decimal | None:
        account = self._account
        if account is None or not self._gate.config.credit_limit:
            return None
        return account.buying_power(self._book.positions, self._gate.reference_prices())

    def _fees(self) -> FeeSchedule | None:
        account = self._account
        if account is None or account.terms is None or not self._gate.config.credit_limit:
            return None
        return account.terms.fees

    def _account_statement(self) -> AccountStatement | None:
        """The broker's account statement before trading; only the mock is ever asked."""
        if self._broker_kind() is not BrokerKind.MOCK:
            return None
        try:
            return self._gateway.snapshot(0).account
        except BrokerSevered:  # preflight's broker_is_mock check fails on the kind it saw
            return None
        except Exception:  # no statement: the session keeps no cash view (P&L only, if asked)
            return None

    def _open_account(self, statement: AccountStatement | None) -> None:
        """The session's account view, from the broker's terms: only when the broker reports an
        account or the config asks for one (config.account), so other sessions keep their shape."""
        wanted = self._config.account
        rails = self._gate.config
        losses = rails.max_realised_loss is not None or rails.max_drawdown is not None
        if statement is None and not wanted and not losses:
            return
        method = PnlMethod(wanted.get("pnl_method", "fifo"))  # type: ignore[union-attr]
        self._account = SessionAccount(None if statement is None else statement.terms, method)
        payload: dict[str, object] = {"pnl_method": method.value}
        if statement is not None:
            payload["statement"] = statement.to_payload()
        else:
            payload["detail"] = "the broker reports no account: P&L only, no cash view"
        self._record("account_opened", payload)

    def _cash(self) -> tuple[str, Decimal] | None:
        account = self._account
        if account is None or account.terms is None or account.cash is None:
            return None
        return account.terms.currency, account.cash

    def _poll_health(self, step: int) -> BrokerHealth | None:
        try:
            health = self._gateway.health(step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            self._call_failures.append(f"health raised {type(exc).__name__}: {exc}")
            return None
        if not health.ok:
            self._unhealthy_streak += 1
            if self._unhealthy_streak == 1:
                self._record("broker_health", {"ok": False, "detail": health.detail})
        elif self._unhealthy_streak:
            self._record(
                "broker_health",
                {"ok": True, "detail": f"recovered after {self._unhealthy_streak} step(s)"},
            )
            self._unhealthy_streak = 0
        return health

    def _reset_step_problems(self) -> None:
        self._report_violations.clear()
        self._report_refusals.clear()
        self._call_failures.clear()
        self._audit_failures.clear()
        self._sequence_problem = None

    # ----------------------------------------------------------------------------- helpers

    def _broker_kind(self) -> object:
        return self._gateway.kind()  # an adapter that cannot say what it is, is not the mock

    def _guard_mock(self, operation: str, client_order_id: str) -> None:
        """Before a command is recorded as sent: refused unless the adapter is the mock now (the
        gateway checks again at the call itself, and after it)."""
        try:
            self._gateway.admit(operation, client_order_id)
        except BrokerSevered as exc:
            self._severed(exc)

    def _severed(self, exc: BrokerSevered) -> NoReturn:
        """The gateway refused a call (the adapter is not the mock, or was not once): record it,
        breach a running session, and raise to the caller. Defence in depth behind preflight."""
        detail = exc.detail
        # The orders it may hold, which the session can no longer confirm or cancel: the
        # operator's list (bounded by the open orders).
        left = sorted(self._book.open_orders)
        self._record(
            "live_broker_refused",
            {"operation": exc.operation, "detail": detail, "open_orders": left},
        )
        if self._state in (S.DRYRUN_ACTIVE, S.STOPPING):
            self._breach([Breach(invariant="broker_is_mock", detail=detail)])
        raise LiveBrokerRefused(detail)

    def _open_audit(self) -> tuple[tuple[str, str], ...]:
        """Open the trail once, on the first record; preflight judges the sinks that failed."""
        if self._audit_open_failures is None:
            self._audit_open_failures = tuple(self._audit.open())
        return self._audit_open_failures

    def _record(self, type_: str, payload: dict[str, object]) -> None:
        if self._audit_open_failures is None:  # the first record opens the trail
            self._open_audit()
        expected = self._audit.seq + 1
        try:  # write: the sequence number is all the session reads of the record
            seq = self._audit.write(
                step=self._step, type=type_, state=self._state._value_, payload=payload
            )
        except AuditSinkError as exc:
            self._audit_failed(str(exc))
            return
        if seq != expected and self._sequence_problem is None:
            self._sequence_problem = f"audit record {seq} written where {expected} was due"

    def _audit_failed(self, message: str) -> None:
        """A sink failed (and was dropped): say so at once in every sink left, whatever the
        state, so no loss is silent; in a running step the runtime check also breaches on it."""
        self._audit_failures.append(message)
        if message in self._audit_failure_log:
            return  # "no sink is left" again: said once is enough
        self._audit_failure_log.append(message)
        if self._audit.sink_names:  # bounded: each failure of this record drops one more sink
            self._record("audit_sink_failed", {"detail": message})

    def _write_summary(self) -> None:
        book = self._book
        self._summary = {
            "final_state": self._state.value,
            "steps": self._step,
            "orders_submitted": book.orders_submitted,
            "fills": book.fills,
            "duplicate_reports": book.duplicates,
            "orders_by_final_status": dict(sorted(book.status_counts.items())),
            "open_orders": sorted(book.open_orders),
            "positions": {s: str(q) for s, q in sorted(book.positions.items())},
            "failed_checks": list(self._failed_checks),
            "kill_switch_engaged": self._gate.kill_switch.engaged,
        }
        if self._account is not None:
            self._summary["account"] = self._account.to_payload(
                book.positions, self._gate.reference_prices()
            )
        if self._audit_failure_log:  # only then, so a clean session's summary keeps its shape
            self._summary["audit_sink_failures"] = list(self._audit_failure_log)
        self._record("session_summary", self._summary)

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosed("the session is closed; start a new one")


# Members as module constants for the per-report path (see broker/model.py for why).
_step_facts = slot_builder(StepFacts)  # built on every step
_APPLIED = Outcome.APPLIED
_CANCEL_REJECTED = ExecType.CANCEL_REJECTED
_ORDER_STATUS = ExecType.ORDER_STATUS
_REPLACED = ExecType.REPLACED  # with a REPLACE_REJECTED, ends an amend in flight
_REPLACE_REJECTED = ExecType.REPLACE_REJECTED
_TRADE = ExecType.TRADE
_ZERO = Decimal(0)


def _refusal_fields(rejection: RailRejection) -> dict[str, object]:
    # Every refusal record names its rule; for a rail refusal the rule is the rail.
    return {
        "rule": rejection.rail,
        "limit": rejection.limit,
        "observed": rejection.observed,
        "detail": rejection.detail,
    }


def _as_new_order(order: OrderState) -> NewOrder:
    """An open order as the command that placed it (what a cancel is judged as)."""
    return NewOrder(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=order.order_qty,
        order_type=order.order_type,
        limit_price=order.limit_price,
    )


def _kill_problem(tag: object, mode: object) -> str | None:
    if mode not in ("block", "reduce_only"):
        return f"engage_kill_switch: mode must be block or reduce_only, got {mode!r}"
    if tag is None:
        return None
    if not (isinstance(tag, tuple) and len(tag) == 2):
        return f"engage_kill_switch: a tag is a pair (one of {', '.join(TAG_KEYS)}, value)"
    problem = tag_problem(*tag)
    return None if problem is None else f"engage_kill_switch: {problem}"


def _as_text(value: object) -> str:
    # Operator text from the Python API is recorded, never refused (a stop must always be
    # possible): anything that is not a str is recorded as its repr.
    return value if isinstance(value, str) else repr(value)


def _configured_bound(config: SessionConfig) -> int:
    bound = config.max_steps
    if isinstance(bound, int) and not isinstance(bound, bool) and 0 < bound <= HARD_MAX_STEPS:
        return bound
    return 0
