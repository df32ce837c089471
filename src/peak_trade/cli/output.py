"""Small output helpers shared by the CLI commands: paths as users read them, plain tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


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
    print(text, file=sys.stdout, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
