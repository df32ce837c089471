"""The spellings redaction knows, checked against independent encoders, and the strength rule."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.audit_trail.redaction import REDACTED, Redactor
from peak_trade.execution.live.audit_trail.secret_strength import (
    MIN_SECRET_LENGTH,
    character_classes,
    secret_weakness,
)

# Strong secrets: 12+ characters from at least three classes, not only hex, not a number.
strong = st.text(
    alphabet=st.sampled_from("abcxyzABCXYZ0189-_/+=|`'\" \\?é"),
    min_size=MIN_SECRET_LENGTH,
    max_size=24,
).filter(lambda s: secret_weakness(s) is None)
context = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)


@given(secret=strong, before=context, after=context, urlsafe=st.booleans())
def test_base64_of_any_text_holding_the_secret_is_caught(secret, before, after, urlsafe):
    raw = (before + secret + after).encode()
    encoded = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    redacted = Redactor([secret]).redact_text(f"Authorization: Basic {encoded}")
    assert REDACTED in redacted
    # What is left of the blob decodes to no copy of the secret, at any offset.
    for token in redacted.replace(REDACTED, " ").split():
        for offset in range(4):
            piece = token[offset:].rstrip("=")
            piece = piece[: len(piece) - len(piece) % 4]
            try:
                decoded = base64.b64decode(piece, altchars=b"-_" if urlsafe else None)
            except ValueError:
                continue
            assert secret.encode() not in decoded


@given(secret=strong, before=context, after=context)
def test_hex_case_and_escaped_spellings_are_caught(secret, before, after):
    redactor = Redactor([secret])
    whole = before + secret + after
    spellings = [
        whole.encode().hex(),
        whole.encode().hex().upper(),
        whole.upper(),
        whole.swapcase(),
        json.dumps(whole),
        json.dumps(whole, ensure_ascii=False),
        repr(whole),
        shlex.quote(whole),
        json.dumps(repr(whole)),
    ]
    for text in spellings:
        redacted = redactor.redact_text(text)
        assert REDACTED in redacted, text
        assert secret not in redacted


def test_digests_passed_as_keep_are_never_changed():
    secret = "Kept-Digest-99x"
    digest = (secret.encode().hex() + "0" * 64)[:64]
    redactor = Redactor([secret])
    assert redactor.redact_text(f"head {digest}", keep=[digest]) == f"head {digest}"
    assert redactor.redact_text(f"head {digest}") != f"head {digest}"


@pytest.mark.parametrize(
    ("value", "weak"),
    [
        ("sk-canary-7f3a9c1e", False),
        ("Correct-Horse-9", False),
        ("пароль-Секрет-1", False),  # other scripts count as letters of their case
        ("short-A1", True),
        ("onlylowercaseletters", True),
        ("lowercase-and-dashes", True),  # two classes
        ("0123456789abcdefABCDEF", True),  # hex only
        ("+1234567.89E-12", True),  # a number
        ("has a\nline-Break1", True),
        ("trailing-Space-1 ", True),
        ("x" * 1025 + "A1", True),
        (48151623, True),
    ],
)
def test_the_strength_rule(value, weak):
    reason = secret_weakness(value)
    assert (reason is not None) is weak
    if reason is not None and isinstance(value, str):
        assert value.strip() not in reason


def test_character_classes():
    assert character_classes("aA1-") == 4
    assert character_classes("abc") == 1
    assert character_classes("ab 12") == 3
