"""Order-lifecycle metrics of one session, derived from its audit trail alone.

Theory of operation
===================

`observe.facts` folds the trail into one `AuditFacts` value; this module turns that value into
metric families (`metric_families`) and writes them with `prometheus_client`: a `TrailCollector`
in a fresh `CollectorRegistry` per trail (nothing global, nothing kept between trails), exposed by
the library's own exposition code. Two formats, one set of families:

- `render(facts)`: OpenMetrics text (`prometheus_client.openmetrics.exposition`), what
  `peak-trade metrics` prints by default.
- `render(facts, fmt=TEXT)`: the Prometheus text format 0.0.4 (`prometheus_client.exposition`),
  which is what node-exporter's textfile collector parses (it does not read OpenMetrics), so the
  `DIR/<id>.prom` file `scenario run --audit-dir DIR` writes beside each trail is in this format.
  `write_textfile` writes it the collector's way: a temporary file in the same folder, then an
  atomic rename, so a scrape never reads half a file.

Every sample carries the label `session` (the session id, vocabulary.session_label) so that the
files of one audit folder never collide in one collector; every other label value comes from a
closed vocabulary (vocabulary.py), anything else counts as `other`. No value depends on the wall
clock: the same trail gives the same bytes on any machine.

A trail whose chain does not verify: the metrics are those of its verified prefix (the records
before the first bad line, which `facts` folds), and `peak_trade_audit_chain_verified` is 0. A
consumer alerting on the counters must read that gauge first; `peak-trade session status` says
why the chain does not verify.

Names (docs/operator.md lists them with their meanings), prefix `peak_trade_`: counters
`orders_place_total`, `orders_cancel_total`, `orders_replace_total`, `orders_query_total`,
`order_state_transitions_total{from,to}`, `reconcile_mismatches_total{kind}`,
`retry_attempts_total`, `safety_rail_trips_total{rail}`, `kill_switch_engagements_total`,
`invariant_breaches_total{invariant}`; gauges `session_state{state}`, `last_audit_event_step`,
`reconciler_last_ok_step`, `audit_records`, `audit_chain_verified`, `audit_chain_sealed`,
`kill_switch_engaged`, `open_orders`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from peak_trade.observe.facts import AuditFacts
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

__all__ = [
    "FORMATS",
    "METRICS",
    "OPENMETRICS",
    "PREFIX",
    "TEXT",
    "MetricSpec",
    "TrailCollector",
    "metric_families",
    "registry_for",
    "render",
    "write_textfile",
]

PREFIX = "peak_trade_"
OPENMETRICS, TEXT = "openmetrics", "text"
FORMATS = (OPENMETRICS, TEXT)
SESSION = "session"  # the label every sample carries


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """One metric family: its name without the prefix (a counter's without `_total`)."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    labels: tuple[str, ...] = ()

    @property
    def sample_name(self) -> str:
        """The name a sample is scraped as."""
        suffix = "_total" if self.kind == "counter" else ""
        return f"{PREFIX}{self.name}{suffix}"


# The families, in exposition order. One row per metric; docs/operator.md is kept to this table
# by tests/observe/test_metrics.py.
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="orders_place",
        kind="counter",
        help="New orders sent to the broker (order_submitted; a retry is a retry attempt).",
    ),
    MetricSpec(name="orders_cancel", kind="counter", help="Cancel requests sent to the broker."),
    MetricSpec(name="orders_replace", kind="counter", help="Replace requests sent to the broker."),
    MetricSpec(
        name="orders_query",
        kind="counter",
        help="Order status requests sent to the broker (status_requested).",
    ),
    MetricSpec(
        name="order_state_transitions",
        kind="counter",
        help="Order status changes the session applied, by status before and after.",
        labels=("from", "to"),
    ),
    MetricSpec(
        name="reconcile_mismatches",
        kind="counter",
        help="Differences between the session's book and the broker's, first seen, by kind.",
        labels=("kind",),
    ),
    MetricSpec(
        name="retry_attempts",
        kind="counter",
        help="Requests sent again after a transient failure (request_retried).",
    ),
    MetricSpec(
        name="safety_rail_trips",
        kind="counter",
        help="Refusals and automatic kill-switch engagements, by the rail or rule that tripped.",
        labels=("rail",),
    ),
    MetricSpec(
        name="kill_switch_engagements",
        kind="counter",
        help="Kill-switch engagements (an engage while already engaged is not counted).",
    ),
    MetricSpec(
        name="invariant_breaches",
        kind="counter",
        help="Runtime invariant breaches, by invariant.",
        labels=("invariant",),
    ),
    MetricSpec(
        name="session_state",
        kind="gauge",
        help="1 for the state the session is in at the end of the trail, 0 for every other.",
        labels=("state",),
    ),
    MetricSpec(
        name="last_audit_event_step",
        kind="gauge",
        help="The logical step of the last verified audit record.",
    ),
    MetricSpec(
        name="reconciler_last_ok_step",
        kind="gauge",
        help="The last step whose reconciliation left no difference outstanding (no sample: "
        "none yet).",
    ),
    MetricSpec(
        name="audit_records", kind="gauge", help="Audit records the metrics are derived from."
    ),
    MetricSpec(
        name="audit_chain_verified",
        kind="gauge",
        help="1 when every record of the trail verifies (and matches its seal); 0: the metrics "
        "are those of the verified prefix only.",
    ),
    MetricSpec(
        name="audit_chain_sealed",
        kind="gauge",
        help="1 when a seal lies beside the audit file (the session closed cleanly).",
    ),
    MetricSpec(
        name="kill_switch_engaged",
        kind="gauge",
        help="1 while the session-wide kill switch is engaged at the end of the trail.",
    ),
    MetricSpec(name="open_orders", kind="gauge", help="Orders open at the end of the trail."),
)
_SPECS = {spec.name: spec for spec in METRICS}


def _keyed(pairs: tuple[tuple[str, int], ...], vocabulary: tuple[str, ...]) -> dict[str, int]:
    """Every vocabulary member (0 when absent) and OTHER, with each recorded key mapped in."""
    counts = dict.fromkeys((*vocabulary, OTHER), 0)
    for key, n in pairs:
        counts[label(vocabulary, key)] += n
    return counts


def _transitions(pairs: tuple[tuple[tuple[str, str], int], ...]) -> dict[tuple[str, str], int]:
    """Only the pairs seen (169 status pairs would mostly be zeros), mapped into the vocabulary."""
    counts: dict[tuple[str, str], int] = {}
    for (before, after), n in pairs:
        key = (label(ORDER_STATUSES, before), label(ORDER_STATUSES, after))
        counts[key] = counts.get(key, 0) + n
    return dict(sorted(counts.items()))


def metric_families(facts: AuditFacts) -> Iterator[Metric]:
    """The families of `facts`, in METRICS order, every sample labelled with the session."""
    session = session_label(facts.scenario_id)
    c = facts.counts

    def family(name: str) -> CounterMetricFamily | GaugeMetricFamily:
        spec = _SPECS[name]
        kind = CounterMetricFamily if spec.kind == "counter" else GaugeMetricFamily
        return kind(f"{PREFIX}{spec.name}", spec.help, labels=(SESSION, *spec.labels))

    def plain(name: str, value: int | None) -> Metric:
        metric = family(name)
        if value is not None:
            metric.add_metric([session], value)
        return metric

    def keyed(name: str, values: Mapping[str, int]) -> Metric:
        metric = family(name)
        for key, value in values.items():
            metric.add_metric([session, key], value)
        return metric

    yield plain("orders_place", c.orders_place)
    yield plain("orders_cancel", c.orders_cancel)
    yield plain("orders_replace", c.orders_replace)
    yield plain("orders_query", c.orders_query)
    transitions = family("order_state_transitions")
    for (before, after), n in _transitions(c.order_transitions).items():
        transitions.add_metric([session, before, after], n)
    yield transitions
    yield keyed("reconcile_mismatches", _keyed(c.reconcile_mismatches, MISMATCH_KINDS))
    yield plain("retry_attempts", c.retry_attempts)
    yield keyed("safety_rail_trips", _keyed(c.rail_trips, RAILS))
    yield plain("kill_switch_engagements", c.kill_switch_engagements)
    yield keyed("invariant_breaches", _keyed(c.invariant_breaches, INVARIANTS))
    state = label(SESSION_STATES, facts.final_state)
    yield keyed("session_state", {s: int(s == state) for s in (*SESSION_STATES, OTHER)})
    yield plain("last_audit_event_step", facts.final_step)
    yield plain("reconciler_last_ok_step", facts.reconciler_last_ok_step)
    yield plain("audit_records", c.records)
    yield plain("audit_chain_verified", int(facts.chain.verified))
    sealed = facts.chain.sealed
    yield plain("audit_chain_sealed", None if sealed is None else int(sealed))
    yield plain("kill_switch_engaged", int(facts.kill_switch_engaged))
    yield plain("open_orders", len(facts.open_orders))


class TrailCollector(Collector):
    """A prometheus_client collector of one trail's facts (fixed when it is made)."""

    def __init__(self, facts: AuditFacts) -> None:
        self._facts = facts

    def collect(self) -> Iterator[Metric]:
        return metric_families(self._facts)


def registry_for(facts: AuditFacts) -> CollectorRegistry:
    """A fresh registry holding only this trail's collector (no process or platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TrailCollector(facts))
    return registry


def render(facts: AuditFacts, fmt: str = OPENMETRICS) -> bytes:
    """The exposition of `facts`: OpenMetrics text, or (TEXT) Prometheus text format 0.0.4."""
    registry = registry_for(facts)
    if fmt == OPENMETRICS:
        from prometheus_client.openmetrics.exposition import generate_latest

        return generate_latest(registry)
    if fmt == TEXT:
        from prometheus_client.exposition import generate_latest as generate_text

        return generate_text(registry)
    raise ValueError(f"unknown metrics format {fmt!r}: use one of {', '.join(FORMATS)}")


def write_textfile(path: Path, data: bytes) -> None:
    """Write `data` to `path` the textfile collector's way: a temporary file beside it (the
    collector reads only `*.prom`, so never the temporary one), flushed and synced, then renamed
    over `path` in one step, and the folder synced. The file is readable by all (0644): the
    collector runs as a user of its own."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it 0600: the collector runs as another user
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    try:  # the rename itself durable; a folder that cannot be opened is no reason to fail
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
