"""Order intents: what a strategy asks the session to do. The orchestrator never invents orders;
it only acts on intents from an injected source, and only while the session is active."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from peak_trade.execution.broker.model import NewOrder
from peak_trade.execution.live.tags import OrderTags


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitIntent:
    order: NewOrder
    note: str | None = None  # free text for the audit (redacted like everything else)
    tags: OrderTags | None = None  # attribution: strategy, trader, account (live/tags.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelIntent:
    """Cancel a working order. `new_client_order_id`, when set, is the cancel request's own
    ClOrdID (FIX chaining: the order's current id goes as OrigClOrdID)."""

    client_order_id: str
    new_client_order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceIntent:
    """Amend a working order (FIX cancel/replace): a new total quantity and/or limit price.
    `new_client_order_id`, when set, is the request's own ClOrdID, which the order takes once
    the broker accepts the replace."""

    client_order_id: str
    new_qty: Decimal | None = None
    new_limit_price: Decimal | None = None
    new_client_order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusIntent:
    """Ask the broker for an order's current state (FIX OrderStatusRequest)."""

    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResendIntent:
    """Send an order again, marked PossResend (FIX PossResend 97): after a doubt whether the
    broker received it, e.g. no acknowledgement. A broker that knows it answers ORDER_STATUS."""

    client_order_id: str


OrderIntent = SubmitIntent | CancelIntent | ReplaceIntent | StatusIntent | ResendIntent


class IntentSource(Protocol):
    def intents_for(self, step: int) -> Sequence[OrderIntent]: ...


class ReferencePriceSource(Protocol):
    """Market data for the pre-trade rails: reference prices observed at a step."""

    def prices_for(self, step: int) -> Mapping[str, Decimal]: ...


class ScriptedIntents:
    """Intents and reference prices fixed in advance, by logical step (tests and scenarios)."""

    __slots__ = ("_by_step", "_prices")

    def __init__(self, by_step: Mapping[int, Iterable[OrderIntent]] | None = None) -> None:
        self._by_step = {step: tuple(intents) for step, intents in (by_step or {}).items()}
        self._prices: dict[int, Mapping[str, Decimal]] = {}

    def prices_for(self, step: int) -> Mapping[str, Decimal]:
        return self._prices.get(step, {})

    def add_prices(self, step: int, prices: Mapping[str, Decimal]) -> None:
        self._prices[step] = {**self._prices.get(step, {}), **prices}

    def intents_for(self, step: int) -> Sequence[OrderIntent]:
        return self._by_step.get(step, ())

    def add(self, step: int, *intents: OrderIntent) -> None:
        self._by_step[step] = self._by_step.get(step, ()) + intents

    def withdraw(self, step: int) -> None:
        """Drop what was scripted for a step that will not run (e.g. a refused run_n_steps)."""
        self._by_step.pop(step, None)
        self._prices.pop(step, None)


class NoIntents:
    __slots__ = ()

    def intents_for(self, step: int) -> Sequence[OrderIntent]:
        return ()
