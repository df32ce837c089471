"""The pre-trade rails' limits: `config.rails` read strictly, validated, and written back.

`RailsConfig.from_mapping` reads the plain data users write (YAML/JSON `config.rails`); every
problem is a `RailsConfigError` whose message starts with a JSON pointer to the value. A misspelt
key, a null, a float or a boolean where a number belongs is refused, never ignored: a safety limit
that is silently dropped is a rail turned off. Direct construction is validated the same way, so an
unusable config never exists. `to_payload` writes the config back in its plain-data shape, decimals
as strings, for the audit. The rails that apply these limits are in rails.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from peak_trade.execution.broker.model import ZERO

# The same shape as checks.SYMBOL_PATTERN and the schema's $defs/symbol; kept here so that checks
# may import rails_config without an import cycle. A malformed symbol (say "gme") in the restricted
# list would never match an order and silently restrict nothing, so it is refused.
_SYMBOL = re.compile(r"[A-Z0-9][A-Z0-9._/:-]{0,31}")
# The schema's $defs/decimal: no exponent, no whitespace, no leading zeros (YAML reads 010 as 8).
_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")

_DECIMAL_FIELDS = (
    "max_order_qty",
    "max_order_notional",
    "price_collar_pct",
    "max_position",
    "max_gross_exposure",
)
_CONFIG_KEYS = (
    "restricted",
    *_DECIMAL_FIELDS,
    "max_reference_age_steps",
    "max_orders_per_step",
    "max_orders_per_window",
    "max_open_orders",
    "self_trade_prevention",
    "kill_switch",
    "reference_prices",
)
_WINDOW_KEYS = ("count", "steps")
_KILL_SWITCH_KEYS = ("rejections", "window_steps")


class RailsConfigError(ValueError):
    """A rails config that cannot be used. The message starts with a JSON pointer into the plain
    `config.rails` mapping (e.g. "/max_order_qty"); `pointer` holds it alone so that the caller can
    prefix its own path ("/config/rails" + pointer). The rails mapping itself has pointer ""."""

    def __init__(self, pointer: str, problem: str) -> None:
        self.pointer = pointer
        self.problem = problem
        super().__init__(f"{pointer}: {problem}" if pointer else problem)


def _escape(key: object) -> str:
    # RFC 6901: "~" and "/" inside a key are written "~0" and "~1" (so BTC/USD is BTC~1USD).
    return str(key).replace("~", "~0").replace("/", "~1")


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool | float):
        return f"the {type(value).__name__} {value!r}"
    if isinstance(value, int | Decimal):
        return f"'{value}'"
    return f"a {type(value).__name__}"


def _positive_decimal(value: object, pointer: str) -> Decimal:
    what = "must be a positive decimal"
    if isinstance(value, bool):  # bool is an int subclass: True would read as 1
        raise RailsConfigError(pointer, f"{what}, got {_shown(value)}")
    if isinstance(value, float):
        raise RailsConfigError(
            pointer,
            f"{what}, got {_shown(value)}: a binary float cannot hold money exactly; "
            f'write it as a string such as "{value!r}"',
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) or (isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value)):
        number = Decimal(value)
    else:
        raise RailsConfigError(pointer, f'{what} such as "100" or "0.5", got {_shown(value)}')
    if not number.is_finite() or number <= ZERO:
        raise RailsConfigError(pointer, f"{what}, got {_shown(value)}")
    return number


def _whole(value: object, pointer: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):  # 5.0 and True are not counts
        shown = _shown(value) if isinstance(value, bool | float) or value is None else None
        shown = shown or f"the {type(value).__name__} {str(value)!r}"
        raise RailsConfigError(pointer, f"must be a whole number >= {minimum}, got {shown}")
    if value < minimum:
        raise RailsConfigError(pointer, f"must be a whole number >= {minimum}, got {value}")
    return value


def _symbol(value: object, pointer: str) -> str:
    if not (isinstance(value, str) and _SYMBOL.fullmatch(value)):
        raise RailsConfigError(
            pointer,
            f"must be a symbol (1-32 upper-case letters, digits or . _ / : -), got {_shown(value)}",
        )
    return value


def _symbols(value: object, pointer: str) -> frozenset[str]:
    # A bare string would become a set of its letters: "GME" must not restrict G, M and E.
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise RailsConfigError(pointer, f"must be a list of symbols, got {_shown(value)}")
    if isinstance(value, list | tuple):
        return frozenset(_symbol(s, f"{pointer}/{i}") for i, s in enumerate(value))
    return frozenset(_symbol(s, pointer) for s in value)


def _pair(value: object, pointer: str, names: tuple[str, str]) -> tuple[object, object]:
    """A {first: .., second: ..} mapping as a tuple; both keys required, no others."""
    if not isinstance(value, Mapping):
        raise RailsConfigError(
            pointer, f"must be a mapping with keys {' and '.join(names)}, got {_shown(value)}"
        )
    unknown = sorted(str(k) for k in value if k not in names)
    if unknown:
        raise RailsConfigError(
            f"{pointer}/{_escape(unknown[0])}",
            f"unknown key; the keys are {' and '.join(names)}",
        )
    for name in names:
        if name not in value:
            raise RailsConfigError(f"{pointer}/{name}", "required")
    return value[names[0]], value[names[1]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RailsConfig:
    """The limits. None leaves a rail off; kill switch, allowlist, restricted list and duplicate
    ids always apply. Values are validated on construction (direct or via `from_mapping`), and
    decimals given as str or int are converted, so an unusable config never exists."""

    restricted: frozenset[str] = frozenset()
    max_order_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    price_collar_pct: Decimal | None = None  # |limit - ref| / ref * 100 <= pct
    # A reference older than this many steps is stale; None sets no age bound.
    max_reference_age_steps: int | None = None
    max_position: Decimal | None = None  # per symbol, worst case incl. open orders and this one
    max_gross_exposure: Decimal | None = None  # positions + open orders + this order, valued
    max_orders_per_step: int | None = None
    max_orders_per_window: tuple[int, int] | None = None  # (count, window_steps)
    max_open_orders: int | None = None
    self_trade_prevention: bool = True
    kill_switch_rejections: tuple[int, int] | None = None  # (N rejections, window_steps)
    reference_prices: Mapping[str, Decimal] = field(default_factory=dict)  # as of step 0

    def __post_init__(self) -> None:
        # Pointers name the plain-data shape users write, e.g. /kill_switch/rejections.
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)  # frozen: normalising needs the raw setter

        put("restricted", _symbols(self.restricted, "/restricted"))
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                put(name, _positive_decimal(value, f"/{name}"))
        if self.max_reference_age_steps is not None:
            _whole(self.max_reference_age_steps, "/max_reference_age_steps", 0)
        for name in ("max_orders_per_step", "max_open_orders"):
            value = getattr(self, name)
            if value is not None:
                _whole(value, f"/{name}", 1)
        for name, pointer, keys in (
            ("max_orders_per_window", "/max_orders_per_window", _WINDOW_KEYS),
            ("kill_switch_rejections", "/kill_switch", _KILL_SWITCH_KEYS),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not (isinstance(value, tuple) and len(value) == 2):
                raise RailsConfigError(
                    pointer, f"must be a pair ({', '.join(keys)}), got {_shown(value)}"
                )
            put(
                name,
                (
                    _whole(value[0], f"{pointer}/{keys[0]}", 1),
                    _whole(value[1], f"{pointer}/{keys[1]}", 1),
                ),
            )
        if not isinstance(self.self_trade_prevention, bool):
            raise RailsConfigError(
                "/self_trade_prevention",
                f"must be true or false, got {_shown(self.self_trade_prevention)}",
            )
        prices = self.reference_prices
        if not isinstance(prices, Mapping):
            raise RailsConfigError(
                "/reference_prices", f"must be a mapping of symbol to price, got {_shown(prices)}"
            )
        checked = {}
        for symbol, price in prices.items():
            pointer = f"/reference_prices/{_escape(symbol)}"
            checked[_symbol(symbol, pointer)] = _positive_decimal(price, pointer)
        put("reference_prices", MappingProxyType(checked))  # read-only: the config is frozen

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> RailsConfig:
        """The config from plain data (YAML/JSON `config.rails`). Strict: an unknown key, a null,
        a float or a boolean where a number belongs is a RailsConfigError, never ignored."""
        if not isinstance(data, Mapping):
            raise RailsConfigError("", f"the rails config must be a mapping, got {_shown(data)}")
        unknown = sorted(str(k) for k in data if k not in _CONFIG_KEYS)
        if unknown:
            also = f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else ""
            raise RailsConfigError(
                f"/{_escape(unknown[0])}",
                f"unknown key{also}; a misspelt safety limit is never ignored. "
                f"Known keys: {', '.join(_CONFIG_KEYS)}",
            )
        for key, value in data.items():
            if value is None:  # `max_order_qty:` with the value forgotten must not turn a rail off
                raise RailsConfigError(
                    f"/{_escape(key)}", "has no value (null); omit the key to leave the rail off"
                )
        kwargs: dict[str, object] = {
            k: v for k, v in data.items() if k not in ("max_orders_per_window", "kill_switch")
        }
        if "max_orders_per_window" in data:
            kwargs["max_orders_per_window"] = _pair(
                data["max_orders_per_window"], "/max_orders_per_window", _WINDOW_KEYS
            )
        if "kill_switch" in data:
            kwargs["kill_switch_rejections"] = _pair(
                data["kill_switch"], "/kill_switch", _KILL_SWITCH_KEYS
            )
        return cls(**kwargs)  # type: ignore[arg-type]  # values are validated by __post_init__

    def to_payload(self) -> dict[str, object]:
        """The config in its plain-data shape, decimals as strings (for the audit)."""
        payload: dict[str, object] = {"restricted": sorted(self.restricted)}
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                payload[name] = str(value)
        for name in ("max_reference_age_steps", "max_orders_per_step", "max_open_orders"):
            if getattr(self, name) is not None:
                payload[name] = getattr(self, name)
        if self.max_orders_per_window is not None:
            count, steps = self.max_orders_per_window
            payload["max_orders_per_window"] = {"count": count, "steps": steps}
        payload["self_trade_prevention"] = self.self_trade_prevention
        if self.kill_switch_rejections is not None:
            rejections, window = self.kill_switch_rejections
            payload["kill_switch"] = {"rejections": rejections, "window_steps": window}
        payload["reference_prices"] = {s: str(p) for s, p in sorted(self.reference_prices.items())}
        return payload
