import base64
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.audit_trail.redaction import REDACTED, Redactor, is_sensitive_key

# Has characters that percent-encoding changes, and a length that base64 pads.
SECRET = "sk live/Zq8+Ab=x"


class Side(Enum):
    BUY = "buy"


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("api_key", True),
        ("x_api_key", True),
        ("X-API-KEY", True),
        ("apiKey", True),
        ("Authorization", True),
        ("client-secret", True),
        ("refresh_token", True),
        ("db_password", True),
        ("passwd", True),
        ("passphrase", True),
        ("PRIVATE-KEY", True),
        ("credentials", True),
        ("Set-Cookie", True),
        ("request_signature", True),
        ("client_order_id", False),
        ("order_id", False),
        ("symbol", False),
        ("leaves_qty", False),
        ("reason", False),
        ("state", False),
    ],
)
def test_keys_are_judged_by_name(key, sensitive):
    assert is_sensitive_key(key) is sensitive
    redacted = Redactor().redact({key: "value"})
    assert redacted == {key: REDACTED if sensitive else "value"}


@pytest.mark.parametrize("value", ["Bearer abc", 12345, None, True, ["a", "b"], {"nested": "x"}])
def test_a_value_under_a_sensitive_key_is_redacted_whatever_its_type(value):
    assert Redactor().redact({"auth": {"api_key": value}}) == {"auth": {"api_key": REDACTED}}


def test_sensitive_keys_are_found_at_any_depth():
    payload = {
        "request": {"headers": [{"Authorization": "Bearer abc"}, {"Accept": "json"}]},
        "login": ({"user": "ops", "password": "hunter22"},),
    }
    assert Redactor().redact(payload) == {
        "request": {"headers": [{"Authorization": REDACTED}, {"Accept": "json"}]},
        "login": ({"user": "ops", "password": REDACTED},),
    }


def _b64(text, encode=base64.b64encode):
    return encode(text.encode()).decode()


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        quote(SECRET, safe="").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d"),
        _b64(SECRET),
        _b64(SECRET).rstrip("="),
        _b64(SECRET, base64.urlsafe_b64encode),
        _b64(SECRET, base64.urlsafe_b64encode).rstrip("="),
    ],
)
def test_every_encoded_form_of_a_secret_is_replaced(form):
    # The fixture must exercise what it claims: padding, and characters that encodings change.
    assert _b64(SECRET).endswith("=")
    assert len({SECRET, quote(SECRET, safe=""), quote_plus(SECRET)}) == 3
    text = f"GET /orders?key={form}&symbol=BTC-USD"
    assert Redactor([SECRET]).redact_text(text) == f"GET /orders?key={REDACTED}&symbol=BTC-USD"


def test_planted_secrets_are_replaced_in_values_lists_tuples_and_keys():
    redactor = Redactor([SECRET, "another-secret"])
    payload = {
        "url": f"https://mock/ws?token={quote(SECRET, safe='')}",
        "notes": ["fine", f"x{SECRET}y", ("nested", "another-secret")],
        SECRET: "a secret used as a key",
        "qty": Decimal("1.5"),
    }
    assert redactor.redact(payload) == {
        "url": f"https://mock/ws?token={REDACTED}",
        "notes": ["fine", f"x{REDACTED}y", ("nested", REDACTED)],
        REDACTED: "a secret used as a key",
        "qty": Decimal("1.5"),
    }
    assert SECRET in payload  # copy on write: the caller's payload is untouched


def test_exception_text_is_redacted():
    try:
        raise ConnectionError(f"login failed for key {SECRET} at wss://mock")
    except ConnectionError as exc:
        text = Redactor([SECRET]).redact_text(str(exc))
    assert text == f"login failed for key {REDACTED} at wss://mock"


@pytest.mark.parametrize(
    ("secrets", "text", "expected"),
    [
        (["abcdefgh", "efghijkl"], "xxabcdefghijklyy", f"xx{REDACTED}yy"),  # overlapping
        (["abcdefgh", "cdef"], "1abcdefgh2cdef3", f"1{REDACTED}2{REDACTED}3"),  # one inside other
        (["aaaa"], "aaaaaa", REDACTED),  # overlapping occurrences of one secret
        (["abcd", "efgh"], "abcdefgh", REDACTED),  # adjacent
    ],
)
def test_overlapping_secrets_leave_no_fragment(secrets, text, expected):
    assert Redactor(secrets).redact_text(text) == expected


def test_data_without_secrets_is_returned_unchanged_and_as_the_same_object():
    payload = {
        "client_order_id": "sk live/Zq8",  # shares a prefix with the secret, is not the secret
        "exec_ids": ["sk live/Zq8+Ab=", "e-2"],  # one character short of the secret
        "qty": Decimal("0.5"),
        "side": Side.BUY,
        "filled": False,
        "parent": None,
        "legs": ({"symbol": "BTC-USD", "n": 3},),
    }
    for redactor in (Redactor(), Redactor([SECRET])):
        assert redactor.redact(payload) is payload
        assert redactor.redact_text("order sk live/Zq8 filled") == "order sk live/Zq8 filled"


def test_a_changed_payload_keeps_key_order_and_container_types():
    payload = {"z": 1, "token": "t", "a": ("x", SECRET), "m": [SECRET]}
    redacted = Redactor([SECRET]).redact(payload)
    assert list(redacted) == ["z", "token", "a", "m"]
    assert redacted == {"z": 1, "token": REDACTED, "a": ("x", REDACTED), "m": [REDACTED]}
    assert type(redacted["a"]) is tuple
    assert type(redacted["m"]) is list


def test_other_mappings_are_redacted_too():
    assert Redactor().redact(MappingProxyType({"secret": "s", "id": 1})) == {
        "secret": REDACTED,
        "id": 1,
    }


@pytest.mark.parametrize("secret", ["Q7#", "", "Z"])
def test_a_short_secret_is_refused_without_echoing_it(secret):
    with pytest.raises(ValueError, match="shorter than 4 characters") as caught:
        Redactor(["long-enough", secret])
    assert "#2" in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


def test_a_lone_string_is_refused_rather_than_split_into_characters():
    with pytest.raises(TypeError, match="collection of strings") as caught:
        Redactor("hunter2hunter2")  # type: ignore[arg-type]
    assert "hunter2" not in str(caught.value)


@given(
    secret=st.text(alphabet="ab01", min_size=4, max_size=8),
    before=st.text(alphabet="ab01", max_size=12),
    after=st.text(alphabet="ab01", max_size=12),
)
def test_no_occurrence_of_a_secret_survives(secret, before, after):
    # The alphabet shares no character with the marker, so any survivor is a real leak.
    redactor = Redactor([secret])
    assert secret not in redactor.redact_text(before + secret + after)
    assert redactor.redact_text(before) == before or secret in before
