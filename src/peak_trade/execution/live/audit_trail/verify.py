"""Verifying an audit trail written by audit.py, against docs/audit-format.md.

`verify_lines` and `verify_file` walk the hash chain and stop at the first line that breaks it,
naming the line and why: a modified record (hash mismatch), a deleted, inserted or reordered one
(prev mismatch), a gap in seq, a step going back, or a torn last line (a crash mid-append).
`verify_file` also checks the file against the seal beside it, which catches a clean cut at a
record boundary, and refuses an empty file (every session writes at least its `session_opened`
record). A file without a seal verifies with `sealed=False`: `peak-trade audit verify` fails it
unless told `--allow-unsealed`. A chain recomputed together with its seal (or with the seal
deleted) is not caught by the file alone: that takes the external anchor an evidence file holds,
its audit head (`peak-trade evidence verify EV.md --audit FILE`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

from peak_trade.execution.live.audit_trail.writer import _HASH, FORMAT, GENESIS_HASH
from peak_trade.execution.live.regular_files import (
    LineTooLong,
    UnreadableFile,
    iter_bounded_lines,
    open_regular,
)

# No record the engine writes comes near this (a scenario file is at most 1 MiB); a longer line
# is no record, and reading it whole could exhaust memory (a 3 GB line, /dev/zero).
MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_SEAL_BYTES = 4096  # a seal is one short line

_BODY_START = 75  # the body is "{" + everything after '{"hash":"<64 hex>",'
# The fixed tail of every body, in sorted key order. Quotes inside strings are escaped, so the
# last ',"prev":"' of a line is always the record's own. _STR is a JSON string, loop unrolled.
_STR = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_TAIL = re.compile(
    rb',"prev":"([0-9a-f]{64})","seq":([1-9][0-9]{0,18}),"state":%s,"step":(0|[1-9][0-9]{0,18}),'
    rb'"type":%s\}' % (_STR, _STR)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    ok: bool
    count: int  # records that verify, from the first up to the first bad line
    head: str  # the hash of the last of them; GENESIS_HASH if none
    first_bad_line: int | None = None  # 1-based
    reason: str | None = None
    torn_tail: bool = False
    sealed: bool = False  # a seal lies beside the file (verify_file only)


def _verify(lines: Iterable[bytes | str], *, stream: bool) -> VerifyResult:
    # Structural, without json.loads per line: a matching hash proves the body is the one that
    # was hashed, and prev/seq/step are read from the body's fixed tail.
    head, count, last_step, sha256 = GENESIS_HASH.encode(), 0, 0, hashlib.sha256
    number, reason, torn = 0, None, False
    for number, item in enumerate(lines, start=1):
        line = item.encode("utf-8") if isinstance(item, str) else item
        if line.endswith(b"\n"):
            line, stream = line[:-1], True
        elif stream:
            torn = True
            reason = (
                f"torn last line {number}: the file ends mid-record (crash during append?); "
                f"the {number - 1} records before it verify."
            )
            break
        digest = line[_HASH]
        if not (line.startswith(b'{"hash":"') and line.startswith(b'","payload":', 73)):
            reason = f"line {number} is malformed: it lacks the canonical record prefix."
            break
        if sha256(b"{" + line[_BODY_START:]).hexdigest().encode() != digest:
            reason = f"hash mismatch at line {number}: the record was modified."
            break
        tail = _TAIL.fullmatch(line, max(line.rfind(b',"prev":"'), 0))
        if tail is None:
            reason = f"line {number} is malformed: it lacks the canonical record tail."
            break
        if tail[1] != head:
            linked = "the genesis hash" if number == 1 else f"the hash of line {number - 1}"
            reason = (
                f"prev mismatch at line {number}: its prev is not {linked}, so a record was "
                "deleted, inserted or reordered before this line."
            )
            break
        seq, step = int(tail[2]), int(tail[3])
        if seq != count + 1:
            reason = f"seq not consecutive at line {number}: {seq} after {count}."
            break
        if step < last_step:
            reason = f"step decreasing at line {number}: {step} after {last_step}."
            break
        head, count, last_step = digest, count + 1, step
    return VerifyResult(
        ok=reason is None,
        count=count,
        head=head.decode(),
        first_bad_line=None if reason is None else number,
        reason=reason,
        torn_tail=torn,
    )


def verify_lines(lines: Iterable[bytes | str]) -> VerifyResult:
    """Verifies records given one per item, each with or without its newline.

    Once an item has carried its newline (as when iterating a file), an item without one is a
    torn last line; items that never carry one (like `MemorySink.lines`) are whole lines.
    """
    return _verify(lines, stream=False)


def verify_file(path: Path) -> VerifyResult:
    """Verifies a log file and, when `<path>.seal` exists, that the file matches its seal."""
    path = Path(path)
    with open_regular(path) as handle:
        try:
            result = _verify(iter_bounded_lines(handle, MAX_RECORD_BYTES), stream=True)
        except LineTooLong as long_line:  # a line past the bound: no record, stop there
            number = long_line.line
            result = VerifyResult(
                ok=False,
                count=number - 1,
                head=_head_before(path, number),
                first_bad_line=number,
                reason=f"line {number} is malformed: it is longer than {MAX_RECORD_BYTES:,} "
                "bytes, far more than any record.",
            )
    if result.ok and result.count == 0:
        result = replace(
            result,
            ok=False,
            reason="empty: the file holds no records, and every session writes at least one "
            "(session_opened); an emptied file is not a verified trail.",
        )
    try:
        with open_regular(path.with_name(path.name + ".seal")) as handle:
            seal_bytes = handle.read(MAX_SEAL_BYTES + 1)  # longer: no seal, judged malformed
    except FileNotFoundError:
        return result
    except UnreadableFile as unreadable:  # a FIFO or a device beside it is no seal
        result = replace(result, ok=False, sealed=True)
        if result.reason is None:
            return replace(
                result, reason=f"the seal of {path.name} is unreadable: {unreadable.strerror}."
            )
        return result
    result = replace(result, sealed=True)
    if not result.ok:
        return result  # the first bad line is the finding; a seal cannot vouch for the rest
    try:
        if len(seal_bytes) > MAX_SEAL_BYTES:
            raise ValueError("not a seal: too long")
        seal = json.loads(seal_bytes)
        count, head, name, fmt = seal["count"], seal["head"], seal["file"], seal["format"]
    except (ValueError, KeyError, TypeError, RecursionError):  # deep nesting: not a seal
        count = head = name = fmt = None
    if fmt != FORMAT or not isinstance(count, int) or not isinstance(head, str):
        reason = f"the seal of {path.name} is malformed, so it cannot vouch for the file."
    elif name != path.name:
        reason = f"the seal names file {name!r}, not {path.name!r}."
    elif (has := result.count) < count:
        reason = (
            f"truncated: the seal records {count} records with head {head}, the file has {has}."
        )
    elif has > count:
        reason = f"the file has {has} records, more than the {count} its seal records."
    elif result.head != head:
        reason = f"head mismatch: the seal records head {head}, the file's is {result.head}."
    else:
        return result
    return replace(result, ok=False, reason=reason)


def _head_before(path: Path, number: int) -> str:
    """The hash of the record before line `number`, re-read (the lines before it verified)."""
    if number == 1:
        return GENESIS_HASH
    with open_regular(path) as handle:
        before = list(islice(iter_bounded_lines(handle, MAX_RECORD_BYTES), number - 2, number - 1))
    return before[0][_HASH].decode()
