"""The broker adapter protocol: the only surface through which a session talks to a broker.

peak_trade ships no live adapter. `BrokerKind.LIVE` exists so that the orchestrator can name and
refuse one: a live-kind adapter fails preflight, and an adapter that turns live later is sent
nothing more and nothing it returns is applied (execution/live/broker_gateway.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from peak_trade.execution.broker.account import AccountStatement
from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    ReplaceOrder,
    Side,
    StatusRequest,
)


class BrokerKind(Enum):
    MOCK = "mock"
    LIVE = "live"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerHealth:
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrderView:
    """The broker's view of one working order, for reconciliation."""

    client_order_id: str
    symbol: str
    side: Side
    order_qty: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    status: OrderStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSnapshot:
    """Open orders and net positions as the broker sees them at one step. The positions are the
    broker's own book: a mock scripted with `position_drift` or `silent_fill` makes them disagree
    with the positions the reports add up to. `account`, when the broker keeps one, is its
    statement of cash, buying power and fees (broker/account.py)."""

    step: int
    open_orders: tuple[BrokerOrderView, ...] = ()
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    account: AccountStatement | None = None  # None: the broker keeps no account for us


class BrokerError(Exception):
    """The broker refused or failed a command (a fault, not a rejection report)."""


@runtime_checkable
class BrokerAdapter(Protocol):
    """What the orchestrator needs from a broker. Commands are fire-and-forget; results arrive
    as execution reports from `poll`, which also advances the adapter to the given logical step."""

    @property
    def kind(self) -> BrokerKind: ...

    def submit(self, order: NewOrder, step: int) -> None: ...

    def cancel(self, request: CancelOrder, step: int) -> None: ...

    def replace(self, request: ReplaceOrder, step: int) -> None:
        """Amend a working order; the answer (PENDING_REPLACE, REPLACED or REPLACE_REJECTED)
        arrives from `poll`, like a cancel's."""
        ...

    def request_status(self, request: StatusRequest, step: int) -> None:
        """Ask for an order's current state; the ORDER_STATUS answer arrives from `poll`."""
        ...

    def poll(self, step: int) -> Sequence[ExecutionReport]: ...

    def health(self, step: int) -> BrokerHealth: ...

    def snapshot(self, step: int) -> BrokerSnapshot: ...
