"""An oracle for secret leaks that does not trust the redactor under test.

`leaks(text, secrets)` decodes `text` every way an output could carry a secret and reports each
secret found in any of those readings, in any letter case: the text itself; with JSON/Python
string escapes, Markdown escapes, shell quoting and HTML entities undone; with whitespace folded;
percent-decoded; and every token that reads as hex or base64 (at each of the four offsets a
fragment can start at) decoded. So a base64 blob holding `user:secret`, a hex dump, an upper-case
copy or a secret split by `\\|` all count, whatever spelling list the redactor keeps.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, unquote_plus

_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_HEX_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){4,}")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if body[0] in "ux" and len(body) > 1:
            return chr(int(body[1:], 16))
        return _SIMPLE.get(body, body)

    return _ESCAPE.sub(one, text)


def _b64_readings(text: str) -> Iterable[str]:
    for token in _B64_TOKEN.findall(text):
        core = token.rstrip("=").replace("-", "+").replace("_", "/")
        for offset in range(4):
            piece = core[offset:]
            piece = piece[: len(piece) - len(piece) % 4] if len(piece) % 4 == 1 else piece
            try:
                raw = base64.b64decode(piece + "=" * (-len(piece) % 4))
            except (binascii.Error, ValueError):
                continue
            yield raw.decode("utf-8", "replace")
            yield raw.decode("latin-1")


def _hex_readings(text: str) -> Iterable[str]:
    for token in _HEX_TOKEN.findall(text):
        for offset in (0, 1):
            piece = token[offset:]
            piece = piece[: len(piece) // 2 * 2]
            try:
                yield bytes.fromhex(piece).decode("utf-8", "replace")
            except ValueError:
                continue


def readings(text: str) -> list[str]:
    """Every reading of `text` a leak could hide in (see the module docstring)."""
    views = {text, html.unescape(text), " ".join(text.split())}
    views.add(text.replace("'\"'\"'", "'"))  # shlex.quote's way of writing a '
    for _ in range(2):  # two levels: JSON of a repr
        views |= {_unescape(view) for view in list(views)}
    views |= {view.replace("'", "`") for view in list(views)}  # Markdown code spans
    views |= {unquote(view) for view in list(views)} | {unquote_plus(view) for view in list(views)}
    decoded: set[str] = set()
    for view in views:
        decoded.update(_b64_readings(view))
        decoded.update(_hex_readings(view))
    return [*views, *decoded]


def leaks(text: str, secrets: Mapping[str, str]) -> list[str]:
    """The names of the secrets that can be read back from `text`."""
    views = [view.casefold() for view in readings(text)]
    found = []
    for name, secret in secrets.items():
        wanted = {secret.casefold(), " ".join(secret.split()).casefold()}
        if any(w in view for w in wanted for view in views):
            found.append(name)
    return sorted(found)
