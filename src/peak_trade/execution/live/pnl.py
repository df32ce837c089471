"""Profit and loss per symbol, from the fills the session applied, in exact Decimal.

Two methods, chosen by `config.account.pnl_method`:

- `fifo` (the default): every opening fill is a lot (signed quantity, price). A fill against the
  position closes the oldest lots first; each closed unit realises (exit price - entry price) for
  a long lot and (entry - exit) for a short one. Exact: only products and sums.
- `average_cost`: the position carries one cost basis (the signed sum of qty x price of the open
  quantity). Closing q of Q units removes cost x q / Q from the basis and realises the rest of
  the proceeds. That division may not terminate (100 / 3); it runs in a 100-digit context and the
  basis left is cost minus what was removed, so no money appears or vanishes: realised plus the
  basis still adds up exactly to what was paid. Closing the whole position removes the basis
  exactly.

A fill that crosses zero (long 10, sell 15) closes the position, then opens the rest (short 5) at
the fill price. Unrealised P&L is the open quantity marked at a price: position x mark - basis
(FIFO: the sum over the open lots). Realised P&L is gross; fees are the account's (account.py),
and `net = realised - fees`.

Memory: FIFO keeps one lot per opening fill still open, so it is bounded by the fills that built
the current position; average cost keeps two numbers per symbol.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal, localcontext
from enum import Enum

from peak_trade.execution.broker.account import MONEY
from peak_trade.execution.broker.model import ZERO, Side

PNL_METHODS = ("fifo", "average_cost")


class PnlMethod(Enum):
    FIFO = "fifo"
    AVERAGE_COST = "average_cost"


class PnlLedger:
    """Realised P&L per symbol and what is needed to value the open position."""

    __slots__ = ("_basis", "_lots", "_qty", "method", "realised")

    def __init__(self, method: PnlMethod = PnlMethod.FIFO) -> None:
        self.method = method
        self.realised: dict[str, Decimal] = {}
        self._lots: dict[str, deque[tuple[Decimal, Decimal]]] = {}  # FIFO: (signed qty, price)
        self._qty: dict[str, Decimal] = {}  # signed open quantity
        self._basis: dict[str, Decimal] = {}  # average cost: signed cost of the open quantity

    def on_fill(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        """Apply one fill; returns the P&L it realised (0 for an opening fill)."""
        signed = qty if side is Side.BUY else -qty
        with localcontext(MONEY):
            if self.method is PnlMethod.FIFO:
                realised = self._fifo(symbol, signed, price)
            else:
                realised = self._average(symbol, signed, price)
            self._qty[symbol] = self._qty.get(symbol, ZERO) + signed
            self.realised[symbol] = self.realised.get(symbol, ZERO) + realised
        return realised

    def _fifo(self, symbol: str, signed: Decimal, price: Decimal) -> Decimal:
        lots = self._lots.setdefault(symbol, deque())
        realised = ZERO
        remaining = signed
        while remaining and lots and (lots[0][0] > 0) != (remaining > 0):  # bounded by the lots
            lot_qty, lot_px = lots[0]
            closed = min(abs(remaining), abs(lot_qty))
            direction = 1 if lot_qty > 0 else -1  # a long lot gains when the exit is higher
            realised += direction * closed * (price - lot_px)
            left = lot_qty - direction * closed
            if left:
                lots[0] = (left, lot_px)
            else:
                lots.popleft()
            remaining += direction * closed
        if remaining:
            lots.append((remaining, price))
        return realised

    def _average(self, symbol: str, signed: Decimal, price: Decimal) -> Decimal:
        held = self._qty.get(symbol, ZERO)
        basis = self._basis.get(symbol, ZERO)
        if held == ZERO or (held > 0) == (signed > 0):
            self._basis[symbol] = basis + signed * price
            return ZERO
        closed = min(abs(signed), abs(held))
        direction = 1 if held > 0 else -1
        removed = basis if closed == abs(held) else basis * closed / abs(held)
        realised = direction * closed * price - removed
        opened = signed + direction * closed  # what is left of the fill after the close
        self._basis[symbol] = basis - removed + opened * price
        return realised

    def position(self, symbol: str) -> Decimal:
        return self._qty.get(symbol, ZERO)

    def symbols(self) -> list[str]:
        return sorted(self._qty.keys() | self.realised.keys())

    def unrealised(self, symbol: str, mark: Decimal) -> Decimal:
        with localcontext(MONEY):
            if self.method is PnlMethod.FIFO:
                return sum(
                    (q * (mark - px) for q, px in self._lots.get(symbol, ())), ZERO
                )  # bounded by the open lots
            return self._qty.get(symbol, ZERO) * mark - self._basis.get(symbol, ZERO)

    def total_realised(self) -> Decimal:
        with localcontext(MONEY):
            return sum(self.realised.values(), ZERO)

    def total_unrealised(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Unrealised P&L over every open position; a symbol without a mark counts as zero
        (callers pass the last fill price as the fallback mark, so one always exists)."""
        with localcontext(MONEY):
            return sum(
                (
                    self.unrealised(s, marks[s])
                    for s, q in self._qty.items()
                    if q != ZERO and s in marks
                ),
                ZERO,
            )
