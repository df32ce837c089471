"""The JSON objects of `scenario validate --json` and `scenario run --json` (one per line).

docs/scenarios.md ("Machine-readable output") documents these shapes; tests/cli/test_json.py
checks every object printed against that description. Text that can carry a scenario's secrets
(mismatch values and details) passes through the caller's `redact` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peak_trade.harness.errors import Problem
    from peak_trade.harness.expectations import Mismatch

Redact = Callable[[str], str]


def problem_json(problem: Problem) -> dict[str, object]:
    """`{"file", "line", "column", "pointer", "message"}`; pointer is null for the whole file."""
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.col,
        "pointer": problem.json_path or None,
        "message": problem.message,
    }


def mismatch_json(mismatch: Mismatch, redact: Redact) -> dict[str, object]:
    """`{"key", "expected", "actual", "detail", "text"}`: `key` is the key under `expect`."""
    return {
        "key": mismatch.key,
        "expected": plain(mismatch.expected, redact),
        "actual": plain(mismatch.actual, redact),
        "detail": redact(mismatch.detail),
        "text": redact(mismatch.format()),
    }


def plain(value: object, redact: Redact) -> object:
    """`value` as JSON data: decimals as their exact text, tuples as lists, text redacted."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): plain(v, redact) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [plain(v, redact) for v in value]
    return redact(str(value))
