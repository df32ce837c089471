"""The pre-trade gate: the state the rails need between orders, around the pure `rails` checks.

It keeps reference prices (with the step they were observed at), the recent accepted-order steps
for the rate rails (pruned to the longest window, so bounded), and the kill switch. Every decision
is made by `rails.check_order` and the kill-switch functions; this class only carries state.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from peak_trade.execution.broker.model import NewOrder
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.kill_switch import KillSwitchState, engage, note_rejection, rearm
from peak_trade.execution.live.rails import (
    RailContext,
    RailRejection,
    ReferencePrice,
    check_order,
    initial_references,
    prune_accepted_steps,
)
from peak_trade.execution.live.rails_config import RailsConfig


class _ExceptOne:
    """The ids in use, less the one being amended (an amend is not a duplicate of itself)."""

    __slots__ = ("_book", "_excluded")

    def __init__(self, book: SessionBook, excluded: str) -> None:
        self._book, self._excluded = book, excluded

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id != self._excluded and client_order_id in self._book


class PreTradeGate:
    __slots__ = ("_accepted_steps", "_allowlist", "_config", "_references", "kill_switch")

    def __init__(self, config: RailsConfig, allowlist: frozenset[str]) -> None:
        self._config = config
        self._allowlist = allowlist
        self._references: dict[str, ReferencePrice] = initial_references(config)
        self._accepted_steps: tuple[int, ...] = ()
        self.kill_switch = KillSwitchState()

    def check(
        self, order: NewOrder, step: int, book: SessionBook, *, amending: bool = False
    ) -> RailRejection | None:
        """Rails for a new order, or (`amending`) for a working order as it would be amended:
        then the order is judged as if it replaced itself, so its own id and its own old
        quantity do not count against it."""
        cid = order.client_order_id
        open_orders = tuple(
            o for o in book.open_orders.values() if not (amending and o.client_order_id == cid)
        )
        context = RailContext(
            step=step,
            allowlist=self._allowlist,
            reference_prices=self._references,
            positions=book.positions,
            open_orders=open_orders,
            known_client_order_ids=_ExceptOne(book, cid) if amending else book,
            accepted_order_steps=self._accepted_steps,
            kill_switch_engaged=self.kill_switch.engaged,
        )
        return check_order(order, self._config, context)

    def accepted(self, step: int) -> None:
        self._accepted_steps = prune_accepted_steps(
            (*self._accepted_steps, step), step, self._config
        )

    def rejected(self, step: int) -> bool:
        """Count a rail rejection; True when it has just engaged the automatic kill switch."""
        self.kill_switch, engaged_now = note_rejection(self.kill_switch, step, self._config)
        return engaged_now

    def engage(self, step: int, reason: str) -> None:
        self.kill_switch = engage(self.kill_switch, step, reason)

    def rearm(self, step: int) -> None:
        self.kill_switch = rearm(self.kill_switch, step)

    def reference_prices(self) -> dict[str, Decimal]:
        """The latest reference price per symbol (for marks: buying power, unrealised P&L)."""
        return {symbol: ref.price for symbol, ref in self._references.items()}

    def observe_prices(self, prices: Mapping[str, Decimal], step: int) -> None:
        for symbol, price in prices.items():
            self._references[symbol] = ReferencePrice(price=price, as_of_step=step)
