"""The account a broker keeps: currency, cash, an optional margin rule and fees per fill, as data.

Plain-data shape (a scenario's `broker.account`; only `currency` and `cash` are required):

    account:
      currency: USD
      cash: "100000"                 # starting cash, >= 0
      margin: {leverage: "2"}        # optional: a margin account (see `buying_power`)
      fees:                          # optional: what one fill costs, all parts added
        per_fill: "1.00"             # a fixed amount per fill
        per_unit: "0.005"            # per unit of quantity filled
        bps: "0.5"                   # basis points of the fill's notional (qty x price)
        min_per_fill: "1.00"         # the least one fill costs

Cash moves with every fill: a buy pays qty x price, a sell receives it, and every fill pays its
fee. Arithmetic is exact Decimal (no rounding anywhere): a fee of 0.5 bps on 10 x 190.10 is
0.09505, exactly.

Buying power (the credit rail's "available funds", SEC 15c3-5 (c)(1)(i)):
- a cash account (no `margin`): the cash itself. Cash may never go negative.
- a margin account with leverage L: equity x L - gross position value, where equity is cash plus
  the signed positions at their marks and the gross value is the absolute positions at their
  marks. With nothing held it is cash x L; it may never go below zero (cash may: that is the loan).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext

from peak_trade.execution.broker.model import ZERO, Side

_CURRENCY_LENGTH = 3
# Money arithmetic in a fixed, wide context whatever the caller's: 100 digits hold every realistic
# sum and product exactly, so nothing here rounds in practice.
MONEY = Context(prec=100, rounding=ROUND_HALF_EVEN)


class AccountSpecError(ValueError):
    """A malformed account spec; the message starts with the JSON pointer of the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeSchedule:
    """What one fill costs: per_fill + per_unit x qty + bps/10000 x qty x price, at least
    min_per_fill. All parts default to zero (no fees)."""

    per_fill: Decimal = ZERO
    per_unit: Decimal = ZERO
    bps: Decimal = ZERO
    min_per_fill: Decimal = ZERO

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        with localcontext(MONEY):
            charged = self.per_fill + self.per_unit * qty + self.bps * qty * price / 10_000
            return max(charged, self.min_per_fill)

    @property
    def free(self) -> bool:
        return not (self.per_fill or self.per_unit or self.bps or self.min_per_fill)

    def to_payload(self) -> dict[str, object]:
        return {
            "per_fill": str(self.per_fill),
            "per_unit": str(self.per_unit),
            "bps": str(self.bps),
            "min_per_fill": str(self.min_per_fill),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSpec:
    """The account's terms as configured: currency, starting cash, margin rule, fee schedule."""

    currency: str
    cash: Decimal
    leverage: Decimal | None = None  # None: a cash account
    fees: FeeSchedule = field(default_factory=FeeSchedule)

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {"currency": self.currency, "cash": str(self.cash)}
        if self.leverage is not None:
            payload["margin"] = {"leverage": str(self.leverage)}
        payload["fees"] = self.fees.to_payload()
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountStatement:
    """The broker's statement of the account at one step (part of its snapshot)."""

    terms: AccountSpec  # the starting terms, so that a session can keep its own view
    cash: Decimal
    buying_power: Decimal
    fees_paid: Decimal

    @property
    def currency(self) -> str:
        return self.terms.currency

    def to_payload(self) -> dict[str, object]:
        return {
            "currency": self.currency,
            "cash": str(self.cash),
            "buying_power": str(self.buying_power),
            "fees_paid": str(self.fees_paid),
            "terms": self.terms.to_payload(),
        }


def cash_delta(side: Side, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
    """How a fill moves cash: a buy pays qty x price, a sell receives it; the fee is always paid."""
    with localcontext(MONEY):
        notional = qty * price
        return (-notional if side is Side.BUY else notional) - fee


def buying_power(
    cash: Decimal,
    positions: Mapping[str, Decimal],
    marks: Mapping[str, Decimal],
    leverage: Decimal | None,
) -> Decimal:
    """Cash for a cash account; equity x leverage - gross position value for a margin account.
    A position without a mark is valued at zero here; callers pass a mark for every held symbol."""
    if leverage is None:
        return cash
    with localcontext(MONEY):
        equity = cash
        gross = ZERO
        for symbol, qty in positions.items():  # bounded by the symbols held
            if qty == ZERO:
                continue
            mark = marks.get(symbol, ZERO)
            equity += qty * mark
            gross += abs(qty) * mark
        return equity * leverage - gross


# ----------------------------------------------------------------------------- parsing

_KEYS = ("currency", "cash", "margin", "fees")
_FEE_KEYS = ("per_fill", "per_unit", "bps", "min_per_fill")


def _fail(path: str, problem: str) -> AccountSpecError:
    return AccountSpecError(f"{path}: {problem}")


def _decimal(value: object, path: str, *, positive: bool) -> Decimal:
    what = "a positive decimal" if positive else "a decimal >= 0"
    if isinstance(value, float):
        raise _fail(path, f"must be {what} written as a string, got float {value!r}")
    parsed = None
    if isinstance(value, Decimal | str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            parsed = None
    if parsed is None or not parsed.is_finite() or parsed < ZERO or (positive and parsed == ZERO):
        raise _fail(path, f"must be {what}, got {value!r}")
    return parsed


def _mapping(value: object, path: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"must be a mapping, got {value!r}")
    for key in value:
        if key not in keys:
            raise _fail(f"{path}/{key}", f"unknown key (expected one of {', '.join(keys)})")
    return value


def parse_account_spec(data: object, path: str = "/account") -> AccountSpec:
    """An `AccountSpec` from plain data; AccountSpecError names the first bad value."""
    data = _mapping(data, path, _KEYS)
    for key in ("currency", "cash"):
        if key not in data:
            raise _fail(f"{path}/{key}", "required")
    currency = data["currency"]
    if not (isinstance(currency, str) and len(currency) == _CURRENCY_LENGTH and currency.isupper()):
        raise _fail(
            f"{path}/currency",
            f"must be a three-letter ISO 4217 code such as USD, got {currency!r}",
        )
    if not currency.isascii() or not currency.isalpha():
        raise _fail(f"{path}/currency", f"must be three letters A-Z, got {currency!r}")
    cash = _decimal(data["cash"], f"{path}/cash", positive=False)
    leverage = None
    if "margin" in data:
        margin = _mapping(data["margin"], f"{path}/margin", ("leverage",))
        if "leverage" not in margin:
            raise _fail(f"{path}/margin/leverage", "required")
        leverage = _decimal(margin["leverage"], f"{path}/margin/leverage", positive=True)
        if leverage < 1:
            raise _fail(f"{path}/margin/leverage", f"must be at least 1, got {leverage}")
    fees = FeeSchedule()
    if "fees" in data:
        given = _mapping(data["fees"], f"{path}/fees", _FEE_KEYS)
        fees = FeeSchedule(
            **{k: _decimal(v, f"{path}/fees/{k}", positive=False) for k, v in given.items()}
        )
    return AccountSpec(currency=currency, cash=cash, leverage=leverage, fees=fees)


class BrokerAccount:
    """The mock broker's running account: cash and fees move with every fill it executes
    (silent fills and unsolicited trades included: the broker did trade)."""

    __slots__ = ("_cash", "_fees_paid", "_marks", "spec")

    def __init__(self, spec: AccountSpec) -> None:
        self.spec = spec
        self._cash = spec.cash
        self._fees_paid = ZERO
        self._marks: dict[str, Decimal] = {}  # last fill price per symbol

    def book_fill(self, symbol: str, side: Side, qty: Decimal, price: Decimal) -> None:
        fee = self.spec.fees.fee(qty, price)
        with localcontext(MONEY):
            self._cash += cash_delta(side, qty, price, fee)
            self._fees_paid += fee
        self._marks[symbol] = price

    def statement(
        self, positions: Mapping[str, Decimal], references: Mapping[str, Decimal]
    ) -> AccountStatement:
        """The account now; positions are marked at the last fill price, else the reference."""
        marks = {**references, **self._marks}
        return AccountStatement(
            terms=self.spec,
            cash=self._cash,
            buying_power=buying_power(self._cash, positions, marks, self.spec.leverage),
            fees_paid=self._fees_paid,
        )
