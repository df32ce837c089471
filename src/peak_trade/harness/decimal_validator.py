"""The scenario validator: JSON Schema Draft 2020-12 with the format checker, exact for decimals.

Numbers: the loader turns YAML floats into `Decimal` (jsonschema counts it as a "number"). Our
validator extends `pattern` to numbers too, matched against their canonical plain text (`190.10`
-> "190.10", `100.` -> "100", `7` -> "7"), so one decimal pattern on `{"type": ["string",
"number"]}` governs both `"190.10"` and `190.10`, and a negative integer cannot slip past a
positive-decimal pattern. `multipleOf` is computed exactly (fractions), so a tick size of 0.01
works for `Decimal` values. Schemas are treated as immutable: the validator is built once per
schema object, after checking the schema against the metaschema unless it is known to be valid.

The fast check: jsonschema finds and explains every error, but it takes ~1.4 ms to say "valid"
for a small scenario and ~80 ms to import. Most documents are valid, so validate.py first asks
`_fast_valid`, a check compiled once per (checked) schema from the keywords the scenario schema
uses; only a document it does not accept goes to jsonschema, which then finds the errors (or none:
a "no" from the fast check only means "ask jsonschema"). It accepts a document only where
jsonschema would, because it is narrow by construction:

- it judges only the plain data the loader produces (dicts with string keys, lists, strings,
  booleans, ints, finite Decimals, None), with the very Python operations jsonschema applies to
  them (`type(x) in ...` is `isinstance` for exactly these types; `<` for `minimum`; jsonschema's
  `equal` for `enum`);
- it knows only the keywords in `_KEYWORDS`, and ignores only annotations; a schema with any other
  keyword anywhere it reaches (`format`, `patternProperties`, `if`, a nested `$id` or `$schema`, a
  `$ref` that is not a local pointer...) gets no fast check at all.

tests/harness/test_validate.py compares its verdicts with jsonschema's on the scenario library,
the bad-input corpus and generated variants of them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any


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
    from jsonschema.exceptions import ValidationError

    text = instance if isinstance(instance, str) else _number_text(instance)
    if text is not None and not re.search(pattern, text):
        yield ValidationError(f"{text!r} does not match {pattern!r}")


def _multiple_of(validator: Any, step: Any, instance: object, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    text = _number_text(instance)
    if text is None or not validator.is_type(instance, "number"):
        return
    step_text = _number_text(step) or str(step)
    if (Fraction(text) / Fraction(step_text)).denominator != 1:
        yield ValidationError(f"{text} is not a multiple of {step_text}")


@functools.cache
def _scenario_validator_class() -> Any:
    # jsonschema is imported here, at the first document the fast check does not accept.
    from jsonschema import Draft202012Validator, validators

    return validators.extend(
        Draft202012Validator, {"pattern": _pattern, "multipleOf": _multiple_of}
    )


_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
# Schemas known to be valid Draft 2020-12 schemas already (see validate.py), by identity.
_CHECKED: dict[int, Mapping[str, Any]] = {}


def _mark_checked(schema: Mapping[str, Any]) -> None:
    """Record that `schema` (this very object, to be treated as read-only) needs no check."""
    if len(_CHECKED) >= 32:
        _CHECKED.clear()
    _CHECKED[id(schema)] = schema


def _validator_for(schema: Mapping[str, Any]) -> Any:
    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        cls = _scenario_validator_class()
        if _CHECKED.get(id(schema)) is not schema:
            cls.check_schema(schema)
            _mark_checked(schema)
        entry = (schema, cls(schema, format_checker=cls.FORMAT_CHECKER))
        if len(_VALIDATORS) >= 32:
            _VALIDATORS.clear()
        _VALIDATORS[id(schema)] = entry
    return entry[1]


# --- the fast check -----------------------------------------------------------------------------

Check = Callable[[Any], bool]


class _Unsupported(Exception):
    """The schema uses something the fast check does not know: it gets no fast check."""


class _Unsure(Exception):
    """This document is for jsonschema to judge."""


_FAST: dict[int, tuple[Mapping[str, Any], Check | None]] = {}


def _fast_valid(data: object, schema: Mapping[str, Any]) -> bool:
    """True only if `data` is valid against `schema`; False means "ask jsonschema"."""
    if _CHECKED.get(id(schema)) is not schema:  # an unchecked schema may not mean what it says
        return False
    check = _fast_check_for(schema)
    if check is None or not _is_plain(data):
        return False
    try:
        return check(data)
    except (_Unsure, RecursionError):
        return False


def _fast_check_for(schema: Mapping[str, Any]) -> Check | None:
    entry = _FAST.get(id(schema))
    if entry is None or entry[0] is not schema:
        try:
            check: Check | None = _Compiler(schema).node(schema, root=True)
        except _Unsupported:
            check = None
        if len(_FAST) >= 32:
            _FAST.clear()
        entry = (schema, check)
        _FAST[id(schema)] = entry
    return entry[1]


_SCALARS = frozenset({str, bool, int, type(None)})


def _is_plain(data: object) -> bool:
    """Only the loader's kinds of data, which the checks below judge exactly like jsonschema, and
    only as a tree (the loader never shares a container; data that does is left to jsonschema)."""
    stack = [data]
    containers: set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if id(item) in containers:
                return False
            containers.add(id(item))
        if kind is dict:
            if any(type(key) is not str for key in item):  # type: ignore[attr-defined]
                return False
            stack.extend(item.values())  # type: ignore[attr-defined]
        elif kind is list:
            stack.extend(item)  # type: ignore[call-overload]
        elif kind is Decimal:
            if not item.is_finite():  # type: ignore[attr-defined]
                return False
        elif kind not in _SCALARS:
            return False
    return True


# For plain data, `type(x) in` these is exactly jsonschema's Draft 2020-12 type check.
_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, Decimal}),
    "boolean": frozenset({bool}),
    "null": frozenset({type(None)}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_NUMBERS = _TYPES["number"]
# Keywords jsonschema does not validate with: ignored (`$schema` and `$id` only at the root).
_ANNOTATIONS = frozenset(
    {"$defs", "$comment", "title", "description", "default", "examples", "deprecated"}
    | {"readOnly", "writeOnly"}
)


def _always(instance: object) -> bool:
    return True


def _never(instance: object) -> bool:
    return False


class _Compiler:
    """Turns a schema into one predicate; raises `_Unsupported` for anything it does not know."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        # Per subschema (by identity): its check once compiled, so recursive `$ref`s terminate.
        self.cells: dict[int, list[Check | None]] = {}

    def node(self, schema: Any, *, root: bool = False) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if type(schema) is not dict:
            raise _Unsupported(repr(schema))
        cell = self.cells.get(id(schema))
        if cell is not None:  # being compiled further up: look it up when called
            return cell[0] or (lambda instance: cell[0](instance))  # type: ignore[misc]
        cell = self.cells[id(schema)] = [None]
        checks = [
            check
            for name, value in schema.items()
            if not _is_annotation(name, root)
            for check in (self.keyword(name, value, schema),)
            if check is not None
        ]
        cell[0] = _all_of(checks)
        return cell[0]

    def keyword(self, name: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        make = _KEYWORDS.get(name)
        if make is None:
            raise _Unsupported(name)
        return make(self, value, schema)

    def nodes(self, schemas: Any) -> list[Check]:
        if type(schemas) is not list or not schemas:
            raise _Unsupported(repr(schemas))
        return [self.node(schema) for schema in schemas]

    def ref(self, ref: Any, schema: Mapping[str, Any]) -> Check:
        """A local JSON pointer (`#/$defs/x`) into the root, through no other resource."""
        if type(ref) is not str or not ref.startswith("#/") or "%" in ref:
            raise _Unsupported(f"$ref {ref!r}")
        target: Any = self.root
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if type(target) is dict and token in target:
                target = target[token]
            elif type(target) is list and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise _Unsupported(f"$ref {ref!r}")
            if type(target) is dict and ("$id" in target or "$schema" in target):
                raise _Unsupported(f"$ref {ref!r}")  # another resource or dialect
        return self.node(target)


def _is_annotation(name: str, root: bool) -> bool:
    return name in _ANNOTATIONS or name.startswith("x-") or (root and name in ("$schema", "$id"))


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return lambda instance: all(check(instance) for check in checks)


def _number(value: Any) -> Any:
    if type(value) not in (int, float):
        raise _Unsupported(repr(value))
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise _Unsupported(repr(value))
    return value


def _names(value: Any) -> list[str]:
    if type(value) is not list or any(type(name) is not str for name in value):
        raise _Unsupported(repr(value))
    return value


# Each keyword as jsonschema's Draft 2020-12 implementation (jsonschema/_keywords.py) applies it.


def _type(c: _Compiler, value: Any, schema: Any) -> Check:
    names = value if type(value) is list else [value]
    if not names or any(name not in _TYPES for name in names):
        raise _Unsupported(f"type {value!r}")
    kinds = frozenset().union(*(_TYPES[name] for name in names))
    return lambda x: type(x) in kinds


def _equal_to(value: Any) -> Check:
    """jsonschema's `equal(x, value)` for plain data `x` and a scalar `value`."""
    if type(value) not in (str, int, float, bool, type(None)):
        raise _Unsupported(repr(value))
    if type(value) is str:
        return lambda x: type(x) is str and x == value
    if type(value) is bool or value is None:
        return lambda x: x is value  # bools only equal themselves (not 1 or 0)
    # A number: equal to a number that is not a boolean; strings, lists and mappings never are.
    return lambda x: type(x) in _NUMBERS and x == value


def _enum(c: _Compiler, value: Any, schema: Any) -> Check:
    if type(value) is not list:
        raise _Unsupported("enum")
    tests = [_equal_to(each) for each in value]
    return lambda x: any(test(x) for test in tests)


def _const(c: _Compiler, value: Any, schema: Any) -> Check:
    return _equal_to(value)


def _pattern_check(c: _Compiler, value: Any, schema: Any) -> Check:
    if type(value) is not str:
        raise _Unsupported("pattern")
    search = re.compile(value).search  # what re.search(value, text) uses

    def check(x: Any) -> bool:  # as `_pattern` above: strings, and numbers as their plain text
        text = x if type(x) is str else _number_text(x)
        return text is None or search(text) is not None

    return check


def _minimum(c: _Compiler, value: Any, schema: Any) -> Check:
    bound = _number(value)
    return lambda x: type(x) not in _NUMBERS or not x < bound


def _maximum(c: _Compiler, value: Any, schema: Any) -> Check:
    bound = _number(value)
    return lambda x: type(x) not in _NUMBERS or not x > bound


def _exclusive_minimum(c: _Compiler, value: Any, schema: Any) -> Check:
    bound = _number(value)
    return lambda x: type(x) not in _NUMBERS or not x <= bound


def _exclusive_maximum(c: _Compiler, value: Any, schema: Any) -> Check:
    bound = _number(value)
    return lambda x: type(x) not in _NUMBERS or not x >= bound


def _length(kind: type, at_least: bool) -> Callable[[_Compiler, Any, Any], Check]:
    """min/maxLength, min/maxItems, min/maxProperties: `len` of one kind of instance."""

    def make(c: _Compiler, value: Any, schema: Any) -> Check:
        bound = _count(value)
        if at_least:
            return lambda x: type(x) is not kind or not len(x) < bound
        return lambda x: type(x) is not kind or not len(x) > bound

    return make


def _required(c: _Compiler, value: Any, schema: Any) -> Check:
    names = _names(value)
    return lambda x: type(x) is not dict or all(name in x for name in names)


def _properties(c: _Compiler, value: Any, schema: Any) -> Check:
    if type(value) is not dict:
        raise _Unsupported("properties")
    checks = [(name, c.node(sub)) for name, sub in value.items()]
    return lambda x: (
        type(x) is not dict or all(check(x[name]) for name, check in checks if name in x)
    )


def _additional_properties(c: _Compiler, value: Any, schema: Any) -> Check | None:
    if "patternProperties" in schema:
        raise _Unsupported("patternProperties")
    known = schema.get("properties", {})
    if value is True:
        return None
    if value is False:
        return lambda x: type(x) is not dict or all(name in known for name in x)
    check = c.node(value)
    return lambda x: (
        type(x) is not dict or all(check(item) for name, item in x.items() if name not in known)
    )


def _items(c: _Compiler, value: Any, schema: Any) -> Check | None:
    if "prefixItems" in schema:
        raise _Unsupported("prefixItems")
    if value is True:
        return None
    check = c.node(value)
    return lambda x: type(x) is not list or all(check(item) for item in x)


def _property_names(c: _Compiler, value: Any, schema: Any) -> Check:
    check = c.node(value)
    return lambda x: type(x) is not dict or all(check(name) for name in x)


def _unique_strings(x: list[Any]) -> bool:
    if any(type(item) is not str for item in x):
        raise _Unsure  # jsonschema's `uniq` is subtler for other items: let it judge
    return len(set(x)) == len(x)


def _unique_items(c: _Compiler, value: Any, schema: Any) -> Check | None:
    if type(value) is not bool:
        raise _Unsupported("uniqueItems")
    if not value:
        return None
    return lambda x: type(x) is not list or _unique_strings(x)


def _all_of_keyword(c: _Compiler, value: Any, schema: Any) -> Check:
    return _all_of(c.nodes(value))


def _any_of(c: _Compiler, value: Any, schema: Any) -> Check:
    checks = c.nodes(value)
    return lambda x: any(check(x) for check in checks)


def _one_of(c: _Compiler, value: Any, schema: Any) -> Check:
    checks = c.nodes(value)
    return lambda x: sum(1 for check in checks if check(x)) == 1


def _not(c: _Compiler, value: Any, schema: Any) -> Check:
    check = c.node(value)
    return lambda x: not check(x)


def _ref(c: _Compiler, value: Any, schema: Any) -> Check:
    return c.ref(value, schema)


_KEYWORDS: dict[str, Callable[[_Compiler, Any, Any], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern_check,
    "minimum": _minimum,
    "maximum": _maximum,
    "exclusiveMinimum": _exclusive_minimum,
    "exclusiveMaximum": _exclusive_maximum,
    "minLength": _length(str, at_least=True),
    "maxLength": _length(str, at_least=False),
    "minItems": _length(list, at_least=True),
    "maxItems": _length(list, at_least=False),
    "minProperties": _length(dict, at_least=True),
    "maxProperties": _length(dict, at_least=False),
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "items": _items,
    "propertyNames": _property_names,
    "uniqueItems": _unique_items,
    "allOf": _all_of_keyword,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "$ref": _ref,
}
