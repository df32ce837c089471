"""The run's own copy of its audit trail, folded as it is written: memory flat in the records.

Theory of operation: the runner hands the session a `TrailCapture` as an extra audit sink. Each
line it receives is written once to a spool of raw lines and once, as its snapshot line (the
record without `hash` and `prev`, cut out of the canonical line as text: the same bytes
`snapshot.render_records` writes), to a spool of snapshot lines. A spool stays in memory up to
`SPOOL_BYTES` and then moves to an unnamed temporary file, which the OS removes even when the
process is killed. What the expectations and the evidence read is folded on the way: the type of
each record (interned: one pointer each), and the few records they look into (transitions,
breaches, refused orders). Nothing else is parsed, and no list of records is ever built.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from tempfile import SpooledTemporaryFile
from typing import Any

from peak_trade.execution.live.audit_trail.writer import _HASH, GENESIS_HASH

__all__ = ["SPOOL_BYTES", "TrailCapture"]

SPOOL_BYTES = 8 * 1024 * 1024  # per spool, in memory before it moves to a temporary file
_BODY = 75  # a line's body starts after '{"hash":"<64 hex>",'
_PREV = len(',"prev":"') + 64 + 1
_SEPARATOR = b",\n    "
# The records the expectations and the evidence read, parsed as they pass.
_PARSED = frozenset({"transition", "invariant_breach", "order_refused"})


class TrailCapture:
    """An audit sink (name "memory", as the capture it replaces) that folds the trail."""

    def __init__(self, *, parse_types: frozenset[str] = frozenset()) -> None:
        self.name = "memory"
        self.count = 0
        self.head = GENESIS_HASH
        self.types: list[str] = []
        self.parsed: list[dict[str, Any]] = []  # the records of the types in `_PARSED` + extra
        self._parse = _PARSED | parse_types
        # SPOOL_BYTES read here, not bound at import: tests make it small to see the spill
        self._raw = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._snapshot = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._interned: dict[str, str] = {}

    # --- the sink protocol
    def open(self) -> None: ...  # nothing to acquire or refuse

    def write(self, line: str) -> None:
        self.count += 1
        self.head = line[_HASH]
        self._raw.write(line.encode("utf-8") + b"\n")
        prev = line.rfind(',"prev":"')
        snapshot = "{" + line[_BODY:prev] + line[prev + _PREV :]
        if self.count > 1:
            self._snapshot.write(_SEPARATOR)
        self._snapshot.write(snapshot.encode("utf-8"))
        kind = line[line.rfind(',"type":') + 8 : -1]  # the last key: the record's own type
        kind = json.loads(kind) if "\\" in kind else kind[1:-1]
        interned = self._interned.get(kind)
        if interned is None:
            interned = self._interned[kind] = sys.intern(kind)
        self.types.append(interned)
        if kind in self._parse:
            self.parsed.append(json.loads(line))

    def close(self) -> None: ...  # the spools live as long as the run's result

    # --- reading the trail back
    def lines(self) -> Iterator[str]:
        """The audit lines as written, without their newlines."""
        self._raw.seek(0)
        for raw in self._raw:  # bounded by the records written
            yield raw[:-1].decode("utf-8")

    def records_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.parsed if r["type"] == kind]

    def snapshot_chunks(self, scenario_id: str, chunk: int = 1 << 16) -> Iterator[bytes]:
        """The snapshot text (see snapshot.render_records), in pieces."""
        yield (
            "{\n"
            f'  "scenario": {json.dumps(scenario_id)},\n'
            f'  "count": {self.count},\n'
            f'  "head": {json.dumps(self.head)},\n'
            '  "records": [\n    '
        ).encode()
        self._snapshot.seek(0)
        while piece := self._snapshot.read(chunk):  # bounded by the spool's size
            yield piece
        yield b"\n  ]\n}\n"

    def snapshot_text(self, scenario_id: str) -> str:
        return b"".join(self.snapshot_chunks(scenario_id)).decode("utf-8")

    def snapshot_lines(self, scenario_id: str) -> Iterator[str]:
        """The snapshot text's lines, without their newlines, never all at once."""
        rest = b""
        for piece in self.snapshot_chunks(scenario_id):
            rest += piece
            *whole, rest = rest.split(b"\n")
            for line in whole:
                yield line.decode("utf-8")
        if rest:
            yield rest.decode("utf-8")

    def snapshot_sha256(self, scenario_id: str) -> str:
        digest = hashlib.sha256()
        for piece in self.snapshot_chunks(scenario_id):
            digest.update(piece)
        return digest.hexdigest()
