"""The scenario schema's name lists, generated from the tables that define the names.

`expect.refused_orders` names rails, `expect.failed_checks` preflight checks, `expect.breaches`
runtime invariants and `expect.errors` session error kinds. Each list is an enum in the schema's
`$defs`, so a misspelt name is an error at its line (with a did-you-mean) and editors complete
it, and it is generated from its table here: `make docs` rewrites the enums in
schemas/scenario.schema.json, and `make test` fails while they differ from the tables
(tests/harness/test_docs_sync.py). Everything else in the schema is written by hand.
"""

from __future__ import annotations

import json
from typing import Any

from peak_trade.execution.live.checks import PREFLIGHT_CHECKS, RUNTIME_INVARIANTS
from peak_trade.execution.live.rails.rules import RAIL_NAMES
from peak_trade.harness.runner import ERROR_KINDS

__all__ = ["ENUMS", "SESSION_REFUSALS", "render_schema", "schema_text"]

# Rules the session itself records in `order_refused`, besides the rails: an order is refused
# when the audit cannot record it (orchestrator.py).
SESSION_REFUSALS = ("audit_sink_failed",)

# $defs name -> (description, what the error message calls a valid value, the names).
ENUMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "refusal_rule": (
        "A rule that refuses an order before the broker: a pre-trade rail (the rails table, "
        "execution/live/rails/rules.py), or the session's own refusal when the audit cannot "
        "record it.",
        "a rail name",
        (*RAIL_NAMES, *SESSION_REFUSALS),
    ),
    "preflight_check": (
        "A preflight check (execution/live/checks.py), in check order.",
        "a preflight check name",
        tuple(PREFLIGHT_CHECKS),
    ),
    "invariant": (
        "A runtime invariant (execution/live/checks.py).",
        "a runtime invariant name",
        tuple(RUNTIME_INVARIANTS),
    ),
    "session_error": (
        "A session error raised to the caller, by kind (harness/runner.py).",
        "a session error kind",
        tuple(dict.fromkeys(ERROR_KINDS.values())),
    ),
}


def render_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each generated enum in `$defs` set from its table (a new dict)."""
    defs = dict(schema.get("$defs", {}))
    for name, (description, expected, names) in ENUMS.items():
        defs[name] = {"description": description, "x-expected": expected, "enum": list(names)}
    return {**schema, "$defs": defs}


def schema_text(schema: dict[str, Any]) -> str:
    """The schema file's exact text: two-space JSON, ASCII, one final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=True) + "\n"
