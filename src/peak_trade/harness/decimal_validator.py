"""The scenario validator: JSON Schema Draft 2020-12 with the format checker, exact for decimals.

Numbers: the loader turns YAML floats into `Decimal` (jsonschema counts it as a "number"). Our
validator extends `pattern` to numbers too, matched against their canonical plain text (`190.10`
-> "190.10", `100.` -> "100", `7` -> "7"), so one decimal pattern on `{"type": ["string",
"number"]}` governs both `"190.10"` and `190.10`, and a negative integer cannot slip past a
positive-decimal pattern. `multipleOf` is computed exactly (fractions), so a tick size of 0.01
works for `Decimal` values. Schemas are treated as immutable: the validator is built once per
schema object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError


def _number_text(instance: object) -> str | None:
    """Canonical plain text of a number (never an exponent), None for anything else."""
    if isinstance(instance, bool):
        return None
    if isinstance(instance, int):
        return str(instance)
    if isinstance(instance, Decimal) and instance.is_finite():
        return format(instance, "f")
    if isinstance(instance, float) and instance == instance and abs(instance) != float("inf"):
        return format(Decimal(repr(instance)), "f")
    return None


def _pattern(validator: Any, pattern: str, instance: object, schema: Any) -> Iterator[Any]:
    text = instance if isinstance(instance, str) else _number_text(instance)
    if text is not None and not re.search(pattern, text):
        yield ValidationError(f"{text!r} does not match {pattern!r}")


def _multiple_of(validator: Any, step: Any, instance: object, schema: Any) -> Iterator[Any]:
    text = _number_text(instance)
    if text is None or not validator.is_type(instance, "number"):
        return
    step_text = _number_text(step) or str(step)
    if (Fraction(text) / Fraction(step_text)).denominator != 1:
        yield ValidationError(f"{text} is not a multiple of {step_text}")


_ScenarioValidator = validators.extend(
    Draft202012Validator, {"pattern": _pattern, "multipleOf": _multiple_of}
)
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator_for(schema: Mapping[str, Any]) -> Any:
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        Draft202012Validator.check_schema(schema)
        checker = Draft202012Validator.FORMAT_CHECKER
        entry = (schema, _ScenarioValidator(schema, format_checker=checker))
        if len(_VALIDATORS) >= 32:
            _VALIDATORS.clear()
        _VALIDATORS[id(schema)] = entry
    return entry[1]
