"""Variants: a pure function of (base, seed, index), valid for every landed scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from peak_trade.explore.faults import KINDS
from peak_trade.explore.variants import build_variant, load_base, make_variant
from peak_trade.harness.discovery import discover_scenarios

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = discover_scenarios([ROOT / "scenarios"])


def test_the_same_seed_and_index_give_the_same_variant_and_others_differ() -> None:
    base = load_base(str(ROOT / "scenarios" / "partial_fills.yaml"))
    first = [make_variant(base, 7, i) for i in range(20)]
    assert first == [make_variant(base, 7, i) for i in range(20)]
    assert first != [make_variant(base, 8, i) for i in range(20)]
    assert len({v.faults for v in first}) > 15  # the indices explore different combinations


def test_every_landed_scenario_gives_valid_variants() -> None:
    kinds = set()
    for path in LIBRARY:
        base = load_base(str(path))
        for index in range(3):
            variant = make_variant(base, 1, index)
            build_variant(base, variant.faults)  # raises a ScenarioError if invalid
            kinds.update(f.kind for f in variant.faults)
    assert kinds == {k.name for k in KINDS}  # 3 variants per scenario draw every kind


@pytest.mark.parametrize("kind", [k.name for k in KINDS])
def test_each_fault_kind_changes_the_scenario_and_stays_valid(kind: str) -> None:
    from peak_trade.explore.faults import Fault
    from peak_trade.explore.variants import variant_data

    base = load_base(str(ROOT / "scenarios" / "partial_fill_remainder_cancelled_on_stop.yaml"))
    target = None if next(k for k in KINDS if k.name == kind).scope == "session" else "o-1"
    fault = Fault(kind=kind, target=target, at=1)
    assert variant_data(base, (fault,)) != variant_data(base, ())
    build_variant(base, (fault,))


def test_a_reproducer_quotes_what_yaml_1_1_would_misread(tmp_path: Path) -> None:
    """Ids such as Y, N, on or 100 stay strings in the written reproducer (the loader refuses
    YAML 1.1 booleans unquoted)."""
    from peak_trade.explore.faults import Fault
    from peak_trade.explore.reproducer import write_reproducer
    from peak_trade.harness.model import load_scenario

    path = ROOT / "scenarios" / "fix" / "fix_b1d_cancel_request_for_unacknowledged_order.yaml"
    base = load_base(str(path))
    faults = (Fault(kind="position_drift", target=None, at=2, params=(("qty", 1),)),)
    written = write_reproducer(tmp_path, base, faults, "fails_closed", number=1, seed=1, index=0)
    assert load_scenario(written).steps == build_variant(base, faults).steps
