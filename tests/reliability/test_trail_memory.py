"""The runner streams the audit trail: memory does not grow with the records (issue 10, §2).

The old runner held every record three to four times (the capture's lines, their parsed dicts,
the snapshot's lines and its text), about 2.5 KB a record; an 86 KB flood reached 865 MB. Now
the trail is folded as it is written (`harness.trail`). With the spools' in-memory part made
small, the traced peak of a whole verdict (run, expectations, snapshot digest) grows by a few
bytes per record, not kilobytes. (Peak RSS at 10^6 records is a benchmark figure:
docs/reliability.md, "Bounds".)
"""

from __future__ import annotations

import tracemalloc

import pytest

from peak_trade.harness import trail
from peak_trade.harness.loader import load_scenario_text
from peak_trade.harness.model import build_scenario
from peak_trade.harness.verdict import evaluate
from tests.reliability import bounds_support as gen


def traced_peak(orders: int, dups: int) -> tuple[int, int]:
    scenario = build_scenario(load_scenario_text(gen.duplicates(orders, dups), path="f.yaml"))
    tracemalloc.start()
    try:
        verdict = evaluate(scenario, snapshot_dir=None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = verdict.snapshot_sha256  # the evidence's digest: streamed too
        _, digest_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(digest) == 64
    return verdict.result.count, max(peak, digest_peak)


def test_a_verdict_holds_no_list_of_its_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trail, "SPOOL_BYTES", 64 * 1024)  # spill to disk early
    small_count, small_peak = traced_peak(10, 200)
    large_count, large_peak = traced_peak(10, 800)
    assert large_count > 3 * small_count
    per_record = (large_peak - small_peak) / (large_count - small_count)
    assert per_record < 200, f"{per_record:.0f} bytes per record"
