"""Scenario generators for the work-model tests: each scales one multiplier of the work.

Every generator returns scenario YAML text that validates apart from the bounds; its size grows
with the multiplier it scales, so a test can find the largest accepted value and the first one
refused.
"""

from __future__ import annotations

HEAD = (
    "id: {id}\ntitle: Bounds probe\nconfig:\n  allowlist: [AAPL, MSFT]\n  max_steps: {max_steps}\n"
    "  rails: {{unbounded: true}}\n"
)
EXPECT = "expect: {}\n"


def _submit(i: int, *, limit: bool = False, note: str | None = None, symbol: str = "AAPL") -> str:
    extra = ", type: limit, limit_price: '100'" if limit else ""
    if note is not None:
        extra += f", note: '{note}'"
    return f"{{id: o-{i}, symbol: {symbol}, side: buy, qty: 1{extra}}}"


def many_steps(entries: int, run: int, *, max_steps: int = 1_000_000) -> str:
    """`entries` entries of `run` steps each: the step count."""
    body = "".join(f"  - run: {run}\n" for _ in range(entries))
    return HEAD.format(id="many_steps", max_steps=max_steps) + f"steps:\n{body}" + EXPECT


def empty_entries(entries: int, *, note: str = "") -> str:
    """`entries` empty step entries (one step each) after one order with `note`: records, and
    with a long note, bytes."""
    body = "  - {}\n" * entries
    first = f"  - submit: {_submit(0, note=note)}\n" if note else ""
    return (
        HEAD.format(id="empty_entries", max_steps=1_000_000)
        + "broker:\n  reference_prices: {AAPL: '100'}\n"
        + f"steps:\n{first}{body}"
        + EXPECT
    )


def resting(orders: int, run: int, *, max_steps: int = 1_000_000) -> str:
    """`orders` limit orders acked and left resting, then `run` steps: open orders, order-steps."""
    return (
        HEAD.format(id="resting", max_steps=max_steps)
        + "broker:\n  default: [ack]\n"
        + f"steps:\n{_submit_entries(orders, limit=True)}  - run: {run}\n"
        + EXPECT
    )


def _submit_entries(orders: int, *, limit: bool = False, per_entry: int = 1_000) -> str:
    """`orders` submits in entries of at most `per_entry` (the schema's limit per entry)."""
    entries = []
    for first in range(0, orders, per_entry):
        last = min(first + per_entry, orders)
        submits = ", ".join(_submit(i, limit=limit) for i in range(first, last))
        entries.append(f"  - submit: [{submits}]\n")
    return "".join(entries)


def duplicates(orders: int, dups: int) -> str:
    """Each order's script resends its ack `dups` times: reports per order times orders."""
    actions = ", ".join(["ack", *["duplicate"] * dups, "fill"])
    return (
        HEAD.format(id="duplicates", max_steps=100_000)
        + f"broker:\n  reference_prices: {{AAPL: '100'}}\n  default: [{actions}]\n"
        + f"steps:\n{_submit_entries(orders)}  - run: {dups + 4}\n"
        + EXPECT
    )


def restarts(count: int, replay: int, *, orders: int = 3) -> str:
    """`count` gateway restarts, each replaying the last `replay` reports."""
    plan = ", ".join(f"{{at_step: {2 + i}, replay_last: {replay}}}" for i in range(count))
    submits = ", ".join(_submit(i) for i in range(orders))
    return (
        HEAD.format(id="restarts", max_steps=100_000)
        + f"broker:\n  reference_prices: {{AAPL: '100'}}\n  restarts: [{plan}]\n"
        + f"steps:\n  - submit: [{submits}]\n  - run: {count + 2}\n"
        + EXPECT
    )


def kill_cycles(orders: int, cycles: int) -> str:
    """Resting orders whose cancels are rejected, and `cycles` kill-switch engagements (each
    cancels every open order) with a re-arm between them."""
    submits = ", ".join(_submit(i, limit=True) for i in range(orders))
    cycle = "  - kill: drill\n  - rearm: {operator: ops}\n"
    return (
        HEAD.format(id="kill_cycles", max_steps=100_000)
        + "broker:\n  default: {actions: [ack], on_cancel: reject}\n"
        + f"steps:\n  - submit: [{submits}]\n"
        + cycle * cycles
        + "  - stop: done\n  - run: 3\n"
        + EXPECT
    )


def faults(outages: int, drifts: int, unsolicited: int) -> str:
    """Health outages, position drift and unsolicited reports, one step apart."""
    health = ", ".join(f"{{from_step: {2 + 2 * i}, steps: 1}}" for i in range(outages))
    drift = ", ".join(f"{{from_step: {2 + i}, symbol: MSFT, qty: '1'}}" for i in range(drifts))
    ghosts = ", ".join(
        f"{{step: {2 + i}, client_order_id: g-{i}, symbol: AAPL, side: buy, qty: '1', "
        "price: '100'}"
        for i in range(unsolicited)
    )
    steps = 2 * max(outages, drifts, unsolicited) + 4
    return (
        HEAD.format(id="faults", max_steps=100_000)
        + "broker:\n  reference_prices: {AAPL: '100'}\n"
        + f"  health: [{health}]\n  position_drift: [{drift}]\n  unsolicited_reports: [{ghosts}]\n"
        + f"  restarts: [{{at_step: {steps - 2}, replay_last: 50}}]\n"
        + f"steps:\n  - submit: [{_submit(0)}, {_submit(1, limit=True)}]\n"
        + f"  - run: {steps}\n"
        + EXPECT
    )


def long_notes(orders: int, length: int) -> str:
    """Orders whose note is `length` characters: the bytes a record can carry."""
    note = "n" * length
    submits = "\n".join(f"      - {_submit(i, note=note)}" for i in range(orders))
    return (
        HEAD.format(id="long_notes", max_steps=1_000)
        + "broker:\n  reference_prices: {AAPL: '100'}\n"
        + f"steps:\n  - submit:\n{submits}\n  - run: 3\n"
        + EXPECT
    )


def silent_and_amends(orders: int) -> str:
    """Silent fills, amends, cancels and a graceful stop: reconciliation and in-flight records."""
    submits = ", ".join(_submit(i, limit=True) for i in range(orders))
    cancels = ", ".join(f"o-{i}" for i in range(0, orders, 2))
    amends = ", ".join(f"{{id: o-{i}, qty: '3'}}" for i in range(1, orders, 2))
    return (
        HEAD.format(id="silent_and_amends", max_steps=100_000)
        + "config_extra: {}\n"
        + "broker:\n  default: {actions: [ack, {silent_fill: {qty: '1'}}, duplicate], "
        "cancel_delay: 2, replace_delay: 1}\n"
        + f"steps:\n  - submit: [{submits}]\n  - run: 3\n"
        + f"  - replace: [{amends}]\n  - cancel: [{cancels}]\n  - run: 8\n"
        + "  - stop: done\n  - run: 10\n  - acknowledge: {operator: ops}\n  - run: 3\n"
        + EXPECT
    ).replace("config_extra: {}\n", "")


ATTACKS = {
    "many_steps": lambda: many_steps(3, 40, max_steps=50),
    "resting": lambda: resting(40, 30),
    "duplicates": lambda: duplicates(20, 30),
    "restarts": lambda: restarts(30, 40, orders=10),
    "kill_cycles": lambda: kill_cycles(15, 6),
    "faults": lambda: faults(10, 10, 10),
    "long_notes": lambda: long_notes(10, 2_000),
    "silent_and_amends": lambda: silent_and_amends(12),
}
