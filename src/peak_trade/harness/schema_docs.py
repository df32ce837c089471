"""Generated documentation: the scenario key reference, the session state diagram and the order
lifecycle.

Theory of operation: each generated text has one source of truth, the scenario schema
(schemas/scenario.schema.json), the session transition table (execution/live/state.py) and the
order lifecycle table (execution/broker/order_lifecycle.py). The docs hold
the rendering between marker comments

    <!-- BEGIN GENERATED: key-reference -->  ...  <!-- END GENERATED: key-reference -->

and `python -m peak_trade.harness.schema_docs` rewrites what lies between them in place (`make
docs`); with `--check` it changes nothing and exits 1 when a section is stale. Everything outside
the markers is prose written by hand. tests/harness/test_docs_sync.py runs the same comparison, so
a schema or table change that is not carried into the docs fails `make test`.

The key reference is rendered by key_reference.py, the state section here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peak_trade.execution.broker import order_lifecycle
from peak_trade.execution.broker.model import OrderStatus
from peak_trade.execution.live.state import (
    STEPPING_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    SessionState,
    allowed_triggers,
    mermaid_diagram,
)
from peak_trade.harness.key_reference import _NOTICE, render_key_reference

__all__ = [
    "GeneratedSection",
    "main",
    "render_order_lifecycle_section",
    "render_state_section",
    "replace_section",
    "sections",
]

SCHEMA_PATH = Path("schemas") / "scenario.schema.json"
SCENARIOS_DOC = Path("docs") / "scenarios.md"
STATE_MACHINE_DOC = Path("docs") / "state-machine.md"
ORDER_LIFECYCLE_DOC = Path("docs") / "order-lifecycle.md"


# ----------------------------------------------------------------------------- state machine


def render_state_section() -> str:
    """The mermaid diagram of the transition table, the table itself, and each state's facts."""
    rows = [
        f"| `{source.value}` | `{trigger.value}` | `{target.value}` |"
        for (source, trigger), target in TRANSITIONS.items()
    ]
    states = [
        f"| `{state.value}` | {'yes' if state in TERMINAL_STATES else 'no'} "
        f"| {'yes' if state in STEPPING_STATES else 'no'} "
        f"| {', '.join(f'`{t.value}`' for t in allowed_triggers(state))} |"
        for state in SessionState
    ]
    return "".join(
        [
            _NOTICE.format(source="`TRANSITIONS` in `src/peak_trade/execution/live/state.py`"),
            "\n",
            f"```mermaid\n{mermaid_diagram()}```\n\n",
            "| from | trigger | to |\n|---|---|---|\n",
            "\n".join(rows),
            "\n\n| state | terminal | `step()` advances | accepted triggers |\n|---|---|---|---|\n",
            "\n".join(states),
            "\n",
        ]
    )


# ----------------------------------------------------------------------------- order lifecycle


def render_order_lifecycle_section() -> str:
    """The mermaid diagram of the order lifecycle table, the table, each status's facts and the
    quantity rules."""
    lc = order_lifecycle
    rows = [
        f"| `{source.value}` | `{exec_type.value}` | "
        f"{', '.join(f'`{t.value}`' for t in targets)} |"
        + (" only while leaves > 0 (GTC) |" if (source, exec_type) in lc.DORMANT_ONLY else " |")
        for (source, exec_type), targets in lc.TRANSITIONS.items()
    ]

    def terminal(status: OrderStatus) -> str:
        if status in lc.TERMINAL_STATUSES:
            return "yes"
        return "when leaves are 0 (a DAY order)" if status is OrderStatus.DONE_FOR_DAY else "no"

    statuses = [
        f"| `{status.value}` | {terminal(status)} "
        f"| {', '.join(f'`{x.value}`' for x in lc.allowed_exec_types(status)) or 'nothing'} |"
        for status in OrderStatus
    ]
    rules = [f"| `{name}` | {text} |" for name, text in lc.QUANTITY_RULES.items()]
    return "".join(
        [
            _NOTICE.format(
                source="`TRANSITIONS` and `QUANTITY_RULES` in "
                "`src/peak_trade/execution/broker/order_lifecycle.py`"
            ),
            "\n",
            f"```mermaid\n{lc.mermaid_diagram()}```\n\n",
            "| status before | exec type | status after (the report's) | note |\n"
            "|---|---|---|---|\n",
            "\n".join(rows),
            "\n\n| status | closed | exec types it takes |\n|---|---|---|\n",
            "\n".join(statuses),
            "\n\n| quantity rule | what it requires |\n|---|---|\n",
            "\n".join(rules),
            "\n",
        ]
    )


# ----------------------------------------------------------------------------- sections


class DocsError(ValueError):
    """A doc or the schema cannot be read, or a doc lacks its markers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedSection:
    doc: Path  # relative to the repository root
    name: str
    content: str  # what belongs between the markers


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def replace_section(text: str, name: str, content: str) -> str:
    """`text` with the section `name` holding `content`; DocsError if its markers are not there
    exactly once each, in order."""
    begin, end = _markers(name)
    if text.count(begin) != 1 or text.count(end) != 1:
        raise DocsError(f"needs exactly one {begin!r} and one {end!r} line")
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    if end not in rest:
        raise DocsError(f"{end!r} comes before {begin!r}")
    return f"{head}{begin}\n\n{content}\n{end}{tail}"


def sections(root: Path) -> list[GeneratedSection]:
    """Every generated section of the docs under `root`, rendered from the sources now."""
    try:
        schema = json.loads((root / SCHEMA_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DocsError(f"{SCHEMA_PATH}: cannot read the schema: {exc}") from exc
    return [
        GeneratedSection(
            doc=SCENARIOS_DOC, name="key-reference", content=render_key_reference(schema)
        ),
        GeneratedSection(
            doc=STATE_MACHINE_DOC, name="state-diagram", content=render_state_section()
        ),
        GeneratedSection(
            doc=ORDER_LIFECYCLE_DOC,
            name="order-lifecycle",
            content=render_order_lifecycle_section(),
        ),
    ]


def _update(root: Path, *, check: bool) -> list[str]:
    """Rewrite the stale sections (or, with `check`, only name them); returns what was stale.

    The schema's generated enums come first: the key reference is rendered from the schema."""
    stale = _update_schema(root, check=check)
    for section in sections(root):
        path = root / section.doc
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DocsError(f"{section.doc}: cannot read: {exc}") from exc
        try:
            updated = replace_section(text, section.name, section.content)
        except DocsError as exc:
            raise DocsError(f"{section.doc}: {exc}") from exc
        if updated != text:
            stale.append(f"{section.doc}: generated section '{section.name}'")
            if not check:
                path.write_text(updated, encoding="utf-8")
    return stale


def _update_schema(root: Path, *, check: bool) -> list[str]:
    from peak_trade.harness.schema_enums import render_schema, schema_text

    path = root / SCHEMA_PATH
    try:
        text = path.read_text(encoding="utf-8")
        updated = schema_text(render_schema(json.loads(text)))
    except (OSError, ValueError) as exc:
        raise DocsError(f"{SCHEMA_PATH}: cannot read the schema: {exc}") from exc
    if updated == text:
        return []
    if not check:
        path.write_text(updated, encoding="utf-8")
    return [f"{SCHEMA_PATH}: generated enums (rails, checks, invariants, errors)"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m peak_trade.harness.schema_docs",
        description="Regenerate the generated sections of docs/scenarios.md, "
        "docs/state-machine.md and docs/order-lifecycle.md from the scenario schema, the state "
        "table and the order lifecycle table.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a section is stale"
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    args = parser.parse_args(argv)
    try:
        stale = _update(args.root, check=args.check)
    except DocsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for item in stale:
        print(f"{item} is stale; run `make docs`" if args.check else f"rewrote {item}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
