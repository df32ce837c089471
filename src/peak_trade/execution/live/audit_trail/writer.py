"""The audit trail: an append-only, redacted, hash-chained JSON Lines log of a session.

Each record is one line of canonical JSON carrying the SHA-256 of its body and the hash of the
record before it, so a change, deletion, insertion or reordering breaks the chain at the first line
affected; a crash mid-append leaves a torn last line; a seal written on clean close (count and head)
catches a clean cut at a record boundary. A chain recomputed together with its seal is not caught:
that takes an external anchor or a keyed MAC. Payloads and sink error messages are redacted before
anything is hashed or written. docs/audit-format.md is the byte-level specification;
verify.py checks a trail against it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from pathlib import Path
from typing import Literal, Protocol, get_args

import orjson

from peak_trade.execution.live.audit_trail.redaction import _SAFE_KEYS, Redactor
from peak_trade.execution.live.audit_trail.text import escape_lone_surrogates

GENESIS_HASH = "0" * 64
# Set in a payload whose lone surrogates were written as \uXXXX escapes (docs/audit-format.md).
ESCAPED_FLAG = "escaped_text"
FORMAT = "peak_trade.audit/1"

Payload = Mapping[str, object]
FsyncPolicy = Literal["never", "per_record", "on_close"]

_HASH = slice(9, 73)  # the 64 hex digits after '{"hash":"'
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AuditError(Exception):
    """Base class of audit trail errors."""


class AuditSinkError(AuditError):
    """A sink cannot be opened or written; the message names the sink, never a secret."""


class NotUnicodeText(ValueError):
    """A record holds a str that UTF-8 cannot encode (a lone surrogate)."""


_FLOAT_FREE = frozenset({str, int, bool, type(None), Decimal})


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    raise TypeError(f"A {type(obj).__name__} cannot be written to the audit trail.")


_string = encode_basestring  # a str as json writes it with ensure_ascii=False
type_ = type  # `type` is a field name in the record functions below

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
# Passthrough: dataclasses and datetimes go to `_default` (refused) as in json, not written.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def _encode_json(obj: object) -> str:
    """`obj` as the json module's canonical form (`_ENCODER`), written by orjson when it can.

    orjson is ~7x faster and writes the same bytes for the types the audit takes (dict, list,
    tuple, str, int, bool, None, Decimal via `_default`, Enum by value): sorted keys in code point
    order (UTF-8 byte order is the same), the same escapes, non-ASCII as is (test_audit compares
    the two on generated payloads). What it refuses (ints beyond 64 bits, non-str keys, lone
    surrogates, cycles) goes to the json module, whose result or error then stands. Types orjson
    would write and json would not (floats, UUIDs) are refused by the walk in canonical_json,
    which every record goes through."""
    try:
        return orjson.dumps(obj, default=_default, option=_ORJSON_OPTIONS).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError included
        return _ENCODER.encode(obj)


def _refuse_floats(obj: object, path: str) -> None:
    if isinstance(obj, float):
        raise TypeError(f"float in audit payload at {path}: use Decimal")
    if isinstance(obj, Enum):
        _refuse_floats(obj.value, path)
    elif isinstance(obj, dict):
        if _FLOAT_FREE.issuperset(map(type, (*obj, *obj.values()))):
            return  # a flat dict, the common case, settled in C
        for key, item in obj.items():
            if type(key) not in _FLOAT_FREE:
                _refuse_floats(key, f"{path} (a key)")
            if type(item) not in _FLOAT_FREE:  # paths are built only where a float may hide
                _refuse_floats(item, f"{path}.{key}")
    elif isinstance(obj, list | tuple):
        for index, item in enumerate(obj):
            if type(item) not in _FLOAT_FREE:
                _refuse_floats(item, f"{path}[{index}]")
    elif not isinstance(obj, str | int | Decimal) and obj is not None:
        # Anything else (a dataclass, a datetime, a UUID...) json refused through `_default`, but
        # orjson writes some of them itself, past the redactor: refused here whichever wrote it.
        raise TypeError(f"A {type(obj).__name__} cannot be written to the audit trail ({path}).")


def canonical_json(obj: object, path: str = "$") -> str:
    """Sorted, compact, UTF-8 JSON; Decimal as str, Enum as its value; a float raises TypeError
    naming where it is (`path` names `obj` itself)."""
    try:
        text = _encode_json(obj)  # first, so json reports a cycle before the walk recurses
    except ValueError:
        with suppress(RecursionError):  # a cycle: json's own error stands
            _refuse_floats(obj, path)  # a NaN or infinity: name where it is
        raise
    # json writes floats itself without asking `default`, so float discipline needs its own walk.
    if type(obj) not in _FLOAT_FREE:
        _refuse_floats(obj, path)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    seq: int
    step: int
    type: str
    state: str
    payload: Payload  # as redacted, hashed and written
    prev: str
    hash: str


def encode_record(
    *, seq: int, step: int, type: str, state: str, payload: Payload, prev: str
) -> tuple[str, str]:
    """The record's line (without its newline) and its hash; see docs/audit-format.md."""
    # The verifier reads seq, step and prev back from the line's tail: hold them to that shape.
    for field, value, least in (("seq", seq, 1), ("step", step, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"The record's {field} must be an integer of at least {least}.")
    if not isinstance(type, str) or not isinstance(state, str):
        raise TypeError("The record's type and state must be strings.")
    if not isinstance(prev, str) or not _HEX64.fullmatch(prev):
        raise ValueError("The record's prev must be 64 lowercase hex digits.")
    if not isinstance(payload, Mapping):
        raise TypeError("The record's payload must be a mapping.")
    return _encode(seq, step, type, state, payload, prev)


def _encode(
    seq: int, step: int, type: str, state: str, payload: Payload, prev: str
) -> tuple[str, str]:
    """encode_record without its argument checks, for callers that hold them already.

    The body is canonical JSON of the six-key object, assembled around the payload's own
    encoding: its keys sort as payload < prev < seq < state < step < type, and ints, 64 hex
    digits and `_string` come out exactly as json writes them, so only the payload goes through
    the encoder (test_audit checks the two ways agree byte for byte)."""
    text = canonical_json(payload if type_(payload) is dict else dict(payload), "$.payload")
    return _chain(seq, step, type, state, text, prev)


def _chain(seq: int, step: int, type: str, state: str, text: str, prev: str) -> tuple[str, str]:
    """The line and hash of a record whose payload encodes as `text` (see _encode)."""
    body = (
        f'{{"payload":{text},"prev":"{prev}","seq":{seq},"state":{_string(state)},'
        f'"step":{step},"type":{_string(type)}}}'
    )
    try:
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        raise NotUnicodeText("The record holds text that is not valid Unicode.") from None
    # "hash" sorts before every other key, so putting it first keeps the line canonical JSON.
    return f'{{"hash":"{digest}",{body[1:]}', digest


def _checked_encode(
    seq: int, step: int, type: str, state: str, payload: Payload, prev: str
) -> tuple[str, str]:
    return encode_record(seq=seq, step=step, type=type, state=state, payload=payload, prev=prev)


class AuditSink(Protocol):
    name: str  # display name for messages: "memory", or the path as configured

    def open(self) -> None: ...  # AuditSinkError if unusable

    def write(self, line: str) -> None: ...  # a line without newline; AuditSinkError on failure

    def close(self) -> None: ...  # also called after a failed write: release, do not seal


class MemorySink:
    """Keeps the lines in a list, for tests and rehearsals that need no file."""

    def __init__(self) -> None:
        self.name = "memory"
        self.lines: list[str] = []

    def open(self) -> None: ...  # nothing to acquire or refuse

    def write(self, line: str) -> None:
        self.lines.append(line)

    def close(self) -> None: ...


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    while written < len(data):  # a short write is legal; finish it rather than tear the line
        more = os.write(fd, data[written:])
        if more <= 0:  # no progress (a full disk): never loop on it
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += more


class JsonlFileSink:
    """Appends lines to a file that this session creates, and seals it on a clean close.

    Each record reaches the kernel in one write(2) of line + newline, so no process buffer is left
    to flush; `fsync` decides when the disk is forced. After a failed write the sink is dead:
    later writes fail too, and close() releases the file without sealing it.
    """

    def __init__(
        self, path: Path, *, fsync: FsyncPolicy = "never", name: str | None = None
    ) -> None:
        if fsync not in get_args(FsyncPolicy):
            raise ValueError(f"Unknown fsync policy {fsync!r}: use never, per_record or on_close.")
        self.path = Path(path)
        self.name = str(path) if name is None else name
        self.seal_path = self.path.with_name(self.path.name + ".seal")
        self.count, self.head, self._fsync = 0, GENESIS_HASH, fsync
        self._fd: int | None = None
        self._size = 0  # bytes of whole records written
        self._state: Literal["new", "open", "dead", "closed"] = "new"

    def _error(self, what: str, exc: OSError | None = None) -> AuditSinkError:
        # The strerror only: str(exc) carries the file name, perhaps an absolute path.
        if isinstance(exc, FileNotFoundError):
            what += ": its directory does not exist"
        elif exc is not None:
            what += f": {(exc.strerror or type(exc).__name__).lower()}"
        return AuditSinkError(f"The audit sink {self.name} {what}.")

    def open(self) -> None:
        if self._state != "new":
            raise self._error("was opened before, and a sink serves one session")
        if os.path.lexists(self.seal_path):
            raise self._error("cannot be opened: a seal from an earlier session lies beside it")
        # Created here, exclusively: a file that exists (another session's, even an empty one
        # being written right now) or a symlink is refused, never shared or followed.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except FileExistsError:
            raise self._error(
                "cannot be opened: the file already exists, and an audit file is created by its "
                "session, never appended to or shared"
            ) from None
        except OSError as exc:
            raise self._error("cannot be opened", exc) from None
        self._fd, self._state, self._size = fd, "open", 0

    def write(self, line: str) -> None:
        if self._fd is None or self._state != "open":
            raise self._error(f"is {self._state} and takes no records")
        data = (line + "\n").encode("utf-8")
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            self._state = "dead"
            self._cut_back()
            raise self._error("could not write a record", exc) from None
        self._size += len(data)
        self.count, self.head = self.count + 1, line[_HASH]
        if self._fsync == "per_record":
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._state = "dead"
                raise self._error("could not write a record", exc) from None

    def _cut_back(self) -> None:
        """After a failed write, cut the file back to its last whole record: a full disk leaves
        a shorter trail, never a torn line that would read as a crash."""
        with suppress(OSError):
            os.ftruncate(self._fd, self._size)  # type: ignore[arg-type]

    def close(self) -> None:
        fd, sealing = self._fd, self._state == "open"
        self._fd, self._state = None, "closed"
        if fd is None:
            return
        try:
            try:
                if sealing and self._fsync == "on_close":  # per_record has synced already
                    os.fsync(fd)
            finally:
                os.close(fd)
            if sealing:
                self._write_seal()
        except OSError as exc:
            raise self._error("could not be closed and sealed", exc) from None

    def _write_seal(self) -> None:
        # Atomic replace: a reader sees no seal or a whole one, never half of one.
        seal = {"count": self.count, "file": self.path.name, "format": FORMAT, "head": self.head}
        # A temp name of its own (mkstemp: O_EXCL, random): two sessions never share one.
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{self.seal_path.name}.", suffix=".tmp", dir=self.seal_path.parent
        )
        temp = Path(temp_name)
        try:
            try:
                os.fchmod(fd, 0o644)
                _write_all(fd, (canonical_json(seal) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.seal_path)
        except BaseException:  # a signal too (the CLI turns SIGTERM into an exception)
            with suppress(OSError):
                temp.unlink()
            raise
        directory = os.open(self.seal_path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # makes the rename itself durable
        finally:
            os.close(directory)


class AuditTrail:
    """Redacts, encodes and chains records, and writes each to every live sink.

    A sink that fails is dropped, and the failure raised once the others have the record: a record
    is never lost silently, and the caller decides whether the session may go on. Without a
    redactor, a default one still redacts values under sensitive key names.
    """

    def __init__(self, sinks: Sequence[AuditSink], redactor: Redactor | None = None) -> None:
        if not sinks:
            raise ValueError("An audit trail needs at least one sink.")
        self._sinks = list(sinks)
        self._redactor = Redactor() if redactor is None else redactor
        # No secret to look for: only keys and nested values can change a payload (_plain_line).
        self._plain = not self._redactor.values
        self._state: Literal["new", "open", "closed"] = "new"
        self.seq, self.head, self._step = 0, GENESIS_HASH, 0

    @property
    def sink_names(self) -> tuple[str, ...]:
        return tuple(sink.name for sink in self._sinks)

    def open(self) -> list[tuple[str, str]]:
        """Opens every sink; returns (name, reason) for each that failed, and drops those."""
        if self._state != "new":
            raise AuditError("The audit trail was opened before, and a trail serves one session.")
        self._state = "open"
        failures = []
        for sink in list(self._sinks):
            try:
                sink.open()
            except Exception as exc:  # one unusable sink must not stop the others
                self._sinks.remove(sink)
                failures.append((sink.name, self._reason(exc)))
        return failures

    def append(self, *, step: int, type: str, state: str, payload: Payload) -> AuditRecord:
        """Write one record to every live sink; the record as written (payload redacted)."""
        prev = self.head
        safe = self._put(step, type, state, payload)
        return AuditRecord(
            seq=self.seq, step=step, type=type, state=state, payload=safe, prev=prev, hash=self.head
        )

    def write(self, *, step: int, type: str, state: str, payload: Payload) -> int:
        """`append` for a caller that needs only the record's sequence number (the session's
        hot path): the same checks, bytes and errors, without building an AuditRecord."""
        self._put(step, type, state, payload)
        return self.seq

    def _put(self, step: int, type: str, state: str, payload: Payload) -> Payload:
        """Encode, chain and write one record; the payload as written."""
        if self._state != "open":
            raise AuditError(f"The audit trail is {self._state}, not open, and takes no records.")
        if not self._sinks:
            raise AuditSinkError("No audit sink is left, so the record cannot be written.")
        if isinstance(step, int) and step < self._step:
            raise ValueError(f"The step must not go back: step {step} follows step {self._step}.")
        seq, prev = self.seq + 1, self.head
        line = self._plain_line(seq, step, type, state, payload, prev)
        if line is not None:  # the fused pass: nothing to redact, nothing to refuse
            safe, digest = payload, line[_HASH]
        else:
            safe, line, digest = self._general_line(seq, step, type, state, payload, prev)
        self.seq, self.head, self._step = seq, digest, step
        failures = []
        for sink in tuple(self._sinks):  # a copy: a failed sink is removed while looping
            try:
                sink.write(line)
            except Exception as exc:  # the other sinks still get the record
                self._sinks.remove(sink)
                failures.append(f"{sink.name} ({self._reason(exc)})")
                with suppress(Exception):
                    sink.close()
        if failures:
            raise AuditSinkError(
                f"Audit record {seq} could not be written to {'; '.join(failures)}; "
                f"it was written to {', '.join(self.sink_names) or 'no sink'}."
            )
        return safe

    def _plain_line(
        self, seq: int, step: int, type: str, state: str, payload: Payload, prev: str
    ) -> str | None:
        """The record's line in one pass over the payload, or None for the general path.

        The fused pass covers the usual record: a flat dict of str, int, bool, None and Decimal
        under keys the redactor has already judged safe, with no secret configured. Redaction
        then returns the payload itself and the float walk finds nothing (one type test settles
        both), so only the encoding is left. Anything else (a nested value, a key not yet judged,
        a configured secret, a surrogate, an unusual envelope) is None: `_general_line` decides,
        and writes the same bytes (test_writer_fused compares the two on generated records)."""
        if (
            self._plain
            and type_(payload) is dict
            and type_(step) is int
            and step >= 0
            and type_(type) is str
            and type_(state) is str
            and _SAFE_KEYS.issuperset(payload)
            and _FLOAT_FREE.issuperset(map(type_, payload.values()))
        ):
            try:
                return _chain(seq, step, type, state, _encode_json(payload), prev)[0]
            except NotUnicodeText:  # a lone surrogate: the general path escapes and flags it
                return None
        return None

    def _general_line(
        self, seq: int, step: int, type: str, state: str, payload: Payload, prev: str
    ) -> tuple[Payload, str, str]:
        """Redact, refuse floats, encode (checking the envelope where it is unusual): the payload
        as written, the line and its hash."""
        safe = self._redactor.redact(payload)  # before hashing: the hash covers what is written
        if (
            type_(step) is int
            and step >= 0
            and type_(type) is str
            and type_(state) is str
            and type_(safe) is dict
        ):
            encode = _encode  # the common case: encode_record's checks hold already
        else:
            encode = _checked_encode
        try:
            line, digest = encode(seq, step, type, state, safe, prev)  # type: ignore[arg-type]
        except NotUnicodeText:
            # Rare, so it costs the common path nothing: the record is still written, with each
            # lone surrogate as a visible \uXXXX escape and a flag saying so (never silently).
            safe = {**escape_lone_surrogates(safe), ESCAPED_FLAG: True}  # type: ignore[dict-item]
            line, digest = encode(seq, step, type, state, safe, prev)
        return safe, line, digest  # type: ignore[return-value]

    def close(self) -> None:
        """Closes every live sink (file sinks seal); a second call does nothing."""
        if self._state == "closed":
            return
        self._state = "closed"
        failures = []
        for sink in self._sinks:
            try:
                sink.close()
            except Exception as exc:  # close the rest before reporting
                failures.append(f"{sink.name} ({self._reason(exc)})")
        self._sinks = []
        if failures:
            raise AuditSinkError(f"Audit sinks failed to close: {'; '.join(failures)}.")

    def _reason(self, exc: Exception) -> str:
        text = str(exc) if isinstance(exc, AuditSinkError) else f"{type(exc).__name__}: {exc}"
        return self._redactor.redact_text(text)
