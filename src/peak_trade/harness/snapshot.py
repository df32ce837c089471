"""The readable snapshot of a scenario's audit trail, and its comparison with the stored one.

One JSON file per scenario: the chain head and count (so any byte change shows), then one
canonical record per line without `hash`/`prev` (so a diff shows what changed, not a cascade of
hashes). The pytest plugin (`pytest_plugin`) writes and prunes these files; the CLI only reads
them. Both find them in `[tool.peak_trade] snapshot_dir` (project_config.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice, zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peak_trade.harness.expectations import Mismatch

# The pytest plugin imports this module for every scenario item, so what only rendering and
# comparing need (the audit encoder, difflib, Mismatch) is imported by the functions that use it.

SNAPSHOT_SUFFIX = ".json"
MAX_DIFF_LINES = 60
# A stored snapshot is compared line by line as it is read; a line longer than this is no
# snapshot line (a record is far shorter), so a hostile file cannot make one read unbounded.
MAX_SNAPSHOT_LINE = 16 * 1024 * 1024
# Below this size both texts are read whole for the diff, as compare_with_stored shows it.
WHOLE_DIFF_BYTES = 4 * 1024 * 1024
DIFF_CONTEXT = 20  # lines shown before and after the first difference of a large snapshot
HEADER_LINES = 5  # "{", scenario, count, head, "records": [ -- then one line per record
_CHAIN = ("hash", "prev")  # left out of each record: the head stands for the whole chain


def render_snapshot(scenario_id: str, audit_lines: tuple[str, ...] | list[str], head: str) -> str:
    return render_records(scenario_id, [json.loads(line) for line in audit_lines], head)


def render_records(scenario_id: str, records: Sequence[Mapping[str, object]], head: str) -> str:
    """`render_snapshot` for audit records already parsed (left as they are)."""
    from peak_trade.execution.live.audit import canonical_json

    lines = [
        canonical_json({key: value for key, value in record.items() if key not in _CHAIN})
        for record in records
    ]
    body = ",\n    ".join(lines)
    return (
        "{\n"
        f'  "scenario": {json.dumps(scenario_id)},\n'
        f'  "count": {len(records)},\n'
        f'  "head": {json.dumps(head)},\n'
        f'  "records": [\n    {body}\n  ]\n'
        "}\n"
    )


def snapshot_path(snapshot_dir: Path, scenario_id: str) -> Path:
    return snapshot_dir / f"{scenario_id}{SNAPSHOT_SUFFIX}"


def compare_with_stored(rendered: str, stored: str | None, *, name: str) -> Mismatch | None:
    """None when equal; else a mismatch naming the first differing audit record."""
    import difflib

    from peak_trade.harness.expectations import Mismatch

    if stored is None:
        return Mismatch(
            key="snapshot",
            expected=f"a stored snapshot {name}",
            actual="none",
            detail="  run `pytest --snapshot-update` to record it, review it, and commit it",
        )
    if stored == rendered:
        return None
    want, got = stored.splitlines(), rendered.splitlines()
    differing = [i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b] or [
        min(len(want), len(got))
    ]
    # The head differs whenever any record does; name the first record that differs instead.
    first = next((i for i in differing if i >= HEADER_LINES), differing[0])
    record_index = first - HEADER_LINES
    # Records are named by their seq (1-based), as they appear in the audit file.
    where = f"audit record seq {record_index + 1}" if record_index >= 0 else "the snapshot header"
    diff = list(difflib.unified_diff(want, got, "stored", "actual", lineterm="", n=1))
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
    return Mismatch(
        key="snapshot",
        expected=name,
        actual="a different audit trail",
        detail=f"  first difference at {where}\n" + "\n".join(f"  {line}" for line in diff),
    )


def _stored_lines(path: Path) -> Iterator[str]:
    from peak_trade.execution.live.regular_files import iter_bounded_lines, open_regular

    with open_regular(path) as handle:
        for raw in iter_bounded_lines(handle, MAX_SNAPSHOT_LINE):
            yield raw.decode("utf-8", "replace").removesuffix("\n")


def compare_stored_file(
    actual: Callable[[], Iterator[str]], stored_path: Path, *, name: str
) -> Mismatch | None:
    """`compare_with_stored` for a stored snapshot file, streamed: `actual()` gives the
    rendered snapshot's lines afresh each call. Neither text is held whole unless it is small."""
    try:
        size = stored_path.stat().st_size
        differing = _first_differences(actual(), _stored_lines(stored_path))
    except FileNotFoundError:
        return compare_with_stored("", None, name=name)
    if differing is None:
        return None
    header, record = differing
    first = record if record is not None else header
    if size <= WHOLE_DIFF_BYTES and _within(actual(), WHOLE_DIFF_BYTES):
        rendered = "\n".join(actual()) + "\n"
        stored = "\n".join(_stored_lines(stored_path)) + "\n"
        return compare_with_stored(rendered, stored, name=name)
    return _windowed_mismatch(actual(), _stored_lines(stored_path), first, name=name)


def _within(lines: Iterator[str], limit: int) -> bool:
    total = 0
    for line in lines:  # bounded: stops once past `limit`
        total += len(line) + 1
        if total > limit:
            return False
    return True


def _first_differences(got: Iterator[str], want: Iterator[str]) -> tuple[int, int | None] | None:
    """(first differing line, first differing record line or None), or None when equal."""
    header = None
    for index, (a, b) in enumerate(zip_longest(got, want)):  # bounded by the longer text
        if a == b:
            continue
        if index >= HEADER_LINES:
            return (index if header is None else header), index
        if header is None:
            header = index
    return None if header is None else (header, None)


def _windowed_mismatch(
    got: Iterator[str], want: Iterator[str], first: int, *, name: str
) -> Mismatch:
    import difflib

    from peak_trade.harness.expectations import Mismatch

    start = max(first - DIFF_CONTEXT, 0)
    stop = first + DIFF_CONTEXT
    got_window = list(islice(got, start, stop))
    want_window = list(islice(want, start, stop))
    record_index = first - HEADER_LINES
    where = f"audit record seq {record_index + 1}" if record_index >= 0 else "the snapshot header"
    diff = list(
        difflib.unified_diff(
            want_window, got_window, f"stored (from line {start + 1})", "actual", lineterm="", n=1
        )
    )
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
    return Mismatch(
        key="snapshot",
        expected=name,
        actual="a different audit trail",
        detail=f"  first difference at {where}\n" + "\n".join(f"  {line}" for line in diff),
    )
