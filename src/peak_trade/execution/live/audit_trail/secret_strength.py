"""The minimum strength of a configured secret, judged without ever repeating the value.

A configured secret is redacted wherever it appears, in every spelling (redaction.py). That only
works for a value that cannot be mistaken for ordinary text: a four-digit PIN is also a quantity,
a line number and a run of digits inside every other SHA-256 digest. So a secret must be:

- at least `MIN_SECRET_LENGTH` (12) and at most `MAX_SECRET_LENGTH` (1024) characters long;
- made of at least `MIN_CHARACTER_CLASSES` (3) of the 4 classes lower-case letters, upper-case
  letters, digits and other characters (punctuation, space, any other symbol or script);
- not made only of hexadecimal digits, so that neither it nor a change of its letter case can sit
  inside a hex digest;
- not readable as a number (`-1234.5678E90`), so that it never equals a quantity or a price;
- one line, without control characters and without leading or trailing spaces (outputs fold
  whitespace and trim lines; a secret they change could no longer be recognised).

The rule is applied where a scenario is loaded (a located error at the secret) and again at
preflight (`secrets_redactable`) for sessions built through the Python API.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

MIN_SECRET_LENGTH = 12
MAX_SECRET_LENGTH = 1024
MIN_CHARACTER_CLASSES = 3

STRENGTH_RULE = (
    f"a secret needs {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters on one line, from at "
    f"least {MIN_CHARACTER_CLASSES} of: lower-case letters, upper-case letters, digits, other "
    "characters; not only hexadecimal digits, not a number"
)

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def character_classes(value: str) -> int:
    """How many of the four classes (lower, upper, digit, other) `value` uses."""
    lower = upper = digit = other = False
    for char in value:
        if char.isdigit():
            digit = True
        elif char.islower():
            lower = True
        elif char.isupper():
            upper = True
        else:
            other = True
    return lower + upper + digit + other


def secret_weakness(value: object) -> str | None:
    """Why `value` is too weak to be a configured secret, None when it is strong enough.

    The reason names a property, never the value, its characters or its exact length: it is
    printed in error messages and recorded in the audit.
    """
    if not isinstance(value, str):
        return "it is not a string"
    if len(value) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    if len(value) > MAX_SECRET_LENGTH:
        return f"it is longer than {MAX_SECRET_LENGTH} characters"
    if any(unicodedata.category(char).startswith("C") for char in value):
        return "it holds a line break, a tab or another control character"
    if value != value.strip():
        return "it starts or ends with whitespace"
    if character_classes(value) < MIN_CHARACTER_CLASSES:
        return (
            f"it uses fewer than {MIN_CHARACTER_CLASSES} of the 4 character classes (lower-case "
            "letters, upper-case letters, digits, other characters)"
        )
    if _HEX_DIGITS.issuperset(value):
        return "it is made only of hexadecimal digits, so it could sit inside a digest"
    try:
        Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return "it reads as a number, so it could equal a quantity or a price"
