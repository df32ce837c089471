"""The sign-off block: blank fields as rendered, and the only lines a hand may fill in."""

from __future__ import annotations

from peak_trade.harness.signoff import (
    BLANK,
    FIELDS,
    SIGNOFF_HEADING,
    describe_filled,
    field_prefix,
    restore_blanks,
    signoff_lines,
)

END = "## Digests"


def rendered(before: str = "# Evidence\n\n- **Operator:** alice\n") -> str:
    return before + "\n".join(signoff_lines()) + f"\n{END}\n\n```json\n{{}}\n```\n"


def filled(text: str, values: dict[str, str]) -> str:
    labels = dict(FIELDS)
    for name, value in values.items():
        blank = f"{field_prefix(labels[name])} {BLANK}"
        text = text.replace(blank, f"{field_prefix(labels[name])} {value}", 1)
    return text


def test_the_block_has_operator_date_decision_and_signature_blank():
    lines = signoff_lines()
    assert lines[0] == SIGNOFF_HEADING
    assert [name for name, _ in FIELDS] == ["operator", "date", "decision", "signature"]
    for _, label in FIELDS:
        assert f"- **{label}:** {BLANK}" in lines
    assert lines[-1] == ""  # then the digests heading follows


def test_filled_fields_are_put_back_to_blank_and_reported():
    text = rendered()
    values = {"operator": "Bob Ops", "date": "2026-12-03", "decision": "APPROVED", "signature": "B"}
    restored = restore_blanks(text, filled(text, values), block_end=END)
    assert restored.text == text
    assert restored.filled == tuple(values.items())
    assert "operator 'Bob Ops', date '2026-12-03'" in describe_filled(restored.filled)


def test_a_field_left_blank_or_emptied_is_not_reported():
    text = rendered()
    emptied = text.replace(f"- **Signature:** {BLANK}", "- **Signature:**")
    restored = restore_blanks(text, filled(emptied, {"decision": "REJECTED: drift"}), block_end=END)
    assert restored.text == text
    assert restored.filled == (("decision", "REJECTED: drift"),)


def test_only_the_field_lines_are_restored():
    text = rendered()
    cases = {
        "a renamed label": text.replace("- **Signature:**", "- **Signed:**"),
        "a value on a new line": filled(text, {"operator": "Bob\nOps"}),
        "a field removed": text.replace(f"- **Signature:** {BLANK}\n", ""),
        "a field added": text.replace(
            f"- **Signature:** {BLANK}", "- **Signature:** x\n- **Signature:** y"
        ),
        "an edit above": filled(text.replace("alice", "mallory"), {"operator": "Bob"}),
        "the intro changed": filled(text.replace("Filled in by hand", "Filled"), {"operator": "B"}),
    }
    for what, found in cases.items():
        assert restore_blanks(text, found, block_end=END).text != text, what


def test_a_field_shaped_line_elsewhere_is_never_a_field():
    label = dict(FIELDS)["operator"]
    decoy = f"{field_prefix(label)} {BLANK}\n"
    text = rendered(before=f"# Evidence\n\n{decoy}")
    found = text.replace(decoy, f"{field_prefix(label)} forged\n", 1)
    assert restore_blanks(text, found, block_end=END).text == found  # the decoy is compared


def test_a_text_without_the_block_is_left_alone():
    text = "# Evidence\n\nno block\n## Digests\n"
    assert restore_blanks(text, text + "x", block_end=END).text == text + "x"
    assert restore_blanks(text, text, block_end=END).filled == ()
