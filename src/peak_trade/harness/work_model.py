"""A scenario's worst-case work, computed before it runs, and the bounds it must stay within.

Theory of operation: a scenario is data, so what it can make the engine do is bounded by what it
says. The validator multiplies out everything the fill-script language and the step model let a
small file ask for (step counts, orders resting at once, actions per script times the orders that
use it, duplicates, cancels and amends, stops and kill switches that cancel every open order,
restart replays, unsolicited reports, health outages, position drift, request faults and
the retries they cause) into upper bounds on

- steps: the steps the runner can play (every entry's `run`, or 1; an entry whose `run` is above
  `max_steps` is refused and plays none);
- open orders: the most orders resting at once (the per-step cost: every step polls, checks and
  reconciles each open order);
- order-steps: the sum over orders of the steps each can stay open;
- reports: execution reports the mock broker can send;
- records and bytes: audit records, and the bytes they can take.

Each estimate over-approximates: an order lives until its script closes it (a fill of all leaves,
a reject, an expiry, an unsolicited cancel; a silent fill closes nothing the session sees) or the
run ends, and each report, intent and step entry is charged the most records it can produce.
`tests/harness/test_work_model.py` checks that every scenario in the library and a set of
generated worst cases stay within their estimates. An estimate past its bound is refused with a
located problem naming the multiplier to reduce (docs/scenarios.md, "Bounds").

The bounds keep the worst valid scenario to about a minute of engine time and its audit trail to
what the streaming runner handles in flat memory (docs/reliability.md, "Bounds").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from peak_trade.execution.broker.fill_script import (
    CancelUnsolicited,
    Expire,
    Fill,
    MockBrokerSpec,
    OrderScript,
    Reject,
    SilentFill,
    Wait,
)
from peak_trade.execution.broker.model import NewOrder
from peak_trade.execution.live.retry.config import MAX_ATTEMPTS, RetryConfig, RetryConfigError
from peak_trade.harness.errors import Problem
from peak_trade.harness.loader import LoadedDocument, json_pointer

__all__ = ["BOUNDS", "WorkEstimate", "estimate_work", "work_problems"]

# The documented bounds (docs/scenarios.md "Bounds"; test_docs_sync keeps the table true).
BOUNDS: Mapping[str, int] = {
    "steps": 1_000_000,  # ~12-25 us a quiet step: under half a minute
    "open_orders": 1_000,  # ~2 us per open order per step: a step stays under a few ms
    "order_steps": 10_000_000,  # ~2 us each: under half a minute
    "reports": 900_000,
    "records": 1_000_000,  # ~25 us a record: under half a minute; flat memory (streamed)
    "audit_bytes": 1_610_612_736,  # 1.5 GiB of audit file: 10^6 records with 64-character texts
}

# Records charged per item (upper bounds read from the orchestrator: see the module docstring).
FIXED_RECORDS = 128  # preflight checks, transitions, breaches at the end, summary, close
RECORDS_PER_ENTRY = 24  # prices, refusals, kill/rearm/stop/acknowledge, a breach and its records
RECORDS_PER_INTENT = 3  # submitted or refused, live refusal, ignored while stopping
RECORDS_PER_REPORT = 1  # the report (poll and snapshot agree after it: no reconciliation record)
RECORDS_PER_ORDER = 8  # in-flight resolutions (ack, cancel), reconciliation of a hidden change
# A health outage (down, recovered), a drift, an unsolicited report or a silent fill: the
# differences it opens and clears in reconciliation, and its breach.
RECORDS_PER_FAULT = 4
# Retries (only with broker.request_faults: nothing else makes a request fail transiently). Per
# request, each of max_attempts attempts writes request_failed and request_retried; a give-up
# adds request_given_up, fate_query_sent, its own query's attempts, fate_resolved, the reply and a
# cancel of an order found working (its attempts again): RETRY_RECORDS_PER_ATTEMPT records per
# attempt allowed plus RETRY_RECORDS_FIXED, for every request the session can send.
RETRY_RECORDS_PER_ATTEMPT = 6
RETRY_RECORDS_FIXED = 8
# Bytes: a record without free text stays under RECORD_BYTES; each may also carry texts from the
# scenario (ids, notes, reasons), charged as TEXTS_PER_RECORD times the longest; records that echo
# the whole config or list every order are charged ECHO_FACTOR times the file's size.
RECORD_BYTES = 1_024
TEXTS_PER_RECORD = 4
ECHO_FACTOR = 8

_CLOSING = (Reject, Expire, CancelUnsolicited)  # a reported fill of all leaves closes too


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkEstimate:
    steps: int
    open_orders: int
    order_steps: int
    reports: int
    records: int
    audit_bytes: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BOUNDS}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Order:
    entry: int  # index in `steps`
    start: int  # the first step it can be open (0-based)
    script: OrderScript


def _script_cost(script: OrderScript) -> tuple[int | None, int, int]:
    """(steps until the script closes the order, None if it may never; reports; silent fills)."""
    steps, reports, silent, closes_at = 0, 0, 0, None
    for action in script.actions:  # bounded: a script has at most 1,000 actions
        steps += 1 + (action.steps if isinstance(action, Wait) else 0)
        if isinstance(action, SilentFill):
            silent += 1
        elif not isinstance(action, Wait):
            reports += 1  # every other action sends at most one (one this model does not know too)
        if closes_at is None and (
            isinstance(action, _CLOSING) or (isinstance(action, Fill) and action.qty is None)
        ):
            closes_at = steps
    return closes_at, reports, silent


def estimate_work(scenario: Any, *, file_bytes: int = 0, longest_text: int = 64) -> WorkEstimate:
    """Upper bounds on what `scenario` (a harness Scenario) can make the engine do."""
    max_steps = scenario.config.max_steps
    bound = max_steps if type(max_steps) is int and max_steps > 0 else None
    starts: list[int] = []
    elapsed = 0
    for spec in scenario.steps:  # bounded: at most 100,000 entries
        starts.append(elapsed)
        declared = 1 if spec.run is None else spec.run
        if bound is not None and spec.run is not None and spec.run > bound:
            declared = 0  # run_n_steps refuses it: no step is played
        elapsed += declared
    steps = elapsed
    broker: MockBrokerSpec = scenario.broker
    orders: list[_Order] = []
    intents = cancels = stops = 0
    for spec, start in zip(scenario.steps, starts, strict=True):
        stops += spec.stop is not None
        stops += spec.kill is not None
        for intent in spec.intents:
            intents += 1
            order = getattr(intent, "order", None)
            if isinstance(order, NewOrder):
                script = broker.script_for(order)
                if script.fail_submit is None:  # submit raises: the order never opens
                    orders.append(_Order(entry=spec.index, start=start, script=script))
            else:
                cancels += 1  # a cancel or an amend: answered with up to two reports
    open_orders, order_steps, reports, silent = _order_work(orders, steps)
    stops += 1  # the stop at the step bound, or at the end
    reports += 2 * cancels + 2 * open_orders * stops
    reports += sum(r.replay_last for r in broker.restarts) + len(broker.unsolicited_reports)
    faults = len(broker.health) + len(broker.position_drift) + len(broker.unsolicited_reports)
    retry_records = 0
    if broker.request_faults:
        # every request the session can send: the intents, the cancels of every stop, and a
        # fate query (and a cancel) per order; each answered by at most one more report
        requests = intents + open_orders * stops + 2 * len(orders)
        per_request = RETRY_RECORDS_PER_ATTEMPT * _max_attempts(scenario) + RETRY_RECORDS_FIXED
        retry_records = per_request * requests
        reports += requests
    records = (
        FIXED_RECORDS
        + RECORDS_PER_ENTRY * len(scenario.steps)
        + RECORDS_PER_INTENT * intents
        + RECORDS_PER_REPORT * reports
        + RECORDS_PER_ORDER * len(orders)
        + RECORDS_PER_FAULT * (faults + silent)
        + retry_records
    )
    audit_bytes = (
        records * (RECORD_BYTES + TEXTS_PER_RECORD * longest_text) + ECHO_FACTOR * file_bytes
    )
    return WorkEstimate(
        steps=steps,
        open_orders=open_orders,
        order_steps=order_steps,
        reports=reports,
        records=records,
        audit_bytes=audit_bytes,
    )


def _max_attempts(scenario: Any) -> int:
    """The configured attempts per request; the most allowed when the config is invalid (then
    preflight fails and nothing runs, but the estimate stays an upper bound)."""
    try:
        return RetryConfig.from_mapping(scenario.config.retry).max_attempts
    except RetryConfigError:
        return MAX_ATTEMPTS


def _order_work(orders: Sequence[_Order], steps: int) -> tuple[int, int, int, int]:
    """(most orders open at once, order-steps, script reports, silent fills) over `orders`."""
    events: list[tuple[int, int]] = []
    order_steps = reports = silent = 0
    costs: dict[int, tuple[int | None, int, int]] = {}
    for order in orders:  # bounded by the submits a file can hold
        cost = costs.get(id(order.script))
        if cost is None:
            cost = costs[id(order.script)] = _script_cost(order.script)
        closes_at, script_reports, script_silent = cost
        remaining = max(steps - order.start, 1)  # an order submitted to a session that ends
        life = remaining if closes_at is None else min(closes_at, remaining)
        order_steps += life
        reports += script_reports + 2  # + an entry reject or a too-late cancel/amend answer
        silent += script_silent
        events += ((order.start, 1), (order.start + life, -1))
    events.sort(key=lambda event: (event[0], event[1]))  # a close before an open at one step
    peak = current = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak, order_steps, reports, silent


# --- refusing a scenario past its bounds ---------------------------------------------------------

_WHAT = {
    "steps": "steps the runner can play",
    "open_orders": "orders that can rest at once",
    "order_steps": "order-steps (each open order costs work on every step)",
    "reports": "execution reports the mock broker can send",
    "records": "audit records",
    "audit_bytes": "bytes of audit trail",
}


def _longest_text(value: object) -> int:
    longest, stack = 0, [value]
    while stack:  # bounded by the document's nodes (the loader's node budget)
        item = stack.pop()
        if isinstance(item, str):
            longest = max(longest, len(item.encode("utf-8", "surrogatepass")))
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return longest


def work_problems(doc: LoadedDocument, scenario: Any, file_bytes: int) -> list[Problem]:
    """One located problem per bound `scenario` can exceed; [] when it stays within all."""
    estimate = estimate_work(scenario, file_bytes=file_bytes, longest_text=_longest_text(doc.data))
    problems = []
    for name, limit in BOUNDS.items():
        value = getattr(estimate, name)
        if value <= limit:
            continue
        path, fix = _culprit(doc, scenario, name)
        line, col = doc.locate(path)
        message = (
            f"this scenario can produce up to {value:,} {_WHAT[name]}, over the bound of "
            f"{limit:,} (docs/scenarios.md, Bounds); {fix}"
        )
        pointer = json_pointer(path)
        problems.append(
            Problem(file=doc.path, line=line, col=col, message=message, json_path=pointer)
        )
    return problems


def _culprit(doc: LoadedDocument, scenario: Any, name: str) -> tuple[tuple[str | int, ...], str]:
    """Where the largest multiplier of bound `name` sits, and what to change."""
    steps = scenario.steps
    runs = [(s.run or 0, s.index) for s in steps]
    biggest_run = max(runs, key=lambda r: (r[0], -r[1]), default=(0, 0))  # the first largest
    if name == "steps":
        if biggest_run[0] > 1:
            return ("steps", biggest_run[1], "run"), "lower `run` or split the scenario"
        return ("steps",), "use fewer step entries"
    if name in ("open_orders", "order_steps"):
        if name == "order_steps" and biggest_run[0] > 1:
            return (
                ("steps", biggest_run[1], "run"),
                "lower `run`, or let fewer orders rest (close them in their fill script)",
            )
        return ("steps",), (
            "submit fewer orders, close them sooner in their fill script, or set "
            "config.rails.max_open_orders"
        )
    broker = doc.data.get("broker")
    work = estimate_work(scenario)
    if name == "records" and RECORDS_PER_REPORT * work.reports * 2 > work.records:
        name = "reports"  # most records would be execution reports: name what multiplies them
    if name == "reports" and isinstance(broker, Mapping):
        replays = sum(r.replay_last for r in scenario.broker.restarts)
        if replays * 2 > work.reports and broker.get("restarts"):
            return ("broker", "restarts"), "replay fewer reports (`replay_last`) or restart less"
        for key in ("by_order", "by_symbol", "default"):
            if key in broker:
                return ("broker", key), "use shorter fill scripts or fewer orders"
    if name == "audit_bytes":
        return (), "shorten the longest texts (notes, reasons, ids) or produce fewer records"
    return ("steps",), "submit fewer orders, use shorter fill scripts, or fewer step entries"
