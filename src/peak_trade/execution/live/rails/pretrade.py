"""The pre-trade gate: the state the rails need between orders, around the pure `rails` checks.

It keeps reference prices (with the step they were observed at, and for the price-move rail their
recent history), the recent accepted-order and message steps for the rate rails, the recent
accepted orders for the duplicative-order rail, fills per symbol for the repeated-execution
throttle, per-strategy positions, the tags of open orders, and the kill switch. Each history is
pruned to the longest window that reads it, so all are bounded. Every decision is made by
`rails.check_order` and the kill-switch functions; this class only carries state. The session's
table of rails (`rails.active_rails`) is built once, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from peak_trade.execution.broker.account import FeeSchedule
from peak_trade.execution.broker.model import ZERO, NewOrder, OrderType, Side
from peak_trade.execution.live.book import SessionBook
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.kill_switch import (
    KillSwitchState,
    engage,
    engage_scope,
    note_rejection,
    rearm,
    rearm_scope,
)
from peak_trade.execution.live.rails.rules import (
    RailContext,
    RailRejection,
    RecentOrder,
    ReferencePrice,
    active_rails,
    check_message,
    check_order,
    initial_references,
    prune_accepted_steps,
)
from peak_trade.execution.live.slot_build import slot_builder
from peak_trade.execution.live.tags import NO_TAGS, OrderTags

_rail_context = slot_builder(RailContext)


class _ExceptOne:
    """The ids in use, less the one being amended (an amend is not a duplicate of itself)."""

    __slots__ = ("_book", "_excluded")

    def __init__(self, book: SessionBook, excluded: str) -> None:
        self._book, self._excluded = book, excluded

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id != self._excluded and client_order_id in self._book


class PreTradeGate:
    __slots__ = (
        "_accepted_steps",
        "_allowlist",
        "_config",
        "_fill_steps",
        "_history",
        "_message_steps",
        "_recent",
        "_references",
        "_strategy_positions",
        "_table",
        "kill_switch",
        "tags",
    )

    def __init__(self, config: RailsConfig, allowlist: frozenset[str]) -> None:
        self._config = config
        self._allowlist = allowlist
        self._table = active_rails(config)
        self._references: dict[str, ReferencePrice] = initial_references(config)
        self._history: dict[str, list[ReferencePrice]] = (
            {s: [r] for s, r in self._references.items()} if config.price_move_limit else {}
        )
        self._accepted_steps: tuple[int, ...] = ()
        self._message_steps: tuple[int, ...] = ()
        self._recent: tuple[RecentOrder, ...] = ()
        self._fill_steps: dict[str, tuple[int, ...]] = {}
        self._strategy_positions: dict[tuple[str, str], Decimal] = {}
        self.tags: dict[str, OrderTags] = {}  # open orders' attribution
        self.kill_switch = KillSwitchState()

    @property
    def config(self) -> RailsConfig:
        return self._config

    def _context(
        self,
        order: NewOrder,
        step: int,
        book: SessionBook,
        *,
        amending: bool,
        tags: OrderTags | None,
        buying_power: Decimal | None,
        fees: FeeSchedule | None,
    ) -> RailContext:
        cid = order.client_order_id
        open_orders = tuple(
            o for o in book.open_orders.values() if not (amending and o.client_order_id == cid)
        )
        kill = self.kill_switch
        # Positionally, in RailContext's field order (see slot_build: built on every order).
        return _rail_context(
            step,
            self._allowlist,
            self._references,
            book.positions,
            open_orders,
            _ExceptOne(book, cid) if amending else book,  # known_client_order_ids
            self._accepted_steps,
            kill.engaged,
            kill.mode,
            kill.scopes,
            tags,
            self.tags,  # order_tags
            buying_power,
            fees,
            self._recent,
            self._message_steps,
            self._history,  # reference_history
            self._strategy_positions,
        )

    def check(
        self,
        order: NewOrder,
        step: int,
        book: SessionBook,
        *,
        amending: bool = False,
        tags: OrderTags | None = None,
        buying_power: Decimal | None = None,
        fees: FeeSchedule | None = None,
    ) -> RailRejection | None:
        """Rails for a new order, or (`amending`) for a working order as it would be amended:
        then the order is judged as if it replaced itself, so its own id and its own old
        quantity do not count against it."""
        if amending and tags is None:
            tags = self.tags.get(order.client_order_id)
        context = self._context(
            order,
            step,
            book,
            amending=amending,
            tags=tags,
            buying_power=buying_power,
            fees=fees,
        )
        return check_order(order, self._config, context, self._table)

    def check_cancel(self, order: NewOrder, step: int, book: SessionBook) -> RailRejection | None:
        """A strategy's cancel of `order`, judged by the message rails alone."""
        if not (self._config.max_messages_per_step or self._config.max_messages_per_window):
            return None
        context = self._context(
            order, step, book, amending=True, tags=None, buying_power=None, fees=None
        )
        return check_message(self._config, context, order)

    def protect(self, order: NewOrder, step: int) -> tuple[NewOrder, Decimal] | None:
        """A market order as a limit order at the protection band's edge (the reference +- pct),
        with the reference used; None when no protection applies or no usable reference exists
        (the reference_price rail then refuses the market order itself)."""
        pct = self._config.market_protection_pct
        if pct is None or order.limit_price is not None or order.order_type is not OrderType.MARKET:
            return None
        ref = self._references.get(order.symbol)
        age = self._config.max_reference_age_steps
        if ref is None or not ref.price.is_finite() or ref.price <= ZERO or ref.as_of_step > step:
            return None
        if age is not None and step - ref.as_of_step > age:
            return None
        band = ref.price * pct / 100
        edge = ref.price + band if order.side is Side.BUY else ref.price - band
        if edge <= ZERO:
            return None
        protected = NewOrder(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=OrderType.LIMIT,
            limit_price=edge,
        )
        return protected, ref.price

    # --- what happened (each history pruned to the window that reads it) -------------------

    def accepted(self, step: int, order: NewOrder | None = None) -> None:
        """An order (or an amend, `order` None) was sent: it counts for the rate rails."""
        self._accepted_steps = prune_accepted_steps(
            (*self._accepted_steps, step), step, self._config
        )
        self.message(step)
        window = self._config.duplicate_orders_steps
        if window is not None and order is not None:
            first = step - window + 1
            entry = RecentOrder(
                step=step,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                order_type=order.order_type,
                limit_price=order.limit_price,
            )
            self._recent = (*(r for r in self._recent if r.step >= first), entry)

    def message(self, step: int) -> None:
        """Any message sent to the broker (submit, amend, cancel) counts for the message rails."""
        config = self._config
        keep = 0
        if config.max_messages_per_step is not None:
            keep = 1
        if config.max_messages_per_window is not None:
            keep = max(keep, config.max_messages_per_window[1])
        if keep:
            first = step - keep + 1
            self._message_steps = (*(s for s in self._message_steps if s >= first), step)

    def filled(
        self, client_order_id: str, symbol: str, side: Side, qty: Decimal, step: int
    ) -> tuple[int, int, int] | None:
        """Count an applied fill. Returns (fills, limit, window) when more than `fills` fills in
        `symbol` within `steps` steps engage the repeated-execution throttle, else None."""
        tags = self.tags.get(client_order_id)
        if tags is not None and tags.strategy is not None and self._config.per_strategy:
            key = (tags.strategy, symbol)
            signed = qty if side is Side.BUY else -qty
            self._strategy_positions[key] = self._strategy_positions.get(key, ZERO) + signed
        throttle = self._config.max_fills_per_window
        if throttle is None:
            return None
        limit, window = throttle
        first = step - window + 1
        recent = (*(s for s in self._fill_steps.get(symbol, ()) if s >= first), step)
        self._fill_steps[symbol] = recent[-(limit + 1) :]  # bounded: one more than the limit
        if len(recent) > limit:
            return len(recent), limit, window
        return None

    def rejected(self, step: int) -> bool:
        """Count a rail rejection; True when it has just engaged the automatic kill switch."""
        self.kill_switch, engaged_now = note_rejection(self.kill_switch, step, self._config)
        return engaged_now

    def engage(
        self, step: int, reason: str, mode: str = "block", scope: tuple[str, str] | None = None
    ) -> None:
        if scope is None:
            self.kill_switch = engage(self.kill_switch, step, reason, mode)
        else:
            self.kill_switch = engage_scope(self.kill_switch, step, reason, *scope, mode)

    def rearm(self, step: int, scope: tuple[str, str] | None = None) -> None:
        if scope is None:
            self.kill_switch = rearm(self.kill_switch, step)
        else:
            self.kill_switch = rearm_scope(self.kill_switch, step, *scope)

    def reference_prices(self) -> dict[str, Decimal]:
        """The latest reference price per symbol (for marks: buying power, unrealised P&L)."""
        return {symbol: ref.price for symbol, ref in self._references.items()}

    def observe_prices(self, prices: Mapping[str, Decimal], step: int) -> None:
        move = self._config.price_move_limit
        for symbol, price in prices.items():
            ref = ReferencePrice(price=price, as_of_step=step)
            self._references[symbol] = ref
            if move is not None:
                first = step - move[1] + 1
                history = self._history.setdefault(symbol, [])
                history.append(ref)
                # keep the observations in the window and the one in force at its start
                older = [r for r in history if r.as_of_step < first]
                self._history[symbol] = [
                    *older[-1:],
                    *(r for r in history if r.as_of_step >= first),
                ]

    def tags_of(self, client_order_id: str) -> OrderTags:
        return self.tags.get(client_order_id, NO_TAGS)
