"""HTML text from untrusted values: every value is escaped here, nowhere else.

Scenario titles, operator notes, refusal details and audit file names are attacker-controlled
text. `text` makes any value safe inside an element or a quoted attribute (HTML and inline SVG
alike: `&`, `<`, `>`, `"` and `'` escaped), and also visible: control characters, bidirectional
overrides (which could make a line read in another order than it is written) and lone
surrogates (which UTF-8 cannot carry) are shown as `\\uXXXX` escapes instead of acting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

# C0 and C1 controls except tab and newline, the bidirectional controls, lone surrogates, and
# the two noncharacters XML forbids (an SVG copied out of the page stays well-formed XML).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufffe\uffff]"
)


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"


def text(value: object) -> str:
    """`value` as HTML text, safe in an element and in a quoted attribute."""
    return html.escape(_INVISIBLE.sub(_visible, str(value)), quote=True)


def clip(value: object, width: int) -> str:
    """`value` on one line, at most `width` characters (an ellipsis marks a cut); not escaped."""
    line = " ".join(str(value).split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def href(relative_path: str) -> str:
    """A relative file link, percent-encoded (so no path can name a scheme), attribute-safe."""
    return text(quote(relative_path, safe="/"))


def _cell(value: object) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, int) and not isinstance(value, bool):  # counts and steps
        return f'<td class="num">{value}</td>'
    return f"<td>{text(value)}</td>"


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    empty: str,
    css: str = "",
    omitted: int = 0,
    what: str = "rows",
) -> str:
    """An HTML table of escaped cells; `empty` (a sentence) when there are no rows; a last line
    counting the rows the facts kept out (`omitted`)."""
    rows = list(rows)
    if not rows:
        return f'<p class="none">{text(empty)}</p>\n'
    cls = f' class="{text(css)}"' if css else ""
    head = "".join(f"<th>{text(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(map(_cell, row)) + "</tr>\n" for row in rows)
    more = f'<p class="more">… and {omitted} more {text(what)} not listed</p>\n' if omitted else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n{more}"
