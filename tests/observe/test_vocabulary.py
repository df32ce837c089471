"""Metric labels never carry text from a record: every label value is inside its closed vocabulary
(or `other`), whatever strings the records hold; and the vocabulary knows every name the engine
writes, so a real session never needs `other`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from peak_trade.execution.live.rails.rules import RAIL_NAMES
from peak_trade.harness.schema_enums import SESSION_REFUSALS
from peak_trade.observe.facts import fold_records
from peak_trade.observe.metrics import METRICS, OPENMETRICS, TEXT, render
from peak_trade.observe.vocabulary import (
    INVARIANTS,
    MISMATCH_KINDS,
    ORDER_STATUSES,
    OTHER,
    RAILS,
    SESSION_STATES,
    label,
    session_label,
)

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "src" / "peak_trade" / "execution" / "live"
SESSION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

VOCABULARY: dict[str, tuple[str, ...]] = {
    "from": ORDER_STATUSES,
    "to": ORDER_STATUSES,
    "kind": MISMATCH_KINDS,
    "rail": RAILS,
    "invariant": INVARIANTS,
    "state": SESSION_STATES,
}


def test_every_label_of_the_table_has_a_vocabulary() -> None:
    assert {name for spec in METRICS for name in spec.labels} == set(VOCABULARY)


def test_the_vocabulary_holds_every_rule_the_engine_writes() -> None:
    written: set[str] = set()
    patterns = (
        r'"rule": "([a-z_]+)"',
        r'rail="([a-z_]+)"',
        r'_reject\(\s*"([a-z_]+)"',
    )
    for source in LIVE.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for pattern in patterns:
            written.update(re.findall(pattern, text))
    assert len(written) > 20  # the scan finds the rails, not nothing
    assert written <= set(RAILS), sorted(written - set(RAILS))
    assert set(RAIL_NAMES) | set(SESSION_REFUSALS) <= set(RAILS)
    assert OTHER not in RAILS  # `other` is never a real name


def test_label_keeps_members_and_maps_the_rest_to_other() -> None:
    assert label(SESSION_STATES, "STOPPED") == "STOPPED"
    assert label(SESSION_STATES, "stopped") == OTHER
    assert label(SESSION_STATES, None) == OTHER
    assert label(RAILS, ["kill_switch"]) == OTHER
    assert session_label("happy_path_full_fills") == "happy_path_full_fills"
    for bad in ("acct 1234", "[REDACTED]", "", "A", "x" * 65, "ok\n", None, 7):
        assert session_label(bad) == OTHER


# Strings of every kind, the real names among them so that both branches are taken.
TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from([*RAILS, *INVARIANTS, *MISMATCH_KINDS, *ORDER_STATUSES, *SESSION_STATES]),
    st.sampled_from(["other", 'a"b', "a\\b", "x\ny", "secret=hunter22", "ACCT-12345678"]),
)


@st.composite
def trails(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A forged trail: records of every type the metrics read, every text field arbitrary."""
    out: list[dict[str, Any]] = []

    def add(kind: str, payload: dict[str, Any], state: str | None = None) -> None:
        step = len(out) // 3
        out.append(
            {
                "seq": len(out) + 1,
                "step": step,
                "state": draw(TEXTS) if state is None else state,
                "type": kind,
                "payload": payload,
            }
        )

    add("session_opened", {"session_id": draw(TEXTS), "config": {"reconciler": {}}})
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(KINDS))
        order = draw(st.sampled_from(["o-1", "o-2", draw(TEXTS)]))
        if kind == "transition":
            add(kind, {"from": draw(TEXTS), "to": draw(TEXTS), "trigger": draw(TEXTS)})
        elif kind == "order_submitted":
            add(kind, {"client_order_id": order})
        elif kind == "execution_report":
            payload = {
                "client_order_id": order,
                "status": draw(TEXTS),
                "exec_type": draw(TEXTS),
                "outcome": "applied",
            }
            add(kind, payload)
        elif kind.endswith("_refused"):
            add(kind, {"client_order_id": order, "rule": draw(TEXTS), "detail": draw(TEXTS)})
        elif kind == "invariant_breach":
            detail = f"{draw(TEXTS)} {draw(TEXTS)}: ours 1, broker 2"
            add(kind, {"invariant": draw(TEXTS), "detail": detail})
        elif kind == "reconcile_pending":
            add(kind, {"kind": draw(TEXTS), "key": draw(TEXTS), "ours": "1", "theirs": "2"})
        elif kind == "kill_switch_engaged":
            add(kind, {"source": draw(TEXTS), "reason": draw(TEXTS), "rule": draw(TEXTS)})
        else:
            add(kind, {"request": draw(TEXTS), "client_order_id": order})
    return out


KINDS = [
    "transition",
    "order_submitted",
    "execution_report",
    "order_refused",
    "cancel_refused",
    "invariant_breach",
    "reconcile_pending",
    "kill_switch_engaged",
    "request_retried",
]


@settings(max_examples=150, deadline=None)
@given(trails())
def test_labels_stay_inside_the_vocabulary_whatever_the_records_say(
    trail: list[dict[str, Any]],
) -> None:
    facts = fold_records(trail)
    for fmt, parse in ((TEXT, parse_text), (OPENMETRICS, parse_om)):
        for family in parse(render(facts, fmt).decode("utf-8")):
            for sample in family.samples:
                for name, value in sample.labels.items():
                    if name == "session":
                        assert value == OTHER or SESSION_ID.fullmatch(value), value
                    else:
                        assert value in (*VOCABULARY[name], OTHER), (name, value)
    # The counters count every record of their kind, whatever its text: nothing is dropped.
    text = render(facts, TEXT).decode("utf-8")
    trips = sum(
        s.value for f in parse_text(text) for s in f.samples if s.name.endswith("rail_trips_total")
    )
    assert trips == sum(
        1 for r in trail if (r["type"].endswith("_refused") or r["type"] == "kill_switch_engaged")
    )
