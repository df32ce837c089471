"""Strict reading of one plain YAML scalar: the resolution rules, and advice for what they refuse.

A quoted or block scalar is always a string. Of the plain ones, `true` and `false` (in any case)
are booleans and YAML 1.1's other boolean words (`y`, `n`, `yes`, `no`, `on`, `off`) are refused;
a plain integer becomes an int and a plain decimal a `Decimal` built from the source text, never
from a binary float. Numbers written any other way, which YAML versions read differently or
surprisingly (hexadecimal, octal and binary prefixes, leading zeros, base 60, digit separators,
exponents, NaN and infinity), are refused with a sentence that says how to write the value instead.
A timestamp stays its text; anything else YAML 1.1 gives a special meaning is refused. The walk
that applies these rules to every node is in loader.py.
"""

from __future__ import annotations

import re
from decimal import Decimal

from yaml.nodes import ScalarNode

__all__ = ["yaml11_boolean_hint"]

PLAIN_DECIMAL_ADVICE = 'write prices and quantities as plain decimals, e.g. "190.10"'

_TAG = "tag:yaml.org,2002:"

_TRUE_FALSE = re.compile(r"(?i:true|false)")
_YAML11_BOOLEAN = re.compile(r"(?i:y|n|yes|no|on|off)")
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_PLAIN_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)")
_PREFIXED_INT = re.compile(r"[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)")
_LEADING_ZERO_INT = re.compile(r"[-+]?0[0-9_]+")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_INF_NAN = re.compile(r"[-+]?\.(?i:inf|nan)")
_TOO_LONG = "`{head}...` is too long a number to read; write it in quotes for a string"
_PREFIX_NAMES = {"x": "a hexadecimal", "o": "an octal", "b": "a binary"}


def yaml11_boolean_hint(source: str) -> str:
    """The advice for a YAML 1.1 boolean word such as `no`, `on` or `y`."""
    meaning = "true" if source.lower() in ("y", "yes", "on") else "false"
    return (
        f"`{source}` is read by YAML 1.1 as a boolean; write '{source}' in quotes for a string "
        f"or {meaning} for a boolean"
    )


class _Refused(Exception):
    """A scalar that strict loading refuses; the message says how to write it instead."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scalar_value(node: ScalarNode) -> object:
    """Plain data for a scalar node without an explicit tag, or raise `_Refused`."""
    return _plain_value(node.value, node.style, node.tag)


def _plain_value(source: str, style: str | None, resolved_tag: str) -> object:
    """`_scalar_value` for a scalar given as its text, its style and the tag YAML resolved."""
    if _SURROGATE.search(source):  # a "\ud800" escape: not text, and it cannot be written as UTF-8
        raise _Refused(
            "the text holds a lone surrogate escape (such as \\ud800), which is not valid "
            "Unicode; write the character itself or remove the escape"
        )
    if style is not None:  # quoted or block scalar: always a string
        return source
    tag = resolved_tag.removeprefix(_TAG)
    if tag == "null":
        return None
    if tag == "str" or tag == "bool":
        if _TRUE_FALSE.fullmatch(source):
            return source.lower() == "true"
        if _YAML11_BOOLEAN.fullmatch(source):
            raise _Refused(yaml11_boolean_hint(source))
        if tag == "str":
            if _PREFIXED_INT.fullmatch(source) or _LEADING_ZERO_INT.fullmatch(source):
                _refuse_number(source)
            return source
    if tag == "int":
        if _PLAIN_INT.fullmatch(source):
            try:
                return int(source)
            except ValueError:  # more digits than int() accepts
                raise _Refused(_TOO_LONG.format(head=source[:20])) from None
        _refuse_number(source)
    if tag == "float":
        if _PLAIN_DECIMAL.fullmatch(source):
            return Decimal(source)
        _refuse_number(source)
    if tag == "timestamp":
        return source
    raise _Refused(
        f"`{source}` has a special meaning in YAML 1.1; write '{source}' in quotes for a string"
    )


def _refuse_number(source: str) -> None:
    if len(source) > 40:
        raise _Refused(_TOO_LONG.format(head=source[:20]))
    quoted = f"write '{source}' in quotes for a string"
    if _INF_NAN.fullmatch(source):
        raise _Refused(f"`{source}` is not a finite number; {PLAIN_DECIMAL_ADVICE}")
    if _SEXAGESIMAL.fullmatch(source):
        value = _format_number(_sexagesimal(source))
        raise _Refused(f"`{source}` is read by YAML 1.1 as a base-60 number ({value}); {quoted}")
    if _PREFIXED_INT.fullmatch(source):
        kind = _PREFIX_NAMES[source.lstrip("+-")[1].lower()]
        value = _int_text(source, 0)
        raise _Refused(f"`{source}` is {kind} number; {quoted} or {value} for a number")
    if _LEADING_ZERO_INT.fullmatch(source):
        octal = not set(source) & set("89")
        reading = "YAML 1.1 reads as an octal number" if octal else "YAML versions read differently"
        raise _Refused(
            f"`{source}` has a leading zero, which {reading}; "
            f"{quoted} or {_int_text(source, 10)} for a number"
        )
    if "_" in source:
        plain = source.replace("_", "")
        raise _Refused(
            f"`{source}` uses digit separators, which YAML 1.1 silently drops; "
            f"write {plain} plainly or '{source}' in quotes for a string"
        )
    if "e" in source.lower():
        raise _Refused(f"`{source}` uses an exponent; {PLAIN_DECIMAL_ADVICE}")
    raise _Refused(f"`{source}` is not a plain number; {PLAIN_DECIMAL_ADVICE}")


def _int_text(source: str, base: int) -> str:
    """The plain decimal form of an integer literal, for advice; never raises."""
    try:
        return str(int(source.replace("_", ""), base))
    except ValueError:  # no digits after a prefix, or more digits than int() accepts
        return "its plain decimal value"


def _sexagesimal(source: str) -> Decimal:
    digits = source.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    value = Decimal(0)
    for part in digits.lstrip("+-").split(":"):
        value = value * 60 + Decimal(part)
    return sign * value


def _format_number(value: Decimal) -> str:
    return format(value, "f")
