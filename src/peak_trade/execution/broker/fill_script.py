"""Fill scripts: what the mock broker does with each order, written as data.

A script is a sequence of actions the mock plays for one order, one action per step (see
`mock.py` for the timing). Which script an order gets: `by_order[client_order_id]`, else
`by_symbol[symbol]`, else `default` (ack, then fill everything).

Plain-data shape (a scenario embeds it under its `broker:` key; every key is optional):

    reference_prices: {AAPL: "190.10", MSFT: "410.00"}   # fill price of market orders
    default: [ack, fill]
    by_symbol:
      MSFT: [ack, {fill: {qty: "40", price: "410.5"}}, fill]
    by_order:
      o-2:
        actions: [{wait: 2}, {reject: insufficient margin}]
        on_cancel: reject             # accept (the default) | reject | ignore
      o-3: {actions: [ack, {fill: {qty: "10"}}], cancel_delay: 2}
      o-4: {fail_submit: connection reset}      # submit() raises BrokerError
      o-5: {on_cancel: ignore}                  # no `actions`: the default script's actions
      o-6: {actions: [ack, {silent_fill: {qty: "10"}}], on_replace: accept, replace_delay: 1}
    health:
      - {from_step: 3, steps: 2, detail: gateway down}   # detail is optional
    unsolicited_reports:                         # trades for orders the session never sent
      - {step: 3, client_order_id: ghost, symbol: AAPL, side: buy, qty: "10", price: "100"}
    position_drift:                              # the broker's positions disagree with the reports
      - {from_step: 4, symbol: AAPL, qty: "10"}  # qty is signed: "-10" drifts short
    restarts:                                    # gateway restarts that replay recent reports
      - {at_step: 5, replay_last: 1}
    account: {currency: USD, cash: "100000"}     # the broker's account (see account.py)

Actions. A bare name for an action without fields: `ack`, `fill` (all remaining leaves at the
default price), `duplicate`, `expire`, `silent_fill`. Otherwise a one-key mapping
`{name: fields}`; an action with exactly one field may give its value directly:
- `{ack: {}}`, `{duplicate: {}}`, `{expire: {}}` (same as the bare names)
- `{fill: {qty: "40", price: "410.5"}}`, both optional: no qty fills all remaining leaves; no price
  fills at the limit price of a limit order, else at the symbol's reference price
- `{silent_fill: {qty: "40", price: "410.5"}}`: the broker executes a fill exactly like `fill`
  (cum, avg price, positions and snapshot all move) but its report is lost: poll() returns nothing
  for it, and the exec id it used is missing from the sequence the session sees. The broker
  believes it sent the report, so a later `duplicate` or a restart replay may deliver it (with
  poss_resend), as a FIX gap fill would
- `{wait: 2}` or `{wait: {steps: 2}}`: nothing for 2 steps
- `{reject: "reason"}` or `{reject: {reason: ...}}`: reject the order
- `{cancel_unsolicited: "reason"}`: the broker cancels the order on its own
- FIX Appendix D: `{fill: {qty, price, label: C}}` names an execution; `{bust: C}` (Trade
  Cancel) and `{correct: {ref: C, qty, price, label}}` (Trade Correct) refer to one by its label
  and also play after the order closed (a busted FILLED order works again); `{late_fill: {qty,
  price}}` is an execution after the order closed (status stays closed); `{restate: {qty,
  limit_price, reason}}` is an unsolicited change by the sell side (Restated); `{guarantee:
  {qty, price}}` a guarantee of execution (Stopped: last qty / px set, cum unchanged)

A script is a list of actions, or a mapping with the keys `actions` (default: the default
script's actions), `on_cancel`, `cancel_delay` (steps between PENDING_CANCEL and CANCELED; only
with `on_cancel: accept`), `on_replace` (accept, the default | reject | ignore: how the broker
answers an amend), `replace_delay` (steps between PENDING_REPLACE and REPLACED; 0, the default,
is REPLACED in the step the request is answered; only with `on_replace: accept`) and
`fail_submit`. `on_cancel` / `on_replace` may also be `reject_after_pending` (pending at once,
rejected after the delay) or a list, one answer per request in the order received (the last
repeats). `latency: {to_broker: k, from_broker: k}` puts the order's messages in flight for k
steps each way (at the top level: the default for every order).

Faults that are not about one order sit at the top level:
- `unsolicited_reports`: at the poll of `step` (or the first poll after it) the broker also sends
  one trade report for an order the session never sent: a fully filled order of `qty` at `price`
  (exec_type trade, status filled, order_qty = cum_qty = last_qty = qty, leaves 0, exec id
  "ID:unsolicited:N"). The broker did execute it: its positions move. Each entry is its own order,
  so the ids must be distinct. Unless the id is already in use, the broker then remembers the
  order as filled: a cancel or amend of it is answered "order already filled", and a submit
  with that id is refused as a duplicate.
- `position_drift`: from `from_step` on, `snapshot()` positions of `symbol` are offset by `qty`
  (signed; several entries add up). Reports and open-order views are unaffected.
- `used_client_order_ids`: ids the broker saw before this session; a new order with one is
  rejected as a duplicate ClOrdID unless it is marked PossResend.
- `request_faults`: rate limits (with a retry-after in steps), timeouts (the request lost, or
  carried out with only its answer lost) and gateway-busy or permanent refusals of submit,
  cancel, replace and status requests, by order, by symbol, by step window or for every request:
  the adapter call raises (request_faults.py gives the shape and the exceptions).
- `restarts`: at the poll of `at_step` (or the first poll after it) the broker's gateway restarts:
  orders, positions and exec-id counters stay, and before anything else in that poll the broker
  re-sends its last `replay_last` reports (1..1000, across all orders, oldest first), each with its
  original exec id and poss_resend true. Resends (`duplicate`, earlier replays) do not count as
  reports here; a silent fill's lost report does. Only the most recent reports are remembered,
  as many as the largest `replay_last`.

Numbers: quantities and prices are decimals written as strings or integers ("190.10", 40);
a YAML float (`190.10` unquoted) is refused, it is already binary. Step counts are integers.
Order ids and symbols are strings: quote an id that YAML would read as a number.

Errors: `FillScriptError` (a `ValueError`) with one sentence that starts with the JSON pointer
(RFC 6901) of the offending value, e.g. "/by_order/o-1/2/fill/qty: must be a positive decimal,
got '-5'". Pass `path="/broker"` to prefix the pointer with where the data sits in a scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

from peak_trade.execution.broker.account import AccountSpec, AccountSpecError, parse_account_spec
from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.broker.request_faults import (
    RequestFault,
    RequestFaultError,
    parse_request_faults,
)


class FillScriptError(ValueError):
    """The broker spec is malformed; the message starts with the path of the offending value."""


# ----------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """Accept the order: an execution report with exec_type NEW."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """Execute `qty` (None: all remaining leaves) at `price` (None: the order's default price).
    `label` names the execution so that a later `bust` or `correct` can refer to it."""

    qty: Decimal | None = None
    price: Decimal | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SilentFill:
    """Execute like `Fill`, but lose the report: the broker's book moves, poll() shows nothing."""

    qty: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """Reject the order (closes it)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    """Send nothing for `steps` steps (e.g. "no ack for K steps")."""

    steps: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate:
    """Resend the order's previous report: same exec_id, poss_resend=True."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Expire:
    """Expire the order unsolicited (closes it; cum kept, leaves 0)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelUnsolicited:
    """Cancel the order without a request (closes it; cum kept, leaves 0)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bust:
    """Trade cancel (FIX ExecType Trade Cancel): the execution labelled `ref` never happened.
    Runs also after the order closed; cum, avg px and the position are recomputed."""

    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Correct:
    """Trade correct (FIX ExecType Trade Correct): the execution labelled `ref` is restated as
    `qty` at `price` (None keeps that value). Runs also after the order closed. `label` names the
    correction, which a later bust or correct may refer to in turn (FIX J.1.a H(F))."""

    ref: str
    qty: Decimal | None = None
    price: Decimal | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LateFill:
    """Fault: an execution reported after the order was canceled, expired or done for the day
    (FIX J.1.b row 8): status stays closed, cum rises, leaves stay 0. Only runs on a closed
    order; on a working one it is an ordinary fill."""

    qty: Decimal | None = None
    price: Decimal | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Restate:
    """Unsolicited restatement by the sell side (FIX ExecType Restated; E.1.c, E.1.d): the
    order's qty becomes `qty` (a reduction or an increase) and/or its limit price `limit_price`;
    leaves follow. `reason` is the ExecRestatementReason."""

    qty: Decimal | None = None
    limit_price: Decimal | None = None
    reason: str = "sell-side restatement"


@dataclass(frozen=True, slots=True, kw_only=True)
class Guarantee:
    """Guarantee of execution (FIX ExecType / OrdStatus Stopped; L.1.a): the broker guarantees
    `qty` at `price`. The report carries them in last_qty / last_px; cum does not move."""

    qty: Decimal
    price: Decimal


Action = (
    Ack
    | Fill
    | Reject
    | Wait
    | Duplicate
    | Expire
    | CancelUnsolicited
    | SilentFill
    | Bust
    | Correct
    | LateFill
    | Restate
    | Guarantee
)
# Actions a closed order still plays (the broker's corrections of what it reported): after an
# order closes, its script goes on while the next action is one of these.
AFTER_CLOSE = (Bust, Correct, LateFill, Wait)


class CancelBehaviour(Enum):
    """How the mock answers a cancel request for a working order."""

    ACCEPT = "accept"  # CANCELED, or PENDING_CANCEL then CANCELED after cancel_delay steps
    REJECT = "reject"  # CANCEL_REJECTED with the current status
    IGNORE = "ignore"  # no answer at all
    # PENDING_CANCEL at once, then CANCEL_REJECTED after cancel_delay steps (FIX B.1.a row 5 alt)
    REJECT_AFTER_PENDING = "reject_after_pending"


class ReplaceBehaviour(Enum):
    """How the mock answers an amend (cancel/replace) request for a working order."""

    ACCEPT = "accept"  # REPLACED, or PENDING_REPLACE then REPLACED after replace_delay steps
    REJECT = "reject"  # REPLACE_REJECTED with the current status
    IGNORE = "ignore"  # no answer at all
    # PENDING_REPLACE at once, then REPLACE_REJECTED after replace_delay steps (FIX D.1.c)
    REJECT_AFTER_PENDING = "reject_after_pending"


@dataclass(frozen=True, slots=True, kw_only=True)
class Latency:
    """Messages in flight: a command reaches the broker `to_broker` steps after it was sent, a
    report reaches the session `from_broker` steps after the broker sent it. With latency a
    cancel can cross an ack or a fill on the wire (FIX B.1.e, C.2.a)."""

    to_broker: int = 0
    from_broker: int = 0

    @property
    def any(self) -> bool:
        return bool(self.to_broker or self.from_broker)


NO_LATENCY = Latency()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderScript:
    actions: tuple[Action, ...]
    on_cancel: CancelBehaviour = CancelBehaviour.ACCEPT
    cancel_delay: int = 0
    fail_submit: str | None = None  # submit() raises BrokerError(fail_submit)
    on_replace: ReplaceBehaviour = ReplaceBehaviour.ACCEPT
    replace_delay: int = 0
    # Per request, in the order received (the last one repeats): set when a script gives a list,
    # e.g. on_replace: [reject, accept] for FIX D.1.b. Empty: every request gets on_cancel /
    # on_replace.
    cancel_answers: tuple[CancelBehaviour, ...] = ()
    replace_answers: tuple[ReplaceBehaviour, ...] = ()
    latency: Latency | None = None  # None: the spec's default latency

    def cancel_answer(self, n: int) -> CancelBehaviour:
        """How the broker answers the order's n-th cancel request (0-based)."""
        answers = self.cancel_answers
        return answers[min(n, len(answers) - 1)] if answers else self.on_cancel

    def replace_answer(self, n: int) -> ReplaceBehaviour:
        """How the broker answers the order's n-th amend request (0-based)."""
        answers = self.replace_answers
        return answers[min(n, len(answers) - 1)] if answers else self.on_replace


DEFAULT_SCRIPT = OrderScript(actions=(Ack(), Fill()))


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthOutage:
    """The broker reports itself unhealthy for steps from_step .. from_step + steps - 1."""

    from_step: int
    steps: int
    detail: str = "scripted outage"

    def covers(self, step: int) -> bool:
        return self.from_step <= step < self.from_step + self.steps


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsolicitedReport:
    """At `step` the broker sends a trade report for an order the session never sent: a fully
    filled order of `qty` at `price`."""

    step: int
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionDrift:
    """From `from_step` on, the broker's snapshot position in `symbol` is off by `qty` (signed)."""

    from_step: int
    symbol: str
    qty: Decimal


MAX_REPLAY = 1000  # the most reports one scripted restart may replay (bounds the mock's memory)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayRestart:
    """At `at_step` the broker's gateway restarts and re-sends its last `replay_last` reports."""

    at_step: int
    replay_last: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MockBrokerSpec:
    reference_prices: Mapping[str, Decimal] = field(default_factory=dict)
    default: OrderScript = DEFAULT_SCRIPT
    by_symbol: Mapping[str, OrderScript] = field(default_factory=dict)
    by_order: Mapping[str, OrderScript] = field(default_factory=dict)
    health: tuple[HealthOutage, ...] = ()
    unsolicited_reports: tuple[UnsolicitedReport, ...] = ()
    position_drift: tuple[PositionDrift, ...] = ()
    restarts: tuple[GatewayRestart, ...] = ()
    account: AccountSpec | None = None  # the broker's account (account.py); None: none kept
    latency: Latency = NO_LATENCY  # default for every order whose script names none
    # Ids the broker has already seen (an earlier session today): a new order with one of them
    # is rejected as a duplicate ClOrdID (FIX F.1.a) unless it is marked PossResend.
    used_client_order_ids: frozenset[str] = frozenset()
    # Rate limits and transient failures of requests, as rules (request_faults.py).
    request_faults: tuple[RequestFault, ...] = ()

    @property
    def has_latency(self) -> bool:
        """Whether any message is ever in flight for more than the step it was sent in."""
        scripts = [self.default, *self.by_symbol.values(), *self.by_order.values()]
        return self.latency.any or any(s.latency is not None and s.latency.any for s in scripts)

    def script_for(self, order: NewOrder) -> OrderScript:
        script = self.by_order.get(order.client_order_id)
        if script is None:
            script = self.by_symbol.get(order.symbol, self.default)
        return script


# ----------------------------------------------------------------------------- parsing


def parse_broker_spec(data: Mapping[str, object], path: str = "") -> MockBrokerSpec:
    """Build a `MockBrokerSpec` from plain data (the module docstring gives the shape)."""
    _keys(data, path, _SPEC_KEYS)
    default = DEFAULT_SCRIPT
    if "default" in data:
        default = _script(data["default"], _at(path, "default"), DEFAULT_SCRIPT.actions)

    def script(value: object, where: str) -> OrderScript:
        return _script(value, where, default.actions)

    return MockBrokerSpec(
        reference_prices=_named(
            data.get("reference_prices", {}), path, "reference_prices", _decimal
        ),
        default=default,
        by_symbol=_named(data.get("by_symbol", {}), path, "by_symbol", script),
        by_order=_named(data.get("by_order", {}), path, "by_order", script),
        health=tuple(_listed(data.get("health", []), _at(path, "health"), _outage)),
        unsolicited_reports=_unsolicited_list(
            data.get("unsolicited_reports", []), _at(path, "unsolicited_reports")
        ),
        position_drift=tuple(
            _listed(data.get("position_drift", []), _at(path, "position_drift"), _drift)
        ),
        restarts=tuple(_listed(data.get("restarts", []), _at(path, "restarts"), _restart)),
        account=_account(data["account"], _at(path, "account")) if "account" in data else None,
        latency=_latency(data["latency"], _at(path, "latency"))
        if "latency" in data
        else NO_LATENCY,
        used_client_order_ids=frozenset(
            _listed(
                data.get("used_client_order_ids", []), _at(path, "used_client_order_ids"), _text
            )
        ),
        request_faults=_request_faults(data["request_faults"], _at(path, "request_faults"))
        if "request_faults" in data
        else (),
    )


def _request_faults(value: object, path: str) -> tuple[RequestFault, ...]:
    try:
        return parse_request_faults(value, path)
    except RequestFaultError as exc:
        raise FillScriptError(str(exc)) from None


def _account(value: object, path: str) -> AccountSpec:
    try:
        return parse_account_spec(value, path)
    except AccountSpecError as exc:
        raise FillScriptError(str(exc)) from None


_SPEC_KEYS = (
    "reference_prices",
    "default",
    "by_symbol",
    "by_order",
    "health",
    "unsolicited_reports",
    "position_drift",
    "restarts",
    "account",
    "latency",
    "used_client_order_ids",
    "request_faults",
)
_SCRIPT_KEYS = (
    "actions",
    "on_cancel",
    "cancel_delay",
    "fail_submit",
    "on_replace",
    "replace_delay",
    "latency",
)
_T = TypeVar("_T")
_E = TypeVar("_E", CancelBehaviour, ReplaceBehaviour)


def _at(path: str, key: str | int) -> str:
    """`path` extended by one JSON-pointer token (RFC 6901 escapes `~` and `/`)."""
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _fail(path: str, problem: str) -> FillScriptError:
    return FillScriptError(f"{path or '/'}: {problem}")


def _keys(data: object, path: str, allowed: Sequence[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise _fail(path, f"must be a mapping, got {data!r}")
    for key in data:
        if key not in allowed:
            raise _fail(_at(path, str(key)), f"unknown key (expected one of {', '.join(allowed)})")
    return data


def _named(data: object, path: str, key: str, parse: Callable[[object, str], _T]) -> dict[str, _T]:
    """A mapping from names (symbols, order ids) to parsed values."""
    path = _at(path, key)
    if not isinstance(data, Mapping):
        raise _fail(path, f"must be a mapping, got {data!r}")
    parsed: dict[str, _T] = {}
    for name, value in data.items():
        where = _at(path, str(name))
        if not isinstance(name, str) or not name:
            raise _fail(
                where, f"a name must be a non-empty string (quote it in YAML), got {name!r}"
            )
        parsed[name] = parse(value, where)
    return parsed


def _listed(data: object, path: str, parse: Callable[[object, str], _T]) -> list[_T]:
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        raise _fail(path, f"must be a list, got {data!r}")
    return [parse(item, _at(path, i)) for i, item in enumerate(data)]


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        raise _fail(path, f"must be a positive decimal written as a string, got float {value!r}")
    parsed = None
    if isinstance(value, Decimal | str) or (isinstance(value, int) and not isinstance(value, bool)):
        with contextlib.suppress(InvalidOperation):
            parsed = Decimal(value)
    if parsed is None or not parsed.is_finite() or parsed <= 0:
        raise _fail(path, f"must be a positive decimal, got {value!r}")
    return parsed


def _int(value: object, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(path, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _count(value: object, path: str) -> int:
    return _int(value, path, 1)


def _step(value: object, path: str) -> int:
    return _int(value, path, 0)


def _signed_decimal(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        raise _fail(path, f"must be a non-zero decimal written as a string, got float {value!r}")
    parsed = None
    if isinstance(value, Decimal | str) or (isinstance(value, int) and not isinstance(value, bool)):
        with contextlib.suppress(InvalidOperation):
            parsed = Decimal(value)
    if parsed is None or not parsed.is_finite() or parsed == 0:
        raise _fail(path, f"must be a non-zero decimal, got {value!r}")
    return parsed


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"must be a non-empty string, got {value!r}")
    return value


def _side(value: object, path: str) -> Side:
    for side in Side:
        if value == side.value:
            return side
    raise _fail(path, f"must be one of buy, sell, got {value!r}")


def _replay_count(value: object, path: str) -> int:
    count = _count(value, path)
    if count > MAX_REPLAY:
        raise _fail(path, f"must be an integer <= {MAX_REPLAY}, got {value!r}")
    return count


def _outage(value: object, path: str) -> HealthOutage:
    return _record(HealthOutage, _OUTAGE_FIELDS, value, path)


def _unsolicited(value: object, path: str) -> UnsolicitedReport:
    return _record(UnsolicitedReport, _UNSOLICITED_FIELDS, value, path)


def _unsolicited_list(value: object, path: str) -> tuple[UnsolicitedReport, ...]:
    reports = _listed(value, path, _unsolicited)
    seen: dict[str, int] = {}
    for i, report in enumerate(reports):
        first = seen.setdefault(report.client_order_id, i)
        if first != i:
            raise _fail(
                _at(_at(path, i), "client_order_id"),
                f"{report.client_order_id!r} is already used by {_at(path, first)}; "
                "each unsolicited report is its own order",
            )
    return tuple(reports)


def _drift(value: object, path: str) -> PositionDrift:
    return _record(PositionDrift, _DRIFT_FIELDS, value, path)


def _restart(value: object, path: str) -> GatewayRestart:
    return _record(GatewayRestart, _RESTART_FIELDS, value, path)


def _script(value: object, path: str, default_actions: tuple[Action, ...]) -> OrderScript:
    if not isinstance(value, Mapping):
        listed = _actions(value, path)
        _check_labels(listed, path)
        return OrderScript(actions=listed)
    data = _keys(value, path, _SCRIPT_KEYS)
    actions = default_actions
    if "actions" in data:
        actions = _actions(data["actions"], _at(path, "actions"))
    cancel_answers: tuple[CancelBehaviour, ...] = (CancelBehaviour.ACCEPT,)
    if "on_cancel" in data:
        cancel_answers = _answers(CancelBehaviour, data["on_cancel"], _at(path, "on_cancel"))
    delay = _step(data.get("cancel_delay", 0), _at(path, "cancel_delay"))
    if delay and not set(cancel_answers) & _DELAYED_CANCEL:
        raise _fail(
            _at(path, "cancel_delay"), "only applies with on_cancel: accept or reject_after_pending"
        )
    fail_submit = None
    if "fail_submit" in data:
        fail_submit = _text(data["fail_submit"], _at(path, "fail_submit"))
    replace_answers: tuple[ReplaceBehaviour, ...] = (ReplaceBehaviour.ACCEPT,)
    if "on_replace" in data:
        replace_answers = _answers(ReplaceBehaviour, data["on_replace"], _at(path, "on_replace"))
    replace_delay = _step(data.get("replace_delay", 0), _at(path, "replace_delay"))
    if replace_delay and not set(replace_answers) & _DELAYED_REPLACE:
        raise _fail(
            _at(path, "replace_delay"),
            "only applies with on_replace: accept or reject_after_pending",
        )
    latency = None
    if "latency" in data:
        latency = _latency(data["latency"], _at(path, "latency"))
    _check_labels(actions, _at(path, "actions") if "actions" in data else path)
    return OrderScript(
        actions=actions,
        on_cancel=cancel_answers[0],
        cancel_delay=delay,
        fail_submit=fail_submit,
        on_replace=replace_answers[0],
        replace_delay=replace_delay,
        cancel_answers=cancel_answers if len(cancel_answers) > 1 else (),
        replace_answers=replace_answers if len(replace_answers) > 1 else (),
        latency=latency,
    )


_DELAYED_CANCEL = {CancelBehaviour.ACCEPT, CancelBehaviour.REJECT_AFTER_PENDING}
_DELAYED_REPLACE = {ReplaceBehaviour.ACCEPT, ReplaceBehaviour.REJECT_AFTER_PENDING}


def _answers(kind: type[_E], value: object, path: str) -> tuple[_E, ...]:
    """One behaviour, or a list of them: one per request in the order received."""
    if isinstance(value, str):
        return (_behaviour(kind, value, path),)
    if not isinstance(value, Sequence) or not value:
        choices = ", ".join(b.value for b in kind)
        raise _fail(path, f"must be one of {choices} or a non-empty list of them, got {value!r}")
    return tuple(_behaviour(kind, item, _at(path, i)) for i, item in enumerate(value))


def _latency(value: object, path: str) -> Latency:
    return _record(Latency, _LATENCY_FIELDS, value, path)


def _check_labels(actions: tuple[Action, ...], path: str) -> None:
    """Labels are unique in a script, and a bust or correct names an execution labelled before
    it: the mistake is found when the scenario loads, not when the broker plays it."""
    labels: set[str] = set()
    for i, action in enumerate(actions):
        if isinstance(action, Restate) and action.qty is None and action.limit_price is None:
            raise _fail(_at(_at(path, i), "restate"), "needs qty or limit_price (or both)")
        ref = getattr(action, "ref", None)
        if ref is not None and ref not in labels:
            known = ", ".join(sorted(labels)) or "none"
            raise _fail(
                _at(_at(_at(path, i), _action_name(action)), "ref"),
                f"names no execution labelled before it: {ref!r} (labels so far: {known})",
            )
        label = getattr(action, "label", None)
        if label is not None:
            if label in labels:
                raise _fail(
                    _at(_at(_at(path, i), _action_name(action)), "label"),
                    f"label {label!r} is already used in this script",
                )
            labels.add(label)


def _action_name(action: Action) -> str:
    return next(name for name, (cls, _) in _ACTIONS.items() if isinstance(action, cls))


def _label(value: object, path: str) -> str:
    if not isinstance(value, str) or not value or not value[0].isalpha() or not value.isalnum():
        raise _fail(path, f"a label is letters and digits starting with a letter, got {value!r}")
    return value


def _behaviour(kind: type[_E], value: object, path: str) -> _E:
    for behaviour in kind:
        if value == behaviour.value:
            return behaviour
    choices = ", ".join(b.value for b in kind)
    raise _fail(path, f"must be one of {choices}, got {value!r}")


def _cancel_behaviour(value: object, path: str) -> CancelBehaviour:
    return _behaviour(CancelBehaviour, value, path)


def _actions(value: object, path: str) -> tuple[Action, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _fail(path, f"a script must be a list of actions or a mapping, got {value!r}")
    return tuple(_action(item, _at(path, i)) for i, item in enumerate(value))


def _action(value: object, path: str) -> Action:
    names = ", ".join(_ACTIONS)
    if isinstance(value, str):
        if value in _ACTIONS and not _required(_ACTIONS[value][0]):
            return _record(_ACTIONS[value][0], {}, {}, path)
        if value in _ACTIONS:
            raise _fail(path, f"action {value!r} needs a value, e.g. {{{value}: ...}}")
        raise _fail(path, f"unknown action {value!r} (expected one of {names})")
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _fail(
            path, f"an action is a name or a one-key mapping such as {{wait: 2}}, got {value!r}"
        )
    ((name, body),) = value.items()
    path = _at(path, str(name))
    if name not in _ACTIONS:
        raise _fail(path, f"unknown action (expected one of {names})")
    cls, fields = _ACTIONS[name]
    if body is None:
        body = {}
    elif not isinstance(body, Mapping) and len(fields) == 1:
        body = {next(iter(fields)): body}  # {wait: 2} stands for {wait: {steps: 2}}
    return _record(cls, fields, body, path)


def _record(
    cls: type[_T], fields: Mapping[str, Callable[[object, str], object]], value: object, path: str
) -> _T:
    """An instance of the dataclass `cls` from a mapping whose values `fields` parse."""
    data = _keys(value, path, tuple(fields))
    for name in _required(cls):
        if name not in data:
            raise _fail(_at(path, name), "is required")
    return cls(**{key: fields[key](data[key], _at(path, key)) for key in data})


def _required(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]


_OUTAGE_FIELDS: dict[str, Callable[[object, str], object]] = {
    "from_step": _step,
    "steps": _count,
    "detail": _text,
}
_UNSOLICITED_FIELDS: dict[str, Callable[[object, str], object]] = {
    "step": _step,
    "client_order_id": _text,
    "symbol": _text,
    "side": _side,
    "qty": _decimal,
    "price": _decimal,
}
_DRIFT_FIELDS: dict[str, Callable[[object, str], object]] = {
    "from_step": _step,
    "symbol": _text,
    "qty": _signed_decimal,
}
_LATENCY_FIELDS: dict[str, Callable[[object, str], object]] = {
    "to_broker": _step,
    "from_broker": _step,
}
_RESTART_FIELDS: dict[str, Callable[[object, str], object]] = {
    "at_step": _step,
    "replay_last": _replay_count,
}
# action name -> (class, {field: parser}); an action with one field also takes its value alone
_ACTIONS: dict[str, tuple[type[Action], dict[str, Callable[[object, str], object]]]] = {
    "ack": (Ack, {}),
    "fill": (Fill, {"qty": _decimal, "price": _decimal, "label": _label}),
    "wait": (Wait, {"steps": _count}),
    "reject": (Reject, {"reason": _text}),
    "duplicate": (Duplicate, {}),
    "expire": (Expire, {}),
    "cancel_unsolicited": (CancelUnsolicited, {"reason": _text}),
    "silent_fill": (SilentFill, {"qty": _decimal, "price": _decimal}),
    "bust": (Bust, {"ref": _label}),
    "correct": (
        Correct,
        {"ref": _label, "qty": _decimal, "price": _decimal, "label": _label},
    ),
    "late_fill": (LateFill, {"qty": _decimal, "price": _decimal, "label": _label}),
    "restate": (Restate, {"qty": _decimal, "limit_price": _decimal, "reason": _text}),
    "guarantee": (Guarantee, {"qty": _decimal, "price": _decimal}),
}
