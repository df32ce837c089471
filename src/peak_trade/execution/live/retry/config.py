"""The retry policy's settings, `config.retry`: attempts per request, backoff, the retry budget.

Plain-data shape (every key optional; the values shown are the defaults):

    retry:
      max_attempts: 3            # per request, the first attempt included (1: never retry)
      backoff: exponential       # fixed | exponential
      backoff_steps: 1           # fixed: every wait; exponential: the first, doubling after
      max_backoff_steps: 8       # the cap of a wait (a rate limit asking for longer: give up)
      budget_retries: 10         # retries the whole session may send ...
      budget_window_steps: 20    # ... within any window of this many steps
      fate_timeout_steps: 2      # a given-up request's status query must be answered in time

Time is the logical step clock only. `RetryConfig.from_mapping` is strict: an unknown key or a
value out of range raises `RetryConfigError` naming every problem, each starting with its JSON
pointer ("/retry/max_attempts: ..."). `CONFIG_SCHEMA` states the same rules as a JSON Schema.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peak_trade.execution.live.config import HARD_MAX_STEPS

BACKOFFS = ("fixed", "exponential")
MAX_ATTEMPTS = 100  # a request tried more often than this is a retry storm, not a policy
_DEFAULT_CAP = 8  # RetryConfig.max_backoff_steps (a slotted class has no readable default)

# Per whole-number key: (smallest, largest, description for the schema and the docs).
_WHOLE_FIELDS: dict[str, tuple[int, int, str]] = {
    "max_attempts": (
        1,
        MAX_ATTEMPTS,
        "Attempts per request, the first included (1: a transient failure is never retried).",
    ),
    "backoff_steps": (
        1,
        HARD_MAX_STEPS,
        "Steps to wait before a retry: every wait (fixed), or the first, doubling with each "
        "attempt (exponential).",
    ),
    "max_backoff_steps": (
        1,
        HARD_MAX_STEPS,
        "The longest wait before a retry. A rate limit whose retry-after is longer gives the "
        "request up at once.",
    ),
    "budget_retries": (
        0,
        HARD_MAX_STEPS,
        "Retries the whole session may send within any window of budget_window_steps steps "
        "(0: none); a request failing while it is spent is given up (no retry storm).",
    ),
    "budget_window_steps": (1, HARD_MAX_STEPS, "The retry budget's sliding window, in steps."),
    "fate_timeout_steps": (
        1,
        HARD_MAX_STEPS,
        "Steps within which the status query sent for a given-up request must be answered; "
        "unanswered, the broker's state is unknown and the session breaches.",
    ),
}
_KEYS = ("max_attempts", "backoff", *[k for k in _WHOLE_FIELDS if k != "max_attempts"])


class RetryConfigError(ValueError):
    """`config.retry` is invalid. Each problem starts with the JSON pointer of its value."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _shown(value: object) -> str:
    if isinstance(value, Decimal | float):
        return f"{value} (a {type(value).__name__.lower()})"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _problems(data: Mapping[Any, object], pointer: str) -> list[str]:
    problems: list[str] = []
    for key in sorted(data, key=repr):
        if not isinstance(key, str):
            problems.append(f"{pointer or '(root)'}: keys must be strings, found {key!r}")
        elif key not in _KEYS:
            close = difflib.get_close_matches(key, list(_KEYS), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(_KEYS)}"
            token = key.replace("~", "~0").replace("/", "~1")
            problems.append(f"{pointer}/{token}: unknown key ({hint})")
    for name, (low, high, _) in _WHOLE_FIELDS.items():
        if name not in data:
            continue
        value = data[name]
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not (whole and low <= value <= high):  # type: ignore[operator]
            problems.append(
                f"{pointer}/{name}: must be a whole number from {low} to {high}, "
                f"found {_shown(value)}"
            )
    if "backoff" in data and data["backoff"] not in BACKOFFS:
        problems.append(
            f"{pointer}/backoff: must be one of {', '.join(BACKOFFS)}, "
            f"found {_shown(data['backoff'])}"
        )
    if not problems:
        first = data.get("backoff_steps", 1)
        cap = data.get("max_backoff_steps", _DEFAULT_CAP)
        if cap < first:  # type: ignore[operator]
            problems.append(
                f"{pointer}/max_backoff_steps: must be at least backoff_steps ({first}), "
                f"found {cap}"
            )
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryConfig:
    """The retry policy (see the module docstring for each key)."""

    max_attempts: int = 3
    backoff: str = "exponential"
    backoff_steps: int = 1
    max_backoff_steps: int = 8
    budget_retries: int = 10
    budget_window_steps: int = 20
    fate_timeout_steps: int = 2

    def __post_init__(self) -> None:
        problems = _problems(self.to_payload(), "")
        if problems:
            raise RetryConfigError(problems)

    @classmethod
    def from_mapping(cls, data: object, *, pointer: str = "/retry") -> RetryConfig:
        """Strict: every problem raises RetryConfigError, each starting with its JSON pointer
        (`pointer` is where `data` sits). Missing keys take their defaults."""
        if not isinstance(data, Mapping):
            raise RetryConfigError(
                [f"{pointer or '(root)'}: must be a mapping, found {type(data).__name__}"]
            )
        problems = _problems(data, pointer)
        if problems:
            raise RetryConfigError(problems)
        return cls(**{name: data[name] for name in _KEYS if name in data})

    def to_payload(self) -> dict[str, object]:
        return {
            "max_attempts": self.max_attempts,
            "backoff": self.backoff,
            "backoff_steps": self.backoff_steps,
            "max_backoff_steps": self.max_backoff_steps,
            "budget_retries": self.budget_retries,
            "budget_window_steps": self.budget_window_steps,
            "fate_timeout_steps": self.fate_timeout_steps,
        }


def retry_problem(value: object) -> str | None:
    """Why `config.retry` cannot be used (for preflight); None when it can."""
    try:
        RetryConfig.from_mapping(value)
    except RetryConfigError as exc:
        return f"retry config: {exc}"
    return None


def _field_schema(name: str) -> dict[str, object]:
    low, high, description = _WHOLE_FIELDS[name]
    return {
        "description": description,
        "type": "integer",
        "minimum": low,
        "maximum": high,
        "default": RetryConfig().to_payload()[name],
    }


# JSON Schema (Draft 2020-12) of `config.retry`; the scenario schema holds the same (a test checks).
CONFIG_SCHEMA: dict[str, object] = {
    "description": (
        "Bounded retries of broker requests that fail transiently (rate limited, timeout, "
        "gateway busy): attempts per request, backoff in logical steps, and a session-wide "
        "retry budget. A permanent refusal is never retried; a request given up is resolved "
        "by a status query (docs/failure-matrix.md, Retries)."
    ),
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_attempts": _field_schema("max_attempts"),
        "backoff": {
            "description": "fixed: every wait is backoff_steps; exponential: backoff_steps, "
            "then doubling with each attempt, capped at max_backoff_steps.",
            "enum": list(BACKOFFS),
            "default": "exponential",
        },
        **{name: _field_schema(name) for name in _KEYS if name not in ("max_attempts", "backoff")},
    },
    "examples": [{"max_attempts": 3, "backoff": "exponential", "backoff_steps": 1}],
}
