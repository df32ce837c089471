"""Text that UTF-8 can carry: a Python str may hold lone surrogates ("\\ud800"), which cannot be
encoded, hashed into the audit chain or sent to a broker. Inputs are judged with
`is_unicode_text`; where a record must still be written (a stop reason, a broker's message),
`escape_lone_surrogates` writes each one as a visible \\uXXXX escape instead."""

from __future__ import annotations


def is_unicode_text(value: object) -> bool:
    """A str that encodes as UTF-8 (ASCII, the common case, is settled in C without encoding)."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escape_lone_surrogates(value: object) -> object:
    """`value` with every str (keys too, in nested dicts, lists and tuples) made encodable."""
    if isinstance(value, str):
        return (
            value if is_unicode_text(value) else value.encode("utf-8", "backslashreplace").decode()
        )
    if isinstance(value, dict):
        return {escape_lone_surrogates(k): escape_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_lone_surrogates(item) for item in value]
    return value
