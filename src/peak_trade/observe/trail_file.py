"""Reading an audit file the user named, for a watch-only command: facts, or one located reason.

`read_trail(path)` is `facts.read_facts` with the one refusal a watch-only command needs on top:
a file of which not one record verifies (empty, not JSON lines, some other file, or a trail whose
very first record was altered) has no facts worth showing, so it raises `NotAnAuditTrail` naming
the file, the line and why. A FIFO, a device, a folder or a missing file raise the OSError of
the bounded regular-file reader (`regular_files.open_regular`): never read, never blocked on.
Everything else, a trail that verifies or one that verifies up to some line, gives its facts, and
`facts.chain` says how far they go. Nothing is written, created or locked.
"""

from __future__ import annotations

from pathlib import Path

from peak_trade.observe.facts import DEFAULT_LIMIT, AuditFacts, read_facts

__all__ = ["NotAnAuditTrail", "read_trail"]


class NotAnAuditTrail(ValueError):
    """No record of the file verifies; `line` is the first bad line (None: the file is empty)."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = Path(path), line, reason
        super().__init__(f"{path}: no audit record in it verifies: {reason}")


def read_trail(path: Path, *, limit: int = DEFAULT_LIMIT) -> AuditFacts:
    """The facts of the audit file `path`; NotAnAuditTrail when none of its records verifies."""
    facts = read_facts(Path(path), limit=limit)
    if facts.chain.records == 0:
        raise NotAnAuditTrail(
            path, facts.chain.first_bad_line, facts.chain.reason or "it holds no records"
        )
    return facts
