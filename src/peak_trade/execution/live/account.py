"""The session's own view of the account, kept from the fills it applied, never from the broker.

At preflight the session reads the broker's account statement once (currency, starting cash,
margin rule, fee schedule: the terms); from then on it books every trade report it applies:
cash moves by the fill's cash flow and fee (broker/account.py), P&L by the configured method
(pnl.py). The broker keeps its own account from the fills it executed. The reconciler compares
the two cash balances each reconciliation like positions (a silent fill, a lost report or a fee
the session did not expect shows up as a `cash_mismatch`), and the runtime invariant
`account_not_negative` breaches when the session's own cash (cash account) or buying power
(margin account) is below zero, naming the values.

Marks for buying power and unrealised P&L: the session's reference price for a symbol, else the
price of its last fill. Without broker terms (the broker keeps no account) the view still keeps
P&L (the loss-limit rails need it), but no cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from peak_trade.execution.broker.account import MONEY, AccountSpec, buying_power, cash_delta
from peak_trade.execution.broker.model import ZERO, Side
from peak_trade.execution.live.pnl import PnlLedger, PnlMethod


@dataclass(frozen=True, slots=True, kw_only=True)
class FillBooking:
    """What one applied fill did to the account (the `fill_booked` audit record)."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal | None  # None without broker terms
    cash_delta: Decimal | None
    cash: Decimal | None
    realised_pnl: Decimal

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "price": str(self.price),
        }
        if self.cash is not None:
            payload["fee"] = str(self.fee)
            payload["cash_delta"] = str(self.cash_delta)
            payload["cash"] = str(self.cash)
        payload["realised_pnl"] = str(self.realised_pnl)
        return payload


class SessionAccount:
    __slots__ = ("_accepted_floor", "_last_px", "cash", "fees_paid", "ledger", "terms")

    def __init__(self, terms: AccountSpec | None, method: PnlMethod = PnlMethod.FIFO) -> None:
        self.terms = terms
        self.cash: Decimal | None = None if terms is None else terms.cash
        self.fees_paid = ZERO
        self.ledger = PnlLedger(method)
        self._last_px: dict[str, Decimal] = {}
        # The balance an operator acknowledged while it was below zero: it breaches again only
        # when it falls further (else a stop after the acknowledgement could never drain).
        self._accepted_floor: Decimal | None = None

    @property
    def currency(self) -> str | None:
        return None if self.terms is None else self.terms.currency

    def book_fill(
        self, client_order_id: str, symbol: str, side: Side, qty: Decimal, price: Decimal
    ) -> FillBooking:
        realised = self.ledger.on_fill(symbol, side, qty, price)
        self._last_px[symbol] = price
        fee = delta = None
        if self.terms is not None and self.cash is not None:
            fee = self.terms.fees.fee(qty, price)
            delta = cash_delta(side, qty, price, fee)
            with localcontext(MONEY):
                self.cash += delta
                self.fees_paid += fee
        return FillBooking(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            qty=qty,
            price=price,
            fee=fee,
            cash_delta=delta,
            cash=self.cash,
            realised_pnl=realised,
        )

    def marks(self, references: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The price each symbol is valued at: the reference, else the last fill price."""
        return {**self._last_px, **references}

    def buying_power(
        self, positions: Mapping[str, Decimal], references: Mapping[str, Decimal]
    ) -> Decimal | None:
        if self.terms is None or self.cash is None:
            return None
        return buying_power(self.cash, positions, self.marks(references), self.terms.leverage)

    def problem(
        self, positions: Mapping[str, Decimal], references: Mapping[str, Decimal]
    ) -> str | None:
        """Why the account breaks "no negative balance", naming the values; None when it holds."""
        if self.terms is None or self.cash is None:
            return None
        currency = self.terms.currency
        floor = self._accepted_floor
        if self.terms.leverage is None:
            if self.cash >= ZERO or (floor is not None and self.cash >= floor):
                return None
            return (
                f"cash {self.cash} {currency} is below zero in a cash account (starting cash "
                f"{self.terms.cash}, fees paid {self.fees_paid}): the fills cost more than the "
                "account held"
            )
        power = self.buying_power(positions, references)
        if power is None or power >= ZERO or (floor is not None and power >= floor):
            return None
        return (
            f"buying power {power} {currency} is below zero (cash {self.cash}, leverage "
            f"{self.terms.leverage}, fees paid {self.fees_paid}): the positions need more "
            "margin than the account has"
        )

    def accept_deficit(
        self, positions: Mapping[str, Decimal], references: Mapping[str, Decimal]
    ) -> dict[str, object] | None:
        """An operator acknowledged the session's error: a balance below zero now is theirs; only
        a further fall breaches again. Returns what was accepted (for the audit), or None."""
        if self.terms is None or self.cash is None:
            return None
        margin = self.terms.leverage is not None
        value = self.buying_power(positions, references) if margin else self.cash
        if value is None or value >= ZERO:
            return None
        self._accepted_floor = value
        return {
            "measure": "buying_power" if margin else "cash",
            "accepted": str(value),
            "currency": self.terms.currency,
            "detail": f"the operator accepted {'buying power' if margin else 'cash'} {value} "
            f"{self.terms.currency}; only a further fall breaches account_not_negative again",
        }

    def pnl(self, references: Mapping[str, Decimal]) -> tuple[Decimal, Decimal, Decimal]:
        """(realised, unrealised, fees) over the session."""
        ledger = self.ledger
        return (
            ledger.total_realised(),
            ledger.total_unrealised(self.marks(references)),
            self.fees_paid,
        )

    def to_payload(
        self, positions: Mapping[str, Decimal], references: Mapping[str, Decimal]
    ) -> dict[str, object]:
        """The account for the session summary: cash, buying power, fees, P&L per symbol."""
        marks = self.marks(references)
        ledger = self.ledger
        realised, unrealised, fees = self.pnl(references)
        payload: dict[str, object] = {"pnl_method": ledger.method.value}
        if self.terms is not None:
            payload["currency"] = self.terms.currency
            payload["cash"] = str(self.cash)
            payload["buying_power"] = str(self.buying_power(positions, references))
            payload["fees_paid"] = str(fees)
        payload["realised_pnl"] = {s: str(ledger.realised.get(s, ZERO)) for s in ledger.symbols()}
        payload["unrealised_pnl"] = {
            s: str(ledger.unrealised(s, marks[s])) for s in ledger.symbols() if s in marks
        }
        with localcontext(MONEY):
            payload["total_pnl"] = {
                "realised": str(realised),
                "unrealised": str(unrealised),
                "fees": str(fees),
                "net": str(realised + unrealised - fees),
            }
        return payload
