"""One reconciliation pass as a pure function: from the book, the broker's snapshot and the
reconciler's memory to the effects the orchestrator must carry out (records, closes, breaches).

The book is never "fixed" here: the only changes are the closes that the documented timeout
resolution table orders (`in_flight.RESOLUTION_TABLE`), and those are returned, not applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from peak_trade.execution.broker.model import OrderStatus
from peak_trade.execution.broker.protocol import BrokerSnapshot
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.breach import Breach
from peak_trade.execution.live.reconcile.compare import (
    NOTHING_FOUND,
    ReconcileState,
    books_agree,
    diff_books,
    reconcile,
)
from peak_trade.execution.live.reconcile.config import ReconcilerConfig
from peak_trade.execution.live.reconcile.in_flight import (
    Resolution,
    find_timeouts,
    resolve_timeouts,
)

_CLOSES = {
    Resolution.MARK_REJECTED: OrderStatus.REJECTED,
    Resolution.MARK_CANCELED: OrderStatus.CANCELED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PassEffects:
    state: ReconcileState
    records: tuple[tuple[str, dict[str, object]], ...] = ()  # (audit type, payload), in order
    closes: tuple[tuple[str, OrderStatus], ...] = ()  # orders to close locally, per the table
    breaches: tuple[Breach, ...] = ()


# The effects of a pass that found nothing and has nothing pending (the state `reconcile` hands
# out then), built once: every field is immutable, so one instance serves every such step.
_QUIET = PassEffects(state=NOTHING_FOUND.state)


def needs_snapshot(config: ReconcilerConfig, step: int) -> bool:
    return config.is_due(step) or bool(config.ack_timeout_steps or config.cancel_timeout_steps)


def reconciliation_pass(
    *,
    config: ReconcilerConfig,
    state: ReconcileState,
    open_orders: Mapping[str, OrderState],
    positions: Mapping[str, Decimal],
    cancel_sent_steps: Mapping[str, int],
    snapshot: BrokerSnapshot,
    step: int,
    cash: tuple[str, Decimal] | None = None,
    due: bool | None = None,
) -> PassEffects:
    """`due` forces the comparison (the drain compares every step); None: as configured."""
    records: list[tuple[str, dict[str, object]]] = []
    breaches: list[Breach] = []
    # Timeouts first: an order the table closes is then compared as closed, so the same order
    # is never both resolved and escalated as unknown to the broker in one step.
    ack_timeout, cancel_timeout = config.ack_timeout_steps, config.cancel_timeout_steps
    timeouts = (
        find_timeouts(open_orders, cancel_sent_steps, step, ack_timeout, cancel_timeout)
        if ack_timeout is not None or cancel_timeout is not None
        else ()  # both off (the default): find_timeouts would list nothing
    )
    closes: list[tuple[str, OrderStatus]] = []
    for resolution in (
        resolve_timeouts(timeouts, snapshot, open_orders=open_orders, positions=positions)
        if timeouts
        else ()  # nothing overdue (the usual step): nothing to look up
    ):
        records.append(("in_flight_resolved", resolution.to_payload()))
        status = _CLOSES.get(resolution.resolution)
        if status is None:
            breaches.append(Breach(invariant="in_flight_orders_resolved", detail=resolution.detail))
        else:
            closes.append((resolution.client_order_id, status))
    if due or config.is_due(step):
        still_open = open_orders  # read only below, so no copy unless an order was closed
        if closes:
            closed = {client_order_id for client_order_id, _ in closes}
            still_open = {k: v for k, v in open_orders.items() if k not in closed}
        # Most steps the books agree: books_agree shows it without building anything, and is
        # True only where diff_books would find nothing, so the records cannot differ.
        differences = (
            []
            if books_agree(still_open, positions, snapshot, cash)
            else diff_books(still_open, positions, snapshot, cash)
        )
        outcome = reconcile(state, differences, step, config.grace_steps)
        state = outcome.state
        if outcome.new_pending:
            records += [("reconcile_pending", d.to_payload()) for d in outcome.new_pending]
        if outcome.cleared:
            records += [
                ("reconcile_cleared", {"kind": kind.value, "key": key})
                for kind, key in outcome.cleared
            ]
        if outcome.escalated:
            detail = "; ".join(
                f"{d.kind.value} {d.key}: ours {d.ours}, broker {d.theirs} (for {d.age} step(s))"
                for d in outcome.escalated
            )
            breaches.append(Breach(invariant="book_matches_broker", detail=detail))
    if not (records or closes or breaches):
        if state is _QUIET.state:
            return _QUIET  # the usual step: nothing found, nothing pending (shared, immutable)
        return PassEffects(state=state)
    return PassEffects(
        state=state, records=tuple(records), closes=tuple(closes), breaches=tuple(breaches)
    )
