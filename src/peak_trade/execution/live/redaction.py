"""Redaction: secrets never reach the audit trail, a log line or an exception message.

Two independent nets, applied before anything is hashed or written:

- by key: a dict value under a key whose name contains one of `SENSITIVE_KEY_PARTS` (matched
  case-insensitively, '-' read as '_') is replaced by `REDACTED` whatever its type, so a credential
  nobody told us about is still caught by where it sits;
- by value: every string, dict keys included, has every configured secret replaced by `REDACTED`,
  in its raw form and in the encodings that carry it into URLs, headers and logs (percent-encoding,
  base64), so a known secret is caught wherever it travels.

`redact` runs on every audit payload, so the common case (no secret anywhere) is kept cheap: key
verdicts are cached, strings are screened by one precompiled regex, and a container that needs no
change is returned as the very same object.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from itertools import islice
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"

SENSITIVE_KEY_PARTS: tuple[str, ...] = (
    "api_key",
    "apikey",
    "access_key",
    "secret",
    "token",
    "password",
    "passwd",
    "passphrase",
    "private_key",
    "privatekey",
    "authorization",
    "bearer",
    "credential",
    "cookie",
    "signature",
)

MIN_SECRET_LENGTH = 4

# Types that can hold no string: returned untouched without further checks.
_OPAQUE = frozenset({int, bool, type(None), Decimal})
_SCALARS = _OPAQUE | {str}

# Key verdicts are cached because payload keys repeat on every record; the bound keeps keys built
# from data (order ids used as keys, say) from growing the cache without limit.
_SAFE_KEYS: set[str] = set()
_SENSITIVE_KEYS: set[str] = set()
_KEY_CACHE_LIMIT = 4096


def is_sensitive_key(key: str) -> bool:
    """Whether a dict key names a credential (substring match, case-insensitive, '-' as '_')."""
    if key in _SAFE_KEYS:
        return False
    if key in _SENSITIVE_KEYS:
        return True
    normalised = key.lower().replace("-", "_")
    sensitive = any(part in normalised for part in SENSITIVE_KEY_PARTS)
    if len(_SAFE_KEYS) + len(_SENSITIVE_KEYS) >= _KEY_CACHE_LIMIT:
        _SAFE_KEYS.clear()
        _SENSITIVE_KEYS.clear()
    (_SENSITIVE_KEYS if sensitive else _SAFE_KEYS).add(key)
    return sensitive


def secret_forms(secret: str) -> set[str]:
    """The spellings of `secret` that redaction looks for: raw, percent-encoded and base64."""
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    # Some encoders write percent escapes in lower case; both are the same secret.
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in forms}
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return forms


class Redactor:
    """Replaces secrets in payloads and text; see the module docstring for what is caught."""

    __slots__ = ("_forms", "_screen")

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        if isinstance(secret_values, str):
            # Iterating a lone string would register each character as a secret.
            raise TypeError(
                "Secret values must be given as a collection of strings, not one string."
            )
        forms: set[str] = set()
        for index, secret in enumerate(secret_values, start=1):
            if not isinstance(secret, str):
                raise TypeError(f"Secret value #{index} is not a string.")
            if len(secret) < MIN_SECRET_LENGTH:
                # The value itself is never echoed: the message may end up in a log.
                raise ValueError(
                    f"Secret value #{index} is shorter than {MIN_SECRET_LENGTH} characters; "
                    "redacting it would mangle ordinary text, so it is refused."
                )
            forms |= secret_forms(secret)
        # Longest first, so the screen's alternation prefers whole forms; the span merge in
        # _redact_str is what guarantees no fragment survives, whatever the order.
        self._forms: tuple[str, ...] = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        self._screen = (
            re.compile("|".join(re.escape(form) for form in self._forms)) if forms else None
        )

    def redact(self, value: object) -> object:
        """A copy of `value` with secrets replaced; `value` itself when nothing needed replacing."""
        kind = type(value)
        if kind in _OPAQUE:
            return value
        if kind is str:
            return self._redact_str(value)
        if kind is dict:
            return self._redact_mapping(value)
        if kind is list or kind is tuple:
            return self._redact_sequence(value, kind)
        # Subclasses come last, off the hot path. A str-valued Enum is a constant, not data.
        if isinstance(value, Enum):
            return value
        if isinstance(value, str):
            return self._redact_str(value)
        if isinstance(value, Mapping):
            return self._redact_mapping(value)
        if isinstance(value, list | tuple):
            return self._redact_sequence(value, list if isinstance(value, list) else tuple)
        return value

    def redact_text(self, text: str) -> str:
        """`text` with every configured secret replaced, for exception messages and the like."""
        return self._redact_str(text)

    def _redact_mapping(self, mapping: Mapping[object, object]) -> object:
        screen = self._screen
        if screen is None and _SAFE_KEYS.issuperset(mapping):
            # The hot path: known-safe keys and no secret to look for, so only a nested container
            # can change (a flat mapping is settled in C). A rare change is redone below.
            if _SCALARS.issuperset(map(type, mapping.values())):
                return mapping
            for item in mapping.values():
                if type(item) not in _SCALARS and self.redact(item) is not item:
                    break
            else:
                return mapping
        out: dict[object, object] | None = None  # built only once an entry changes
        for index, (key, item) in enumerate(mapping.items()):
            new_key = key
            sensitive = False
            if type(key) is str:
                sensitive = is_sensitive_key(key)
                if screen is not None:
                    new_key = self._redact_str(key)
            # Scalars are settled inline: a method call per entry is most of the cost here.
            if sensitive:
                new_item = REDACTED
            elif type(item) in _OPAQUE or (screen is None and type(item) is str):
                new_item = item
            else:
                new_item = self.redact(item)
            if out is None:
                if new_key is key and new_item is item:
                    continue
                out = dict(islice(mapping.items(), index))
            # Two keys that redact alike collapse into one entry; a secret used as a dict key is
            # rare enough that we accept this rather than invent key names.
            out[new_key] = new_item
        return mapping if out is None else out

    def _redact_sequence(self, sequence: list | tuple, kind: type) -> object:
        if self._screen is None and _SCALARS.issuperset(map(type, sequence)):
            return sequence
        items = [self.redact(item) for item in sequence]
        if all(new is old for new, old in zip(items, sequence, strict=True)):
            return sequence
        return items if kind is list else tuple(items)

    def _redact_str(self, text: str) -> str:
        if self._screen is None or self._screen.search(text) is None:
            return text
        # Merge every occurrence of every form into covered spans, so overlapping or adjacent
        # secrets become one marker and leave no fragment of either behind.
        spans: list[tuple[int, int]] = []
        for form in self._forms:
            start = text.find(form)
            while start != -1:
                spans.append((start, start + len(form)))
                start = text.find(form, start + 1)
        spans.sort()
        pieces: list[str] = []
        cursor = 0
        merged_end = -1
        for start, end in spans:
            if start > merged_end:
                if merged_end >= 0:
                    pieces.append(REDACTED)
                pieces.append(text[cursor:start])
            merged_end = max(merged_end, end)
            cursor = merged_end
        pieces.append(REDACTED)
        pieces.append(text[cursor:])
        return "".join(pieces)
