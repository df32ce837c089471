"""Text that UTF-8 can carry, and the visible escape of what it cannot."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.audit import ESCAPED_FLAG, AuditTrail, MemorySink, verify_lines
from peak_trade.execution.live.audit_trail.text import escape_lone_surrogates, is_unicode_text


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("o-1", True), ("café", True), ("\ud800", False), ("a\udfffb", False), (1, False)],
)
def test_is_unicode_text(value: object, ok: bool) -> None:
    assert is_unicode_text(value) is ok


@given(st.recursive(st.text(), lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids)))
def test_escaping_makes_any_nested_text_encodable_and_keeps_valid_text(value: object) -> None:
    escaped = escape_lone_surrogates(value)
    json.dumps(escaped, ensure_ascii=False).encode("utf-8")  # raises if anything is left
    if is_unicode_text(json.dumps(value, ensure_ascii=False, default=str)):
        assert escaped == (list(value) if isinstance(value, tuple) else value)


def test_a_record_with_a_lone_surrogate_is_written_escaped_and_flagged() -> None:
    memory = MemorySink()
    trail = AuditTrail([memory])
    trail.open()
    record = trail.append(step=1, type="note", state="INIT", payload={"text": "a\ud800b"})
    assert record.payload == {"text": "a\\ud800b", ESCAPED_FLAG: True}
    assert json.loads(memory.lines[0])["payload"] == record.payload
    plain = trail.append(step=1, type="note", state="INIT", payload={"text": "café"})
    assert ESCAPED_FLAG not in plain.payload
    assert verify_lines(memory.lines).ok
