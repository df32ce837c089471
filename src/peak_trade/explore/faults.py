"""The fault vocabulary: every fault the explorer injects, as data over a scenario document.

Theory of operation: the mock broker's faults are data (execution/broker/fill_script.py), so a
fault here is a small record (`Fault`) and a pure function that writes it into a copy of the
scenario's plain data: into one order's fill script (`by_order`), into the broker's top-level
faults (health, restarts, drift, unsolicited reports, latency, used ids), or a cancel / amend
intent that races the order's script. Nothing here runs the engine. Each kind says what the
fill-script language says; `KINDS` lists them in the order the docs show them
(docs/explore.md, "Fault vocabulary"; tests/explore/test_docs.py keeps the two equal).

A fault names its target order (`target`, None for a session-wide fault), `at` (an action index
in the order's script, or a step number for a session fault) and its own parameters as sorted
(name, value) pairs. Quantities are whole-unit integers the fault scales from the order's qty;
shrinking lowers `at`, the counts and the quantities (shrink.py), so every field is a number the
shrinker can make smaller without knowing the kind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["KINDS", "Fault", "FaultKind", "OrderInfo", "apply_faults"]

REASON = "explorer fault"  # the text of injected rejects, cancels and outages


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    kind: str
    target: str | None  # client order id, None for a session-wide fault
    at: int  # action index in the target's script, or the step of a session-wide fault
    params: tuple[tuple[str, int], ...] = ()

    def param(self, name: str, default: int = 0) -> int:
        return dict(self.params).get(name, default)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "target": self.target,
            "at": self.at,
            "params": dict(self.params),
        }

    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.params)
        where = f"{self.target}@{self.at}" if self.target is not None else f"step {self.at}"
        return f"{self.kind}({where}{', ' + shown if shown else ''})"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderInfo:
    """What a fault needs to know about one order the base scenario submits."""

    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    entry: int  # index of the step entry that submits it
    step: int  # the first step of that entry (1-based)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultKind:
    name: str
    scope: str  # "order" or "session"
    says: str  # what it injects, in the fill-script language (docs/explore.md)
    apply: Callable[[dict[str, Any], Fault, Mapping[str, OrderInfo]], None]
    # parameter -> (smallest, largest): the generator draws in the range, shrinking goes down
    params: Mapping[str, tuple[int, int]]


# ------------------------------------------------------------------ script editing helpers


def _broker(data: dict[str, Any]) -> dict[str, Any]:
    broker = data.get("broker")
    if not isinstance(broker, dict):
        broker = data["broker"] = {}
    return broker


def _script(data: dict[str, Any], order: OrderInfo) -> dict[str, Any]:
    """The order's own script as a mutable mapping in by_order (copied from by_symbol or the
    default the first time), with its `actions` as a list."""
    broker = _broker(data)
    by_order = broker.setdefault("by_order", {})
    cid = order.client_order_id
    if cid not in by_order:
        found = (broker.get("by_symbol") or {}).get(order.symbol, broker.get("default"))
        by_order[cid] = copy.deepcopy(found) if found is not None else ["ack", "fill"]
    script = by_order[cid]
    if not isinstance(script, dict):
        script = by_order[cid] = {"actions": list(script)}
    if "actions" not in script:
        default = broker.get("default")
        if isinstance(default, dict):
            default = default.get("actions")
        script["actions"] = copy.deepcopy(default) if default is not None else ["ack", "fill"]
    script["actions"] = list(script["actions"])
    return script


def _actions(data: dict[str, Any], order: OrderInfo) -> list[Any]:
    return _script(data, order)["actions"]


def _name(action: object) -> str:
    if isinstance(action, str):
        return action
    if isinstance(action, Mapping) and len(action) == 1:
        return str(next(iter(action)))
    return ""


def _insert(actions: list[Any], at: int, *new: object) -> None:
    at = min(max(at, 0), len(actions))
    actions[at:at] = list(new)


def _qty(order: OrderInfo, tenths: int) -> str:
    """`tenths` tenths of the order's qty, in whole units, at least 1."""
    scaled = (order.qty * tenths / 10).to_integral_value(rounding="ROUND_FLOOR")
    return str(max(scaled, Decimal(1)))


def _fills(actions: Sequence[Any]) -> list[int]:
    return [i for i, a in enumerate(actions) if _name(a) == "fill"]


def _labelled(action: object) -> bool:
    body = action.get("fill") if isinstance(action, Mapping) else None
    return isinstance(body, Mapping) and "label" in body


def _labels(actions: Sequence[Any]) -> set[str]:
    found = set()
    for action in actions:
        if isinstance(action, Mapping):
            body = next(iter(action.values()), None)
            if isinstance(body, Mapping) and "label" in body:
                found.add(str(body["label"]))
    return found


def _label_fill(actions: list[Any], index: int) -> str:
    """Give the fill at `index` a label (keeping its qty and price) and return it."""
    action = actions[index]
    body = dict(action["fill"]) if isinstance(action, Mapping) and action["fill"] else {}
    if "label" in body:
        return str(body["label"])
    taken = _labels(actions)
    label = next(f"X{n}" for n in range(1, len(actions) + 2) if f"X{n}" not in taken)
    body["label"] = label
    actions[index] = {"fill": body}
    return label


# ------------------------------------------------------------------------- order faults


def _ack_delay(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    _insert(_actions(data, orders[f.target]), f.at, {"wait": f.param("steps", 1)})


def _missing_ack(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    actions = _actions(data, orders[f.target])
    acks = [i for i, a in enumerate(actions) if _name(a) == "ack"]
    if acks and len(actions) > 1:  # an empty script would leave the order silent instead
        del actions[acks[0]]


def _duplicate(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    actions = _actions(data, orders[f.target])
    _insert(actions, max(f.at, 1), "duplicate")


def _partial(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    actions = _actions(data, order)
    whole = [i for i in _fills(actions) if actions[i] == "fill"]
    at = whole[0] if whole else len(actions)
    _insert(actions, at, {"fill": {"qty": _qty(order, f.param("tenths", 5))}})


def _overfill(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    actions = _actions(data, order)
    extra = Decimal(_qty(order, f.param("tenths", 1)))
    fill: dict[str, Any] = {"fill": {"qty": str(order.qty + extra)}}
    fills = _fills(actions)
    if fills:
        if _labelled(actions[fills[-1]]):  # keep the label a bust or correct refers to
            fill["fill"]["label"] = actions[fills[-1]]["fill"]["label"]
        actions[fills[-1]] = fill
    else:
        _insert(actions, f.at, fill)


def _closing(name: str, value: object | None = None) -> Callable[..., None]:
    def apply(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
        action: object = name if value is None else {name: value}
        _insert(_actions(data, orders[f.target]), f.at, action)

    return apply


def _silent(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    actions = _actions(data, order)
    unlabelled = [i for i in _fills(actions) if not _labelled(actions[i])]  # a bust may name it
    fills = [i for i in unlabelled if i >= f.at] or unlabelled
    if fills:
        action = actions[fills[0]]
        body = dict(action["fill"] or {}) if isinstance(action, Mapping) else {}
        body.pop("label", None)
        actions[fills[0]] = {"silent_fill": body} if body else "silent_fill"
    else:
        _insert(actions, f.at, {"silent_fill": {"qty": _qty(order, f.param("tenths", 5))}})


def _bust(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    actions = _actions(data, orders[f.target])
    fills = _fills(actions)
    if not fills:
        return
    index = next((i for i in fills if i >= f.at), fills[-1])
    _insert(actions, index + 1, {"bust": _label_fill(actions, index)})


def _correct(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    actions = _actions(data, order)
    fills = _fills(actions)
    if not fills:
        return
    index = next((i for i in fills if i >= f.at), fills[-1])
    label = _label_fill(actions, index)
    _insert(
        actions, index + 1, {"correct": {"ref": label, "qty": _qty(order, f.param("tenths", 5))}}
    )


def _late_fill(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    actions = _actions(data, order)
    actions.append({"late_fill": {"qty": _qty(order, f.param("tenths", 2))}})


def _restate(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    order = orders[f.target]
    _insert(_actions(data, order), f.at, {"restate": {"qty": _qty(order, f.param("tenths", 5))}})


def _answer(key: str, value: str, delay_key: str | None = None) -> Callable[..., None]:
    def apply(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
        script = _script(data, orders[f.target])
        script[key] = value
        script.pop(key.removeprefix("on_") + "_delay", None)  # only some answers take a delay
        if delay_key is not None:
            script[delay_key] = f.param("steps", 1)

    return apply


def _fail_submit(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    _script(data, orders[f.target])["fail_submit"] = f"{REASON}: connection reset"


def _order_latency(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    _script(data, orders[f.target])["latency"] = {
        "to_broker": f.param("to_broker"),
        "from_broker": f.param("from_broker", 1),
    }


def _race(intent: str) -> Callable[..., None]:
    """A cancel or an amend of the order, sent in the step entry `at` entries after its submit
    (a new entry at the end if the scenario has none there): it races the order's script."""

    def apply(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
        order = orders[f.target]
        steps = data.setdefault("steps", [])
        index = order.entry + max(f.at, 1)
        while len(steps) <= index:  # bounded: at most `at` new entries
            steps.append({"comment": "explorer: a step for a racing request"})
        entry = steps[index] = dict(steps[index] or {})
        request: object = order.client_order_id  # a cancel by id alone needs no new_id
        if intent == "replace":
            request = {"id": order.client_order_id, "qty": _qty(order, f.param("tenths", 5))}
        given = entry.get(intent)
        listed = [given] if isinstance(given, str | Mapping) else list(given or ())
        if any(_request_id(r) == order.client_order_id for r in listed):
            return
        entry[intent] = [*listed, request]

    return apply


def _request_id(request: object) -> object:
    return request.get("id") if isinstance(request, Mapping) else request


# ----------------------------------------------------------------------- session faults


def _outage(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    health = _broker(data).setdefault("health", [])
    health.append({"from_step": f.at, "steps": f.param("steps", 1), "detail": REASON})


def _restart(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    restarts = _broker(data).setdefault("restarts", [])
    restarts.append({"at_step": f.at, "replay_last": f.param("replay_last", 1)})


def _symbol(data: Mapping[str, Any], orders: Mapping[str, OrderInfo]) -> str | None:
    known = [o.symbol for o in orders.values()]
    allowed = (data.get("config") or {}).get("allowlist") or []
    return (known or [s for s in allowed if isinstance(s, str)] or [None])[0]


def _drift(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    symbol = _symbol(data, orders)
    if symbol is None:
        return
    qty = f.param("qty", 1) * (1 if f.param("short") == 0 else -1)
    _broker(data).setdefault("position_drift", []).append(
        {"from_step": f.at, "symbol": symbol, "qty": str(qty)}
    )


def _ghost(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    symbol = _symbol(data, orders)
    if symbol is None:
        return
    reports = _broker(data).setdefault("unsolicited_reports", [])
    price = (_broker(data).get("reference_prices") or {}).get(symbol, "100")
    reports.append(
        {
            "step": f.at,
            "client_order_id": f"explore-ghost-{len(reports) + 1}",
            "symbol": symbol,
            "side": "buy" if f.param("sell") == 0 else "sell",
            "qty": str(f.param("qty", 1)),
            "price": str(price),
        }
    )


def _latency_all(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    _broker(data)["latency"] = {
        "to_broker": f.param("to_broker"),
        "from_broker": f.param("from_broker", 1),
    }


def _used_id(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    used = _broker(data).setdefault("used_client_order_ids", [])
    if f.target not in used:
        used.append(f.target)


# Request faults (execution/broker/request_faults.py): how the gateway answers a request about
# the order, before it looks at it. `request` picks the kind: submit, cancel, replace, status.
_REQUESTS = ("submit", "cancel", "replace", "status")


def _request_fault(answer: Callable[[Fault], object]) -> Callable[..., None]:
    def apply(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
        kind = _REQUESTS[min(f.param("request"), len(_REQUESTS) - 1)]
        rule = {"requests": [kind], "order": f.target, "answers": [answer(f)] * f.param("times", 1)}
        _broker(data).setdefault("request_faults", []).append(rule)

    return apply


def _busy_window(data: dict[str, Any], f: Fault, orders: Mapping[str, OrderInfo]) -> None:
    rule = {"from_step": f.at, "steps": f.param("steps", 1), "answer": "gateway_busy"}
    _broker(data).setdefault("request_faults", []).append(rule)


def _param_ranges(**ranges: tuple[int, int]) -> Mapping[str, tuple[int, int]]:
    return dict(sorted(ranges.items()))


_ORDER = "order"
_SESSION = "session"
# The vocabulary, in docs order. The ranges keep every variant small: a few steps of delay, a few
# replayed reports, quantities in tenths of the order's qty (the work model's bounds stay far).
KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        name="ack_delay",
        scope=_ORDER,
        says="{wait: k} before an action (no ack / no fill for k steps)",
        apply=_ack_delay,
        params=_param_ranges(steps=(1, 3)),
    ),
    FaultKind(
        name="missing_ack",
        scope=_ORDER,
        says="the script's ack removed: a fill before any ack (out of order)",
        apply=_missing_ack,
        params={},
    ),
    FaultKind(
        name="duplicate_report",
        scope=_ORDER,
        says="`duplicate`: the previous report again (same exec id, poss_resend)",
        apply=_duplicate,
        params={},
    ),
    FaultKind(
        name="partial_fill",
        scope=_ORDER,
        says="{fill: {qty}} of part of the order before the rest",
        apply=_partial,
        params=_param_ranges(tenths=(1, 9)),
    ),
    FaultKind(
        name="overfill",
        scope=_ORDER,
        says="the last fill executes more than the order's qty",
        apply=_overfill,
        params=_param_ranges(tenths=(1, 5)),
    ),
    FaultKind(
        name="reject",
        scope=_ORDER,
        says="{reject: reason} at an action",
        apply=_closing("reject", REASON),
        params={},
    ),
    FaultKind(
        name="expire",
        scope=_ORDER,
        says="`expire` at an action (unsolicited expiry)",
        apply=_closing("expire"),
        params={},
    ),
    FaultKind(
        name="unsolicited_cancel",
        scope=_ORDER,
        says="{cancel_unsolicited: reason} at an action",
        apply=_closing("cancel_unsolicited", REASON),
        params={},
    ),
    FaultKind(
        name="silent_fill",
        scope=_ORDER,
        says="a fill becomes `silent_fill` (executed, report lost)",
        apply=_silent,
        params=_param_ranges(tenths=(1, 9)),
    ),
    FaultKind(
        name="bust",
        scope=_ORDER,
        says="a fill labelled and then `{bust: label}` (trade cancel)",
        apply=_bust,
        params={},
    ),
    FaultKind(
        name="correct",
        scope=_ORDER,
        says="a fill labelled and then `{correct: {ref, qty}}` (trade correct)",
        apply=_correct,
        params=_param_ranges(tenths=(1, 9)),
    ),
    FaultKind(
        name="late_fill",
        scope=_ORDER,
        says="`{late_fill: {qty}}` after the order closed",
        apply=_late_fill,
        params=_param_ranges(tenths=(1, 5)),
    ),
    FaultKind(
        name="restate",
        scope=_ORDER,
        says="`{restate: {qty}}`: the sell side changes the order's qty",
        apply=_restate,
        params=_param_ranges(tenths=(1, 9)),
    ),
    FaultKind(
        name="cancel_rejected",
        scope=_ORDER,
        says="`on_cancel: reject`",
        apply=_answer("on_cancel", "reject"),
        params={},
    ),
    FaultKind(
        name="cancel_ignored",
        scope=_ORDER,
        says="`on_cancel: ignore` (no answer to a cancel)",
        apply=_answer("on_cancel", "ignore"),
        params={},
    ),
    FaultKind(
        name="cancel_delayed",
        scope=_ORDER,
        says="`cancel_delay: k` (PENDING_CANCEL for k steps; fills race it)",
        apply=_answer("on_cancel", "accept", "cancel_delay"),
        params=_param_ranges(steps=(1, 3)),
    ),
    FaultKind(
        name="cancel_rejected_after_pending",
        scope=_ORDER,
        says="`on_cancel: reject_after_pending` with `cancel_delay: k`",
        apply=_answer("on_cancel", "reject_after_pending", "cancel_delay"),
        params=_param_ranges(steps=(1, 3)),
    ),
    FaultKind(
        name="replace_rejected",
        scope=_ORDER,
        says="`on_replace: reject`",
        apply=_answer("on_replace", "reject"),
        params={},
    ),
    FaultKind(
        name="replace_ignored",
        scope=_ORDER,
        says="`on_replace: ignore`",
        apply=_answer("on_replace", "ignore"),
        params={},
    ),
    FaultKind(
        name="replace_delayed",
        scope=_ORDER,
        says="`replace_delay: k` (PENDING_REPLACE for k steps)",
        apply=_answer("on_replace", "accept", "replace_delay"),
        params=_param_ranges(steps=(1, 3)),
    ),
    FaultKind(
        name="submit_failure",
        scope=_ORDER,
        says="`fail_submit: reason` (submit() raises)",
        apply=_fail_submit,
        params={},
    ),
    FaultKind(
        name="order_latency",
        scope=_ORDER,
        says="`latency: {to_broker, from_broker}` for one order (messages cross)",
        apply=_order_latency,
        params=_param_ranges(to_broker=(0, 2), from_broker=(1, 2)),
    ),
    FaultKind(
        name="cancel_race",
        scope=_ORDER,
        says="a `cancel` intent k entries after the submit, racing the script",
        apply=_race("cancel"),
        params={},
    ),
    FaultKind(
        name="replace_race",
        scope=_ORDER,
        says="a `replace` (qty) intent k entries after the submit, racing the script",
        apply=_race("replace"),
        params=_param_ranges(tenths=(1, 9)),
    ),
    FaultKind(
        name="duplicate_client_order_id",
        scope=_ORDER,
        says="the order's id in `used_client_order_ids` (FIX F.1.a)",
        apply=_used_id,
        params={},
    ),
    FaultKind(
        name="rate_limited",
        scope=_ORDER,
        says="`request_faults`: a request about the order answered rate_limited (retry_after k)",
        apply=_request_fault(
            lambda f: {"rate_limited": {"retry_after": f.param("retry_after", 1)}}
        ),
        params=_param_ranges(request=(0, 3), times=(1, 3), retry_after=(1, 3)),
    ),
    FaultKind(
        name="request_timeout",
        scope=_ORDER,
        says="`request_faults`: a request times out, lost or carried out (`reached`) unseen",
        apply=_request_fault(lambda f: {"timeout": {"reached": bool(f.param("reached"))}}),
        params=_param_ranges(request=(0, 3), times=(1, 2), reached=(0, 1)),
    ),
    FaultKind(
        name="request_refused",
        scope=_ORDER,
        says="`request_faults`: a request refused for good (`{refused: reason}`)",
        apply=_request_fault(lambda f: {"refused": REASON}),
        params=_param_ranges(request=(0, 3), times=(1, 1)),
    ),
    FaultKind(
        name="gateway_busy",
        scope=_SESSION,
        says="`request_faults`: every request answered gateway_busy for k steps",
        apply=_busy_window,
        params=_param_ranges(steps=(1, 3)),
    ),
    FaultKind(
        name="outage",
        scope=_SESSION,
        says="`health: [{from_step, steps}]` (broker unhealthy)",
        apply=_outage,
        params=_param_ranges(steps=(1, 4)),
    ),
    FaultKind(
        name="gateway_restart",
        scope=_SESSION,
        says="`restarts: [{at_step, replay_last}]` (restart with replay)",
        apply=_restart,
        params=_param_ranges(replay_last=(1, 5)),
    ),
    FaultKind(
        name="position_drift",
        scope=_SESSION,
        says="`position_drift: [{from_step, symbol, qty}]`",
        apply=_drift,
        params=_param_ranges(qty=(1, 20), short=(0, 1)),
    ),
    FaultKind(
        name="unsolicited_report",
        scope=_SESSION,
        says="`unsolicited_reports: [...]` (a trade for an order never sent)",
        apply=_ghost,
        params=_param_ranges(qty=(1, 20), sell=(0, 1)),
    ),
    FaultKind(
        name="latency",
        scope=_SESSION,
        says="top-level `latency: {to_broker, from_broker}` for every order",
        apply=_latency_all,
        params=_param_ranges(to_broker=(0, 2), from_broker=(1, 2)),
    ),
)
BY_NAME: Mapping[str, FaultKind] = {kind.name: kind for kind in KINDS}


def apply_faults(
    base: Mapping[str, Any], faults: Sequence[Fault], orders: Mapping[str, OrderInfo]
) -> dict[str, Any]:
    """A deep copy of the scenario data `base` with `faults` written into it, in order."""
    data = copy.deepcopy(dict(base))
    for fault in faults:  # bounded: a variant has at most MAX_FAULTS faults
        kind = BY_NAME[fault.kind]
        if kind.scope == _ORDER and fault.target not in orders:
            continue
        kind.apply(data, fault, orders)
    return data
