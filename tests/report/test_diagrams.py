"""The inline SVG drawings: bounded, well-formed whatever the trail says, and only drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.observe.facts import Message, StateChange
from peak_trade.report.diagrams import (
    MAX_MESSAGES,
    MAX_TRANSITIONS,
    message_label,
    message_sequence,
    state_timeline,
)

SVG = "{http://www.w3.org/2000/svg}"
# Everything a drawing may contain: shapes and text, never a script, a link or a foreign object.
DRAWING_TAGS = {"svg", "title", "g", "text", "tspan", "line", "polygon", "circle", "rect"}
HAPPY = (
    StateChange(step=0, from_state="INIT", to_state="PREFLIGHT_OK", trigger="preflight_passed"),
    StateChange(step=0, from_state="PREFLIGHT_OK", to_state="DRYRUN_ACTIVE", trigger="start"),
    StateChange(
        step=3,
        from_state="DRYRUN_ACTIVE",
        to_state="STOPPING",
        trigger="stop_requested",
        reason="end of rehearsal",
    ),
    StateChange(step=3, from_state="STOPPING", to_state="STOPPED", trigger="drained"),
)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def tags(root: ET.Element) -> set[str]:
    return {element.tag.removeprefix(SVG) for element in root.iter()}


def texts(root: ET.Element) -> str:
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))


def outbound(n: int, kind: str = "submit", cid: str = "o-1") -> Message:
    return Message(step=n, seq=n, direction="to_broker", kind=kind, client_order_id=cid)


def report(n: int, cid: str = "o-1", outcome: str = "applied") -> Message:
    return Message(
        step=n,
        seq=n,
        direction="from_broker",
        kind="execution_report",
        client_order_id=cid,
        exec_type="trade",
        status="filled",
        outcome=outcome,
    )


def test_the_timeline_draws_one_row_per_transition_with_step_and_trigger() -> None:
    root = parse(state_timeline(HAPPY, len(HAPPY), label="timeline of happy"))
    rows = root.findall(f"{SVG}g")
    assert len(rows) == 4
    words = texts(root)
    assert "step 3" in words
    assert "stop_requested: end of rehearsal" in words
    for state in ("INIT", "DRYRUN", "STOPPED"):
        assert state in words
    assert root.find(f"{SVG}title").text == "timeline of happy"
    assert tags(root) <= DRAWING_TAGS


def test_the_timeline_is_bounded_and_counts_what_it_does_not_draw() -> None:
    many = [HAPPY[0]] * (MAX_TRANSITIONS + 25)
    root = parse(state_timeline(many, 500, label="many"))
    assert len(root.findall(f"{SVG}g")) == MAX_TRANSITIONS
    assert f"… and {500 - MAX_TRANSITIONS} more transitions not drawn (500 in all)" in texts(root)


def test_an_empty_trail_still_gets_a_drawing_that_says_so() -> None:
    assert "no state transitions" in texts(parse(state_timeline((), 0, label="none")))
    assert "no messages" in texts(parse(message_sequence((), 0, label="none")))


def test_an_unknown_state_gets_a_column_of_its_own() -> None:
    odd = StateChange(step=1, from_state="DRYRUN_ACTIVE", to_state="WEIRD_STATE", trigger="x")
    assert "WEIRD" in texts(parse(state_timeline([odd], 1, label="odd")))


def test_the_sequence_draws_requests_and_reports_in_trail_order() -> None:
    messages = [outbound(1), report(2), report(3, outcome="duplicate")]
    root = parse(message_sequence(messages, 3, label="messages"))
    rows = root.findall(f"{SVG}g")
    assert len(rows) == 3
    labels = [row.find(f"{SVG}text[@class='message']").text for row in rows]
    assert labels == [
        "submit o-1",
        "report o-1: trade, filled",
        "report o-1: trade, filled [duplicate]",
    ]
    dashed = [row.find(f"{SVG}line").get("stroke-dasharray") for row in rows]
    assert dashed == [None, None, "4 3"]  # a report the session did not apply is dashed


def test_the_sequence_is_bounded_and_counts_the_rest() -> None:
    messages = [outbound(n) for n in range(MAX_MESSAGES + 10)]
    root = parse(message_sequence(messages, 1000, label="flood"))
    assert len(root.findall(f"{SVG}g")) == MAX_MESSAGES
    assert f"… and {1000 - MAX_MESSAGES} more messages not drawn (1000 in all)" in texts(root)


def test_message_labels_name_chained_ids() -> None:
    replace = Message(
        step=1,
        seq=1,
        direction="to_broker",
        kind="replace",
        client_order_id="o-1",
        other_order_id="o-1b",
    )
    assert message_label(replace) == "replace o-1 → o-1b"
    bare = Message(
        step=1, seq=1, direction="from_broker", kind="execution_report", client_order_id=None
    )
    assert message_label(bare) == "report ?: ?"


hostile = st.text(min_size=0, max_size=40) | st.sampled_from(
    [
        "</svg><script>alert(1)</script>",
        "\"' onload=alert(1) x='",
        "]]><!--",
        "\u202eevil",
        "\ufffe\uffff\x0c",
    ]
)


@given(trigger=hostile, reason=st.none() | hostile, state=hostile, cid=hostile)
def test_no_text_in_a_trail_can_break_out_of_a_drawing(
    trigger: str, reason: str | None, state: str, cid: str
) -> None:
    change = StateChange(
        step=1, from_state=state, to_state=state + "x", trigger=trigger, reason=reason
    )
    messages = [outbound(1, cid=cid), report(2, cid=cid, outcome=trigger)]
    for svg in (
        state_timeline([change], 1, label=trigger),
        message_sequence(messages, 2, label=cid),
    ):
        root = parse(svg)  # well-formed: nothing closed the drawing early
        assert tags(root) <= DRAWING_TAGS
        assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)
