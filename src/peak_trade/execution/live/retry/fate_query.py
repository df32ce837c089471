"""A given-up request's fate: ask the broker first, then answer from a table. Never assume.

Everything here is a pure function of its arguments. When a request is given up (its attempts or
the retry budget spent, policy.py), the session does not know what the broker did with it:
a timed-out submit may have placed the order, a failed cancel may have left it working. So it
sends one order status request (the *fate query*) and answers from the broker's reply:

    finding            the reply
    unknown_to_broker  an ORDER_STATUS saying the broker does not know the order
    working            an ORDER_STATUS with a working status (new, partially filled, ...)
    closed             an ORDER_STATUS with a closed status (filled, canceled, rejected, expired)
    no_answer          no reply within config.retry.fate_timeout_steps, or the query itself
                       could not be sent (given up, refused)

    given up   finding            fate           why
    submit     unknown_to_broker  mark_rejected  it never reached the broker: closed locally, cum 0
    submit     working            adopt          the broker holds it: it works on under its own id
    submit     closed             adopt          the broker holds it closed: its reports stand
    submit     no_answer          escalate       the broker's state is unknown
    cancel     unknown_to_broker  escalate       the session holds an order the broker does not know
    cancel     working            escalate       the order works on and could not be canceled
    cancel     closed             adopt          nothing is left to cancel (a fill or cancel won)
    cancel     no_answer          escalate       the broker's state is unknown
    replace    unknown_to_broker  escalate       the session holds an order the broker does not know
    replace    working            keep_working   the amend did not take: it works at its old terms
    replace    closed             adopt          the order closed meanwhile: its reports stand
    replace    no_answer          escalate       the broker's state is unknown

`adopt` and `keep_working` apply the reply to the book like any report (the order lifecycle
judges it); `mark_rejected` closes the order locally without applying the reply (the book never
stores a value the broker did not state). `escalate` is the breach `broker_state_known`: the
session moves to ERROR_REQUIRES_OPERATOR. A given-up status request needs no fate query: asking
changes nothing at the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from peak_trade.execution.broker.model import UNKNOWN_ORDER, ExecType, ExecutionReport, OrderStatus


class GivenUp(Enum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    REPLACE = "replace"


class QueryFinding(Enum):
    UNKNOWN_TO_BROKER = "unknown_to_broker"
    WORKING = "working"
    CLOSED = "closed"
    NO_ANSWER = "no_answer"


class Fate(Enum):
    MARK_REJECTED = "mark_rejected"
    ADOPT = "adopt"
    KEEP_WORKING = "keep_working"
    ESCALATE = "escalate"


_S, _C, _R, _Q = GivenUp.SUBMIT, GivenUp.CANCEL, GivenUp.REPLACE, QueryFinding
FATE_TABLE: dict[tuple[GivenUp, QueryFinding], Fate] = {
    (_S, _Q.UNKNOWN_TO_BROKER): Fate.MARK_REJECTED,  # never reached the broker
    (_S, _Q.WORKING): Fate.ADOPT,  # placed after all: it works on
    (_S, _Q.CLOSED): Fate.ADOPT,  # placed and closed: its reports stand
    (_S, _Q.NO_ANSWER): Fate.ESCALATE,
    (_C, _Q.UNKNOWN_TO_BROKER): Fate.ESCALATE,  # we hold an order the broker does not know
    (_C, _Q.WORKING): Fate.ESCALATE,  # it works on and could not be canceled
    (_C, _Q.CLOSED): Fate.ADOPT,  # nothing left to cancel
    (_C, _Q.NO_ANSWER): Fate.ESCALATE,
    (_R, _Q.UNKNOWN_TO_BROKER): Fate.ESCALATE,
    (_R, _Q.WORKING): Fate.KEEP_WORKING,  # the amend did not take
    (_R, _Q.CLOSED): Fate.ADOPT,
    (_R, _Q.NO_ANSWER): Fate.ESCALATE,
}

_WHY = {
    (_S, _Q.UNKNOWN_TO_BROKER): "it never reached the broker: closed locally as rejected, cum 0",
    (_S, _Q.WORKING): "the broker holds it: it works on under its own id",
    (_S, _Q.CLOSED): "the broker holds it closed: its reports stand",
    (_C, _Q.UNKNOWN_TO_BROKER): "the session holds an order the broker does not know",
    (_C, _Q.WORKING): "the order works on and the session could not cancel it",
    (_C, _Q.CLOSED): "nothing is left to cancel",
    (_R, _Q.UNKNOWN_TO_BROKER): "the session holds an order the broker does not know",
    (_R, _Q.WORKING): "the amend did not take: the order works on at its old terms",
    (_R, _Q.CLOSED): "the order closed meanwhile: its reports stand",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FateResolution:
    client_order_id: str
    given_up: GivenUp
    finding: QueryFinding
    fate: Fate
    detail: str

    def to_payload(self) -> dict[str, object]:
        return {
            "client_order_id": self.client_order_id,
            "given_up": self.given_up.value,
            "finding": self.finding.value,
            "fate": self.fate.value,
            "detail": self.detail,
        }


def finding_of(reply: ExecutionReport | None) -> QueryFinding:
    """What a reply to the fate query says; None: no reply."""
    if reply is None or reply.exec_type is not ExecType.ORDER_STATUS:
        return QueryFinding.NO_ANSWER
    if reply.status is OrderStatus.REJECTED and reply.reason == UNKNOWN_ORDER:
        return QueryFinding.UNKNOWN_TO_BROKER
    return QueryFinding.CLOSED if reply.status.is_closed else QueryFinding.WORKING


def resolve_fate(
    client_order_id: str, given_up: GivenUp, reply: ExecutionReport | None, *, why_none: str = ""
) -> FateResolution:
    """The fate of a given-up request from the reply to its status query (None: no reply;
    `why_none` says why, e.g. "no reply within 2 step(s)")."""
    finding = finding_of(reply)
    fate = FATE_TABLE[(given_up, finding)]
    if reply is None:
        seen = why_none or "no reply"
        why = "the broker's state is unknown"
    else:
        seen = f"the broker replies {reply.status.value}"
        if reply.reason:
            seen += f" ({reply.reason})"
        seen += f", cum_qty {reply.cum_qty}"
        why = _WHY.get((given_up, finding), "the broker's state is unknown")
    detail = f"{given_up.value} of {client_order_id} given up; {seen}: {fate.value}, {why}"
    return FateResolution(
        client_order_id=client_order_id,
        given_up=given_up,
        finding=finding,
        fate=fate,
        detail=detail,
    )
