"""The sections of the evidence that show what is signed off, as pure functions of plain facts.

Each function returns Markdown lines. The facts come from the run's audit trail through
`observe.facts` (the one reader of the trail's records) and from the scenario itself (its
description and `expect` block). Every value is redacted by the caller's `redact` before it is
escaped (an escape could split a secret past the redactor); the caller redacts the final text
again. Free text goes through `cell`, which also neutralises Markdown and HTML (a link, an image,
an HTML comment that would hide text from the rendered view); short values go in code spans.
Every list is bounded: at most `MAX_ROWS` rows, and a line that counts the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from peak_trade.execution.live.audit_trail.redaction import REDACTED
from peak_trade.harness.expectations import Mismatch
from peak_trade.harness.mermaid import Arrow, TimelineStep, message_sequence, state_timeline
from peak_trade.harness.model import Expectations
from peak_trade.observe.facts import AuditFacts, Bounded, Message, StateChange

MAX_ROWS = 50  # rows of one table; the rest are counted
MAX_LISTED = 12  # items of one expected list shown in full (an audit.types list runs long)
MAX_DESCRIPTION = 4000  # characters of the scenario's description

Redact = Callable[[str], str]


def cell(text: object) -> str:
    """Free text as one line of inert Markdown: whitespace folded, table pipes, brackets and
    HTML escaped, backticks made quotes (safe in a table cell and in a list item)."""
    folded = " ".join(str(text).split())
    # The redaction marker stays as written: `[REDACTED]` defines no link, so it renders as is.
    return REDACTED.join(
        "".join(_CELL_ESCAPES.get(ch, ch) for ch in part)  # bounded by the text
        for part in folded.split(REDACTED)
    )


_CELL_ESCAPES = {
    "|": "\\|",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "[": "\\[",
    "]": "\\]",
    "`": "'",
    "\\": "\\\\",
}


def code(text: object) -> str:
    """A short value in a code span (nothing inside is Markdown); pipes escaped for tables."""
    folded = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return f"`{folded}`" if folded else ""


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    empty: str,
    total: int | None = None,
    what: str = "rows",
) -> list[str]:
    """A Markdown table of `rows` (cells already escaped), at most MAX_ROWS of them; `total` is
    how many there were in all (more than the rows given when the facts were bounded)."""
    rows = list(rows)
    count = len(rows) if total is None else max(total, len(rows))
    if not count:
        return [f"_{empty}_", ""]
    shown = rows[:MAX_ROWS]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in shown]
    lines.append("")
    if count > len(shown):
        lines += [f"_... and {count - len(shown)} more {what}: see the audit trail_", ""]
    return lines


# --- the scenario ------------------------------------------------------------------------------


def description(text: str, redact: Redact) -> list[str]:
    """The scenario's description as a block quote, one line per paragraph."""
    text = redact(text)
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION] + " ..."
    paragraphs = [cell(p) for p in text.replace("\r\n", "\n").split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        return ["_The scenario has no description._", ""]
    lines: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        if index:
            lines.append(">")
        lines.append(f"> {_no_block_start(paragraph)}")
    return [*lines, ""]


def _no_block_start(text: str) -> str:
    """A paragraph that cannot open a heading, list, quote or rule of its own."""
    if text[:1] in "#+-=>*_":
        return "\\" + text
    number = re.match(r"[0-9]+([.)])", text)
    if number:  # "1. x" or "1) x" would open a numbered list
        return text[: number.end() - 1] + "\\" + text[number.end() - 1 :]
    return text


def _listed(values: Sequence[object], redact: Redact) -> str:
    shown = ", ".join(code(redact(str(v))) for v in values[:MAX_LISTED])
    rest = len(values) - MAX_LISTED
    if rest > 0:
        shown += f" ... and {rest} more"
    return f"{len(values)}: {shown}" if values else "none"


def expectation_rows(expect: Expectations, redact: Redact) -> list[tuple[str, str]]:
    """(the expect key, what it requires) for every expectation the scenario declares."""
    rows: list[tuple[str, str]] = []
    add = rows.append
    if expect.final_state is not None:
        add(("final_state", f"the session ends in {code(expect.final_state)}"))
    if expect.states is not None:
        add(("states", "the states entered, in this order: " + _listed(expect.states, redact)))
    if expect.steps_run is not None:
        add(("steps_run", f"{expect.steps_run} steps run"))
    if expect.audit_types is not None:
        add(("audit.types", "exactly these record types: " + _listed(expect.audit_types, redact)))
    if expect.audit_in_order is not None:
        add(("audit.in_order", "in this order: " + _listed(expect.audit_in_order, redact)))
    if expect.audit_absent is not None:
        add(("audit.absent", "no record of: " + _listed(expect.audit_absent, redact)))
    if expect.audit_count is not None:
        add(("audit.count", f"{expect.audit_count} audit records"))
    for cid, fields in expect.orders.items():
        wanted = ", ".join(f"{cell(redact(k))} {code(redact(str(v)))}" for k, v in fields.items())
        add((f"orders.{cid}", wanted or "the order exists"))
    for symbol, qty in expect.positions.items():
        add((f"positions.{symbol}", f"net {code(str(qty))}"))
    if expect.failed_checks is not None:
        add(("failed_checks", "preflight checks failing: " + _listed(expect.failed_checks, redact)))
    if expect.breaches is not None:
        add(("breaches", "invariants breached, in order: " + _listed(expect.breaches, redact)))
    if expect.errors is not None:
        add(("errors", "errors raised to the caller: " + _listed(expect.errors, redact)))
    if expect.refused_orders is not None:
        refused = [f"{cid} by {rule}" for cid, rule in expect.refused_orders.items()]
        add(("refused_orders", "orders refused: " + _listed(refused, redact)))
    if expect.account is not None:
        parts = [f"{cell(redact(k))} {code(redact(str(v)))}" for k, v in expect.account.items()]
        add(("account", ", ".join(parts)))
    for cid, reports in expect.reports.items():
        add((f"reports.{cid}", f"exactly {len(reports)} execution reports, field by field"))
    return rows


def expectations(expect: Expectations, mismatches: Sequence[Mismatch], redact: Redact) -> list[str]:
    """The expectations checked, each marked met or not met by the verdict's mismatches."""
    unmet = {m.key for m in mismatches}
    rows = []
    for key, wanted in expectation_rows(expect, redact):
        missed = any(k == key or k.startswith(key + ".") for k in unmet)
        rows.append((code(redact(f"expect.{key}")), wanted, "**not met**" if missed else "met"))
    lines = table(
        ("Expectation", "Requires", "Result"),
        rows,
        empty="the scenario declares no expectations",
        what="expectations",
    )
    return [
        *lines,
        "A pass also requires every audit record in every audit sink and, where a snapshot is "
        "stored, the audit trail to equal it byte for byte.",
        "",
    ]


# --- the run's facts ---------------------------------------------------------------------------


def _opt(value: object) -> str:
    return "" if value is None else code(value)


def _why(change: StateChange, acknowledged_by: Mapping[int, str]) -> str:
    """A transition's trigger, who acknowledged (an acknowledge names its operator), and its
    reason or note."""
    who = acknowledged_by.get(change.step) if change.trigger == "acknowledge" else None
    said = f"{change.trigger} by {who}" if who else change.trigger
    return f"{said}: {change.reason}" if change.reason else said


def timeline(facts: AuditFacts, redact: Redact) -> list[str]:
    """The states the session went through: a mermaid flowchart, then the same as a table."""
    acknowledged_by = {
        a.step: a.operator
        for a in facts.operator_actions
        if a.action == "acknowledge" and a.operator
    }
    whys = [redact(_why(t, acknowledged_by)) for t in facts.transitions]
    steps = [
        TimelineStep(step=t.step, source=t.from_state, target=t.to_state, why=why)
        for t, why in zip(facts.transitions, whys, strict=True)
    ]
    rows = [
        (str(t.step), f"{cell(t.from_state)} → {cell(t.to_state)}", cell(why))
        for t, why in zip(facts.transitions, whys, strict=True)
    ]
    total = facts.transitions.total
    return [
        *state_timeline(steps),
        "",
        *table(
            ("Step", "Transition", "Trigger"),
            rows,
            empty="no state transitions",
            total=total,
            what="transitions",
        ),
    ]


def _message_text(message: Message, orders: Mapping[str, str]) -> str:
    cid = message.client_order_id or "?"
    if message.direction == "to_broker":
        if message.kind == "submit":
            detail = orders.get(cid)
            return f"new order {cid}" + (f": {detail}" if detail else "")
        if message.kind == "replace":
            return f"replace {cid}" + (
                f" as {message.other_order_id}" if message.other_order_id else ""
            )
        if message.kind == "status":
            return f"status request {cid}"
        if message.kind == "resend":
            return f"resend {cid} (possible resend)"
        return f"{message.kind} {cid}"
    text = f"report {cid}: {message.exec_type or '?'}"
    if message.status and message.status != message.exec_type:
        text += f", order {message.status}"
    if message.outcome and message.outcome != "applied":
        text += f" ({message.outcome}, not applied)"
    return text


def messages(
    facts: AuditFacts, orders: Mapping[str, str], redact: Redact, *, limit: int
) -> list[str]:
    """The sequence diagram of session <-> broker messages (`orders`: id -> "buy 100 AAPL")."""
    arrows = [
        Arrow(
            step=m.step,
            to_broker=m.direction == "to_broker",
            text=redact(_message_text(m, orders)),
        )
        for m in facts.messages.items[:limit]
    ]
    total = facts.messages.total
    if not total:
        lines = ["No message went to or came from the broker.", ""]
    elif total > limit:
        lines = [
            f"{total} messages between the session and the broker; the first {limit} drawn:",
            "",
        ]
    else:
        lines = [f"{total} message(s) between the session and the broker:", ""]
    return [*lines, *message_sequence(arrows, total=total, limit=limit), ""]


_REQUESTS = {
    "order_refused": "new order",
    "cancel_refused": "cancel",
    "replace_refused": "replace",
    "resend_refused": "resend",
    "status_request_refused": "status request",
}


def refusals(facts: AuditFacts, redact: Redact) -> list[str]:
    rows = [
        (
            str(r.step),
            _opt(redact(r.client_order_id or "")) if r.client_order_id else "",
            cell(_REQUESTS.get(r.record, r.record)),
            _opt(redact(r.rule)) if r.rule else "",
            _opt(redact(r.limit)) if r.limit else "",
            _opt(redact(r.observed)) if r.observed else "",
            cell(redact(r.detail or "")),
        )
        for r in facts.refusals
    ]
    lines = table(
        ("Step", "Order", "Request", "Rail or rule", "Limit", "Observed", "Detail"),
        rows,
        empty="no order or request was refused",
        total=facts.refusals.total,
        what="refusals",
    )
    if facts.refused_operations:
        ops = [
            (str(o.step), cell(redact(o.operation or "?")), cell(redact(o.detail or "")))
            for o in facts.refused_operations
        ]
        lines += ["Operations the session refused:", ""]
        lines += table(
            ("Step", "Operation", "Detail"),
            ops,
            empty="none",
            total=facts.refused_operations.total,
            what="operations",
        )
    return lines


def breaches(facts: AuditFacts, redact: Redact) -> list[str]:
    rows = [
        (str(b.step), code(redact(b.invariant)), cell(redact(b.detail))) for b in facts.breaches
    ]
    return table(
        ("Step", "Invariant", "Detail"),
        rows,
        empty="no invariant was breached",
        total=facts.breaches.total,
        what="breaches",
    )


_ACTIONS = {
    "acknowledge": "acknowledged the error",
    "stop": "requested a graceful stop",
    "cancel": "cancelled (safe stop)",
    "engage_kill_switch": "engaged the kill switch",
    "rearm_kill_switch": "re-armed the kill switch",
    "accept_deficit": "accepted a cash deficit",
}


def operator_actions(facts: AuditFacts, redact: Redact) -> list[str]:
    rows = [
        (
            str(a.step),
            cell(_ACTIONS.get(a.action, a.action)),
            cell(redact(a.operator)) if a.operator else "_not named_",
            cell(redact(a.note or "")),
        )
        for a in facts.operator_actions
    ]
    return table(
        ("Step", "Action", "Who", "Note"),
        rows,
        empty="no operator action",
        total=facts.operator_actions.total,
        what="actions",
    )


def kill_switch(facts: AuditFacts, redact: Redact) -> list[str]:
    rows = []
    for k in facts.kill_switch:
        if k.event == "engaged":
            what = "engaged" + (" (already engaged)" if k.already_engaged else "")
            who = cell(redact(k.source or ""))
        else:
            what = "re-armed"
            who = cell(redact(k.operator or "")) or "_not named_"
        if k.scope:
            what += f" for {cell(redact(k.scope))}"
        rows.append(
            (
                str(k.step),
                what,
                who,
                _opt(redact(k.rail)) if k.rail else "",
                _opt(redact(k.limit)) if k.limit else "",
                _opt(redact(k.observed)) if k.observed else "",
                cell(redact(k.reason or "")),
            )
        )
    lines = table(
        ("Step", "Event", "By", "Rail", "Limit", "Observed", "Reason or note"),
        rows,
        empty="the kill switch was never engaged",
        total=facts.kill_switch.total,
        what="kill switch events",
    )
    if facts.kill_switch:
        state = "engaged" if facts.kill_switch_engaged else "not engaged"
        lines += [f"At the end of the session the kill switch is **{state}**.", ""]
    return lines


def reconciliation(facts: AuditFacts, redact: Redact) -> list[str]:
    rows = [
        (
            str(f.step),
            cell(f.event),
            _opt(redact(f.kind)) if f.kind else "",
            _opt(redact(f.key)) if f.key else "",
            cell(redact(f.detail or "")),
        )
        for f in facts.reconciliation
    ]
    lines = table(
        ("Step", "Finding", "Kind", "Order or symbol", "Detail"),
        rows,
        empty="no difference between the session's books and the broker's",
        total=facts.reconciliation.total,
        what="findings",
    )
    if facts.reconciler_every_steps:
        last = facts.reconciler_last_ok_step
        said = "never" if last is None else f"at step {last}"
        lines += [
            f"The reconciler compares the books every {facts.reconciler_every_steps} step(s); "
            f"they last agreed {said}.",
            "",
        ]
    return lines


def summary(facts: AuditFacts) -> list[str]:
    """One line per kind of fact, each with its count, so a reviewer sees at once what to read."""

    def n(items: Bounded[object], one: str, many: str) -> str:
        return f"{items.total} {one if items.total == 1 else many}"

    return [
        f"- {n(facts.refusals, 'refused order or request', 'refused orders or requests')}, "
        f"{n(facts.breaches, 'breach', 'breaches')}, "
        f"{n(facts.operator_actions, 'operator action', 'operator actions')}, "
        f"{n(facts.kill_switch, 'kill switch event', 'kill switch events')}, "
        f"{n(facts.reconciliation, 'reconciliation finding', 'reconciliation findings')}",
        f"- {facts.counts.orders_place} order(s) placed, {facts.counts.orders_cancel} cancel(s), "
        f"{facts.counts.orders_replace} replace(s), {facts.counts.execution_reports} execution "
        "report(s)",
    ]
