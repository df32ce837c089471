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
    """The broker refused or failed a command (a fault, not a rejection report). A plain
    BrokerError says nothing about whether trying again could help: the session does not retry
    it. The subclasses below say."""


class TransientBrokerError(BrokerError):
    """The request failed for now; the same request may succeed later (a retry may help).

    `reason` names the failure in the audit; `retry_after` is the broker's own wait in logical
    steps (a rate limit's Retry-After), None when it named none."""

    reason = "transient"
    retry_after: int | None = None


class BrokerRateLimited(TransientBrokerError):
    """Refused by the broker's rate limit before it was looked at; try again `retry_after`
    steps later."""

    reason = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BrokerTimeout(TransientBrokerError):
    """No answer. The request may or may not have been carried out: a resend of an order must
    be marked PossResend, never sent as a new order."""

    reason = "timeout"


class BrokerBusy(TransientBrokerError):
    """The gateway is busy and refused the request before it was looked at."""

    reason = "gateway_busy"


class BrokerRequestRefused(BrokerError):
    """A permanent refusal of the request: sending it again cannot help, and is never done."""

    reason = "refused"


class DuplicateClientOrderId(BrokerRequestRefused):
    """A new order whose client order id the broker already holds: it never takes a second
    order for one id (the idempotency a resend relies on)."""

    reason = "duplicate_client_order_id"


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
