import dataclasses
import datetime
import errno
import hashlib
import json
import os
import re
import uuid
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.audit import (
    FORMAT,
    GENESIS_HASH,
    AuditError,
    AuditSinkError,
    AuditTrail,
    JsonlFileSink,
    MemorySink,
    VerifyResult,
    canonical_json,
    encode_record,
    verify_file,
    verify_lines,
)
from peak_trade.execution.live.audit_trail.redaction import REDACTED, Redactor
from tests.execution.live.audit_trail.support import (
    DOC,
    PAYLOADS,
    Side,
    run_trail,
    seal_of,
    write_file,
)

SECRET = "sk_live_Zq8wAb9x"


class Ratio(Enum):
    HALF = 0.5


def broken_fsync(fd):
    raise OSError(errno.EIO, "Input/output error")


# --- canonical JSON and records ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "text"),
    [
        ({"b": 1, "a": {"d": 2, "c": 3}}, '{"a":{"c":3,"d":2},"b":1}'),
        ({"px": Decimal("1.10"), "big": Decimal("1E+3")}, '{"big":"1E+3","px":"1.10"}'),
        ({"side": Side.BUY}, '{"side":"buy"}'),
        ({"t": "café ✓"}, '{"t":"café ✓"}'),
        ([1, None, True, "x", ("y",)], '[1,null,true,"x",["y"]]'),
        ({"q": 'a"b\\\n'}, '{"q":"a\\"b\\\\\\n"}'),
    ],
)
def test_canonical_json_is_sorted_compact_and_exact(obj, text):
    assert canonical_json(obj) == text


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        (1.5, "$"),
        ({"px": 1.5}, "$.px"),
        ({"fills": [{"px": Decimal(1)}, {"px": 0.1}]}, "$.fills[1].px"),
        ({"n": float("nan")}, "$.n"),
        ({"ratio": Ratio.HALF}, "$.ratio"),
        ({1.5: "x"}, "$ (a key)"),
    ],
)
def test_canonical_json_refuses_floats_and_names_where(obj, path):
    with pytest.raises(
        TypeError, match=re.escape(f"float in audit payload at {path}: use Decimal")
    ):
        canonical_json(obj)


def test_encode_record_is_deterministic_canonical_and_chained():
    line1, hash1 = encode_record(
        seq=1, step=0, type="a", state="s", payload=PAYLOADS[1], prev=GENESIS_HASH
    )
    again = encode_record(
        seq=1, step=0, type="a", state="s", payload=PAYLOADS[1], prev=GENESIS_HASH
    )
    line2, hash2 = encode_record(seq=2, step=3, type="b", state="t", payload={}, prev=hash1)
    assert again == (line1, hash1)
    assert line1.startswith(f'{{"hash":"{hash1}","payload":')
    assert hashlib.sha256(("{" + line1[75:]).encode()).hexdigest() == hash1
    assert canonical_json(json.loads(line1)) == line1  # the line is canonical JSON itself
    assert json.loads(line2) == {
        "hash": hash2,
        "payload": {},
        "prev": hash1,
        "seq": 2,
        "state": "t",
        "step": 3,
        "type": "b",
    }


def test_the_documented_example_is_what_encode_record_writes():
    line1, hash1 = encode_record(
        seq=1,
        step=0,
        type="session_opened",
        state="INIT",
        payload={"session_id": "demo", "broker_kind": "mock"},
        prev=GENESIS_HASH,
    )
    order = {"client_order_id": "c-1", "qty": Decimal("0.50"), "px": Decimal("43210.1")}
    line2, _ = encode_record(
        seq=2,
        step=1,
        type="order_submitted",
        state="DRYRUN_ACTIVE",
        payload=order | {"side": "buy", "note": 'café "q"'},
        prev=hash1,
    )
    assert f"```\n{line1}\n{line2}\n```" in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("seq", 0, ValueError),
        ("seq", True, ValueError),
        ("step", -1, ValueError),
        ("prev", "ab" * 31, ValueError),
        ("prev", GENESIS_HASH.upper().replace("0", "A"), ValueError),
        ("type", Side.BUY, TypeError),
        ("payload", [("a", 1)], TypeError),
    ],
)
def test_encode_record_refuses_a_bad_envelope(field, value, error):
    fields = {"seq": 1, "step": 0, "type": "t", "state": "s", "payload": {}, "prev": GENESIS_HASH}
    with pytest.raises(error, match=r"^The record's"):
        encode_record(**(fields | {field: value}))


# --- trail and sinks ---------------------------------------------------------------------------


def test_a_memory_trail_verifies_and_its_head_is_the_last_hash():
    sink = MemorySink()
    trail, records = run_trail(sink)
    assert [record.seq for record in records] == [1, 2, 3, 4, 5]
    assert [record.prev for record in records] == [GENESIS_HASH] + [r.hash for r in records[:-1]]
    assert trail.seq == 5
    assert trail.head == records[-1].hash
    assert verify_lines(sink.lines) == verify_lines(line.encode() for line in sink.lines)
    result = verify_lines(sink.lines)
    assert (result.ok, result.count, result.head) == (True, 5, records[-1].hash)


def test_identical_runs_write_identical_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = write_file(tmp_path / "a"), write_file(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert seal_of(first).read_bytes() == seal_of(second).read_bytes()


def test_a_file_sink_writes_lines_and_a_seal(tmp_path):
    memory = MemorySink()
    path = tmp_path / "session.jsonl"
    _, records = run_trail(JsonlFileSink(path, fsync="per_record"), memory)
    assert path.read_text(encoding="utf-8") == "".join(line + "\n" for line in memory.lines)
    assert json.loads(seal_of(path).read_text()) == {
        "count": 5,
        "file": "session.jsonl",
        "format": FORMAT,
        "head": records[-1].hash,
    }
    assert seal_of(path).read_text().endswith("}\n")
    assert verify_file(path) == VerifyResult(ok=True, count=5, head=records[-1].hash, sealed=True)
    assert not list(tmp_path.glob(".*.tmp"))  # the seal's temporary file is gone


def test_redaction_happens_before_hashing_and_writing(tmp_path):
    path = tmp_path / "session.jsonl"
    payload = {"url": f"wss://mock?key={SECRET}", "api_key": "anything", "qty": Decimal("1")}
    _, records = run_trail(JsonlFileSink(path), redactor=Redactor([SECRET]), payloads=[payload])
    data = path.read_bytes()
    assert SECRET.encode() not in data
    assert b"anything" not in data
    redacted = {"url": f"wss://mock?key={REDACTED}", "api_key": REDACTED, "qty": Decimal("1")}
    assert records[0].payload == redacted
    body = (
        '{"payload":{"api_key":"[REDACTED]","qty":"1","url":"wss://mock?key=[REDACTED]"},'
        f'"prev":"{GENESIS_HASH}","seq":1,"state":"INIT","step":0,"type":"event"}}'
    )
    assert records[0].hash == hashlib.sha256(body.encode()).hexdigest()
    assert data == f'{{"hash":"{records[0].hash}",{body[1:]}\n'.encode()
    assert verify_file(path).ok


class FailingSink:
    def __init__(self, name, *, fail_open=False, message="boom"):
        self.name, self.fail_open, self.message, self.closed = name, fail_open, message, False

    def open(self):
        if self.fail_open:
            raise RuntimeError(self.message)

    def write(self, line):
        raise AuditSinkError(self.message)

    def close(self):
        self.closed = True


def test_sinks_that_fail_to_open_are_reported_redacted_and_dropped(tmp_path):
    missing = JsonlFileSink(tmp_path / "missing" / "session.jsonl", name="audit/session.jsonl")
    broken = FailingSink("broker-log", fail_open=True, message=f"cannot log in with {SECRET}")
    memory = MemorySink()
    trail = AuditTrail([missing, broken, memory], Redactor([SECRET]))
    assert trail.open() == [
        (
            "audit/session.jsonl",
            "The audit sink audit/session.jsonl cannot be opened: its directory does not exist.",
        ),
        ("broker-log", f"RuntimeError: cannot log in with {REDACTED}"),
    ]
    assert trail.sink_names == ("memory",)
    trail.append(step=0, type="event", state="s", payload={})
    assert len(memory.lines) == 1


def test_a_failing_write_is_raised_after_the_other_sinks_have_the_record():
    failing, memory = FailingSink("flaky", message=f"rejected {SECRET}"), MemorySink()
    trail = AuditTrail([failing, memory], Redactor([SECRET]))
    trail.open()
    with pytest.raises(AuditSinkError) as caught:
        trail.append(step=0, type="event", state="s", payload={})
    assert str(caught.value) == (
        f"Audit record 1 could not be written to flaky (rejected {REDACTED}); "
        "it was written to memory."
    )
    assert failing.closed
    assert trail.sink_names == ("memory",)
    assert trail.seq == 1
    assert len(memory.lines) == 1


def test_once_no_sink_is_left_every_append_raises():
    trail = AuditTrail([FailingSink("only")])
    trail.open()
    with pytest.raises(AuditSinkError, match="it was written to no sink"):
        trail.append(step=0, type="event", state="s", payload={})
    with pytest.raises(AuditSinkError, match="No audit sink is left"):
        trail.append(step=0, type="event", state="s", payload={})
    assert trail.seq == 1  # the second record was never encoded


def test_a_failing_fsync_kills_the_file_sink_and_the_trail_goes_on(tmp_path, monkeypatch):
    path, memory = tmp_path / "session.jsonl", MemorySink()
    sink = JsonlFileSink(path, fsync="per_record", name="session.jsonl")
    trail = AuditTrail([sink, memory])
    trail.open()
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AuditSinkError) as caught:
        trail.append(step=0, type="event", state="s", payload={"n": 1})
    assert str(caught.value) == (
        "Audit record 1 could not be written to session.jsonl (The audit sink session.jsonl "
        "could not write a record: input/output error.); it was written to memory."
    )
    trail.append(step=1, type="event", state="s", payload={"n": 2})
    trail.close()
    monkeypatch.undo()
    assert trail.sink_names == ()
    assert len(memory.lines) == 2
    with pytest.raises(AuditSinkError, match="is closed"):
        sink.write(memory.lines[1])
    assert not seal_of(path).exists()
    result = verify_file(path)
    assert (result.ok, result.count, result.sealed) == (True, 1, False)


def test_a_write_after_a_failed_write_fails_again(tmp_path, monkeypatch):
    sink = JsonlFileSink(tmp_path / "session.jsonl", fsync="per_record")
    sink.open()
    monkeypatch.setattr(os, "fsync", broken_fsync)
    line, _ = encode_record(seq=1, step=0, type="t", state="s", payload={}, prev=GENESIS_HASH)
    with pytest.raises(AuditSinkError, match="could not write a record"):
        sink.write(line)
    monkeypatch.undo()
    with pytest.raises(AuditSinkError, match="is dead and takes no records"):
        sink.write(line)
    sink.close()
    assert not seal_of(sink.path).exists()  # a dead sink is never sealed as if it closed cleanly
    assert verify_file(sink.path).count == 1  # the record reached the file before fsync failed


def test_a_failing_fsync_on_close_surfaces_and_leaves_no_seal(tmp_path, monkeypatch):
    path = tmp_path / "session.jsonl"
    trail = AuditTrail([JsonlFileSink(path, fsync="on_close", name="session.jsonl")])
    trail.open()
    trail.append(step=0, type="event", state="s", payload={})
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AuditSinkError, match=r"session\.jsonl could not be closed and sealed"):
        trail.close()
    assert not seal_of(path).exists()
    trail.close()  # idempotent: nothing left to close


@pytest.mark.parametrize(
    ("policy", "log_syncs"), [("never", 0), ("per_record", 5), ("on_close", 1)]
)
def test_the_fsync_policy_decides_when_the_log_is_forced_to_disk(
    tmp_path, monkeypatch, policy, log_syncs
):
    calls, real_fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real_fsync(fd))
    run_trail(JsonlFileSink(tmp_path / "session.jsonl", fsync=policy))
    assert len(calls) == log_syncs + 2  # the seal's temporary file and its directory, always


@pytest.mark.parametrize(
    ("log", "seal", "message"),
    [
        ("x\n", None, "the file already exists"),
        # Empty too: it may be another session's trail, created a moment ago (O_EXCL).
        ("", None, "the file already exists"),
        ("", "{}", "a seal from an earlier session lies beside it"),
    ],
)
def test_a_used_audit_file_is_refused(tmp_path, log, seal, message):
    path = tmp_path / "session.jsonl"
    path.write_text(log)
    if seal is not None:
        seal_of(path).write_text(seal)
    with pytest.raises(AuditSinkError, match=message):
        JsonlFileSink(path).open()
    assert path.read_text() == log


def test_a_symlink_is_never_followed(tmp_path):
    target = tmp_path / "elsewhere.jsonl"
    path = tmp_path / "session.jsonl"
    path.symlink_to(target)
    with pytest.raises(AuditSinkError, match="the file already exists"):
        JsonlFileSink(path).open()
    assert not target.exists()


def test_the_trail_refuses_misuse_and_advances_only_on_success():
    trail = AuditTrail([MemorySink()])
    with pytest.raises(AuditError, match="not open"):
        trail.append(step=0, type="t", state="s", payload={})
    trail.open()
    first = trail.append(step=2, type="t", state="s", payload={})
    with pytest.raises(ValueError, match="step 1 follows step 2"):
        trail.append(step=1, type="t", state="s", payload={})
    with pytest.raises(TypeError, match=r"at \$\.payload\.px"):
        trail.append(step=2, type="t", state="s", payload={"px": 1.0})
    assert (trail.seq, trail.head) == (1, first.hash)
    trail.close()
    trail.close()
    with pytest.raises(AuditError, match="closed"):
        trail.append(step=3, type="t", state="s", payload={})


_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False)
_values = st.recursive(
    _scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(), kids, max_size=3)
)


@given(
    payload=st.dictionaries(st.text(), _values, max_size=6),
    type_=st.text(),
    state=st.text(),
    seq=st.integers(min_value=1),
    step=st.integers(min_value=0),
)
def test_the_assembled_line_is_canonical_json_of_the_whole_record(payload, type_, state, seq, step):
    """encode_record assembles the body around the payload's encoding; it must be byte for byte
    the canonical JSON of the whole six-key object, the format docs/audit-format.md specifies."""
    prev = "ab" * 32
    try:
        whole = canonical_json(
            {
                "payload": payload,
                "prev": prev,
                "seq": seq,
                "state": state,
                "step": step,
                "type": type_,
            }
        )
        whole.encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return  # lone surrogates: refused either way (test_text covers the escape)
    digest = hashlib.sha256(whole.encode("utf-8")).hexdigest()
    line, got = encode_record(
        seq=seq, step=step, type=type_, state=state, payload=payload, prev=prev
    )
    assert (line, got) == ('{"hash":"' + digest + '",' + whole[1:], digest)


class _Kind(Enum):
    A = "a"
    N = 7
    D = Decimal("1.50")


_any_text = st.text(st.characters(codec="utf-8") | st.sampled_from('\x00\x1f\x7f\u2028"\\'))
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses those, json writes them
    | st.integers(min_value=-(2**64), max_value=2**64)
    | _any_text
    | st.decimals(allow_nan=False)
    | st.sampled_from(_Kind)
)
_json_values = st.recursive(
    _json_scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.tuples(kids, kids)
        | st.dictionaries(_any_text, kids, max_size=4)
        | st.dictionaries(st.integers() | st.booleans() | st.none(), kids, max_size=2)
    ),
)


@dataclasses.dataclass
class _Note:
    api_key: str


class _Text(str):
    pass


class _Map(dict):
    pass


# Types json refuses through `_default` but orjson would write itself: canonical_json must refuse.
_foreign = st.sampled_from(
    [_Note("k"), datetime.date(2026, 1, 2), uuid.UUID(int=7), {1, 2}, b"x", 1.5]
)


@given(
    _json_values
    | st.builds(_Text, st.text())
    | st.builds(_Map, st.dictionaries(st.text(), _json_values, max_size=2))
)
def test_the_fast_encoder_writes_exactly_what_the_json_module_writes(value):
    """orjson writes the audit's JSON when it can; it must be byte for byte the json module's
    canonical form (docs/audit-format.md), or leave the value to the json module."""
    from peak_trade.execution.live.audit_trail.writer import _ENCODER

    try:
        expected = _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@given(st.dictionaries(st.text(), _json_values, max_size=3), _foreign, st.text())
def test_a_type_json_refuses_is_refused_whichever_encoder_sees_it(payload, foreign, key):
    payload[key] = [foreign] if len(payload) % 2 else foreign
    with pytest.raises(TypeError):
        canonical_json(payload)
