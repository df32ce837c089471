"""Redaction: secrets never reach the audit trail, a log line or an exception message.

Two independent nets, applied before anything is hashed or written:

- by key: a dict value under a credential-shaped key (`password`, `api_key`, `clientSecret`,
  `Authorization`, ...: a credential word as the whole key name or as its last word, see
  `is_sensitive_key`) is replaced by `REDACTED` whatever its type, so a credential nobody told us
  about is still caught by where it sits. Domain keys are data, never names: a key spelled like a
  symbol (`TOKEN/USDT`, `SECRET`) keeps its value unless it ends in an unmistakable credential
  phrase (`X-API-KEY`, `PASSWORD`);
- by value: every string, dict keys included, has every configured secret replaced by `REDACTED`
  in every spelling a leak would take (`secret_forms`): raw and in any letter case; escaped as
  JSON, Python repr, Markdown, shell quoting and HTML, or with its whitespace folded; percent-,
  hex- and base64-encoded, including the base64 fragments that stay the same whatever text
  surrounds the secret (HTTP Basic `user:secret` at each of the three byte alignments).

`redact` runs on every audit payload, so the common case (no secret anywhere) is kept cheap: key
verdicts are cached, strings are screened by one regex compiled once per redactor, and a
container that needs no change is returned as the very same object. Digests are never touched:
`redact_text(text, keep=...)` leaves every occurrence of the given values (the hashes a caller
prints) intact.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import Enum
from itertools import islice
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"

# Credential words. As the whole key or its last word they make a key credential-shaped.
CREDENTIAL_WORDS: frozenset[str] = frozenset(
    {
        "apikey",
        "authorization",
        "bearer",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "passcode",
        "passphrase",
        "passwd",
        "password",
        "pin",
        "privatekey",
        "pwd",
        "secret",
        "secrets",
        "signature",
        "token",
    }
)
# Two-word credential phrases (the last two words of a key): `key` alone is a sort key or an id.
CREDENTIAL_PHRASES: frozenset[tuple[str, str]] = frozenset(
    {(qualifier, "key") for qualifier in ("api", "access", "private", "secret", "signing")}
    | {(qualifier, "key") for qualifier in ("session", "encryption", "master", "auth", "client")}
    | {(qualifier, "token") for qualifier in ("access", "refresh", "id", "auth", "session")}
    | {(qualifier, "token") for qualifier in ("bearer", "api", "client", "csrf")}
    | {(qualifier, "secret") for qualifier in ("client", "api", "shared", "app")}
    | {("basic", "auth"), ("http", "auth")}
)
# Words no symbol is spelled like: they mark even a symbol-shaped key (`PASSWORD`) as a name.
UNMISTAKABLE_WORDS: frozenset[str] = frozenset(
    {
        "apikey",
        "authorization",
        "credential",
        "credentials",
        "passphrase",
        "passwd",
        "password",
        "privatekey",
    }
)
# Kept for callers of the old name list: the words and phrases above, as written in a key.
SENSITIVE_KEY_PARTS: tuple[str, ...] = tuple(
    sorted(CREDENTIAL_WORDS | {"_".join(phrase) for phrase in CREDENTIAL_PHRASES})
)

# The schema's $defs/symbol (and checks.SYMBOL_PATTERN): a key spelled like this is a symbol.
_SYMBOL_SHAPED = re.compile(r"[A-Z0-9][A-Z0-9._/:-]{0,31}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")

# The mechanism's floor: a shorter value would match inside ordinary words and numbers. The
# strength a configured secret needs is a separate, stricter rule (secret_strength.py).
MIN_REDACTABLE_LENGTH = 4
MIN_SECRET_LENGTH = MIN_REDACTABLE_LENGTH  # the old name of the floor above
# A base64 fragment shorter than this is too likely to occur by chance to be worth a match.
_MIN_FRAGMENT = 8

# Types that can hold no string: returned untouched without further checks.
_OPAQUE = frozenset({int, bool, type(None), Decimal})
_SCALARS = _OPAQUE | {str}

# Key verdicts are cached because payload keys repeat on every record; the bound keeps keys built
# from data (order ids used as keys, say) from growing the cache without limit.
_SAFE_KEYS: set[str] = set()
_SENSITIVE_KEYS: set[str] = set()
_KEY_CACHE_LIMIT = 4096


def is_sensitive_key(key: str) -> bool:
    """Whether a dict key is credential-shaped (see the module docstring)."""
    if key in _SAFE_KEYS:
        return False
    if key in _SENSITIVE_KEYS:
        return True
    sensitive = _judge_key(key)
    if len(_SAFE_KEYS) + len(_SENSITIVE_KEYS) >= _KEY_CACHE_LIMIT:
        _SAFE_KEYS.clear()
        _SENSITIVE_KEYS.clear()
    (_SENSITIVE_KEYS if sensitive else _SAFE_KEYS).add(key)
    return sensitive


def _judge_key(key: str) -> bool:
    words = [w for w in _WORD_SPLIT.split(_CAMEL.sub("_", key).lower()) if w]
    if not words:
        return False
    last = words[-1]
    phrase = tuple(words[-2:]) in CREDENTIAL_PHRASES if len(words) > 1 else False
    if _SYMBOL_SHAPED.fullmatch(key):
        # TOKEN/USDT, SECRET, KEY-USD are instruments: only an unmistakable credential counts.
        return phrase or last in UNMISTAKABLE_WORDS
    return phrase or last in CREDENTIAL_WORDS


def _json_inner(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_inner_unicode(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _repr_inner(text: str) -> str:
    return repr(text)[1:-1]


def _fold(text: str) -> str:
    return " ".join(text.split())


# How outputs rewrite text: every spelling a secret may take on its way to the final bytes.
# Each is applied on its own and after every other one (JSON of a repr, a folded table cell).
_ESCAPES: tuple[Callable[[str], str], ...] = (
    _json_inner,
    _json_inner_unicode,
    _repr_inner,
    lambda text: text.replace("\\", "\\\\").replace("'", "\\'"),
    lambda text: text.replace("\\", "\\\\").replace('"', '\\"'),
    _fold,
    lambda text: text.replace("|", "\\|"),  # a Markdown table cell
    lambda text: text.replace("`", "'"),  # Markdown code spans
    lambda text: text.replace("'", "'\"'\"'"),  # inside shlex.quote's single quotes
    lambda text: html.escape(text, quote=True),
)


def _escaped_spellings(secret: str) -> set[str]:
    once = {secret} | {escape(secret) for escape in _ESCAPES}
    return once | {escape(form) for form in once for escape in _ESCAPES}


def _base64_fragments(raw: bytes) -> set[str]:
    """The base64 characters that depend on `raw` alone, at each of the three byte alignments.

    Whatever bytes surround `raw` in a longer string (`user:secret` in an HTTP Basic header),
    its base64 text holds one of these three fragments: base64 character k carries bits
    6k..6k+5, so the characters wholly inside the secret's bits are fixed by the secret.
    """
    fragments: set[str] = set()
    bits = 8 * len(raw)
    for alignment in range(3):
        padded = bytes(alignment) + raw + bytes(3)
        first = -(-8 * alignment // 6)  # ceil: the first character that starts inside the secret
        last = (8 * alignment + bits) // 6  # the first character that ends past it
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            fragment = encode(padded).decode("ascii")[first:last]
            if len(fragment) >= _MIN_FRAGMENT:
                fragments.add(fragment)
    return fragments


def secret_forms(secret: str) -> set[str]:
    """The spellings of `secret` that redaction looks for (matched in any letter case)."""
    raw = secret.encode("utf-8")
    forms = _escaped_spellings(secret) | {secret.lower(), secret.upper(), secret.casefold()}
    forms |= {quote(secret, safe=""), quote(secret), quote_plus(secret), quote_plus(secret, "/")}
    forms.add("".join(f"%{byte:02X}" for byte in raw))  # every byte escaped
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    forms |= _base64_fragments(raw)
    forms.add(raw.hex())
    return {form for form in forms if form}


class Redactor:
    """Replaces secrets in payloads and text; see the module docstring for what is caught.

    Everything is computed once, here: a session builds one redactor and uses it for every record.
    `lenient=True` (for error messages, which must not echo even a value that is refused as a
    secret) skips values shorter than `MIN_REDACTABLE_LENGTH` and non-strings instead of raising.
    """

    __slots__ = ("_min_length", "_patterns", "_screen", "values")

    def __init__(self, secret_values: Iterable[str] = (), *, lenient: bool = False) -> None:
        if isinstance(secret_values, str):
            # Iterating a lone string would register each character as a secret.
            raise TypeError(
                "Secret values must be given as a collection of strings, not one string."
            )
        values: list[str] = []
        for index, secret in enumerate(secret_values, start=1):
            if not isinstance(secret, str):
                if lenient:
                    continue
                raise TypeError(f"Secret value #{index} is not a string.")
            if len(secret) < MIN_REDACTABLE_LENGTH:
                if lenient:
                    continue
                # The value itself is never echoed: the message may end up in a log.
                raise ValueError(
                    f"Secret value #{index} is shorter than {MIN_REDACTABLE_LENGTH} characters; "
                    "redacting it would mangle ordinary text, so it is refused."
                )
            values.append(secret)
        self.values: tuple[str, ...] = tuple(dict.fromkeys(values))
        forms: dict[str, str] = {}  # one form per spelling up to letter case
        for secret in self.values:
            for form in secret_forms(secret):
                forms.setdefault(form.casefold(), form)
        # Longest first, so the screen's alternation prefers whole forms; the span merge in
        # _redact_str is what guarantees no fragment survives, whatever the order.
        ordered = sorted(forms.values(), key=lambda f: (-len(f), f))
        self._patterns = tuple(re.compile(re.escape(form), re.IGNORECASE) for form in ordered)
        # The screen matches case-folded forms in case-folded text: a case-sensitive alternation
        # is several times faster than an IGNORECASE one, and this runs on every audit string.
        folded = sorted({form.casefold() for form in ordered}, key=lambda f: (-len(f), f))
        self._screen = re.compile("|".join(map(re.escape, folded))) if folded else None
        # An ASCII text shorter than every form holds none (ids, symbols, sides: most strings).
        self._min_length = min(map(len, folded), default=0)

    def hides(self, text: str) -> bool:
        """Whether `text` holds a configured secret in any spelling redaction knows."""
        return self._screen is not None and self._screen.search(text.casefold()) is not None

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

    def redact_text(self, text: str, *, keep: Iterable[str] = ()) -> str:
        """`text` with every configured secret replaced, for messages and rendered outputs.

        Every occurrence of a value in `keep` (a digest the caller prints) is left as it is, so
        a hash is never altered by a secret that happens to match inside it.
        """
        if not keep:
            return self._redact_str(text)
        return self._redact_str(text, tuple(k for k in keep if k))

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

    def _redact_str(self, text: str, keep: tuple[str, ...] = ()) -> str:
        screen = self._screen
        if screen is None or (len(text) < self._min_length and text.isascii()):
            return text
        if screen.search(text.casefold()) is None:
            return text
        # Merge every occurrence of every form into covered spans, so overlapping or adjacent
        # secrets become one marker and leave no fragment of either behind.
        spans: list[tuple[int, int]] = []
        for pattern in self._patterns:
            match = pattern.search(text)
            while match is not None:
                spans.append(match.span())
                match = pattern.search(text, match.start() + 1)
        if keep:
            kept = _occurrences(text, keep)
            spans = [
                s for s in spans if not any(s[0] < end and start < s[1] for start, end in kept)
            ]
            if not spans:
                return text
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


def _occurrences(text: str, values: tuple[str, ...]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for value in values:
        start = text.find(value)
        while start != -1:
            found.append((start, start + len(value)))
            start = text.find(value, start + 1)
    return found
