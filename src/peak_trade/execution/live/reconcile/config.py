"""The reconciler's settings, `config.reconciler`: how often to reconcile, how long a difference
may stay pending, and when an unanswered ack or cancel times out.

`ReconcilerConfig.from_mapping` is strict: an unknown key or a value that is not a whole number in
range raises `ReconcilerConfigError` naming every problem, each starting with its JSON pointer.
`CONFIG_SCHEMA` states the same rules as a JSON Schema (one known divergence: see there).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peak_trade.execution.live.config import HARD_MAX_STEPS

# Per key: the smallest value allowed and whether null (None) is allowed. Every value is a whole
# number up to HARD_MAX_STEPS.
_CONFIG_FIELDS: dict[str, tuple[int, bool]] = {
    "every_steps": (1, False),  # 0 would never reconcile
    "grace_steps": (0, False),  # 0 escalates a difference at first sight
    "ack_timeout_steps": (1, True),  # null: no ack timeout; 0 would time out in the submit step
    "cancel_timeout_steps": (1, True),  # null: no cancel timeout
}


class ReconcilerConfigError(ValueError):
    """`config.reconciler` is invalid. Each problem starts with the JSON pointer of its value."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")  # RFC 6901 escaping


def _shown(value: object) -> str:
    if isinstance(value, Decimal | float):
        return f"{value} (a {type(value).__name__.lower()})"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _value_problem(name: str, value: object, pointer: str) -> str | None:
    minimum, nullable = _CONFIG_FIELDS[name]
    if value is None and nullable:
        return None
    if _is_whole(value) and minimum <= value <= HARD_MAX_STEPS:  # type: ignore[operator]
        return None
    # bool, float (5.0 included) and Decimal are refused: a step count is an integer, and YAML
    # turns "yes" and "1.0" into things that merely look like one.
    return (
        f"{pointer}/{name}: must be a whole number >= {minimum}"
        f"{' or null' if nullable else ''} (at most {HARD_MAX_STEPS}), found {_shown(value)}"
    )


def _config_problems(data: Mapping[Any, object], pointer: str) -> list[str]:
    problems: list[str] = []
    for name in _CONFIG_FIELDS:
        if name in data:
            problem = _value_problem(name, data[name], pointer)
            if problem is not None:
                problems.append(problem)
    for key in sorted(data, key=repr):
        if not isinstance(key, str):
            problems.append(f"{pointer or '(root)'}: keys must be strings, found {key!r}")
        elif key not in _CONFIG_FIELDS:
            close = difflib.get_close_matches(key, list(_CONFIG_FIELDS), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(_CONFIG_FIELDS)}"
            problems.append(f"{pointer}/{_pointer_token(key)}: unknown key ({hint})")
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcilerConfig:
    """How often to reconcile and how patient to be. Plain-data shape of `config.reconciler`
    (every key optional; the values shown are the defaults):

    - every_steps: 1 (reconcile at the steps divisible by it; 1: every step)
    - grace_steps: 2 (a difference escalates at age >= grace_steps)
    - ack_timeout_steps: null (an order pending_new this many steps times out; null: off)
    - cancel_timeout_steps: null (a cancel unanswered this many steps times out; null: off)
    """

    every_steps: int = 1
    grace_steps: int = 2
    ack_timeout_steps: int | None = None
    cancel_timeout_steps: int | None = None

    def __post_init__(self) -> None:
        problems = _config_problems(self.to_payload(), "")
        if problems:
            raise ReconcilerConfigError(problems)

    @classmethod
    def from_mapping(cls, data: object, *, pointer: str = "") -> ReconcilerConfig:
        """Strict: unknown keys and wrong types raise ReconcilerConfigError naming every problem,
        each starting with its JSON pointer (`pointer` is where `data` sits, e.g. "/reconciler").
        Missing keys take their defaults."""
        if not isinstance(data, Mapping):
            raise ReconcilerConfigError(
                [f"{pointer or '(root)'}: must be a mapping, found {type(data).__name__}"]
            )
        problems = _config_problems(data, pointer)
        if problems:
            raise ReconcilerConfigError(problems)
        return cls(**{name: data[name] for name in _CONFIG_FIELDS if name in data})

    def is_due(self, step: int) -> bool:
        """Whether the reconciliation runs at `step` (steps count from 1)."""
        return step % self.every_steps == 0

    def to_payload(self) -> dict[str, object]:
        return {
            "every_steps": self.every_steps,
            "grace_steps": self.grace_steps,
            "ack_timeout_steps": self.ack_timeout_steps,
            "cancel_timeout_steps": self.cancel_timeout_steps,
        }


def _steps_schema(name: str, description: str) -> dict[str, object]:
    minimum, nullable = _CONFIG_FIELDS[name]
    schema: dict[str, object] = {
        "description": description,
        "type": ["integer", "null"] if nullable else "integer",
        "minimum": minimum,
        "maximum": HARD_MAX_STEPS,
    }
    schema["default"] = ReconcilerConfig().to_payload()[name]
    return schema


# JSON Schema (Draft 2020-12) of `config.reconciler`. Note: jsonschema accepts 5.0 as an integer;
# from_mapping refuses it (a step count is written as an integer).
CONFIG_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "config.reconciler",
    "description": (
        "Reconciliation of the session's book against the broker's snapshot: how often, how "
        "long a difference may stay pending, and when an unanswered ack or cancel times out."
    ),
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "every_steps": _steps_schema(
            "every_steps", "Reconcile at every step divisible by this number (1: every step)."
        ),
        "grace_steps": _steps_schema(
            "grace_steps",
            "A difference first seen at step s is pending while step - s < grace_steps and "
            "escalates (ERROR_REQUIRES_OPERATOR) at step - s >= grace_steps; 0 escalates at "
            "once.",
        ),
        "ack_timeout_steps": _steps_schema(
            "ack_timeout_steps",
            "An order still pending_new this many steps after its submission step is resolved "
            "from the broker snapshot; null disables the check.",
        ),
        "cancel_timeout_steps": _steps_schema(
            "cancel_timeout_steps",
            "An order still open this many steps after its cancel was sent, with no canceled "
            "or cancel-rejected report, is resolved from the broker snapshot; null disables "
            "the check.",
        ),
    },
}
