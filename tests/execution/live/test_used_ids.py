"""UsedIds behaves as a set of strings (up to 64-bit digest collisions) in ~8 bytes per id."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.used_ids import UsedIds, id_digest

ids = st.text(max_size=12)


@given(st.lists(ids, max_size=60), st.lists(ids, max_size=20))
def test_membership_matches_a_set(added: list[str], probed: list[str]) -> None:
    used, model = UsedIds(), set()
    for cid in added:
        used.add(cid)
        model.add(cid)
        assert cid in used
    assert len(used) == len(model)
    for cid in probed + added:
        assert (cid in used) == (cid in model)


def test_many_ids_in_one_bucket_stay_sorted_and_found() -> None:
    used = UsedIds()
    cids = [f"o-{n}" for n in range(20_000)]  # ~5 per bucket, many buckets shared
    for cid in cids:
        used.add(cid)
    assert len(used) == 20_000
    assert all(cid in used for cid in cids)
    assert not any(f"p-{n}" in used for n in range(2_000))


def test_text_that_is_not_unicode_and_non_strings_never_raise() -> None:
    used = UsedIds()
    used.add("\ud800")
    assert "\ud800" in used
    assert 7 not in used
    assert None not in used


def test_the_digest_does_not_depend_on_the_hash_seed() -> None:
    code = "from peak_trade.execution.live.used_ids import id_digest; print(id_digest('o-1'))"
    for seed in ("0", "1234"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        )
        assert int(out.stdout) == id_digest("o-1")


def test_an_id_asked_about_then_added_is_digested_once(monkeypatch) -> None:
    """The duplicate-id rail asks about an id, then the book adds it: one digest for both."""
    import peak_trade.execution.live.used_ids as module

    calls: list[str] = []

    def counting(client_order_id: str) -> int:
        calls.append(client_order_id)
        return id_digest(client_order_id)

    monkeypatch.setattr(module, "id_digest", counting)
    used = UsedIds()
    for n in range(5):
        cid = f"o-{n}"
        assert cid not in used
        used.add(cid)
        assert cid in used
    assert calls == [f"o-{n}" for n in range(5)]
    assert "o-0" in used  # an older id is digested again, and still found
    assert calls[-1] == "o-0"


@given(st.lists(st.tuples(st.booleans(), ids), max_size=80))
def test_the_remembered_digest_never_changes_an_answer(operations) -> None:
    """Any interleaving of asks and adds answers as a set does (the memo is only a shortcut)."""
    used, model = UsedIds(), set()
    for add, cid in operations:
        if add:
            used.add(cid)
            model.add(cid)
        assert (cid in used) == (cid in model)
        assert len(used) == len(model)
