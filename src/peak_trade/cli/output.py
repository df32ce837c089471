"""Small output helpers shared by the CLI commands: paths as users read them, plain tables.

`out` and `err` are the only way text leaves a command, and the last step before it does is the
secret screen: every configured secret the command has learnt of (`screen_secrets`, called as
soon as a scenario's raw text is read, before any message about it is printed) is redacted from
the final bytes, in every spelling redaction knows. Digests the command prints
(`keep_digests`) are never altered by it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peak_trade.execution.live.audit_trail.redaction import Redactor

# Values shorter than this (a refused PIN) would match inside line numbers; messages describe
# such a value instead of quoting it (harness/secret_screen.py).
_SCREEN_MIN_LENGTH = 6
_HEX_DIGEST = re.compile(r"[0-9a-f]{12,128}")


class _Screen:
    """The secrets and digests of one command invocation."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.keep: set[str] = set()
        self.redactor: Redactor | None = None

    def text(self, text: str) -> str:
        if self.redactor is None:
            return text
        return self.redactor.redact_text(text, keep=self.keep)


_screen = _Screen()


def reset_screen() -> None:
    """Forget every secret and digest: a new command invocation starts here."""
    global _screen
    _screen = _Screen()


def screen_secrets(values: Iterable[object]) -> None:
    """Redact these values (strings; others are ignored) from everything printed from now on."""
    new = [
        v
        for v in values
        if isinstance(v, str) and len(v) >= _SCREEN_MIN_LENGTH and v not in _screen.values
    ]
    if not new:
        return
    from peak_trade.execution.live.audit_trail.redaction import Redactor

    _screen.values.extend(new)
    _screen.redactor = Redactor(_screen.values, lenient=True)


def keep_digests(*values: object) -> None:
    """Digests (lower-case hex) printed as they are: a secret never matches inside them."""
    _screen.keep.update(v for v in values if isinstance(v, str) and _HEX_DIGEST.fullmatch(v))


def screened(text: str) -> str:
    """`text` as `out` and `err` would print it."""
    return _screen.text(text)


def screened_redactor() -> Redactor | None:
    return _screen.redactor


def display_path(path: str | Path) -> str:
    """`path` relative to the working directory when it lies under it, else as given; '/'-separated.

    Scenario paths are shown, recorded in evidence and re-opened by `evidence verify` in this form,
    so evidence made from a repository checkout names `scenarios/x.yaml` wherever the checkout is.
    """
    given = Path(path)
    try:
        relative = Path(os.path.abspath(given)).relative_to(Path.cwd())
    except ValueError:
        return given.as_posix()
    return relative.as_posix()


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    cells = [list(map(str, header)), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return lines


def out(text: str = "") -> None:
    print(_screen.text(text), file=sys.stdout, flush=True)


def err(text: str) -> None:
    print(_screen.text(text), file=sys.stderr, flush=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
