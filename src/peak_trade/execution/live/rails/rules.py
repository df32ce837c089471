"""Pre-trade safety rails: pure checks every new order passes before it may reach the broker.

Modelled on SEC Rule 15c3-5 (erroneous-order price and size limits, credit and capital thresholds,
restricted securities, duplicate orders) and MiFID II RTS 6 Art. 12 (kill functionality) and
Art. 15 (price collars, maximum order value and volume, maximum message rate, position limits).

`check_order(order, config, ctx)` runs the rails below in this fixed order (`RAIL_NAMES`) and
returns the first rejection, or None when every rail passes:

 1. kill_switch                an engaged kill switch refuses every order until an operator rearms;
                               engaged reduce-only it lets through an order that only reduces an
                               open position; engaged for one tag it refuses that tag's orders.
 2. symbol_allowlist           the symbol is in the session allowlist.
 3. restricted_list            the symbol is not restricted.
 4. duplicate_client_order_id  the client order id was never used in this session.
 5. well_formed_order          the id and symbol are non-empty, valid Unicode text without spaces
                               or control characters; qty is a finite positive Decimal; a limit
                               order has a finite positive Decimal limit price; a market order has
                               none.
 6. attribution                the order carries a strategy tag (controls.py).
 7. max_order_qty              qty <= limit.
 8. reference_price            when a price-based rail is configured (price_collar_pct,
                               max_order_notional, max_gross_exposure, credit_limit,
                               price_move_limit, market_protection_pct), every reference those
                               rails read exists, is a finite positive Decimal, is not dated after
                               the current step, and is at most max_reference_age_steps old.
 9. price_move_limit           the reference moved at most pct % over the last steps steps.
10. price_collar               a limit price within +-pct of the reference (limit orders only).
11. max_order_notional         the order's notional <= limit.
12. credit_limit               worst-case cost of open + in-flight + this order <= buying power.
13. strategy_limits            the order's strategy's own limits.
14. max_position               the per-symbol worst case, counting open orders, <= limit.
15. max_gross_exposure         positions + open orders + this order, valued, <= limit.
16. duplicate_order            not the same as an order accepted within the last K steps.
17. max_orders_per_step        accepted orders in this step, this one included, <= limit.
18. max_orders_per_window      accepted orders in the last window_steps steps (the current one and
                               this order included) <= count.
19. max_messages_per_step      messages (submits, amends, cancels) in this step, this one included.
20. max_messages_per_window    messages in the last window steps, this one included.
21. max_open_orders            open and in-flight orders, this one included, <= limit.
22. self_trade_prevention      the order would not cross our own resting opposite order.

Only the rails a config switches on are in a session's table (`active_rails`, built once): an
unconfigured control costs nothing on the per-order path. The rails 6, 9, 12, 13, 16, 19 and 20
are in controls.py.

Cheap, categorical rails come first, so a rejection names the most basic problem; the reference
check precedes every rail that reads a price, so a missing or stale price is reported as such.

Decisions, each for fail-closed safety:
- Every rail is its own function. A rail that raises, or returns anything but None or a
  RailRejection, rejects the order (observed "error"): never a pass.
- Limits are inclusive: a value exactly at a limit passes, anything above it is rejected. Arithmetic
  runs in an exact Decimal context (Inexact, Overflow and InvalidOperation trap), so a value too
  large to compute exactly raises and is refused instead of being rounded under a limit.
- Notional of an order is qty x price, where price is the reference for a market order, the limit
  for a buy limit, and max(limit, reference) for a sell limit: a sell limit below the market is
  marketable and fills at the market, at or above its limit, so its limit would understate it.
- The price collar applies to limit orders only: a market order executes at the market, and its
  protections are the reference check (a live, positive price must exist) and the notional limit
  valued at that reference. The reference is required for market orders too whenever a price rail
  is configured, even the collar alone.
- max_position counts open and in-flight orders (leaves_qty) without netting buys against sells
  (a resting order may be cancelled, a fill cannot). It judges the side this order adds to:
  |pos + buy leaves + qty| for a buy, |pos - sell leaves - qty| for a sell. Whenever the book was
  within the limit before, that equals the worst case of all buys or all sells filling; when the
  book already breaches on the other side, this order does not change that side and is not blamed.
- max_gross_exposure is conservative: every position is valued at |position| x reference and every
  open order and this one add their notional, even an order that would reduce a position.

The limits are a `RailsConfig` (config.py); the state of the kill switch that the first rail
reads, and what engages and rearms it, are in kill_switch.py. Time is the logical step: no wall
clock is read anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from peak_trade.execution.broker.account import FeeSchedule
from peak_trade.execution.broker.model import ZERO, NewOrder, OrderType, Side
from peak_trade.execution.live.audit_trail.text import is_unicode_text
from peak_trade.execution.live.book import OrderState
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.kill_switch import KillScope
from peak_trade.execution.live.tags import OrderTags

RAIL_NAMES: tuple[str, ...] = (
    "kill_switch",
    "symbol_allowlist",
    "restricted_list",
    "duplicate_client_order_id",
    "well_formed_order",
    "attribution",
    "max_order_qty",
    "reference_price",
    "price_move_limit",
    "price_collar",
    "max_order_notional",
    "credit_limit",
    "strategy_limits",
    "max_position",
    "max_gross_exposure",
    "duplicate_order",
    "max_orders_per_step",
    "max_orders_per_window",
    "max_messages_per_step",
    "max_messages_per_window",
    "max_open_orders",
    "self_trade_prevention",
)


def _configured(config: RailsConfig) -> dict[str, bool]:
    """Whether each rail can refuse anything under `config`: a rail that cannot is left out of
    the session's table (`active_rails`), so an unconfigured control costs nothing per order."""
    return {
        "kill_switch": True,
        "symbol_allowlist": True,
        "restricted_list": bool(config.restricted),
        "duplicate_client_order_id": True,
        "well_formed_order": True,
        "attribution": config.require_strategy,
        "max_order_qty": config.max_order_qty is not None,
        "reference_price": _needs_reference(config),
        "price_move_limit": config.price_move_limit is not None,
        "price_collar": config.price_collar_pct is not None,
        "max_order_notional": config.max_order_notional is not None,
        "credit_limit": config.credit_limit,
        "strategy_limits": bool(config.per_strategy),
        "max_position": config.max_position is not None,
        "max_gross_exposure": config.max_gross_exposure is not None,
        "duplicate_order": config.duplicate_orders_steps is not None,
        "max_orders_per_step": config.max_orders_per_step is not None,
        "max_orders_per_window": config.max_orders_per_window is not None,
        "max_messages_per_step": config.max_messages_per_step is not None,
        "max_messages_per_window": config.max_messages_per_window is not None,
        "max_open_orders": config.max_open_orders is not None,
        "self_trade_prevention": config.self_trade_prevention,
    }


RailTable = tuple[tuple[str, str], ...]  # (rail, function name), in RAIL_NAMES order


def active_rails(config: RailsConfig) -> RailTable:
    """The rails `config` switches on, in RAIL_NAMES order: the session's own table, built once.
    The always-on rails (kill switch, allowlist, duplicate id, well-formed order) are always in."""
    on = _configured(config)
    return tuple((name, f"rail_{name}") for name in RAIL_NAMES if on[name])


# The message rails, which also judge a strategy's cancel (see controls.py).
MESSAGE_RAILS = ("max_messages_per_step", "max_messages_per_window")

# Exact arithmetic for every rail: 200 digits hold any product of realistic inputs exactly, and an
# input that would need rounding raises (and so is refused) instead of rounding under a limit.
_EXACT = Context(prec=200, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferencePrice:
    price: Decimal
    as_of_step: int


def initial_references(config: RailsConfig) -> dict[str, ReferencePrice]:
    """The config's reference prices as of step 0, the starting point for `RailContext`."""
    return {s: ReferencePrice(price=p, as_of_step=0) for s, p in config.reference_prices.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class RailContext:
    """What the rails see of the session when an order is checked."""

    step: int
    allowlist: frozenset[str]
    reference_prices: Mapping[str, ReferencePrice]
    positions: Mapping[str, Decimal]  # filled net position per symbol
    open_orders: Sequence[OrderState]  # working and in-flight (not closed); leaves_qty is exposure
    known_client_order_ids: Container[str]  # ids already used in this session
    accepted_order_steps: Sequence[int]  # steps of accepted orders, newest last
    kill_switch_engaged: bool
    # --- read by the issue-12 rails (controls.py); defaults: nothing known --------------
    kill_switch_mode: str = "block"  # of the engagement for all
    kill_scopes: Sequence[KillScope] = ()  # engagements for one tag value each
    tags: OrderTags | None = None  # this order's attribution
    order_tags: Mapping[str, OrderTags] = field(default_factory=dict)  # of open orders
    buying_power: Decimal | None = None  # the session account's; None: no account
    fees: FeeSchedule | None = None  # the account's fee schedule, for worst-case cost
    recent_orders: Sequence[RecentOrder] = ()  # accepted within the duplicate window
    message_steps: Sequence[int] = ()  # steps of every message sent (submit, amend, cancel)
    reference_history: Mapping[str, Sequence[ReferencePrice]] = field(default_factory=dict)
    strategy_positions: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RailRejection:
    """Why an order was refused: which rail, which limit, which observed value (all strings, for
    the audit), and a sentence that names all three."""

    rail: str
    limit: str
    observed: str
    detail: str

    def to_payload(self) -> dict[str, object]:
        return {
            "rail": self.rail,
            "limit": self.limit,
            "observed": self.observed,
            "detail": self.detail,
        }


def _reject(rail: str, limit: object, observed: object, sentence: str) -> RailRejection:
    # One shape for every rail, so the audit can be read by people and matched by tools alike.
    return RailRejection(
        rail=rail,
        limit=str(limit),
        observed=str(observed),
        detail=f"rail {rail}: {sentence} (limit: {limit}; observed: {observed}); "
        "the order is refused",
    )


# --- references and valuation --------------------------------------------------------------------


class ReferenceUnavailable(ValueError):
    """A rail needed a reference price that is missing, unusable or stale."""


def _needs_reference(config: RailsConfig) -> bool:
    return config.credit_limit or any(
        v is not None
        for v in (
            config.price_collar_pct,
            config.max_order_notional,
            config.max_gross_exposure,
            config.price_move_limit,
            config.market_protection_pct,
        )
    )


def _reference_problem(
    symbol: str, config: RailsConfig, ctx: RailContext
) -> tuple[str, str, str] | None:
    """(limit, observed, sentence) when the symbol's reference cannot be used; None when it can."""
    ref = ctx.reference_prices.get(symbol)
    if ref is None:
        return "a positive reference price", "missing", f"no reference price for {symbol}"
    price, as_of = ref.price, ref.as_of_step
    if not (isinstance(price, Decimal) and price.is_finite()):
        return (
            "a positive reference price",
            str(price),
            f"the reference price for {symbol} is {price!r}, not a finite Decimal",
        )
    if price <= ZERO:
        return (
            "a positive reference price",
            str(price),
            f"the reference price for {symbol} is {price}, not positive",
        )
    if isinstance(as_of, bool) or not isinstance(as_of, int) or as_of > ctx.step:
        return (
            f"as of step {ctx.step} or earlier",
            f"as of step {as_of}",
            f"the reference price for {symbol} is dated step {as_of}, after the current step "
            f"{ctx.step}",
        )
    max_age = config.max_reference_age_steps
    age = ctx.step - as_of
    if max_age is not None and age > max_age:
        return (
            f"age <= {max_age} steps",
            f"age {age} steps",
            f"the reference price for {symbol} ({price}, as of step {as_of}) is {age} steps old, "
            f"older than the {max_age} allowed",
        )
    return None


def _reference(symbol: str, config: RailsConfig, ctx: RailContext) -> Decimal:
    # The reference_price rail has already judged every reference a later rail reads; this guard
    # keeps each rail fail-closed on its own should it ever be called without that rail.
    problem = _reference_problem(symbol, config, ctx)
    if problem is not None:
        raise ReferenceUnavailable(problem[2])
    return ctx.reference_prices[symbol].price


def _price(
    side: Side, order_type: OrderType, limit: Decimal | None, ref: Callable[[], Decimal]
) -> Decimal:
    """The price an order is valued at (see the module docstring for why sells differ)."""
    if order_type is not OrderType.LIMIT or limit is None:
        return ref()
    if side is Side.SELL:
        return max(limit, ref())
    return limit


def _order_price(order: NewOrder, config: RailsConfig, ctx: RailContext) -> Decimal:
    return _price(
        order.side,
        order.order_type,
        order.limit_price,
        lambda: _reference(order.symbol, config, ctx),
    )


def _leaves_notional(o: OrderState, config: RailsConfig, ctx: RailContext) -> Decimal:
    price = _price(o.side, o.order_type, o.limit_price, lambda: _reference(o.symbol, config, ctx))
    return o.leaves_qty * price


def _gross_symbols(order: NewOrder, ctx: RailContext) -> list[str]:
    """Every symbol whose reference the gross exposure reads, the order's own first."""
    others = {s for s, qty in ctx.positions.items() if qty != ZERO}
    others |= {
        o.symbol
        for o in ctx.open_orders
        if o.leaves_qty != ZERO
        and (o.side is Side.SELL or o.order_type is not OrderType.LIMIT or o.limit_price is None)
    }
    others.discard(order.symbol)
    return [order.symbol, *sorted(others)]


# --- the rails, in RAIL_NAMES order ---------------------------------------------------------------


def rail_kill_switch(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if ctx.kill_switch_engaged is not False:  # anything but the boolean False counts as engaged
        if ctx.kill_switch_mode != "reduce_only":
            return _reject(
                "kill_switch",
                "not engaged",
                "engaged",
                "the kill switch is engaged: no new orders until an operator rearms it",
            )
        if not reduces_position(order, ctx):
            return _reject(
                "kill_switch",
                "reduce-only: an order that only reduces an open position",
                "does not reduce",
                f"the kill switch is engaged reduce-only: {order.side.value} {order.qty} "
                f"{order.symbol} would not only reduce the open position",
            )
    for scope in ctx.kill_scopes:  # bounded by the tag values engaged
        tags = ctx.tags
        if tags is None or tags.value(scope.tag) != scope.value:
            continue
        if scope.mode == "reduce_only" and reduces_position(order, ctx):
            continue
        mode = " reduce-only" if scope.mode == "reduce_only" else ""
        return _reject(
            "kill_switch",
            f"not engaged for {scope.tag} {scope.value}",
            f"engaged{mode} for {scope.tag} {scope.value}",
            f"the kill switch is engaged{mode} for {scope.tag} {scope.value}: no new orders "
            "of it until an operator rearms it",
        )
    return None


def rail_symbol_allowlist(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if order.symbol in ctx.allowlist:
        return None
    return _reject(
        "symbol_allowlist",
        f"one of the {len(ctx.allowlist)} allowlisted symbols",
        order.symbol,
        f"symbol {order.symbol} is not in the session allowlist of {len(ctx.allowlist)} symbol(s)",
    )


def rail_restricted_list(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if order.symbol not in config.restricted:
        return None
    return _reject(
        "restricted_list",
        "not restricted",
        order.symbol,
        f"symbol {order.symbol} is on the restricted list",
    )


def rail_duplicate_client_order_id(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    cid = order.client_order_id
    if cid not in ctx.known_client_order_ids and all(
        o.client_order_id != cid for o in ctx.open_orders
    ):
        return None
    return _reject(
        "duplicate_client_order_id",
        "an id not used before in this session",
        cid,
        f"client order id {cid!r} was already used in this session",
    )


def _shape_problem(order: NewOrder) -> tuple[str, str] | None:
    """(observed, sentence) for an order no other rail can judge soundly; None when well formed."""
    cid = order.client_order_id
    for name, text in (("client order id", cid), ("symbol", order.symbol)):
        if not (isinstance(text, str) and text):
            return repr(text), f"{name} {text!r} is not a non-empty string"
        if not is_unicode_text(text):  # a lone surrogate: no broker message can carry it
            return repr(text), f"{name} {text!r} is not valid Unicode text"
        # A blank, a space or a control character (NUL, newline, FIX's SOH field delimiter)
        # cannot travel as one FIX field or be told apart from another id in the audit.
        if not text.isprintable() or " " in text:
            return repr(text), f"{name} {text!r} contains a space or a control character"
    if not isinstance(order.side, Side):
        return repr(order.side), f"side {order.side!r} is not buy or sell"
    if not isinstance(order.order_type, OrderType):
        return repr(order.order_type), f"order type {order.order_type!r} is not market or limit"
    qty = order.qty
    if not (isinstance(qty, Decimal) and qty.is_finite() and qty > ZERO):
        return f"qty {qty!r}", f"qty {qty!r} is not a finite positive Decimal"
    price = order.limit_price
    if order.order_type is OrderType.LIMIT:
        if not (isinstance(price, Decimal) and price.is_finite() and price > ZERO):
            return (
                f"limit_price {price!r}",
                f"limit order has limit price {price!r}, not a finite positive Decimal",
            )
    elif price is not None:
        # Ambiguous intent: a market order ignores a price the sender may have relied on.
        return f"limit_price {price!r}", f"market order carries a limit price {price}"
    return None


def rail_well_formed_order(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    problem = _shape_problem(order)
    if problem is None:
        return None
    observed, sentence = problem
    return _reject(
        "well_formed_order",
        "a well-formed order",
        observed,
        sentence,
    )


def rail_max_order_qty(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_order_qty
    if limit is None or order.qty <= limit:
        return None
    return _reject(
        "max_order_qty",
        limit,
        order.qty,
        f"order qty {order.qty} exceeds the limit {limit}",
    )


def rail_reference_price(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if not _needs_reference(config):
        return None
    symbols = (
        _gross_symbols(order, ctx) if config.max_gross_exposure is not None else [order.symbol]
    )
    for symbol in symbols:
        problem = _reference_problem(symbol, config, ctx)
        if problem is not None:
            limit, observed, sentence = problem
            return _reject(
                "reference_price",
                limit,
                observed,
                f"{sentence}; a missing, unusable or stale reference never passes",
            )
    return None


def rail_price_collar(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    pct = config.price_collar_pct
    if pct is None or order.order_type is not OrderType.LIMIT:
        return None  # a market order's protection is the reference and notional rails
    ref = _reference(order.symbol, config, ctx)
    band = (
        ref * pct / 100
    )  # exact: the condition |limit - ref| * 100 <= pct * ref, without rounding
    low, high = ref - band, ref + band
    price = order.limit_price
    if price is not None and low <= price <= high:
        return None
    return _reject(
        "price_collar",
        f"[{low}, {high}]",
        price,
        f"limit price {price} is outside the collar [{low}, {high}] ({pct}% around the reference "
        f"{ref})",
    )


def rail_max_order_notional(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_order_notional
    if limit is None:
        return None
    price = _order_price(order, config, ctx)
    notional = order.qty * price
    if notional <= limit:
        return None
    return _reject(
        "max_order_notional",
        limit,
        notional,
        f"order notional {notional} ({order.qty} x {price}) exceeds the limit {limit}",
    )


def rail_max_position(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_position
    if limit is None:
        return None
    symbol = order.symbol
    position = ctx.positions.get(symbol, ZERO)
    same = [o for o in ctx.open_orders if o.symbol == symbol]
    if order.side is Side.BUY:
        resting = sum((o.leaves_qty for o in same if o.side is Side.BUY), ZERO)
        worst = abs(position + resting + order.qty)
        how = f"position {position} + open buys {resting} + this buy {order.qty}"
    else:
        resting = sum((o.leaves_qty for o in same if o.side is Side.SELL), ZERO)
        worst = abs(position - resting - order.qty)
        how = f"position {position} - open sells {resting} - this sell {order.qty}"
    if worst <= limit:
        return None
    return _reject(
        "max_position",
        limit,
        worst,
        f"worst-case {symbol} position {worst} (|{how}|) exceeds the limit {limit}",
    )


def rail_max_gross_exposure(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_gross_exposure
    if limit is None:
        return None
    positions = sum(
        (abs(qty) * _reference(s, config, ctx) for s, qty in ctx.positions.items() if qty != ZERO),
        ZERO,
    )
    resting = sum(
        (_leaves_notional(o, config, ctx) for o in ctx.open_orders if o.leaves_qty != ZERO), ZERO
    )
    this = order.qty * _order_price(order, config, ctx)
    total = positions + resting + this
    if total <= limit:
        return None
    return _reject(
        "max_gross_exposure",
        limit,
        total,
        f"gross exposure {total} (positions {positions} + open orders {resting} + this order "
        f"{this}) exceeds the limit {limit}",
    )


def rail_max_orders_per_step(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_orders_per_step
    if limit is None:
        return None
    # A full scan, not a walk from the newest: an unsorted history must not undercount.
    count = sum(1 for s in ctx.accepted_order_steps if s == ctx.step) + 1
    if count <= limit:
        return None
    return _reject(
        "max_orders_per_step",
        limit,
        count,
        f"this would be order {count} accepted in step {ctx.step}, above the limit {limit}",
    )


def rail_max_orders_per_window(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if config.max_orders_per_window is None:
        return None
    limit, steps = config.max_orders_per_window
    first = ctx.step - steps + 1  # the window is steps first..step, the current one included
    count = sum(1 for s in ctx.accepted_order_steps if first <= s <= ctx.step) + 1
    if count <= limit:
        return None
    return _reject(
        "max_orders_per_window",
        f"{limit} per {steps} steps",
        count,
        f"this would be order {count} accepted in steps {first}..{ctx.step}, above the limit "
        f"{limit} per {steps} steps",
    )


def rail_max_open_orders(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_open_orders
    if limit is None:
        return None
    count = len(ctx.open_orders) + 1
    if count <= limit:
        return None
    return _reject(
        "max_open_orders",
        limit,
        count,
        f"this would be open order {count} (working and in-flight included), above the limit "
        f"{limit}",
    )


def _crosses(buy_type: OrderType, buy_px: object, sell_type: OrderType, sell_px: object) -> bool:
    if buy_type is not OrderType.LIMIT or sell_type is not OrderType.LIMIT:
        return True  # a market order on either side trades against the other
    if not (isinstance(buy_px, Decimal) and isinstance(sell_px, Decimal)):
        return True  # a limit order without a usable price: cannot rule a cross out
    return buy_px >= sell_px


def rail_self_trade_prevention(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if config.self_trade_prevention is False:
        return None
    for o in ctx.open_orders:
        if o.symbol != order.symbol or o.side is order.side or o.leaves_qty == ZERO:
            continue
        if order.side is Side.BUY:
            crossed = _crosses(order.order_type, order.limit_price, o.order_type, o.limit_price)
        else:
            crossed = _crosses(o.order_type, o.limit_price, order.order_type, order.limit_price)
        if crossed:
            mine = order.limit_price if order.order_type is OrderType.LIMIT else "market"
            theirs = o.limit_price if o.order_type is OrderType.LIMIT else "market"
            return _reject(
                "self_trade_prevention",
                "no cross with our own resting orders",
                f"crosses {o.client_order_id} {o.side.value} {o.leaves_qty} @ {theirs}",
                f"{order.side.value} {order.qty} {order.symbol} @ {mine} would cross our own "
                f"resting {o.side.value} {o.client_order_id} ({o.leaves_qty} @ {theirs})",
            )
    return None


# The issue-12 rails live in their own module; imported here (after the helpers they use) so that
# the table finds them in this namespace like every other rail, and a test can replace one.
from peak_trade.execution.live.rails.controls import (  # noqa: E402
    RecentOrder,
    rail_attribution,
    rail_credit_limit,
    rail_duplicate_order,
    rail_max_messages_per_step,
    rail_max_messages_per_window,
    rail_price_move_limit,
    rail_strategy_limits,
    reduces_position,
)

# Rail functions are looked up by name in the module at each call so that a test can replace one.
_MODULE = globals()  # the module's namespace itself (live: a replaced rail is seen)
__all__ = [
    "RAIL_NAMES",
    "RailContext",
    "RailRejection",
    "RecentOrder",
    "ReferencePrice",
    "active_rails",
    "check_order",
    "rail_attribution",
    "rail_credit_limit",
    "rail_duplicate_order",
    "rail_max_messages_per_step",
    "rail_max_messages_per_window",
    "rail_price_move_limit",
    "rail_strategy_limits",
]


def _raised(name: str, exc: BaseException) -> RailRejection:
    try:
        message = str(exc)
    except Exception:  # an unprintable exception must not turn the refusal into a crash
        message = "<unprintable>"
    return RailRejection(
        rail=name,
        limit="a rail that evaluates without error",
        observed="error",
        detail=f"rail {name} raised {type(exc).__name__}: {message}; "
        "the order is refused (fail closed)",
    )


def check_order(
    order: NewOrder, config: RailsConfig, ctx: RailContext, table: RailTable | None = None
) -> RailRejection | None:
    """The first rail (in RAIL_NAMES order) that refuses the order, or None when all pass.
    `table` is the session's `active_rails(config)`, built once; without it, it is built here.

    Never raises: a rail that raises, or answers anything but None or a RailRejection, refuses.
    """
    if table is None:
        table = active_rails(config)
    with localcontext(_EXACT):
        for name, function in table:  # bounded: the rails in RAIL_NAMES
            try:
                verdict = _MODULE[function](order, config, ctx)
                if verdict is None:
                    continue
                if not isinstance(verdict, RailRejection):
                    raise TypeError(f"rail answered {type(verdict).__name__}, not a RailRejection")
            except Exception as exc:  # a rail that raises refuses the order: never a pass
                return _raised(name, exc)
            return verdict
    return None


def check_message(config: RailsConfig, ctx: RailContext, order: NewOrder) -> RailRejection | None:
    """The message rails alone, for a strategy's cancel (`order` stands for the order cancelled)."""
    on = _configured(config)
    return check_order(order, config, ctx, tuple((n, f"rail_{n}") for n in MESSAGE_RAILS if on[n]))


def prune_accepted_steps(steps: Iterable[int], step: int, config: RailsConfig) -> tuple[int, ...]:
    """The accepted-order steps the rate rails still need at `step`: keeps the history bounded."""
    keep = 1
    if config.max_orders_per_window is not None:
        keep = max(keep, config.max_orders_per_window[1])
    first = step - keep + 1
    return tuple(s for s in steps if s >= first)
