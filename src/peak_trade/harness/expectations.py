"""Compare a run with its scenario's `expect` block: "the system misbehaved" failures.

Each mismatch says what was expected and what happened; sequence mismatches name the first index
that differs and carry a unified diff, so a failing scenario reads like a code review.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: `Mismatch` is imported by modules that must not load the engine
    from peak_trade.harness.model import Expectations, ExpectedReport
    from peak_trade.harness.runner import RunResult

# expect.reports: the columns shown for a report, and those compared as decimals
_SHOWN = ("exec_type", "status", "order_qty", "cum_qty", "leaves_qty", "last_qty")
_DECIMALS = frozenset({"order_qty", "cum_qty", "leaves_qty", "last_qty", "last_px", "avg_px"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    key: str  # the expect key, e.g. "audit.types" or "orders.o-1.status"
    expected: object
    actual: object
    detail: str = ""

    def format(self) -> str:
        head = f"expect.{self.key}: expected {self.expected!r}, got {self.actual!r}"
        return f"{head}\n{self.detail}" if self.detail else head


class ScenarioFailure(Exception):
    """The system misbehaved: the run does not match the scenario's expectations or snapshot."""

    def __init__(self, scenario_id: str, mismatches: Sequence[Mismatch]) -> None:
        self.scenario_id = scenario_id
        self.mismatches = tuple(mismatches)
        super().__init__(format_failure(scenario_id, self.mismatches))


def format_failure(scenario_id: str, mismatches: Sequence[Mismatch]) -> str:
    lines = [f"scenario {scenario_id}: {len(mismatches)} expectation(s) not met"]
    lines.extend(f"- {m.format()}" for m in mismatches)
    return "\n".join(lines)


def sequence_mismatch(key: str, expected: Sequence[str], actual: Sequence[str]) -> Mismatch | None:
    if list(expected) == list(actual):
        return None
    index = next(
        (i for i, (e, a) in enumerate(zip(expected, actual, strict=False)) if e != a),
        min(len(expected), len(actual)),
    )
    found = actual[index] if index < len(actual) else "<end>"
    wanted = expected[index] if index < len(expected) else "<end>"
    diff = "\n".join(
        difflib.unified_diff(list(expected), list(actual), "expected", "actual", lineterm="", n=2)
    )
    return Mismatch(
        key=key,
        expected=list(expected),
        actual=list(actual),
        detail=f"  first difference at index {index}: expected {wanted!r}, found {found!r}\n"
        + "\n".join(f"  {line}" for line in diff.splitlines()),
    )


def _subsequence_gap(wanted: Sequence[str], actual: Sequence[str]) -> int | None:
    """Index in `wanted` of the first item not found in order in `actual`, else None."""
    position = 0
    for index, item in enumerate(wanted):
        try:
            position = actual.index(item, position) + 1
        except ValueError:
            return index
    return None


def check_expectations(
    expect: Expectations,
    result: RunResult,
    *,
    records: Sequence[Mapping[str, object]] | None = None,
) -> list[Mismatch]:
    """Every expectation `result` does not meet. The facts come from the run's folded trail
    (`result.trail`: record types, and the transition, breach and refusal records), or from
    `records` when the caller gives the audit records themselves (they are only read)."""
    if records is None:
        types: Sequence[str] = result.trail.types
        looked_into: Sequence[Mapping[str, object]] = result.trail.parsed
    else:
        types = [str(r["type"]) for r in records]
        looked_into = records
    payloads = [(str(r["type"]), r["payload"]) for r in looked_into]
    states = [str(p["to"]) for t, p in payloads if t == "transition"]  # type: ignore[index]
    breaches = [str(p["invariant"]) for t, p in payloads if t == "invariant_breach"]  # type: ignore[index]
    refused = {
        str(p["client_order_id"]): str(p["rule"])  # type: ignore[index]
        for t, p in payloads
        if t == "order_refused"
    }
    found: list[Mismatch | None] = []
    add = found.append

    def equal(key: str, expected: object, actual: object) -> None:
        if expected is not None and expected != actual:
            add(Mismatch(key=key, expected=expected, actual=actual))

    equal("final_state", expect.final_state, result.final_state)
    if expect.states is not None:
        add(sequence_mismatch("states", expect.states, states))
    equal("steps_run", expect.steps_run, result.steps_run)
    if expect.audit_types is not None:
        add(sequence_mismatch("audit.types", expect.audit_types, types))
    if expect.audit_in_order is not None:
        gap = _subsequence_gap(expect.audit_in_order, types)
        if gap is not None:
            add(
                Mismatch(
                    key="audit.in_order",
                    expected=list(expect.audit_in_order),
                    actual=types,
                    detail=f"  {expect.audit_in_order[gap]!r} (item {gap}) does not follow "
                    "the items before it in the audit",
                )
            )
    if expect.audit_absent is not None:
        present = [t for t in expect.audit_absent if t in types]
        if present:
            add(Mismatch(key="audit.absent", expected=list(expect.audit_absent), actual=present))
    equal("audit.count", expect.audit_count, len(types))
    for cid, fields in expect.orders.items():
        order = result.orders.get(result.resolve(cid))
        if order is None:
            add(Mismatch(key=f"orders.{cid}", expected=dict(fields), actual=None))
            continue
        actual = order.to_payload()
        for name, wanted in fields.items():
            got = actual[name]
            if name in ("cum_qty", "leaves_qty", "avg_px"):
                same = got is not None and Decimal(str(got)) == Decimal(str(wanted))
            else:
                same = got == wanted
            if not same:
                add(Mismatch(key=f"orders.{cid}.{name}", expected=wanted, actual=got))
    for symbol, wanted_qty in expect.positions.items():
        got_qty = result.positions.get(symbol, Decimal(0))
        if got_qty != wanted_qty:
            add(Mismatch(key=f"positions.{symbol}", expected=str(wanted_qty), actual=str(got_qty)))
    if expect.failed_checks is not None:
        failed = [c.name for c in result.preflight if not c.ok]
        add(sequence_mismatch("failed_checks", expect.failed_checks, failed))
    if expect.breaches is not None:
        add(sequence_mismatch("breaches", expect.breaches, breaches))
    if expect.errors is not None:
        add(sequence_mismatch("errors", expect.errors, [e.kind for e in result.errors]))
    if expect.refused_orders is not None:
        equal("refused_orders", dict(expect.refused_orders), refused)
    if expect.account is not None:
        found.extend(_account_mismatches(expect.account, result.summary))
    if expect.reports:
        received = [p for t, p in payloads if t == "execution_report"]
        for cid, rows in expect.reports.items():
            add(reports_mismatch(cid, rows, _reports_of(result, cid, received)))
    return [m for m in found if m is not None]


def _same_amount(wanted: object, got: object) -> bool:
    return got is not None and Decimal(str(got)) == Decimal(str(wanted))


def _account_mismatches(
    wanted: Mapping[str, object], summary: Mapping[str, object] | None
) -> list[Mismatch]:
    """`expect.account` against the summary's account (exact decimals; per-symbol maps by key)."""
    account = (summary or {}).get("account")
    if not isinstance(account, Mapping):
        return [Mismatch(key="account", expected=dict(wanted), actual=None)]
    found: list[Mismatch] = []
    for name, value in wanted.items():
        if name == "net_pnl":
            total = account.get("total_pnl")
            got = total.get("net") if isinstance(total, Mapping) else None
        else:
            got = account.get(name)
        if isinstance(value, Mapping):
            per_symbol = got if isinstance(got, Mapping) else {}
            for symbol, amount in value.items():
                actual = per_symbol.get(symbol)
                if not _same_amount(amount, actual):
                    found.append(
                        Mismatch(
                            key=f"account.{name}.{symbol}", expected=str(amount), actual=actual
                        )
                    )
        elif not _same_amount(value, got):
            found.append(Mismatch(key=f"account.{name}", expected=str(value), actual=got))
    return found


def _reports_of(
    result: RunResult, cid: str, received: Sequence[object]
) -> list[Mapping[str, object]]:
    """The execution reports the session received for the order `cid` names, in order: those
    carrying any id of its chain as ClOrdID or OrigClOrdID."""
    key = result.resolve(cid)
    mine = []
    for payload in received:
        assert isinstance(payload, Mapping)
        ids = (payload.get("client_order_id"), payload.get("orig_client_order_id"))
        if any(isinstance(i, str) and result.resolve(i) == key for i in ids):
            mine.append(payload)
    return mine


def _same(name: str, wanted: object, got: object) -> bool:
    if name in _DECIMALS:
        return got is not None and Decimal(str(got)) == Decimal(str(wanted))
    return got == wanted


def _row(fields: Mapping[str, object]) -> str:
    """A report as one line: exec type, status, then order/cum/leaves/last qty (and what else)."""
    head = f"{fields.get('exec_type', '?')} {fields.get('status', '?')}"
    qty = "/".join(str(fields.get(n, "?")) for n in _SHOWN[2:])
    extra = [f"{n}={fields[n]}" for n in ("last_px", "avg_px") if fields.get(n) is not None]
    return " ".join([head, qty, *extra])


def reports_mismatch(
    cid: str, expected: Sequence[ExpectedReport], actual: Sequence[Mapping[str, object]]
) -> Mismatch | None:
    """expect.reports.<cid> against the reports received: each row's fields in turn, then the
    rows missing or extra. None when they agree."""
    lines: list[str] = []
    for i, row in enumerate(expected, start=1):
        where = f" ({row.where})" if row.where else ""
        if i > len(actual):
            lines.append(f"  row {i}{where}: expected {_row(row.fields)}, nothing more received")
            continue
        got = actual[i - 1]
        wrong = [
            f"{name} expected {wanted}, got {got.get(name)}"
            for name, wanted in row.fields.items()
            if not _same(name, wanted, got.get(name))
        ]
        if wrong:
            lines.append(f"  row {i}{where}: {'; '.join(wrong)} [received {_row(got)}]")
    for i in range(len(expected) + 1, len(actual) + 1):
        lines.append(f"  row {i}: not expected, received {_row(actual[i - 1])}")
    if not lines:
        return None
    return Mismatch(
        key=f"reports.{cid}",
        expected=f"{len(expected)} reports",
        actual=f"{len(actual)} received, {len(lines)} row(s) differ",
        detail="\n".join(lines),
    )
