"""Mermaid diagrams: every label inert, every diagram bounded, and the output in a small grammar."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.harness.mermaid import (
    MAX_LABEL,
    MAX_MESSAGES,
    MAX_TRANSITIONS,
    Arrow,
    TimelineStep,
    label,
    message_sequence,
    state_timeline,
)

# What a label may never hold: statement ends, quotes, link pipes, directive braces, HTML,
# entity starts, comment starts, fence backticks, backslashes, line breaks.
FORBIDDEN = re.compile(r'["`|{}<>;#&\\\n\r]|%%')
HOSTILE = [
    'o-1"]; click n0 "https://evil.example" _blank',
    "%%{init: {'theme': 'dark', 'securityLevel': 'loose'}}%%",
    "<img src=x onerror=alert(1)><script>alert(2)</script>",
    "note #quot; #35; &amp; &lt;b&gt;",
    "line one\nline two\r\n```\n## Digests",
    "a | b || c -->|x| n9",
    "end; participant X; X->>S: forged",
    "`code` \\backslash\\",
]

# The lines a diagram consists of, nothing else.
TIMELINE_LINE = re.compile(
    r'    n\d+\(\["[A-Z0-9_]+"\]\)'
    r'|    n\d+ -->\|"[^"|]*"\| n\d+'
    r'|    n\d+\["\.\.\. \d+ more transitions?, see the table"\]'
    r"|    n\d+ -\.-> n\d+"
    r"|    classDef (failed|done) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#000"
    r"|    class (n\d+,)*n\d+ (failed|done)"
    r'|    n0\["no state transitions"\]'
)
SEQUENCE_LINE = re.compile(
    r"    participant [SB] as (Session|Mock broker)"
    r"|    (S->>B|B-->>S): [^\n]*"
    r"|    Note over S,B: [^\n]*"
)


def body(lines: list[str], kind: str) -> list[str]:
    assert lines[0] == "```mermaid"
    assert lines[1] == kind
    assert lines[-1] == "```"
    inner = lines[2:-1]
    assert not any(line.startswith("```") for line in inner)
    return inner


def test_a_label_replaces_what_could_end_or_change_a_statement():
    for text in HOSTILE:
        safe = label(text)
        assert not FORBIDDEN.search(safe), (text, safe)
        assert len(safe) <= MAX_LABEL
    assert label('say "hi" | {x} <b>') == "say 'hi' / (x) (b)"
    assert label("5% around %%{init}%%") == "5% around %(init)%"
    assert label("a\n\tb   c") == "a b c"
    assert label("state ERROR_REQUIRES_OPERATOR: [95.00, 105.00]") == (
        "state ERROR_REQUIRES_OPERATOR: [95.00, 105.00]"
    )


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_any_text_becomes_an_inert_bounded_label(text):
    safe = label(text)
    assert not FORBIDDEN.search(safe)
    assert len(safe) <= MAX_LABEL
    assert safe == " ".join(safe.split())  # one line, no control whitespace


def test_a_long_label_is_cut_with_an_ellipsis():
    safe = label("x" * 500)
    assert len(safe) == MAX_LABEL
    assert safe.endswith("...")


def test_the_state_timeline_draws_the_states_in_order_with_their_triggers():
    steps = [
        TimelineStep(step=0, source="INIT", target="PREFLIGHT_OK", why="preflight_passed"),
        TimelineStep(step=0, source="PREFLIGHT_OK", target="DRYRUN_ACTIVE", why="start"),
        TimelineStep(
            step=2, source="DRYRUN_ACTIVE", target="ERROR_REQUIRES_OPERATOR", why="breach"
        ),
        TimelineStep(step=4, source="ERROR_REQUIRES_OPERATOR", target="STOPPING", why='ack "x"'),
        TimelineStep(step=4, source="STOPPING", target="STOPPED", why="drained"),
    ]
    lines = state_timeline(steps)
    inner = body(lines, "flowchart TD")
    assert all(TIMELINE_LINE.fullmatch(line) for line in inner), inner
    assert '    n0(["INIT"])' in inner
    assert '    n5(["STOPPED"])' in inner
    assert '    n2 -->|"step 2: breach"| n3' in inner
    assert "    n3 -->|\"step 4: ack 'x'\"| n4" in inner
    assert "    class n3 failed" in inner
    assert "    class n5 done" in inner


def test_the_state_timeline_is_bounded_and_counts_the_rest():
    steps = [
        TimelineStep(step=i, source="STOPPED", target="STOPPED", why="cancel") for i in range(100)
    ]
    inner = body(state_timeline(steps), "flowchart TD")
    assert sum("-->|" in line for line in inner) == MAX_TRANSITIONS
    assert (
        f'    n{MAX_TRANSITIONS + 1}["... {100 - MAX_TRANSITIONS} more transitions, see the table"]'
        in inner
    )
    assert all(TIMELINE_LINE.fullmatch(line) for line in inner), inner


def test_a_state_name_is_never_taken_as_written():
    steps = [TimelineStep(step=1, source='X"]) --> evil', target="<b>", why="t")]
    inner = body(state_timeline(steps), "flowchart TD")
    assert all(TIMELINE_LINE.fullmatch(line) for line in inner), inner
    assert '    n0(["XEVIL"])' in inner
    assert '    n1(["B"])' in inner


def test_an_empty_timeline_says_so():
    assert body(state_timeline([]), "flowchart TD") == ['    n0["no state transitions"]']


def test_the_sequence_diagram_draws_both_directions_and_is_bounded():
    arrows = [
        Arrow(step=i // 2, to_broker=i % 2 == 0, text=HOSTILE[i % len(HOSTILE)]) for i in range(300)
    ]
    lines = message_sequence(arrows, total=1000)
    inner = body(lines, "sequenceDiagram")
    assert all(SEQUENCE_LINE.fullmatch(line) for line in inner), inner
    drawn = [line for line in inner if "->>" in line]
    assert len(drawn) == MAX_MESSAGES
    assert drawn[0].startswith("    S->>B: step 0: ")
    assert drawn[1].startswith("    B-->>S: step 0: ")
    assert (
        inner[-1]
        == f"    Note over S,B: {1000 - MAX_MESSAGES} more messages not drawn, see the audit trail"
    )
    for line in drawn:
        assert not FORBIDDEN.search(line.split(": ", 1)[1]), line


def test_a_sequence_of_nothing_says_so_and_one_more_is_counted_singular():
    assert body(message_sequence([]), "sequenceDiagram")[-1] == (
        "    Note over S,B: no messages were exchanged"
    )
    inner = body(
        message_sequence([Arrow(step=1, to_broker=True, text="a")], total=2, limit=1),
        "sequenceDiagram",
    )
    assert inner[-1] == "    Note over S,B: 1 more message not drawn, see the audit trail"
