"""The pre-trade rails that issue 12 added to the table in rules.py (docs/controls.md).

Each is a pure function `rail_<name>(order, config, ctx)` like every rail, returning a
RailRejection or None, and is listed in rules.RAIL_NAMES; rules.py imports them into its own
namespace, so the table finds them (and a test can replace one) like the others.

- attribution      (`require_strategy`) an order carries a strategy tag (RTS 6 Art. 12(2)).
- price_move_limit (`price_move_limit: {pct, steps}`) the symbol's reference has not moved more
                   than pct % against any reference in force over the last `steps` steps
                   (RTS 6 Art. 15(1)(a): a price collar over time, not only per order).
- credit_limit     (`credit_limit: {threshold?}`) the worst-case cost of every open and in-flight
                   order plus this one, fees included, fits the session account's buying power
                   (and the threshold, when one is given; the lower binds) (SEC 15c3-5
                   (c)(1)(i), RTS 6 Art. 15(4)). Buys cost qty x price; a sell costs only the part
                   that would open or extend a short. The price is the limit, or for a market
                   order the top (buy) or bottom (sell) of the collar band around the reference
                   when price_collar_pct is set, else the reference itself.
- strategy_limits  (`per_strategy: {name: {max_order_qty, max_order_notional, max_position,
                   max_open_orders}}`) the order's strategy has its own limits (RTS 6 Art. 15(5)).
- duplicate_order  (`duplicate_orders: {window_steps}`) the same symbol, side, quantity, type and
                   limit price as an order accepted within the last window_steps steps, under a
                   new id, is refused (SEC 15c3-5 (c)(1)(ii)).
- max_messages_per_step / max_messages_per_window  every message counts: submits, amends and
                   cancels (RTS 6 Art. 15(1)(d)). A strategy's cancel is judged by these two rails
                   as well; a cancel the session sends itself (stop, kill switch, breach) never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import TYPE_CHECKING

from peak_trade.execution.broker.model import ZERO, NewOrder, OrderType, Side

if TYPE_CHECKING:
    from peak_trade.execution.live.rails.config import RailsConfig
    from peak_trade.execution.live.rails.rules import RailContext, RailRejection


# Only for showing a move in the audit: the decision itself is exact (see rail_price_move_limit).
_SHOWN = Context(prec=50, rounding=ROUND_HALF_EVEN)
_HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentOrder:
    """An accepted order, as the duplicative-order rail compares it."""

    step: int
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None


def _rules():  # the helpers of rules.py, imported late: rules.py imports this module
    from peak_trade.execution.live.rails import rules

    return rules


def rail_attribution(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if not config.require_strategy or (ctx.tags is not None and ctx.tags.strategy):
        return None
    return _rules()._reject(
        "attribution",
        "a strategy tag",
        "no strategy",
        f"order {order.client_order_id} carries no strategy tag; every order must say which "
        "strategy sent it",
    )


def rail_price_move_limit(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if config.price_move_limit is None:
        return None
    pct, steps = config.price_move_limit
    rules = _rules()
    current = rules._reference(order.symbol, config, ctx)
    against = None
    first = ctx.step - steps + 1
    history = ctx.reference_history.get(order.symbol, ())
    older = [r for r in history if r.as_of_step < first]  # only the one in force at the start
    in_force = [*older[-1:], *(r for r in history if first <= r.as_of_step <= ctx.step)]
    for ref in in_force:  # bounded: the gate prunes the history to the window
        # |current - ref| / ref * 100 > pct, without a division (the rails run exact)
        if abs(current - ref.price) * 100 <= pct * ref.price:
            continue
        if (
            against is None
            or abs(current - ref.price) * against.price > abs(current - against.price) * ref.price
        ):
            against = ref
    if against is None:
        return None
    with localcontext(_SHOWN):
        moved = (abs(current - against.price) * 100 / against.price).quantize(_HUNDREDTH)
    return rules._reject(
        "price_move_limit",
        f"{pct}% over {steps} steps",
        f"{moved}%",
        f"the {order.symbol} reference moved from {against.price} (step {against.as_of_step}) to "
        f"{current}, {moved}% (rounded) within {steps} step(s)",
    )


def _cost_price(o_side: Side, o_type: OrderType, limit: Decimal | None, symbol: str, config, ctx):
    if o_type is OrderType.LIMIT and limit is not None:
        return limit
    rules = _rules()
    ref = rules._reference(symbol, config, ctx)
    pct = config.price_collar_pct
    if pct is None:
        return ref
    band = ref * pct / 100
    return ref + band if o_side is Side.BUY else ref - band


def worst_case_cost(order: NewOrder, config: RailsConfig, ctx: RailContext) -> Decimal:
    """What every open and in-flight order plus `order` could cost if all filled, fees included."""
    fees = ctx.fees
    total = ZERO
    legs = [
        (o.symbol, o.side, o.leaves_qty, o.order_type, o.limit_price)
        for o in ctx.open_orders
        if o.leaves_qty != ZERO
    ]
    legs.append((order.symbol, order.side, order.qty, order.order_type, order.limit_price))
    sold: dict[str, Decimal] = {}
    for symbol, side, qty, order_type, limit in legs:  # bounded by the open orders
        price = _cost_price(side, order_type, limit, symbol, config, ctx)
        if side is Side.BUY:
            charged = qty
        else:  # a sell pays for nothing it covers from a long position; a short needs funds
            long = max(ctx.positions.get(symbol, ZERO), ZERO)
            before = sold.get(symbol, ZERO)
            sold[symbol] = before + qty
            charged = max(ZERO, before + qty - long) - max(ZERO, before - long)
        total += charged * price
        if fees is not None:
            total += fees.fee(qty, price)
    return total


def rail_credit_limit(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if not config.credit_limit:
        return None
    rules = _rules()
    available = ctx.buying_power
    threshold = config.credit_threshold
    if available is None and threshold is None:
        return rules._reject(
            "credit_limit",
            "an account or a credit threshold",
            "none",
            "no account reports buying power and no threshold is set: the credit of this order "
            "cannot be judged",
        )
    limit = threshold if available is None else available
    if threshold is not None and available is not None:
        limit = min(available, threshold)
    cost = worst_case_cost(order, config, ctx)
    if cost <= limit:
        return None
    what = "buying power" if available is not None and limit == available else "threshold"
    return rules._reject(
        "credit_limit",
        limit,
        cost,
        f"the worst-case cost {cost} of the open and in-flight orders and this one, fees "
        f"included, exceeds the {what} {limit}",
    )


def rail_strategy_limits(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    strategy = None if ctx.tags is None else ctx.tags.strategy
    limits = config.per_strategy.get(strategy) if strategy is not None else None
    if not limits:
        return None
    rules = _rules()
    mine = [o for o in ctx.open_orders if _strategy_of(o.client_order_id, ctx) == strategy]
    limit = limits.get("max_order_qty")
    if limit is not None and order.qty > limit:
        return rules._reject(
            "strategy_limits",
            f"{strategy} max_order_qty {limit}",
            order.qty,
            f"order qty {order.qty} exceeds strategy {strategy}'s limit {limit}",
        )
    limit = limits.get("max_order_notional")
    if limit is not None:
        notional = order.qty * rules._order_price(order, config, ctx)
        if notional > limit:
            return rules._reject(
                "strategy_limits",
                f"{strategy} max_order_notional {limit}",
                notional,
                f"order notional {notional} exceeds strategy {strategy}'s limit {limit}",
            )
    limit = limits.get("max_open_orders")
    if limit is not None and len(mine) + 1 > limit:
        return rules._reject(
            "strategy_limits",
            f"{strategy} max_open_orders {limit}",
            len(mine) + 1,
            f"this would be strategy {strategy}'s open order {len(mine) + 1}, above its limit "
            f"{limit}",
        )
    limit = limits.get("max_position")
    if limit is not None:
        held = ctx.strategy_positions.get((strategy, order.symbol), ZERO)
        same = [o for o in mine if o.symbol == order.symbol and o.side is order.side]
        resting = sum((o.leaves_qty for o in same), ZERO)
        signed = order.side.sign * (resting + order.qty)
        worst = abs(held + signed)
        if worst > limit:
            return rules._reject(
                "strategy_limits",
                f"{strategy} max_position {limit}",
                worst,
                f"strategy {strategy}'s worst-case {order.symbol} position {worst} (position "
                f"{held}, open {order.side.value}s {resting}, this {order.qty}) exceeds its "
                f"limit {limit}",
            )
    return None


def _strategy_of(client_order_id: str, ctx: RailContext) -> str | None:
    tags = ctx.order_tags.get(client_order_id)
    return None if tags is None else tags.strategy


def rail_duplicate_order(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    window = config.duplicate_orders_steps
    if window is None:
        return None
    first = ctx.step - window + 1
    for seen in ctx.recent_orders:  # bounded: pruned to the window
        if (
            seen.step >= first
            and seen.client_order_id != order.client_order_id
            and seen.symbol == order.symbol
            and seen.side is order.side
            and seen.qty == order.qty
            and seen.order_type is order.order_type
            and seen.limit_price == order.limit_price
        ):
            price = "market" if order.limit_price is None else order.limit_price
            return _rules()._reject(
                "duplicate_order",
                f"no identical order within {window} steps",
                f"same as {seen.client_order_id} (step {seen.step})",
                f"{order.side.value} {order.qty} {order.symbol} @ {price} repeats "
                f"{seen.client_order_id}, accepted at step {seen.step}, under a new id",
            )
    return None


def _messages(ctx: RailContext, first: int) -> int:
    return sum(1 for s in ctx.message_steps if first <= s <= ctx.step) + 1


def rail_max_messages_per_step(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    limit = config.max_messages_per_step
    if limit is None:
        return None
    count = _messages(ctx, ctx.step)
    if count <= limit:
        return None
    return _rules()._reject(
        "max_messages_per_step",
        limit,
        count,
        f"this would be message {count} (submits, amends and cancels) in step {ctx.step}, above "
        f"the limit {limit}",
    )


def rail_max_messages_per_window(
    order: NewOrder, config: RailsConfig, ctx: RailContext
) -> RailRejection | None:
    if config.max_messages_per_window is None:
        return None
    limit, steps = config.max_messages_per_window
    first = ctx.step - steps + 1
    count = _messages(ctx, first)
    if count <= limit:
        return None
    return _rules()._reject(
        "max_messages_per_window",
        f"{limit} per {steps} steps",
        count,
        f"this would be message {count} (submits, amends and cancels) in steps "
        f"{first}..{ctx.step}, above the limit {limit} per {steps} steps",
    )


def reduces_position(order: NewOrder, ctx: RailContext) -> bool:
    """Whether the order can only bring the open position towards zero, even with every resting
    order on its side filled first (the reduce-only mode of the kill switch)."""
    position = ctx.positions.get(order.symbol, ZERO)
    if position == ZERO or (position > ZERO) is (order.side is Side.BUY):
        return False
    resting = sum(
        (
            o.leaves_qty
            for o in ctx.open_orders
            if o.symbol == order.symbol and o.side is order.side
        ),
        ZERO,
    )
    return resting + order.qty <= abs(position)
