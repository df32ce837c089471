"""The report page: `render_report(RunReport) -> str`, pure and deterministic.

Same inputs, same bytes: nothing here reads a clock, the host or a file; scenarios come in the
order `collect` gives them (file-name order). The page is self-contained (inline CSS, inline SVG,
no script) and its Content-Security-Policy forbids every fetch, so even a page someone edited
cannot make the browser load anything; links to the audit and evidence files are relative and
work from a copy of the folders on another machine.

Nothing secret: every value is escaped once (markup.text) and the whole page goes through the
redactor as the last step, so a secret is caught in the exact bytes that leave, whatever
escaping did to it (the redactor knows the HTML-escaped spellings too). Digests the page shows
are kept intact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from peak_trade.report.diagrams import message_sequence, state_timeline
from peak_trade.report.markup import href, table, text
from peak_trade.report.model import FAIL, NOT_VERIFIED, PASS, UNREADABLE, RunReport, ScenarioReport

if TYPE_CHECKING:
    from peak_trade.execution.live.audit_trail.redaction import Redactor
    from peak_trade.observe.facts import AuditFacts

# What a page may load: nothing. Styles are inline; links are navigation, not fetches.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_VERDICT_CSS = {PASS: "pass", FAIL: "fail", NOT_VERIFIED: "unverified", UNREADABLE: "unverified"}

_STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827;
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: #374151; }
code, .mono, td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f9fafb; font: 600 12.5px system-ui, sans-serif; overflow-wrap: normal; }
td.num { text-align: right; }
.verdict { display: inline-block; white-space: nowrap; padding: 1px 8px; border-radius: 10px;
  font-weight: 700; font-family: system-ui, sans-serif; font-size: 12px; }
.verdict.pass { background: #d1fae5; color: #065f46; }
.verdict.fail { background: #fee2e2; color: #991b1b; }
.verdict.unverified { background: #ffedd5; color: #9a3412; }
.scenario { border: 1px solid #d1d5db; border-radius: 8px; padding: 12px 16px; margin: 18px 0; }
.scenario.fail, .scenario.unverified { border-color: #f87171; }
.reason { margin: 4px 0 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.facts dt { color: #6b7280; }
dl.facts dd { margin: 0; font-family: ui-monospace, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; }
.files a { margin-right: 14px; }
.none, .more { color: #6b7280; margin: 2px 0 8px; }
.diagram { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
.totals td:first-child { font-family: system-ui, sans-serif; }
.note { color: #4b5563; }
@media print { .scenario { break-inside: avoid; } }
"""


def render_report(
    report: RunReport, *, redactor: Redactor | None = None, keep: Iterable[str] = ()
) -> str:
    """The whole HTML page for `report`; the redactor sees its final text, `keep` (digests)
    left intact."""
    parts = [_head(report), _not_passed(report), _summary(report), _totals(report)]
    parts += [_scenario(number, s) for number, s in enumerate(report.scenarios, start=1)]
    parts.append(_not_run(report))
    parts.append("</main>\n</body>\n</html>\n")
    page = "".join(parts)
    if redactor is None:
        return page
    kept = set(keep)
    for scenario in report.scenarios:
        if scenario.facts is not None:
            head = scenario.facts.chain.head
            kept.update((head, head[:12]))
    return redactor.redact_text(page, keep=sorted(kept))


def _head(report: RunReport) -> str:
    n = len(report.scenarios)
    words = {PASS: "passed", FAIL: "failed", NOT_VERIFIED: "not verified", UNREADABLE: "unreadable"}
    counts = ", ".join(
        f"{report.count(v)} {word}"
        for v, word in words.items()
        if report.count(v) or v in (PASS, FAIL)
    )
    overall = "every scenario passed" if report.passed and n else "not every scenario passed"
    css = "pass" if report.passed and n else "fail"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>peak_trade run report</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        "<h1>peak_trade run report</h1>\n"
        f'<p id="overall"><span class="verdict {css}">{text(overall.upper())}</span> '
        f"{n} scenario(s): {text(counts)}</p>\n"
        '<p class="note">Drawn from the audit trails in '
        f"<code>{text(report.audit_dir)}</code> and the evidence in "
        f"<code>{text(report.evidence_dir)}</code> by peak_trade {text(report.version)}. "
        "A scenario passes here only when a PASS evidence file binds its very trail (chain head "
        "and record count) and the trail verifies and is sealed. This file is self-contained: "
        "it loads nothing and works offline.</p>\n"
    )


def _not_passed(report: RunReport) -> str:
    """The scenarios that did not pass, first, each linked to its section."""
    failing = [(n, s) for n, s in enumerate(report.scenarios, start=1) if not s.passed]
    if not failing:
        return ""
    items = "".join(
        f'<li><a href="#scenario-{n}">{text(s.scenario_id)}</a> '
        f'<span class="verdict {_VERDICT_CSS[s.verdict]}">{text(s.verdict)}</span> '
        f"{text(s.reason)}</li>\n"
        for n, s in failing
    )
    return f'<h2>Not passed ({len(failing)})</h2>\n<ul class="not-passed">\n{items}</ul>\n'


def _summary(report: RunReport) -> str:
    rows = []
    for number, s in enumerate(report.scenarios, start=1):
        f = s.facts
        rows.append(
            "<tr>"
            f'<td class="num">{number}</td>'
            f'<td><a href="#scenario-{number}">{text(s.scenario_id)}</a></td>'
            f"<td>{text(s.title or '')}</td>"
            f'<td><span class="verdict {_VERDICT_CSS[s.verdict]}">{text(s.verdict)}</span></td>'
            f"<td>{text(f.final_state or '?') if f else ''}</td>"
            f'<td class="num">{f.final_step if f else ""}</td>'
            f'<td class="num">{f.counts.records if f else ""}</td>'
            f'<td class="num">{f.refusals.total if f else ""}</td>'
            f'<td class="num">{f.breaches.total if f else ""}</td>'
            f"<td>{text(_chain_word(f))}</td>"
            "</tr>\n"
        )
    if not rows:
        return '<h2>Summary</h2>\n<p class="none">no audit trails in this run</p>\n'
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "#",
            "Scenario",
            "Title",
            "Verdict",
            "Final state",
            "Steps",
            "Records",
            "Refusals",
            "Breaches",
            "Audit chain",
        )
    )
    return (
        '<h2>Summary</h2>\n<table class="summary"><thead><tr>'
        f"{header}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody></table>\n"
    )


def _chain_word(facts: AuditFacts | None) -> str:
    if facts is None:
        return "unreadable"
    chain = facts.chain
    if not chain.verified:
        return "broken"
    return "sealed" if chain.sealed else "unsealed"


_COUNTERS = (
    ("orders placed", "orders_place"),
    ("cancels requested", "orders_cancel"),
    ("replaces requested", "orders_replace"),
    ("status queries", "orders_query"),
    ("order resends", "order_resends"),
    ("execution reports", "execution_reports"),
    ("refusals", "refusals"),
    ("retry attempts", "retry_attempts"),
    ("kill switch engagements", "kill_switch_engagements"),
    ("kill switch re-arms", "kill_switch_rearms"),
    ("audit records", "records"),
)


def _totals(report: RunReport) -> str:
    facts = [s.facts for s in report.scenarios if s.facts is not None]
    sums = {name: sum(getattr(f.counts, name) for f in facts) for _, name in _COUNTERS}
    rails: Counter[str] = Counter()
    breaches: Counter[str] = Counter()
    for f in facts:
        rails.update(dict(f.counts.rail_trips))
        breaches.update(dict(f.counts.invariant_breaches))
    rows = [(label, sums[name]) for label, name in _COUNTERS]
    out = ["<h2>Metrics of the run</h2>\n", '<div class="totals">']
    out.append(table(("Counter", "Total"), rows, empty="no counters", css="totals"))
    out.append("</div>\n")
    out.append("<h3>Safety rail trips by rail</h3>\n")
    out.append(table(("Rail", "Trips"), sorted(rails.items()), empty="no rail tripped"))
    out.append("<h3>Invariant breaches by invariant</h3>\n")
    out.append(table(("Invariant", "Breaches"), sorted(breaches.items()), empty="no breach"))
    return "".join(out)


def _scenario(number: int, s: ScenarioReport) -> str:
    css = _VERDICT_CSS[s.verdict]
    title = f": {s.title}" if s.title else ""
    out = [
        f'<section class="scenario {css}" id="scenario-{number}" '
        f'data-scenario="{text(s.scenario_id)}" data-verdict="{text(s.verdict)}">\n',
        f"<h2>{number}. {text(s.scenario_id)}{text(title)}</h2>\n",
        f'<p class="reason"><span class="verdict {css}">{text(s.verdict)}</span> '
        f"{text(s.reason)}</p>\n",
        _files(s),
    ]
    f = s.facts
    if f is None:
        out.append("</section>\n")
        return "".join(out)
    out.append(_facts_list(f))
    out.append("<h3>State timeline</h3>\n")
    out.append(
        '<div class="diagram">'
        + state_timeline(
            f.transitions.items, f.transitions.total, label=f"State timeline of {s.scenario_id}"
        )
        + "</div>\n"
    )
    out.append("<h3>Session ↔ broker messages</h3>\n")
    out.append(
        '<div class="diagram">'
        + message_sequence(
            f.messages.items,
            f.messages.total,
            label=f"Messages between session and broker in {s.scenario_id}",
        )
        + "</div>\n"
    )
    out.append(_refusals(f))
    out.append(_breaches(f))
    out.append(_actions(f))
    out.append(_metrics(f))
    if f.problems:
        out.append("<h3>Records the report could not read</h3>\n<ul>")
        out += [f"<li>{text(p)}</li>" for p in f.problems]
        out.append("</ul>\n")
    out.append("</section>\n")
    return "".join(out)


def _files(s: ScenarioReport) -> str:
    links = s.links
    named = (
        ("audit trail", links.audit),
        ("seal", links.seal),
        ("metrics", links.metrics),
        ("evidence", links.evidence),
        ("scenario", links.scenario),
    )
    anchors = [f'<a href="{href(path)}">{text(name)}</a>' for name, path in named if path]
    return f'<p class="files">Files: {"".join(anchors) or "none"}</p>\n'


def _facts_list(f: AuditFacts) -> str:
    positions = (
        "cannot be derived from this trail"
        if f.positions is None
        else ", ".join(f"{sym} {qty}" for sym, qty in f.positions) or "flat"
    )
    rows: list[tuple[str, str]] = [
        ("Final state", f"{f.final_state or '?'} at step {f.final_step}"),
        ("Audit chain", f.chain.summary),
        ("Session closed", "yes" if f.closed else "no: the trail ends before session_closed"),
        ("Broker", f"{f.broker_kind or '?'}, live enabled: {_yes_no(f.live_enabled)}"),
        ("Open orders", ", ".join(f.open_orders) or "none"),
        ("Positions", positions),
    ]
    if f.cash is not None:
        rows.append(("Cash", f"{f.cash.amount} {f.cash.currency}"))
    rows.append(("Kill switch at the end", "engaged" if f.kill_switch_engaged else "not engaged"))
    if f.reconciler_every_steps is not None:
        last = f.reconciler_last_ok_step
        rows.append(("Reconciler last ok", "never" if last is None else f"step {last}"))
    if f.preflight_failed:
        rows.append(("Preflight failed", ", ".join(f.preflight_failed)))
    body = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in rows)
    return f'<dl class="facts">{body}</dl>\n'


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _refusals(f: AuditFacts) -> str:
    rows = [
        (r.step, r.record, r.client_order_id, r.rule, r.limit, r.observed, r.detail)
        for r in f.refusals
    ]
    return "<h3>Refusals</h3>\n" + table(
        ("Step", "Record", "Order", "Rail / rule", "Limit", "Observed", "Detail"),
        rows,
        empty="nothing refused",
        omitted=f.refusals.omitted,
        what="refusals",
    )


def _breaches(f: AuditFacts) -> str:
    rows = [(b.step, b.invariant, b.detail) for b in f.breaches]
    return "<h3>Breaches</h3>\n" + table(
        ("Step", "Invariant", "Detail"),
        rows,
        empty="no invariant breached",
        omitted=f.breaches.omitted,
        what="breaches",
    )


def _actions(f: AuditFacts) -> str:
    out = []
    if f.operator_actions:
        rows = [(a.step, a.action, a.operator, a.note) for a in f.operator_actions]
        out.append("<h3>Operator actions</h3>\n")
        out.append(
            table(
                ("Step", "Action", "Operator", "Note"),
                rows,
                empty="",
                omitted=f.operator_actions.omitted,
                what="actions",
            )
        )
    if f.kill_switch:
        rows2 = [
            (k.step, k.event, k.source, k.scope, k.rail, k.limit, k.observed, k.reason)
            for k in f.kill_switch
        ]
        out.append("<h3>Kill switch</h3>\n")
        out.append(
            table(
                ("Step", "Event", "Source", "Scope", "Rail", "Limit", "Observed", "Reason / note"),
                rows2,
                empty="",
                omitted=f.kill_switch.omitted,
                what="events",
            )
        )
    if f.reconciliation:
        rows3 = [(r.step, r.event, r.kind, r.key, r.detail) for r in f.reconciliation]
        out.append("<h3>Reconciliation</h3>\n")
        out.append(
            table(
                ("Step", "Event", "Kind", "Key", "Detail"),
                rows3,
                empty="",
                omitted=f.reconciliation.omitted,
                what="findings",
            )
        )
    if f.refused_operations:
        rows4 = [(r.step, r.record, r.operation, r.detail) for r in f.refused_operations]
        out.append("<h3>Refused operations</h3>\n")
        out.append(
            table(
                ("Step", "Record", "Operation", "Detail"),
                rows4,
                empty="",
                omitted=f.refused_operations.omitted,
                what="operations",
            )
        )
    return "".join(out)


def _metrics(f: AuditFacts) -> str:
    c = f.counts
    rows: list[Sequence[object]] = [
        (label, getattr(c, name)) for label, name in _COUNTERS if getattr(c, name)
    ]
    rows += [(f"rail trips: {rail}", n) for rail, n in c.rail_trips]
    rows += [(f"breaches: {inv}", n) for inv, n in c.invariant_breaches]
    rows += [(f"reconcile mismatches: {kind}", n) for kind, n in c.reconcile_mismatches]
    rows += [(f"transitions: {a} → {b}", n) for (a, b), n in c.transitions]
    return "<h3>Metrics</h3>\n" + table(("Counter", "Value"), rows, empty="no counters")


def _not_run(report: RunReport) -> str:
    if not report.not_run:
        return ""
    items = "".join(
        f"<li><code>{text(sid)}</code>{': ' + text(title) if title else ''}</li>"
        for sid, title in report.not_run
    )
    return (
        f"<h2>Scenarios without an audit trail in this run ({len(report.not_run)})</h2>\n"
        f'<ul class="not-run">{items}</ul>\n'
    )
