"""The template `peak-trade scenario new` writes: valid, passing, and teaching the format."""

from __future__ import annotations

import os
import re
from pathlib import Path

from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.loader import load_scenario_text

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
MAX_ID_LENGTH = 64  # as the schema's `id`
SCHEMA_RELATIVE = Path("schemas") / "scenario.schema.json"

_TEMPLATE = """\
# yaml-language-server: $schema={schema}
#
# A peak_trade scenario: a deterministic rehearsal of a live session against the mock broker.
# The line above lets editors complete and check every key against the schema.
#   check it:     peak-trade scenario validate {path}
#   run it:       peak-trade scenario run {path}
#   snapshot it:  pytest --snapshot-update  (review and commit the JSON it writes)
# Write prices and quantities as quoted decimals ("190.10"): exact, never binary floats.

# Unique id (lower case, digits, _ and -): names the snapshot, the audit file and the evidence.
id: {id}
# One line, shown by `peak-trade scenario list` and in the evidence.
title: A buy order is acked, fully filled, and the session stops cleanly
# What the scenario shows and why it matters (optional).
description: >
  One market order is acknowledged in the step it is sent and filled completely at the
  reference price on the next step; the session then stops gracefully with nothing open.
  Replace this with what your scenario rehearses.
# Labels for listing and filtering (optional).
tags: [template]

# Exactly the session config the orchestrator receives; preflight judges it.
config:
  allowlist: [AAPL]   # symbols the session may trade; missing or empty fails preflight
  max_steps: 10       # the step bound, required by preflight
  drain_steps: 3      # steps STOPPING may wait for cancels to be confirmed
  rails:              # pre-trade controls (docs/controls.md); no limits, no trading:
    max_order_qty: "1000"          # both order size limits, or `unbounded: true`
    max_order_notional: "250000"
    reference_prices: {{AAPL: "190.10"}}  # what the notional limit values a market order at
  # secrets: {{api_key: "sk-canary-0001"}}  # named values, redacted from audit and evidence
  # audit: {{sink: file, path: session.jsonl, fsync: on_close}}
  # live: {{enabled: false}}  # stays off; anything else fails preflight

# The mock broker: reference prices, and optionally scripts of what it does with each order.
broker:
  reference_prices: {{AAPL: "190.10"}}  # the price of market-order fills
  # default: [ack, fill]  # the default script: ack in the step sent, fill all on the next
  # by_symbol: {{AAPL: [ack, {{fill: {{qty: "40"}}}}, fill]}}  # partial fill, then the rest
  # by_order: {{o-1: {{actions: [ack, {{wait: 2}}], on_cancel: reject}}}}
  # health: [{{from_step: 3, steps: 2, detail: feed down}}]  # a scripted broker outage

# The bounded run, one entry per step: submit and cancel orders, `run: N` steps at once,
# then optionally stop the session or acknowledge an error. `{{}}` is an idle step.
steps:
  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: "100"}}  # acked in this step
  - comment: the mock fills o-1 at the reference price       # an idle step, with a note
  # - cancel: o-1
  # - run: 3
  - stop: end of rehearsal  # graceful; or {{reason: operator kill, mode: cancel}}
  # - acknowledge: {{operator: alice, note: positions checked}}  # leaves ERROR_REQUIRES_OPERATOR

# What must be true after the run. Every key is optional; each one given is checked.
expect:
  final_state: STOPPED
  states: [PREFLIGHT_OK, DRYRUN_ACTIVE, STOPPING, STOPPED]  # every state entered, in order
  steps_run: 3
  orders:  # only the fields given are checked
    o-1: {{status: filled, cum_qty: "100", leaves_qty: "0", avg_px: "190.10", fills: 1}}
  positions: {{AAPL: "100"}}  # net, signed
  failed_checks: []   # exactly the preflight checks that fail, in check order
  breaches: []        # exactly the runtime invariants breached
  errors: []          # exactly the session errors raised to the caller
  refused_orders: {{}}  # exactly the orders refused before the broker, e.g. {{o-9: allowlist}}
  audit:
    in_order: [session_opened, order_submitted, execution_report, session_closed]
    absent: [invariant_breach, order_refused]
    # types: [session_opened, preflight_check, ...]  # the exact sequence of record types
    # count: 17                                      # the exact number of records
"""


def id_problem(scenario_id: str) -> str | None:
    """Why `scenario_id` cannot name a scenario, or None."""
    if not ID_PATTERN.fullmatch(scenario_id):
        return (
            f"invalid scenario id {scenario_id!r}: use lower-case letters, digits, '_' and '-', "
            "starting with a letter or digit"
        )
    if len(scenario_id) > MAX_ID_LENGTH:
        return f"invalid scenario id: longer than {MAX_ID_LENGTH} characters"
    return None


def schema_location(target_dir: Path, root: Path) -> Path:
    """Where the modeline of a scenario in `target_dir` should point: the nearest
    `schemas/scenario.schema.json` in `target_dir` or a parent up to the project `root`, else the
    project's own `schemas/scenario.schema.json` (which `peak-trade schema --output` writes).
    `--strict` asks for the same file."""
    from peak_trade.harness.strict import schema_location as location

    return location(Path(os.path.abspath(target_dir)), root)


def schema_reference(target_dir: Path, schema: Path) -> str:
    """`schema` relative to `target_dir`, in the form editors expect."""
    start = Path(os.path.abspath(target_dir))
    try:
        return Path(os.path.relpath(schema, start)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return schema.as_posix()


def yaml_id(scenario_id: str) -> str:
    """The id as YAML: plain when strict loading reads it back as that string, else quoted."""
    try:
        if load_scenario_text(f"id: {scenario_id}\n").data.get("id") == scenario_id:
            return scenario_id
    except ScenarioError:
        pass
    return f'"{scenario_id}"'


def render_template(scenario_id: str, *, target_dir: Path, schema: Path) -> str:
    path = (Path(target_dir) / f"{scenario_id}.yaml").as_posix()
    reference = schema_reference(target_dir, schema)
    return _TEMPLATE.format(schema=reference, id=yaml_id(scenario_id), path=path)
