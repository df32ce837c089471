"""The orchestrator's retry effects: carry out what retry/policy.py and retry/fate_query.py decide.

A mixin of LiveSessionOrchestrator (it uses the orchestrator's book, gateway, gate and audit), kept
here so that the session shell stays one file per job. Nothing here decides: `decide` says retry
at step N, give up or never retry; `resolve_fate` says what a given-up request's status reply
means. This module sends, records and updates the book accordingly.

Audit records, one per event, in this order for a request that fails and is retried:

    request_failed    request, client_order_id, attempt, reason, detail, decision, condition,
                      next_attempt_step and wait_steps (retry), retry_after (rate limits),
                      budget_left (retries left in the window after this decision)
    request_retried   request, client_order_id, attempt (the new attempt's number), poss_resend
                      (a submit resent after a timeout: the broker may hold it already)
    request_given_up  request, client_order_id, attempts, condition, detail
    fate_query_sent   client_order_id (the id the broker knows), given_up
    fate_resolved     client_order_id, given_up, finding, fate, detail (retry/fate_query.py)
    retry_dropped     request, client_order_id, detail: the retry became moot (the order closed,
                      or the broker acknowledged the order: the earlier attempt went through)

A retried submit is the same NewOrder, same client order id; after a timeout it goes out marked
PossResend, so a broker that holds the order answers with its status instead of a second order.
Retries happen at the start of their step, before that step's intents, on the logical clock only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from peak_trade.execution.broker.model import (
    BrokerCommand,
    CancelOrder,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    ReplaceOrder,
    StatusRequest,
)
from peak_trade.execution.broker.protocol import (
    BrokerRequestRefused,
    DuplicateClientOrderId,
    TransientBrokerError,
)
from peak_trade.execution.live.breach import Breach
from peak_trade.execution.live.broker_gateway import BrokerSevered
from peak_trade.execution.live.retry.desk import GIVEN_UP, FateQuery, PendingRetry, RetryDesk
from peak_trade.execution.live.retry.fate_query import Fate, FateResolution, GivenUp, resolve_fate
from peak_trade.execution.live.retry.policy import Decision, FailureClass, classify, decide
from peak_trade.execution.live.state import SessionState

if TYPE_CHECKING:  # the attributes the orchestrator provides
    from peak_trade.execution.live.book import SessionBook
    from peak_trade.execution.live.broker_gateway import BrokerGateway
    from peak_trade.execution.live.rails.pretrade import PreTradeGate

_ACTIVE = SessionState.DRYRUN_ACTIVE
_STOPPING, _ERROR = SessionState.STOPPING, SessionState.ERROR_REQUIRES_OPERATOR
_VERB = {"submit": "submit", "cancel": "cancel", "replace": "replace", "status": "status request"}


def retry_handles(exc: BaseException, attempt: int) -> bool:
    """Whether the retry machinery answers this failure. A plain error on a first attempt keeps
    the session's behaviour from before retries existed (a call failure, a breach); so does a
    first submit refused as a duplicate id (the session's own ids are unique, so the broker
    holds someone else's order: the session's is closed as rejected and it breaches)."""
    if attempt > 1:
        return True
    if isinstance(exc, DuplicateClientOrderId):
        return False
    return isinstance(exc, TransientBrokerError | BrokerRequestRefused)


class RetryShell:
    _retry: RetryDesk
    _book: SessionBook
    _gateway: BrokerGateway
    _gate: PreTradeGate
    _state: SessionState
    _step: int
    _cancel_sent_steps: dict[str, int]
    _replace_sent: set[str]
    _wire_ids: dict[str, str]
    _call_failures: list[str]
    _retry_escalations: list[str]
    _fate_cancels: list[str]

    if TYPE_CHECKING:

        def _record(self, type_: str, payload: dict[str, object]) -> None: ...
        def _guard_mock(self, operation: str, client_order_id: str) -> None: ...
        def _severed(self, exc: BrokerSevered) -> Any: ...
        def _cancel_order(self, client_order_id: str, reason: str) -> None: ...

    # ------------------------------------------------------------------------- failures

    def _attempt_failed(
        self,
        request: str,
        client_order_id: str,
        attempt: int,
        exc: BaseException,
        command: BrokerCommand,
        *,
        ambiguous: bool = False,
        reason: str = "",
        fate_of: GivenUp | None = None,
        then_cancel: bool = False,
    ) -> None:
        """Attempt `attempt` of a request failed with `exc`: decide, record, carry it out."""
        step = self._step
        failure = classify(exc)
        # A retried submit refused as a duplicate: the broker holds an order under this id, so
        # an earlier attempt did reach it. Never closed as rejected on that: asked instead.
        ambiguous = (
            ambiguous
            or failure.ambiguous
            or (request == "submit" and attempt > 1 and isinstance(exc, DuplicateClientOrderId))
        )
        desk = self._retry
        left = desk.budget.left(step)
        verdict = decide(desk.policy, attempt=attempt, failure=failure, budget_left=left, step=step)
        payload: dict[str, object] = {
            "request": request,
            "client_order_id": client_order_id,
            "attempt": attempt,
            "reason": failure.reason,
            "detail": str(exc),
            "decision": verdict.decision.value,
            "condition": verdict.condition.value,
        }
        if failure.retry_after is not None:
            payload["retry_after"] = failure.retry_after
        if verdict.decision is Decision.RETRY:
            assert verdict.next_attempt_step is not None
            desk.budget = desk.budget.spend(step)
            payload["next_attempt_step"] = verdict.next_attempt_step
            payload["wait_steps"] = verdict.wait_steps
            left -= 1
        payload["budget_left"] = left
        self._record("request_failed", payload)
        pending = PendingRetry(
            request=request,
            client_order_id=client_order_id,
            attempt=attempt,
            due=verdict.next_attempt_step or step,
            command=command,
            ambiguous=ambiguous,
            reason=reason,
            fate_of=fate_of,
            then_cancel=then_cancel,
        )
        if verdict.decision is Decision.RETRY:
            desk.pending[(request, client_order_id)] = pending
            return
        if verdict.decision is Decision.GIVE_UP:
            spent = {
                "attempts_spent": f"{attempt} attempt(s) of {desk.policy.max_attempts} spent",
                "budget_spent": (
                    f"the retry budget ({desk.policy.budget_retries} per "
                    f"{desk.policy.budget_window_steps} steps) is spent"
                ),
                "wait_beyond_cap": (
                    f"the broker asks to wait {failure.retry_after} step(s), longer than "
                    f"max_backoff_steps {desk.policy.max_backoff_steps}"
                ),
            }[verdict.condition.value]
            self._give_up(pending, verdict.condition.value, spent)
            return
        # never retried: a permanent refusal, or a plain error on a retried request
        if failure.failure_class is FailureClass.UNCLASSIFIED:
            self._call_failures.append(
                f"{_VERB[request]} {client_order_id} raised {type(exc).__name__}: {exc}"
            )
        if ambiguous and request != "status":
            self._give_up(
                pending,
                "never_retry",
                "not retried, and an earlier attempt may have been carried out",
            )
        elif request == "status":
            if fate_of is not None:
                self._fate_known(
                    resolve_fate(
                        client_order_id, fate_of, None, why_none="its status query was refused"
                    ),
                    None,
                )
        elif request == "submit":  # the broker said no: the order is not placed
            self._book.close_locally(client_order_id, OrderStatus.REJECTED)
            self._gate.tags.pop(client_order_id, None)
            detail = f"{exc}: a permanent refusal, not retried; closed as rejected"
            self._record("submit_failed", {"client_order_id": client_order_id, "detail": detail})
        elif request == "cancel":
            self._cancel_sent_steps.pop(client_order_id, None)
        else:
            self._replace_sent.discard(client_order_id)

    def _give_up(self, pending: PendingRetry, condition: str, detail: str) -> None:
        """Record the request given up, then ask the broker what became of it."""
        cid = pending.client_order_id
        self._record(
            "request_given_up",
            {
                "request": pending.request,
                "client_order_id": cid,
                "attempts": pending.attempt,
                "condition": condition,
                "detail": detail,
            },
        )
        given_up = GIVEN_UP[pending.request]
        if given_up is None:  # a status request: asking again would be the same request
            if pending.fate_of is not None:
                why = "its status query was given up"
                self._fate_known(resolve_fate(cid, pending.fate_of, None, why_none=why), None)
            return
        if pending.request == "cancel":
            self._cancel_sent_steps.pop(cid, None)  # no cancel is in flight now
        self._send_fate_query(cid, given_up, then_cancel=pending.then_cancel)

    def _send_fate_query(self, cid: str, given_up: GivenUp, *, then_cancel: bool = False) -> None:
        wire = self._wire_ids.get(cid, cid)
        self._guard_mock("status request", wire)
        self._record("fate_query_sent", {"client_order_id": wire, "given_up": given_up.value})
        request = StatusRequest(client_order_id=wire)
        try:
            self._gateway.request_status(request, self._step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            self._attempt_failed(
                "status", cid, 1, exc, request, fate_of=given_up, then_cancel=then_cancel
            )
            return
        self._retry.fates[wire] = FateQuery(
            client_order_id=cid, given_up=given_up, sent_step=self._step, then_cancel=then_cancel
        )

    # ------------------------------------------------------------------------- retries

    def _run_due_retries(self, step: int) -> None:
        """Send every retry due at `step` (bounded by the pending retries: one per request)."""
        desk = self._retry
        for pending in desk.due(step):
            del desk.pending[(pending.request, pending.client_order_id)]
            self._retry_one(pending, step)

    def _retry_one(self, pending: PendingRetry, step: int) -> None:
        request, cid = pending.request, pending.client_order_id
        order = self._book.open_orders.get(cid)
        moot = None
        if request != "status" and order is None:
            moot = "the order closed meanwhile: nothing to retry"
        elif (
            request == "submit"
            and order is not None
            and order.status is not OrderStatus.PENDING_NEW
        ):
            moot = "the broker reported on the order: an earlier attempt was carried out"
        if moot is not None:
            dropped = {"request": request, "client_order_id": cid, "detail": moot}
            self._record("retry_dropped", dropped)
            if request == "cancel":
                self._cancel_sent_steps.pop(cid, None)
            elif request == "replace":
                self._replace_sent.discard(cid)
            return
        if request in ("submit", "replace") and self._state is not _ACTIVE:
            detail = f"the session is {self._state.value}: no order or amend goes out again"
            self._give_up(pending, "session_not_trading", detail)
            return
        command = pending.command
        payload: dict[str, object] = {
            "request": request,
            "client_order_id": cid,
            "attempt": pending.attempt + 1,
        }
        if isinstance(command, NewOrder) and pending.ambiguous:
            command = replace(command, poss_resend=True)
            payload["poss_resend"] = True
        self._guard_mock(_VERB[request], cid)
        self._gate.message(step)  # a retry is a message to the broker: the message rails count it
        self._record("request_retried", payload)
        if request == "cancel":
            self._cancel_sent_steps[cid] = step
        try:
            self._send(command, step)
        except BrokerSevered as exc:
            self._severed(exc)
        except Exception as exc:
            self._attempt_failed(
                request,
                cid,
                pending.attempt + 1,
                exc,
                pending.command,
                ambiguous=pending.ambiguous,
                reason=pending.reason,
                fate_of=pending.fate_of,
                then_cancel=pending.then_cancel,
            )
            return
        if pending.fate_of is not None:
            wire = command.client_order_id
            self._retry.fates[wire] = FateQuery(
                client_order_id=cid,
                given_up=pending.fate_of,
                sent_step=step,
                then_cancel=pending.then_cancel,
            )

    def _send(self, command: BrokerCommand, step: int) -> None:
        gateway = self._gateway
        if isinstance(command, NewOrder):
            gateway.submit(command, step)
        elif isinstance(command, CancelOrder):
            gateway.cancel(command, step)
        elif isinstance(command, ReplaceOrder):
            gateway.replace(command, step)
        else:
            gateway.request_status(command, step)

    def _cancel_unplaced(self, cid: str, reason: str) -> bool:
        """A cancel of an order whose submit waits for a retry or its fate: the order is not
        sent again; its fate is asked first, and it is canceled if the broker holds it. True
        when the cancel is taken care of this way."""
        desk = self._retry
        pending = desk.pending.pop(("submit", cid), None)
        if pending is not None:
            pending.then_cancel = True
            detail = f"{reason}: the order is not sent again; its fate is asked first"
            self._give_up(pending, "canceled_before_placed", detail)
            return True
        for query in desk.fates.values():
            if query.client_order_id == cid and query.given_up is GivenUp.SUBMIT:
                query.then_cancel = True
                return True
        return False

    # ------------------------------------------------------------------------- fates

    def _fate_reply(self, report: ExecutionReport) -> bool:
        """The reply to a fate query: resolve it. True when the report must not be applied to
        the book (the broker does not know the order: the book keeps only what it stated)."""
        query = self._retry.fates.pop(report.client_order_id)
        resolution = resolve_fate(query.client_order_id, query.given_up, report)
        self._fate_known(resolution, query)
        return resolution.finding.value == "unknown_to_broker"

    def _fate_known(self, resolution: FateResolution, query: FateQuery | None) -> None:
        cid = resolution.client_order_id
        self._record("fate_resolved", resolution.to_payload())
        fate = resolution.fate
        if fate is Fate.ESCALATE:
            self._retry_escalations.append(resolution.detail)
            return
        if fate is Fate.MARK_REJECTED:
            self._book.close_locally(cid, OrderStatus.REJECTED)
            self._gate.tags.pop(cid, None)
            return
        if resolution.given_up is GivenUp.REPLACE:
            self._replace_sent.discard(cid)
        state = self._state
        wanted = query is not None and query.then_cancel
        if wanted or state is _STOPPING or (state is _ERROR and self._gate.config.cancel_on_breach):
            self._fate_cancels.append(cid)  # after the reply is applied: cancel what works on

    def _cancel_found_orders(self) -> None:
        """Cancel the given-up orders the broker turned out to hold, where the session wants
        them gone (a stop, a breach, a strategy cancel made while the order was unplaced)."""
        cancels, self._fate_cancels = self._fate_cancels, []
        for cid in cancels:  # bounded by the fate replies of this poll
            if cid in self._book.open_orders and cid not in self._cancel_sent_steps:
                self._cancel_order(cid, "given-up order found working")

    def _fate_timeouts(self, step: int) -> None:
        timeout = self._retry.policy.fate_timeout_steps
        for wire, query in list(self._retry.fates.items()):  # bounded by the open orders
            if step - query.sent_step >= timeout:
                del self._retry.fates[wire]
                why = f"no reply within {timeout} step(s)"
                resolution = resolve_fate(query.client_order_id, query.given_up, None, why_none=why)
                self._fate_known(resolution, query)

    def _retry_breaches(self, step: int) -> list[Breach]:
        """The step's escalations as one breach: the broker's state is unknown."""
        if self._retry.fates:
            self._fate_timeouts(step)
        if not self._retry_escalations:
            return []
        detail = "; ".join(self._retry_escalations)
        self._retry_escalations.clear()
        return [Breach(invariant="broker_state_known", detail=detail)]
