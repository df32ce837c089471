"""In-flight timeouts: the orders whose ack or cancel is overdue, and what to do with each.

Everything here is a pure function of its arguments: nothing changes the book, reads a clock or
keeps hidden state. Time is the logical step. A resolution is an answer, not an action: the
caller carries it out.

In-flight timeouts and the resolution table
-------------------------------------------
`find_timeouts` runs after the step's reports are applied. An order is AWAITING_ACK when its
status is still PENDING_NEW and `step - submitted_step >= ack_timeout_steps`: the broker had the
polls of steps submitted_step .. submitted_step + K and did not acknowledge. It is AWAITING_CANCEL
when the session sent a cancel at step c (`cancel_sent_steps`), the order is still open (no
CANCELED report) and `step - c >= cancel_timeout_steps`. The caller must drop an order from
`cancel_sent_steps` when a CANCEL_REJECTED (or CANCELED) report arrives, else a rejected cancel
times out as if unanswered. An order is listed once: AWAITING_ACK wins over AWAITING_CANCEL (the
ack is the older request, and the order's fate at the broker decides the cancel's). A timeout of
None disables that check; note that with the ack timeout off, a lost ack alone (the broker shows
NEW, the session PENDING_NEW, no fill) is never reported: STATUS_COMPATIBLE counts it in flight.

`resolve_timeouts` looks the order up in the snapshot: WORKING when the broker lists it open;
otherwise NOT_FOUND when the broker's position in the order's symbol equals the session's, else
NOT_FOUND_POSITION_DIFFERS (the missing-report override). Then:

    in flight        broker finding               resolution
    awaiting_ack     not_found                    mark_rejected  (never reached the broker)
    awaiting_ack     not_found_position_differs   escalate       (may have filled unseen)
    awaiting_ack     working                      escalate       (the ack report is missing)
    awaiting_cancel  not_found                    mark_canceled  (canceled; keeps its cum_qty)
    awaiting_cancel  not_found_position_differs   escalate       (fills the session has not seen)
    awaiting_cancel  working                      escalate       (the cancel did not take)

There is no KEEP_WAITING: the timeout is the configured patience, and an answer that waits again
would make it unbounded. A broker that shows PENDING_CANCEL after the cancel timeout is WORKING
and escalates: configure the timeout above the broker's cancel latency.

A missing report never means flat
---------------------------------
A timed-out order that is not open at the broker is only closed without fills (MARK_REJECTED,
MARK_CANCELED) when the broker's position in its symbol equals the session's. Otherwise the
finding is NOT_FOUND_POSITION_DIFFERS and the answer is ESCALATE: the order may have traded in
reports the session never saw. (The snapshot has positions per symbol, not per order, so a
difference caused by another order of the same symbol also escalates: fail closed.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from peak_trade.execution.broker.model import ZERO, OrderStatus
from peak_trade.execution.broker.protocol import BrokerSnapshot
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.reconcile.compare import _position_text, _qty, _theirs_text
from peak_trade.execution.live.reconcile.config import _is_whole


class InFlight(Enum):
    AWAITING_ACK = "awaiting_ack"
    AWAITING_CANCEL = "awaiting_cancel"


class BrokerFinding(Enum):
    """What the snapshot says about a timed-out order. The snapshot lists open orders only, so
    "not found" means "not open at the broker" (never sent, rejected, canceled or filled)."""

    NOT_FOUND = "not_found"  # not open, and the broker's position in its symbol equals ours
    NOT_FOUND_POSITION_DIFFERS = "not_found_position_differs"  # not open, position differs
    WORKING = "working"  # listed open, in any status


class Resolution(Enum):
    MARK_REJECTED = "mark_rejected"  # close it as rejected: cum_qty stays 0
    MARK_CANCELED = "mark_canceled"  # close it as canceled: cum_qty kept, leaves_qty 0
    ESCALATE = "escalate"  # the session must go to ERROR_REQUIRES_OPERATOR


_ACK, _CANCEL, _F = InFlight.AWAITING_ACK, InFlight.AWAITING_CANCEL, BrokerFinding
RESOLUTION_TABLE: dict[tuple[InFlight, BrokerFinding], Resolution] = {
    (_ACK, _F.NOT_FOUND): Resolution.MARK_REJECTED,  # submitted, never reached the broker
    (_ACK, _F.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,  # may have traded unseen
    (_ACK, _F.WORKING): Resolution.ESCALATE,  # the broker has it, the ack report is missing
    (_CANCEL, _F.NOT_FOUND): Resolution.MARK_CANCELED,  # the cancel took; no fill unseen
    (_CANCEL, _F.NOT_FOUND_POSITION_DIFFERS): Resolution.ESCALATE,  # fills we have not seen
    (_CANCEL, _F.WORKING): Resolution.ESCALATE,  # the cancel did not take
}

_RESOLUTION_TEXT = {
    Resolution.MARK_REJECTED: "mark it rejected",
    Resolution.MARK_CANCELED: "mark it canceled, keeping its cum_qty",
    Resolution.ESCALATE: "escalate: an operator must reconcile it",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutResolution:
    client_order_id: str
    in_flight: InFlight
    finding: BrokerFinding
    resolution: Resolution
    detail: str

    def to_payload(self) -> dict[str, object]:
        return {
            "client_order_id": self.client_order_id,
            "in_flight": self.in_flight.value,
            "finding": self.finding.value,
            "resolution": self.resolution.value,
            "detail": self.detail,
        }


def _timeout_ok(value: int | None, name: str) -> None:
    if value is not None and (not _is_whole(value) or value < 0):
        raise ValueError(f"{name} must be a whole number >= 0 or None, got {value!r}")


def find_timeouts(
    open_orders: Mapping[str, OrderState],
    cancel_sent_steps: Mapping[str, int],
    step: int,
    ack_timeout_steps: int | None,
    cancel_timeout_steps: int | None,
) -> list[tuple[str, InFlight]]:
    """The open orders whose ack or cancel is overdue at `step`, sorted by order id, each listed
    once (AWAITING_ACK first). A timeout of None disables that check. Entries of
    `cancel_sent_steps` for orders no longer open are ignored."""
    _timeout_ok(ack_timeout_steps, "ack_timeout_steps")
    _timeout_ok(cancel_timeout_steps, "cancel_timeout_steps")
    found: list[tuple[str, InFlight]] = []
    for cid in sorted(open_orders):
        order = open_orders[cid]
        if (
            ack_timeout_steps is not None
            and order.status is OrderStatus.PENDING_NEW
            and step - order.submitted_step >= ack_timeout_steps
        ):
            found.append((cid, InFlight.AWAITING_ACK))
            continue  # the ack is the older request: its answer decides the cancel's too
        sent = cancel_sent_steps.get(cid)
        if (
            cancel_timeout_steps is not None
            and sent is not None
            and step - sent >= cancel_timeout_steps
        ):
            found.append((cid, InFlight.AWAITING_CANCEL))
    return found


def resolve_timeouts(
    timeouts: Iterable[tuple[str, InFlight]],
    snapshot: BrokerSnapshot,
    *,
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
) -> list[TimeoutResolution]:
    """One resolution per timeout, in the given order, from the snapshot and RESOLUTION_TABLE.
    `open_orders` and `positions` are the session's (the same ones `find_timeouts` saw): the
    order's symbol and the session's position in it decide NOT_FOUND against
    NOT_FOUND_POSITION_DIFFERS. Raises ValueError for an order that is not in `open_orders`."""
    working = {v.client_order_id: v for v in snapshot.open_orders}
    resolutions: list[TimeoutResolution] = []
    for cid, in_flight in timeouts:
        order = open_orders.get(cid)
        if order is None:
            raise ValueError(f"timed-out order {cid} is not among the session's open orders")
        waiting = (
            f"{cid} still {order.status.value} since step {order.submitted_step}: no ack"
            if in_flight is InFlight.AWAITING_ACK
            else f"{cid} ({order.status.value}): no canceled or cancel-rejected report"
        )
        view = working.get(cid)
        if view is not None:
            finding = BrokerFinding.WORKING
            seen = f"the broker shows it open: {_theirs_text(view)}"
        else:
            ours_q = positions.get(order.symbol)
            theirs_q = snapshot.positions.get(order.symbol)
            ours_v = ZERO if ours_q is None else _qty(ours_q, f"session position of {order.symbol}")
            theirs_v = (
                ZERO if theirs_q is None else _qty(theirs_q, f"broker position of {order.symbol}")
            )
            compared = (
                f"the broker has no open order {cid}; its {order.symbol} position "
                f"{_position_text(theirs_q)}"
            )
            if ours_v == theirs_v:
                finding = BrokerFinding.NOT_FOUND
                seen = f"{compared} equals the session's {_position_text(ours_q)}"
            else:
                finding = BrokerFinding.NOT_FOUND_POSITION_DIFFERS
                seen = (
                    f"{compared} differs from the session's {_position_text(ours_q)}: "
                    "fills the session has not seen"
                )
        resolution = RESOLUTION_TABLE[(in_flight, finding)]
        resolutions.append(
            TimeoutResolution(
                client_order_id=cid,
                in_flight=in_flight,
                finding=finding,
                resolution=resolution,
                detail=f"{waiting}; {seen}: {_RESOLUTION_TEXT[resolution]}",
            )
        )
    return resolutions
