"""Inline SVG drawings of one session: its state timeline and its session <-> broker messages.

Pure functions from plain values to SVG text. Both are bounded: at most `MAX_TRANSITIONS` rows and
`MAX_MESSAGES` arrows are drawn, and a last line counts the rest (including what the audit facts
themselves only counted). No element carries an `id` (many drawings share one page), arrowheads
are drawn as polygons rather than markers for that reason, and every piece of text goes through
`markup.text`, so a title or a note holding `</svg><script>` stays text.

The timeline draws one column per session state (the seven of the state machine, in the order of
its happy path, then any other name a trail holds) and one row per transition: an arrow from the
state left to the state entered, the step on the left and the trigger (and its reason) on the
right. The sequence draws two lifelines, session and broker, and one arrow per message in trail
order: requests to the broker, execution reports back (dashed when the session did not apply the
report: a duplicate, an unknown order, a refused report).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from peak_trade.report.markup import clip, text

MAX_TRANSITIONS = 40
MAX_MESSAGES = 60
MAX_STATE_COLUMNS = 12  # the seven states and a few unknown names; more share the last column
TITLE_CHARS = 400  # the hover text of a row: the whole line, within reason

STATES = (
    "INIT",
    "PREFLIGHT_OK",
    "DRYRUN_ACTIVE",
    "STOPPING",
    "STOPPED",
    "PREFLIGHT_FAILED",
    "ERROR_REQUIRES_OPERATOR",
)
_STATE_COLOURS = {
    "INIT": "#6b7280",
    "PREFLIGHT_OK": "#2563eb",
    "DRYRUN_ACTIVE": "#059669",
    "STOPPING": "#d97706",
    "STOPPED": "#374151",
    "PREFLIGHT_FAILED": "#dc2626",
    "ERROR_REQUIRES_OPERATOR": "#b91c1c",
}
_OTHER_COLOUR = "#7c3aed"
_FONT = 'font-family="ui-monospace,SFMono-Regular,Menlo,Consolas,monospace" font-size="11"'


class Transition(Protocol):
    @property
    def step(self) -> int: ...
    @property
    def from_state(self) -> str: ...
    @property
    def to_state(self) -> str: ...
    @property
    def trigger(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


class BrokerMessage(Protocol):
    @property
    def step(self) -> int: ...
    @property
    def direction(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def client_order_id(self) -> str | None: ...
    @property
    def other_order_id(self) -> str | None: ...
    @property
    def exec_type(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def outcome(self) -> str | None: ...


def _svg(width: int, height: int, label: str, css: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {_FONT}>'
        f"<title>{text(label)}</title>\n" + "".join(body) + "</svg>\n"
    )


def _rest_line(x: int, y: int, drawn: int, total: int, what: str) -> str:
    rest = total - drawn
    return (
        f'<text class="rest" x="{x}" y="{y}" fill="#6b7280">… and {rest} more {what} '
        f"not drawn ({total} in all)</text>\n"
    )


def _arrow(x1: float, x2: float, y: float, colour: str, *, dashed: bool = False) -> str:
    """A horizontal arrow from x1 to x2 at y, its head a polygon at x2."""
    direction = 1 if x2 >= x1 else -1
    tip, base = x2, x2 - direction * 7
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<line x1="{x1:g}" y1="{y:g}" x2="{base:g}" y2="{y:g}" stroke="{colour}" '
        f'stroke-width="1.5"{dash}/>'
        f'<polygon points="{tip:g},{y:g} {base:g},{y - 4:g} {base:g},{y + 4:g}" '
        f'fill="{colour}"/>'
    )


# --------------------------------------------------------------------------- state timeline

_T_LEFT = 64  # step labels end here
_T_COLUMN = 96
_T_HEADER = 50
_T_ROW = 24
_T_TEXT_CHARS = 60


def _columns(changes: Sequence[Transition]) -> list[str]:
    columns = list(STATES)
    for change in changes:  # bounded by MAX_TRANSITIONS
        for state in (change.from_state, change.to_state):
            if state not in columns and len(columns) < MAX_STATE_COLUMNS:
                columns.append(state)
    return columns


def _header_label(state: str, x: float) -> str:
    """The state's name over its column, broken at underscores into at most three lines."""
    words = state.split("_")
    lines = [words[0]]
    for word in words[1:]:
        if len(lines) < 3 and len(lines[-1]) + len(word) >= 12:
            lines.append(word)
        else:
            lines[-1] += "_" + word
    spans = "".join(
        f'<tspan x="{x:g}" dy="{0 if n == 0 else 12}">{text(clip(line, 16))}</tspan>'
        for n, line in enumerate(lines)
    )
    first_y = _T_HEADER - 10 - 12 * (len(lines) - 1)
    return f'<text x="{x:g}" y="{first_y}" text-anchor="middle" font-size="10">{spans}</text>'


def state_timeline(changes: Sequence[Transition], total: int, *, label: str) -> str:
    """The state timeline of one session: the first MAX_TRANSITIONS of `changes` (the kept
    transitions), `total` the number the trail holds."""
    drawn = list(changes[:MAX_TRANSITIONS])
    columns = _columns(drawn)
    width = _T_LEFT + _T_COLUMN * len(columns) + 16 + _T_TEXT_CHARS * 7
    rows = max(len(drawn), 1)
    rest = total > len(drawn)
    height = _T_HEADER + rows * _T_ROW + (22 if rest else 8)

    def x_of(state: str) -> float:
        index = columns.index(state) if state in columns else len(columns) - 1
        return _T_LEFT + _T_COLUMN * index + _T_COLUMN / 2

    body = []
    lane_bottom = _T_HEADER + rows * _T_ROW
    for state in columns:
        x = x_of(state)
        body.append(_header_label(state, x))
        body.append(
            f'<line x1="{x:g}" y1="{_T_HEADER - 4}" x2="{x:g}" y2="{lane_bottom}" '
            'stroke="#e5e7eb"/>'
        )
    body.append("\n")
    if not drawn:
        body.append(
            f'<text x="{_T_LEFT}" y="{_T_HEADER + 16}" fill="#6b7280">no state transitions '
            "in this trail</text>\n"
        )
    text_x = _T_LEFT + _T_COLUMN * len(columns) + 16
    for row, change in enumerate(drawn):
        y = _T_HEADER + row * _T_ROW + _T_ROW / 2
        x1, x2 = x_of(change.from_state), x_of(change.to_state)
        colour = _STATE_COLOURS.get(change.to_state, _OTHER_COLOUR)
        words = change.trigger if not change.reason else f"{change.trigger}: {change.reason}"
        line = f"step {change.step}: {change.from_state} → {change.to_state} ({words})"
        parts = [f"<g><title>{text(clip(line, TITLE_CHARS))}</title>"]
        parts.append(
            f'<text x="{_T_LEFT - 8}" y="{y + 4:g}" text-anchor="end" fill="#374151">'
            f"step {text(change.step)}</text>"
        )
        if x1 != x2:
            parts.append(f'<circle cx="{x1:g}" cy="{y:g}" r="3" fill="#9ca3af"/>')
            parts.append(_arrow(x1, x2 + (-6 if x2 > x1 else 6), y, colour))
        parts.append(f'<circle cx="{x2:g}" cy="{y:g}" r="5" fill="{colour}"/>')
        parts.append(
            f'<text class="trigger" x="{text_x}" y="{y + 4:g}">'
            f"{text(clip(words, _T_TEXT_CHARS))}</text></g>\n"
        )
        body.append("".join(parts))
    if rest:
        body.append(_rest_line(_T_LEFT, lane_bottom + 16, len(drawn), total, "transitions"))
    return _svg(width, height, label, "timeline", body)


# --------------------------------------------------------------------------- message sequence

_S_STEP = 64  # step labels end here
_S_SESSION = 150
_S_BROKER = 690
_S_HEADER = 40
_S_ROW = 24
_S_LABEL_CHARS = 72
_OUT_COLOUR = "#2563eb"
_REPORT_COLOUR = "#059669"
_NOT_APPLIED_COLOUR = "#d97706"


def message_label(message: BrokerMessage) -> str:
    """What the arrow of one message says: the request and its order ids, or the report's
    execution type, the order's status, and what the session did with it when not applied."""
    order = message.client_order_id or "?"
    if message.direction != "from_broker":
        if message.other_order_id:
            return f"{message.kind} {order} → {message.other_order_id}"
        return f"{message.kind} {order}"
    words = f"report {order}: {message.exec_type or '?'}"
    if message.status:
        words += f", {message.status}"
    if message.outcome and message.outcome != "applied":
        words += f" [{message.outcome}]"
    return words


def message_sequence(messages: Sequence[BrokerMessage], total: int, *, label: str) -> str:
    """The session <-> broker messages of one session: the first MAX_MESSAGES of `messages`,
    `total` the number the trail holds."""
    drawn = list(messages[:MAX_MESSAGES])
    rows = max(len(drawn), 1)
    rest = total > len(drawn)
    lane_bottom = _S_HEADER + rows * _S_ROW + 4
    height = lane_bottom + (22 if rest else 8)
    width = _S_BROKER + 90
    body = []
    for name, x in (("session", _S_SESSION), ("broker (mock)", _S_BROKER)):
        body.append(
            f'<rect x="{x - 60}" y="4" width="120" height="22" rx="4" fill="#f3f4f6" '
            f'stroke="#9ca3af"/><text x="{x}" y="19" text-anchor="middle" '
            f'font-weight="bold">{text(name)}</text>'
            f'<line x1="{x}" y1="26" x2="{x}" y2="{lane_bottom}" stroke="#9ca3af" '
            'stroke-dasharray="2 3"/>'
        )
    body.append("\n")
    if not drawn:
        body.append(
            f'<text x="{(_S_SESSION + _S_BROKER) // 2}" y="{_S_HEADER + 14}" '
            'text-anchor="middle" fill="#6b7280">no messages between session and broker</text>\n'
        )
    middle = (_S_SESSION + _S_BROKER) / 2
    for row, message in enumerate(drawn):
        y = _S_HEADER + row * _S_ROW + 14
        words = message_label(message)
        outbound = message.direction != "from_broker"
        applied = outbound or message.outcome in (None, "applied")
        colour = _OUT_COLOUR if outbound else _REPORT_COLOUR if applied else _NOT_APPLIED_COLOUR
        x1, x2 = (_S_SESSION, _S_BROKER) if outbound else (_S_BROKER, _S_SESSION)
        arrow_to = "session → broker" if outbound else "broker → session"
        hover = f"step {message.step}: {arrow_to}: {words}"
        body.append(
            f"<g><title>{text(clip(hover, TITLE_CHARS))}</title>"
            f'<text x="{_S_STEP - 8}" y="{y + 4:g}" text-anchor="end" fill="#374151">'
            f"step {text(message.step)}</text>"
            f'<text class="message" x="{middle:g}" y="{y - 4:g}" text-anchor="middle" '
            f'fill="{colour}">{text(clip(words, _S_LABEL_CHARS))}</text>'
            + _arrow(x1, x2, y + 3, colour, dashed=not applied)
            + "</g>\n"
        )
    if rest:
        body.append(_rest_line(_S_STEP, lane_bottom + 16, len(drawn), total, "messages"))
    return _svg(width, height, label, "sequence", body)
