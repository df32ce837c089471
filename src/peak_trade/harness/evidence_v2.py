"""Format 2 of the evidence (`peak_trade.evidence/2`), kept only to verify files written in it.

A file is verified by rendering it again from a re-run and comparing bytes, so the renderer of
every format still accepted must stay exactly as it was: this module is that renderer, frozen.
New evidence is written in the current format (evidence.py); do not change this one.
"""

from __future__ import annotations

import datetime as dt

from peak_trade.execution.live.audit import canonical_json
from peak_trade.execution.live.session import build_redactor
from peak_trade.harness.evidence import (
    DIGESTS_HEADING,
    _code,
    _digest_values,
    _inline,
    _mapping,
    _table,
    digests,
)
from peak_trade.harness.snapshot import SNAPSHOT_SUFFIX
from peak_trade.harness.verdict import Verdict

FORMAT = "peak_trade.evidence/2"
# What format 2 recorded besides the run (key -> whether it may be null).
INPUT_KEYS = {
    "command": False,
    "date": False,
    "git_commit": True,
    "operator": True,
    "platform": False,
    "python": False,
    "snapshot": False,
}


def render_evidence_v2(
    verdict: Verdict,
    *,
    operator: str | None,
    date: dt.date,
    command: str,
    version: str,
    git_commit: str | None,
    python: str,
    platform: str,
    snapshot_name: str | None = None,
) -> str:
    """Format 2's evidence Markdown for `verdict`, exactly as format 2 wrote it (see module doc).

    Redaction sees every value before Markdown escapes, folds or quotes it (a secret split by an
    escape would no longer be recognised) and the final text again; the digests it prints are
    kept intact.
    """
    scenario, result = verdict.scenario, verdict.result
    redactor = build_redactor(scenario.config)
    redact = redactor.redact_text

    def inline(text: object) -> str:
        return _inline(redact(str(text)))

    records = result.trail.records_of("transition")  # folded by the run: no list of all
    snapshot = snapshot_name or f"{scenario.id}{SNAPSHOT_SUFFIX}"
    inputs = {
        "command": command,
        "date": date.isoformat(),
        "git_commit": git_commit,
        "operator": operator,
        "platform": platform,
        "python": python,
        "snapshot": snapshot,
    }
    verdict_text = (
        "**PASS**: no expectation or snapshot mismatch"
        if verdict.passed
        else f"**FAIL**: {len(verdict.mismatches)} expectation(s) not met"
    )
    out: list[str] = [f"# Evidence: {inline(scenario.id)}: {inline(scenario.title)}", ""]
    facts = [
        ("Operator", inline(operator) if operator else None),
        ("Date", f"{date.isoformat()} (UTC)"),
        ("Scenario", f"`{_code(redact(scenario.path))}`"),
        ("Scenario SHA-256", f"`{scenario.sha256}`"),
        ("peak_trade", inline(version)),
        ("Git commit", f"`{git_commit}`" if git_commit else None),
        ("Verdict", verdict_text),
    ]
    out += [f"- **{name}:** {value}" for name, value in facts if value is not None]
    out += ["", "To reproduce:", "", "```sh", redact(command), "```", ""]
    if not verdict.passed:
        out += ["## Expectations not met", ""]
        out += [f"- {inline(m.format().splitlines()[0])}" for m in verdict.mismatches]
        out.append("")

    out += ["## Session", ""]
    out += [
        f"- **Final state:** `{result.final_state}`",
        f"- **Steps run:** {result.steps_run}",
        "",
        "State timeline:",
        "",
    ]
    timeline = []
    for record in records:
        if record.get("type") != "transition":
            continue
        payload = _mapping(record.get("payload"))
        trigger = str(payload.get("trigger", ""))
        if payload.get("reason"):
            trigger = f"{trigger}: {payload['reason']}"
        change = f"{payload.get('from', '?')} → {payload.get('to', '?')}"
        timeline.append((str(record.get("step", "")), change, trigger))
    out += _table(
        ("Step", "Transition", "Trigger"), timeline, empty="no state transitions", redact=redact
    )

    out += ["## Preflight", ""]
    checks = [(c.name, "yes" if c.ok else "**no**", c.detail) for c in result.preflight]
    out += _table(("Check", "OK", "Detail"), checks, empty="preflight did not run", redact=redact)

    out += ["## Orders and fills", ""]
    orders = sorted(result.orders.values(), key=lambda o: (o.number, o.client_order_id))
    rows = []
    for order in orders:
        avg = order.avg_px
        rows.append(
            (
                order.client_order_id,
                order.symbol,
                order.side.value,
                str(order.order_qty),
                order.status.value,
                str(order.cum_qty),
                str(order.leaves_qty),
                "" if avg is None else str(avg),
                str(order.fills),
            )
        )
    header = ("Id", "Symbol", "Side", "Qty", "Status", "Cum", "Leaves", "Avg px", "Fills")
    out += _table(header, rows, empty="no orders", redact=redact)

    out += ["## Positions", ""]
    positions = [(symbol, str(qty)) for symbol, qty in sorted(result.positions.items())]
    out += _table(("Symbol", "Net qty"), positions, empty="no positions", redact=redact)

    out += ["## Audit trail", ""]
    out += [
        f"- **Audit records:** {result.count}",
        f"- **Chain head:** `{result.head}`",
        f"- **Snapshot:** `{_code(redact(snapshot))}` (SHA-256 `{verdict.snapshot_sha256}`)",
        "",
        "## Environment",
        "",
        f"- **Python:** {inline(python)}",
        f"- **Platform:** {inline(platform)}",
        "",
        "",
    ]
    # Raw first: each recorded input is redacted before JSON escapes it; then the final bytes.
    inputs = {key: redact(v) if isinstance(v, str) else v for key, v in inputs.items()}
    kept = _digest_values(scenario.sha256, result.head, verdict.snapshot_sha256)
    kept += _digest_values(git_commit)
    # The text above the digests is hashed as written (redacted), so an edit made consistently
    # in the text and in `inputs` (an operator renamed in both) still fails verification.
    text = redactor.redact_text("\n".join(out), keep=kept)
    block = digests(verdict, version=version, inputs=inputs, text=text, evidence_format=FORMAT)
    kept += _digest_values(*block.values())
    return text + redactor.redact_text(
        "\n".join((DIGESTS_HEADING, "", "```json", canonical_json(block), "```", "")), keep=kept
    )
