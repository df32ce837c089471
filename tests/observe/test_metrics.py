"""observe.metrics: every landed scenario's metrics equal counts taken over its records here,
independently of observe.facts; a broken chain gives its verified prefix; both formats parse."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from peak_trade.observe.facts import facts_from_lines, read_facts
from peak_trade.observe.metrics import METRICS, OPENMETRICS, TEXT, render, write_textfile
from peak_trade.observe.vocabulary import (
    INVARIANTS,
    MISMATCH_KINDS,
    ORDER_STATUSES,
    OTHER,
    RAILS,
    SESSION_STATES,
)

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = {"order_refused", "cancel_refused", "replace_refused", "resend_refused"}
REFUSALS |= {"status_request_refused"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(data: bytes, fmt: str = TEXT) -> Samples:
    """Every sample as (name, sorted labels without `session`) -> value, via the library's own
    parser of that format (so the output is valid exposition text)."""
    parse = parse_text if fmt == TEXT else parse_om
    out: Samples = {}
    for family in parse(data.decode("utf-8")):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "session"))
            key = (sample.name, labels)
            assert key not in out, key
            out[key] = sample.value
    return out


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def into(vocabulary: tuple[str, ...], value: object) -> str:
    return value if isinstance(value, str) and value in vocabulary else OTHER


def expected(trail: list[dict[str, Any]]) -> Samples:
    """The metrics of `trail`, counted here from the records as docs/operator.md defines them."""
    types = Counter(r["type"] for r in trail)
    last = trail[-1]
    n = "peak_trade_"
    out: Samples = {
        (f"{n}orders_place_total", ()): types["order_submitted"],
        (f"{n}orders_cancel_total", ()): types["cancel_requested"],
        (f"{n}orders_replace_total", ()): types["replace_requested"],
        (f"{n}orders_query_total", ()): types["status_requested"],
        (f"{n}retry_attempts_total", ()): types["request_retried"],
        (f"{n}last_audit_event_step", ()): last["step"],
        (f"{n}audit_records", ()): len(trail),
    }
    engaged = [r["payload"] for r in trail if r["type"] == "kill_switch_engaged"]
    out[(f"{n}kill_switch_engagements_total", ())] = sum(
        1 for p in engaged if p.get("already_engaged") is not True
    )
    rails = Counter(dict.fromkeys((*RAILS, OTHER), 0))
    for r in trail:
        rule = r["payload"].get("rule")
        if rule is not None and (r["type"] in REFUSALS or r["type"] == "kill_switch_engaged"):
            rails[into(RAILS, rule)] += 1
    for rail, count in rails.items():
        out[(f"{n}safety_rail_trips_total", (("rail", rail),))] = count
    breaches = Counter(dict.fromkeys((*INVARIANTS, OTHER), 0))
    for r in trail:
        if r["type"] == "invariant_breach":
            breaches[into(INVARIANTS, r["payload"]["invariant"])] += 1
    for invariant, count in breaches.items():
        out[(f"{n}invariant_breaches_total", (("invariant", invariant),))] = count
    for kind, count in mismatches(trail).items():
        out[(f"{n}reconcile_mismatches_total", (("kind", kind),))] = count
    for state in (*SESSION_STATES, OTHER):
        out[(f"{n}session_state", (("state", state),))] = int(state == last["state"])
    return out


def mismatches(trail: list[dict[str, Any]]) -> Counter[str]:
    """Differences first seen: a pending one, or one escalated without being pending first;
    seen again only after it cleared."""
    counts = Counter(dict.fromkeys((*MISMATCH_KINDS, OTHER), 0))
    outstanding: set[tuple[str, str]] = set()
    for r in trail:
        p = r["payload"]
        found: list[tuple[str, str]] = []
        if r["type"] == "reconcile_pending":
            found = [(p["kind"], p["key"])]
        elif r["type"] == "reconcile_cleared":
            outstanding.discard((p["kind"], p["key"]))
        elif r["type"] == "invariant_breach" and p["invariant"] == "book_matches_broker":
            for part in p["detail"].split("; "):
                kind, rest = part.split(" ", 1)
                found.append((kind, rest.split(": ours ", 1)[0]))
        for difference in found:
            if r["type"] == "reconcile_pending" or difference not in outstanding:
                counts[into(MISMATCH_KINDS, difference[0])] += 1
            outstanding.add(difference)
    return counts


def library(audit: Path) -> Iterator[Path]:
    trails = sorted(audit.glob("*.jsonl"))
    assert len(trails) == len(list((ROOT / "scenarios").rglob("*.yaml")))
    yield from trails


def test_every_landed_scenario_metrics_equal_independent_counts(library_run: Path) -> None:
    checked = Counter()
    for trail_path in library(library_run):
        trail = records(trail_path)
        got = samples(trail_path.with_suffix(".prom").read_bytes())
        for key, value in expected(trail).items():
            assert got.get(key) == value, (trail_path.name, key, got.get(key), value)
            checked[key[0]] += value != 0
        assert got[("peak_trade_audit_chain_verified", ())] == 1
        assert got[("peak_trade_audit_chain_sealed", ())] == 1
    # The library exercises every counter, so none of the comparisons is vacuous.
    for metric in ("orders_place", "orders_cancel", "orders_replace", "orders_query"):
        assert checked[f"peak_trade_{metric}_total"] > 0, metric
    for metric in ("retry_attempts", "kill_switch_engagements", "safety_rail_trips"):
        assert checked[f"peak_trade_{metric}_total"] > 0, metric
    assert checked["peak_trade_invariant_breaches_total"] > 0
    assert checked["peak_trade_reconcile_mismatches_total"] > 0


def test_no_landed_scenario_needs_the_other_label(library_run: Path) -> None:
    for trail_path in library(library_run):
        for (name, labels), value in samples(trail_path.with_suffix(".prom").read_bytes()).items():
            if value and any(v == OTHER for _, v in labels):
                pytest.fail(f"{trail_path.name}: {name}{labels} = {value}: a name is missing")


def test_order_state_transitions_follow_each_order(library_run: Path) -> None:
    """For trails without chained ids (a replace or cancel under a new id), each order's status
    is followed here from its submit, its applied reports and its local closes."""
    followed = 0
    for trail_path in library(library_run):
        trail = records(trail_path)
        if any("new_client_order_id" in r["payload"] for r in trail):
            continue
        counts = follow(trail)
        exposed = samples(trail_path.with_suffix(".prom").read_bytes())
        got = {
            labels: value
            for (name, labels), value in exposed.items()
            if name == "peak_trade_order_state_transitions_total"
        }
        want = {
            (("from", into(ORDER_STATUSES, a)), ("to", into(ORDER_STATUSES, b))): n
            for (a, b), n in counts.items()
        }
        assert got == want, trail_path.name
        followed += 1
    assert followed > 100


def follow(trail: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(status before, status after) of every order status change, followed per order id."""
    status: dict[str, str] = {}
    counts: Counter[tuple[str, str]] = Counter()

    def move(order: str | None, to: str) -> None:
        if order in status and status[order] != to:
            counts[(status[order], to)] += 1
        if order in status:
            status[order] = to

    for r in trail:
        p = r["payload"]
        if r["type"] == "order_submitted":
            status.setdefault(p["client_order_id"], "pending_new")
        elif r["type"] == "execution_report" and p.get("outcome") == "applied":
            if p["exec_type"] in ("cancel_rejected", "replace_rejected") and (
                p["status"] == "rejected"
            ):
                continue  # FIX B.1.f: the broker does not know the order, which stays as it was
            move(p.get("client_order_id"), p["status"])
        elif r["type"] == "submit_failed" or (
            r["type"] == "fate_resolved" and p.get("fate") == "mark_rejected"
        ):
            move(p.get("client_order_id"), "rejected")
        elif r["type"] == "in_flight_resolved" and p.get("resolution") in (
            "mark_rejected",
            "mark_canceled",
        ):
            move(p.get("client_order_id"), p["resolution"].split("_")[1])
    return counts


def test_the_prom_beside_each_trail_is_the_trail_rendered_again(library_run: Path) -> None:
    for trail_path in list(library(library_run))[::10]:
        assert trail_path.with_suffix(".prom").read_bytes() == render(read_facts(trail_path), TEXT)


def test_both_formats_carry_the_same_samples(library_run: Path) -> None:
    for trail_path in list(library(library_run))[::15]:
        facts = read_facts(trail_path)
        om = render(facts, OPENMETRICS)
        assert om.endswith(b"# EOF\n")
        assert samples(om, OPENMETRICS) == samples(render(facts, TEXT))


def test_every_metric_of_the_table_is_exposed_with_its_type(library_run: Path) -> None:
    trail = next(p for p in library(library_run) if p.stem == "happy_path_full_fills")
    families = {f.name: f for f in parse_om(render(read_facts(trail)).decode())}
    for spec in METRICS:
        family = families[f"peak_trade_{spec.name}"]
        assert family.type == spec.kind
        for sample in family.samples:
            assert sample.name == spec.sample_name
            assert set(sample.labels) == {"session", *spec.labels}
            assert sample.labels["session"] == "happy_path_full_fills"


def test_a_trail_that_breaks_gives_its_verified_prefix_and_says_so(
    library_run: Path, tmp_path: Path
) -> None:
    source = library_run / "fm_retry_attempts_exhausted.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)
    cut = len(lines) // 2
    broken = tmp_path / source.name
    # A record altered in place: everything from it on is not vouched for.
    altered = lines[cut].replace(b'"step":', b'"step": ', 1)
    broken.write_bytes(b"".join([*lines[:cut], altered, *lines[cut + 1 :]]))
    facts = read_facts(broken)
    assert (facts.chain.verified, facts.chain.records) == (False, cut)
    got = samples(render(facts, TEXT))
    prefix = [json.loads(line) for line in lines[:cut]]
    for key, value in expected(prefix).items():
        assert got[key] == value, key
    assert got[("peak_trade_audit_chain_verified", ())] == 0
    assert got[("peak_trade_audit_records", ())] == cut


def test_lines_without_a_file_have_no_seal_sample(library_run: Path) -> None:
    lines = (library_run / "broker_reject.jsonl").read_text(encoding="utf-8").splitlines()
    got = samples(render(facts_from_lines(lines), TEXT))
    assert got[("peak_trade_audit_chain_verified", ())] == 1
    assert not [k for k in got if k[0] == "peak_trade_audit_chain_sealed"]


def test_no_reconciler_pass_yet_leaves_the_gauge_without_a_sample(library_run: Path) -> None:
    trail = library_run / "preflight_live_enabled_without_override.jsonl"
    got = samples(trail.with_suffix(".prom").read_bytes())
    assert not [k for k in got if k[0] == "peak_trade_reconciler_last_ok_step"]
    assert got[("peak_trade_session_state", (("state", "PREFLIGHT_FAILED"),))] == 1


def test_the_output_is_the_same_bytes_every_time(library_run: Path) -> None:
    trail = library_run / "happy_path_full_fills.jsonl"
    assert render(read_facts(trail)) == render(read_facts(trail))
    assert not re.search(rb"_created|\d{10}\.\d", render(read_facts(trail)))  # no wall clock


def test_write_textfile_replaces_atomically_and_is_readable_by_all(tmp_path: Path) -> None:
    target = tmp_path / "x.prom"
    target.write_bytes(b"old\n")
    write_textfile(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.prom"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.prom"
    target.write_bytes(b"old\n")

    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("peak_trade.observe.metrics.os.replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_textfile(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.prom"]


def test_an_unknown_format_is_refused(library_run: Path) -> None:
    with pytest.raises(ValueError, match="unknown metrics format"):
        render(read_facts(library_run / "broker_reject.jsonl"), "json")


def test_docs_operator_lists_every_metric_and_only_those() -> None:
    text = (ROOT / "docs" / "operator.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(peak_trade_[a-z_]+)` \|", text, flags=re.MULTILINE))
    assert documented == {spec.sample_name for spec in METRICS}
