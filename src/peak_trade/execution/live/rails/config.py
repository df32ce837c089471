"""The pre-trade rails' limits: `config.rails` read strictly, validated, and written back.

`RailsConfig.from_mapping` reads the plain data users write (YAML/JSON `config.rails`); every
problem is a `RailsConfigError` whose message starts with a JSON pointer to the value. A misspelt
key, a null, a float or a boolean where a number belongs is refused, never ignored: a safety limit
that is silently dropped is a rail turned off. Direct construction is validated the same way, so an
unusable config never exists. `to_payload` writes the config back in its plain-data shape, decimals
as strings, for the audit. The rails that apply these limits are in rules.py.
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
    "market_protection_pct",
    "max_realised_loss",
    "max_drawdown",
)
# Limits one strategy may have of its own (config.rails.per_strategy.<name>), RTS 6 Art. 15(5).
STRATEGY_LIMIT_KEYS = ("max_order_qty", "max_order_notional", "max_position", "max_open_orders")
KILL_SWITCH_MODES = ("block", "reduce_only")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
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
    # issue-12 controls (docs/controls.md)
    "unbounded",
    "credit_limit",
    "max_realised_loss",
    "max_drawdown",
    "duplicate_orders",
    "max_messages_per_step",
    "max_messages_per_window",
    "price_move_limit",
    "market_protection_pct",
    "max_fills_per_window",
    "require_strategy",
    "per_strategy",
    "kill_switch_mode",
    "cancel_on_breach",
)
_WINDOW_KEYS = ("count", "steps")
_MOVE_KEYS = ("pct", "steps")
_FILLS_KEYS = ("fills", "steps")
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


def _optional_keys(value: object, pointer: str, names: tuple[str, ...]) -> Mapping[str, object]:
    """A mapping whose keys are all optional (e.g. credit_limit: {} or {threshold: ..})."""
    if not isinstance(value, Mapping):
        raise RailsConfigError(
            pointer, f"must be a mapping (keys: {', '.join(names)}), got {_shown(value)}"
        )
    unknown = sorted(str(k) for k in value if k not in names)
    if unknown:
        raise RailsConfigError(
            f"{pointer}/{_escape(unknown[0])}", f"unknown key; the keys are {', '.join(names)}"
        )
    for key, item in value.items():
        if item is None:
            raise RailsConfigError(f"{pointer}/{_escape(key)}", "has no value (null)")
    return value


def _strategies(value: object) -> Mapping[str, Mapping[str, object]]:
    """per_strategy: {name: {limit: value}}, each limit one of STRATEGY_LIMIT_KEYS."""
    if not isinstance(value, Mapping):
        raise RailsConfigError(
            "/per_strategy", f"must be a mapping of strategy to limits, got {_shown(value)}"
        )
    checked: dict[str, Mapping[str, object]] = {}
    for name, limits in value.items():
        pointer = f"/per_strategy/{_escape(name)}"
        if not (isinstance(name, str) and _TAG.fullmatch(name)):
            raise RailsConfigError(
                pointer, f"a strategy name is 1-64 letters, digits or . _ : -, got {_shown(name)}"
            )
        given = _optional_keys(limits, pointer, STRATEGY_LIMIT_KEYS)
        if not given:
            raise RailsConfigError(
                pointer, f"give at least one of {', '.join(STRATEGY_LIMIT_KEYS)}"
            )
        parsed: dict[str, object] = {}
        for key, item in given.items():
            if key == "max_open_orders":
                parsed[key] = _whole(item, f"{pointer}/{key}", 1)
            else:
                parsed[key] = _positive_decimal(item, f"{pointer}/{key}")
        checked[name] = MappingProxyType(parsed)
    return MappingProxyType(checked)


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
    # --- the issue-12 controls (docs/controls.md): each None/False/empty leaves it off -----------
    unbounded: bool = False  # declared: no order size limits (preflight rails_bounded)
    credit_limit: bool = False  # worst-case cost of open + in-flight + this <= buying power
    credit_threshold: Decimal | None = None  # a pre-set credit threshold (the lower binds)
    max_realised_loss: Decimal | None = None  # realised P&L - fees below -this: kill switch
    max_drawdown: Decimal | None = None  # peak-to-now fall of total P&L above this: kill switch
    duplicate_orders_steps: int | None = None  # same symbol/side/qty/price within K steps
    max_messages_per_step: int | None = None  # submits + amends + cancels
    max_messages_per_window: tuple[int, int] | None = None  # (count, window_steps)
    price_move_limit: tuple[Decimal, int] | None = None  # (pct, steps): reference move over K
    market_protection_pct: Decimal | None = None  # a market order becomes a protected limit
    max_fills_per_window: tuple[int, int] | None = None  # (fills, steps) per symbol: kill switch
    require_strategy: bool = False  # every order carries a strategy tag
    per_strategy: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    kill_switch_mode: str = "block"  # for automatic engagements: block or reduce_only
    cancel_on_breach: bool = True  # ERROR_REQUIRES_OPERATOR cancels every resting order

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
        for name in ("max_orders_per_step", "max_open_orders", "max_messages_per_step"):
            value = getattr(self, name)
            if value is not None:
                _whole(value, f"/{name}", 1)
        if self.duplicate_orders_steps is not None:
            _whole(self.duplicate_orders_steps, "/duplicate_orders/window_steps", 1)
        if self.credit_threshold is not None:
            put(
                "credit_threshold",
                _positive_decimal(self.credit_threshold, "/credit_limit/threshold"),
            )
        for name in ("unbounded", "credit_limit", "require_strategy", "cancel_on_breach"):
            if not isinstance(getattr(self, name), bool):
                raise RailsConfigError(
                    f"/{name}", f"must be true or false, got {_shown(getattr(self, name))}"
                )
        if self.kill_switch_mode not in KILL_SWITCH_MODES:
            raise RailsConfigError(
                "/kill_switch_mode",
                f"must be one of {', '.join(KILL_SWITCH_MODES)}, "
                f"got {_shown(self.kill_switch_mode)}",
            )
        if self.price_move_limit is not None:
            move = self.price_move_limit
            if not (isinstance(move, tuple) and len(move) == 2):
                raise RailsConfigError(
                    "/price_move_limit", f"must be a pair (pct, steps), got {_shown(move)}"
                )
            put(
                "price_move_limit",
                (
                    _positive_decimal(move[0], "/price_move_limit/pct"),
                    _whole(move[1], "/price_move_limit/steps", 1),
                ),
            )
        put("per_strategy", _strategies(self.per_strategy))
        for name, pointer, keys in (
            ("max_orders_per_window", "/max_orders_per_window", _WINDOW_KEYS),
            ("kill_switch_rejections", "/kill_switch", _KILL_SWITCH_KEYS),
            ("max_messages_per_window", "/max_messages_per_window", _WINDOW_KEYS),
            ("max_fills_per_window", "/max_fills_per_window", _FILLS_KEYS),
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
        paired = (
            "max_orders_per_window",
            "kill_switch",
            "max_messages_per_window",
            "max_fills_per_window",
            "price_move_limit",
            "credit_limit",
            "duplicate_orders",
        )
        kwargs: dict[str, object] = {k: v for k, v in data.items() if k not in paired}
        for key, keys in (
            ("max_orders_per_window", _WINDOW_KEYS),
            ("max_messages_per_window", _WINDOW_KEYS),
            ("max_fills_per_window", _FILLS_KEYS),
            ("price_move_limit", _MOVE_KEYS),
        ):
            if key in data:
                kwargs[key] = _pair(data[key], f"/{key}", keys)
        if "credit_limit" in data:
            credit = _optional_keys(data["credit_limit"], "/credit_limit", ("threshold",))
            kwargs["credit_limit"] = True
            if "threshold" in credit:
                kwargs["credit_threshold"] = credit["threshold"]
        if "duplicate_orders" in data:
            given = _optional_keys(data["duplicate_orders"], "/duplicate_orders", ("window_steps",))
            if "window_steps" not in given:
                raise RailsConfigError("/duplicate_orders/window_steps", "required")
            kwargs["duplicate_orders_steps"] = given["window_steps"]
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
        # The issue-12 controls, each only when on, in the plain-data shape users write.
        if self.unbounded:
            payload["unbounded"] = True
        if self.credit_limit:
            payload["credit_limit"] = (
                {} if self.credit_threshold is None else {"threshold": str(self.credit_threshold)}
            )
        if self.duplicate_orders_steps is not None:
            payload["duplicate_orders"] = {"window_steps": self.duplicate_orders_steps}
        if self.max_messages_per_step is not None:
            payload["max_messages_per_step"] = self.max_messages_per_step
        for name, keys in (
            ("max_messages_per_window", _WINDOW_KEYS),
            ("max_fills_per_window", _FILLS_KEYS),
        ):
            value = getattr(self, name)
            if value is not None:
                payload[name] = dict(zip(keys, value, strict=True))
        if self.price_move_limit is not None:
            pct, steps = self.price_move_limit
            payload["price_move_limit"] = {"pct": str(pct), "steps": steps}
        if self.require_strategy:
            payload["require_strategy"] = True
        if self.per_strategy:
            payload["per_strategy"] = {
                name: {k: v if isinstance(v, int) else str(v) for k, v in limits.items()}
                for name, limits in sorted(self.per_strategy.items())
            }
        if self.kill_switch_mode != "block":
            payload["kill_switch_mode"] = self.kill_switch_mode
        if not self.cancel_on_breach:
            payload["cancel_on_breach"] = False
        return payload
