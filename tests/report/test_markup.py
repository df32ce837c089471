"""Escaping: any value is safe in an element or an attribute, and visible as what it is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.report.markup import clip, href, table, text


def test_text_escapes_markup_and_both_quotes() -> None:
    assert text("</svg><script>x</script>") == "&lt;/svg&gt;&lt;script&gt;x&lt;/script&gt;"
    assert text("a\"b'c&d") == "a&quot;b&#x27;c&amp;d"


def test_controls_bidi_overrides_and_lone_surrogates_are_shown_not_obeyed() -> None:
    assert text("a\x00b\x1bc") == "a\\u0000b\\u001bc"
    assert text("abc\u202edef") == "abc\\u202edef"  # right-to-left override
    assert text("x\ud800y") == "x\\ud800y"
    assert text("tab\tand\nnewline") == "tab\tand\nnewline"


@given(st.text())
def test_any_text_is_encodable_and_holds_no_markup_character(value: str) -> None:
    escaped = text(value)
    escaped.encode("utf-8")  # no lone surrogate is left
    assert not set(escaped) & set("<>\"'")


def test_href_cannot_name_a_scheme_or_leave_the_attribute() -> None:
    assert href("javascript:alert(1)") == "javascript%3Aalert%281%29"
    assert href('../audit/a b".jsonl') == "../audit/a%20b%22.jsonl"


def test_clip_keeps_one_line_within_the_width() -> None:
    assert clip("a\n b   c", 10) == "a b c"
    assert clip("abcdefghij", 5) == "abcd…"


def test_table_counts_what_it_does_not_list() -> None:
    html = table(("A", "B"), [(1, "<x>"), (2, None)], empty="none", omitted=3, what="refusals")
    assert "<td>&lt;x&gt;</td>" in html
    assert "<td></td>" in html
    assert "… and 3 more refusals not listed" in html
    assert table(("A",), [], empty="nothing refused") == '<p class="none">nothing refused</p>\n'
