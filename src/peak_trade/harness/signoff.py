"""The evidence's sign-off block: blank fields an operator fills in by hand.

The block is the last section before the digests. Its field lines are the only lines of an
evidence file that may differ from what a re-run renders: a field line still verifies when it
begins exactly as rendered (`- **Field:**`) and holds anything after that, on the same line.
`restore_blanks` puts such lines back to their blank form, at the very line numbers where the
rendering has them, so every other byte of the file is still compared with the re-run (a field
moved, added, removed or renamed, or any other line changed, still fails verification).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SIGNOFF_HEADING = "## Sign-off"
BLANK = "_______________________"
# (field name, the label printed): the names are what `evidence verify` reports.
FIELDS = (
    ("operator", "Reviewed by (operator)"),
    ("date", "Date signed (YYYY-MM-DD)"),
    ("decision", "Decision (APPROVED or REJECTED)"),
    ("signature", "Signature"),
)


def field_prefix(label: str) -> str:
    return f"- **{label}:**"


def signoff_lines() -> list[str]:
    """The block as rendered: heading, how to fill it in, the blank fields, a blank line. The
    field lines are the block's last lines but one (`restore_blanks` relies on it)."""
    return [
        SIGNOFF_HEADING,
        "",
        "Filled in by hand by the operator who reviewed this evidence. Write after each colon, on "
        "the same line; `peak-trade evidence verify` still verifies the file, and fails on an "
        "edit anywhere else.",
        "",
        *(f"{field_prefix(label)} {BLANK}" for _, label in FIELDS),
        "",
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Restored:
    text: str  # the file's text with every filled-in field line put back to blank
    filled: tuple[tuple[str, str], ...]  # (field name, what was written) for each filled field


def restore_blanks(rendered: str, found: str, *, block_end: str) -> Restored:
    """`found` (a file's text) with the sign-off field lines that `rendered` (the re-run's text)
    has blank put back to blank, where `found` keeps each such line's prefix at the same line.

    `block_end` is the line right after the block (the digests heading): the fields are the
    lines before it in `rendered`, so no text elsewhere in the evidence can pose as a field."""
    want, got = rendered.split("\n"), found.split("\n")
    if len(want) != len(got) or block_end not in want:
        return Restored(text=found, filled=())
    end = want.index(block_end)
    first = end - 1 - len(FIELDS)  # the fields, then one blank line, then the block's end
    filled: list[tuple[str, str]] = []
    for offset, (name, label) in enumerate(FIELDS):
        index = first + offset
        blank = f"{field_prefix(label)} {BLANK}"
        if index < 0 or want[index] != blank:
            return Restored(text=found, filled=())  # not a rendering with a sign-off block
        line = got[index]
        prefix = field_prefix(label)
        if line == blank or not line.startswith(prefix):
            continue
        value = line[len(prefix) :].strip()
        if value and value != BLANK:
            filled.append((name, value))
        got[index] = blank
    return Restored(text="\n".join(got), filled=tuple(filled))


def describe_filled(filled: Sequence[tuple[str, str]], *, limit: int = 80) -> str:
    """The filled-in fields as one line for a terminal (each value cut at `limit`, shown with
    repr so that control characters cannot steer the terminal)."""
    parts = []
    for name, value in filled:
        shown = value if len(value) <= limit else value[:limit] + "..."
        parts.append(f"{name} {shown!r}")
    return ", ".join(parts)
