"""Mermaid diagrams for the evidence: a state timeline and a session <-> broker sequence.

Pure functions over plain values. Every label goes through `label()`, which keeps a conservative
set of characters and replaces the rest, so no text from a scenario or a broker (a quote, a pipe,
a brace opening a `%%{init}%%` directive, an HTML tag, an entity, a newline, a backtick closing
the Markdown fence) can end a statement, change the diagram or inject markup. Labels are replaced,
never escaped: an escape would hide a secret from the redaction that reads the final text (the
caller redacts every value before it reaches here). Sizes are bounded: a label by `MAX_LABEL`
characters, a diagram by the number of arrows the caller allows; what is left out is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_LABEL = 90  # characters of one label
MAX_TRANSITIONS = 24  # arrows in a state timeline (the state machine needs at most 6)
MAX_MESSAGES = 40  # arrows in a sequence diagram; the rest are counted

# Characters a label keeps as they are; a few others have a readable stand-in; the rest become ?
_KEPT = frozenset(" -_.,:/()[]'+=@!?*%$~^")
_STAND_IN = {
    '"': "'",
    "`": "'",
    "{": "(",
    "}": ")",
    "<": "(",
    ">": ")",
    "|": "/",
    "\\": "/",
    ";": ",",
    "#": "no.",
    "&": "+",
}
# Kinds of state a timeline colours: error states, terminal states (mermaid classDef syntax).
_CLASSES = (
    ("failed", "fill:#f8d7da,stroke:#b02a37,color:#000"),
    ("done", "fill:#d1e7dd,stroke:#146c43,color:#000"),
)
FAILED_STATES = frozenset({"PREFLIGHT_FAILED", "ERROR_REQUIRES_OPERATOR"})
DONE_STATES = frozenset({"STOPPED"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineStep:
    """One state change: at logical `step`, `source` -> `target`, because of `why`."""

    step: int
    source: str
    target: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrow:
    """One message at logical `step`: to the broker (`to_broker`) or from it, saying `text`."""

    step: int
    to_broker: bool
    text: str


def label(text: object, *, limit: int = MAX_LABEL) -> str:
    """`text` as one safe mermaid label of at most `limit` characters (see the module doc)."""
    out: list[str] = []
    for ch in " ".join(str(text).split()):  # bounded by the text; newlines and tabs folded
        if ch.isalnum() or ch in _KEPT:
            out.append(ch)
        else:
            out.append(_STAND_IN.get(ch, "?"))
    safe = "".join(out)
    while "%%" in safe:  # bounded: each round shortens the text
        safe = safe.replace("%%", "%")
    if len(safe) > limit:
        safe = safe[: max(0, limit - 3)].rstrip() + "..."
    return safe


def _state_id(name: str) -> str:
    """A state name as a node label: upper-case letters, digits and _ only."""
    kept = "".join(ch for ch in name.upper() if ch.isascii() and (ch.isalnum() or ch == "_"))
    return kept[:40] or "UNKNOWN"


def state_timeline(steps: Sequence[TimelineStep], *, limit: int = MAX_TRANSITIONS) -> list[str]:
    """A top-down flowchart of the states in the order the session went through them, each
    arrow labelled with its step and trigger; the lines of a ```mermaid block, fences included.
    Top-down, like the sequence diagram below it: a long label stays legible in a narrow view.
    At most `limit` arrows are drawn; a last node counts the rest."""
    lines = ["```mermaid", "flowchart TD"]
    if not steps:
        return [*lines, '    n0["no state transitions"]', "```"]
    shown = steps[:limit]
    names = [shown[0].source, *(s.target for s in shown)]
    for index, name in enumerate(names):
        lines.append(f'    n{index}(["{_state_id(name)}"])')
    for index, step in enumerate(shown):
        why = label(f"step {step.step}: {step.why}" if step.why else f"step {step.step}")
        lines.append(f'    n{index} -->|"{why}"| n{index + 1}')
    rest = len(steps) - len(shown)
    if rest:
        more = "transition" if rest == 1 else "transitions"
        lines.append(f'    n{len(names)}["... {rest} more {more}, see the table"]')
        lines.append(f"    n{len(names) - 1} -.-> n{len(names)}")
    for name, style in _CLASSES:
        lines.append(f"    classDef {name} {style}")
    for name, members in (("failed", FAILED_STATES), ("done", DONE_STATES)):
        nodes = [f"n{i}" for i, state in enumerate(names) if _state_id(state) in members]
        if nodes:
            lines.append(f"    class {','.join(nodes)} {name}")
    return [*lines, "```"]


def message_sequence(
    arrows: Sequence[Arrow], *, total: int | None = None, limit: int = MAX_MESSAGES
) -> list[str]:
    """A sequence diagram of the messages between the session and the mock broker, the first
    `limit` of `arrows` drawn and the rest of `total` (default: len(arrows)) counted in a note;
    the lines of a ```mermaid block, fences included."""
    count = len(arrows) if total is None else max(total, len(arrows))
    lines = [
        "```mermaid",
        "sequenceDiagram",
        "    participant S as Session",
        "    participant B as Mock broker",
    ]
    if not count:
        return [*lines, "    Note over S,B: no messages were exchanged", "```"]
    shown = arrows[:limit]
    for arrow in shown:
        text = label(f"step {arrow.step}: {arrow.text}")
        lines.append(f"    {'S->>B' if arrow.to_broker else 'B-->>S'}: {text}")
    rest = count - len(shown)
    if rest:
        more = "message" if rest == 1 else "messages"
        lines.append(f"    Note over S,B: {rest} more {more} not drawn, see the audit trail")
    return [*lines, "```"]
