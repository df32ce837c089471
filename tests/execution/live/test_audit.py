import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from enum import Enum
from pathlib import Path

import pytest

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
from peak_trade.execution.live.redaction import REDACTED, Redactor

DOC = Path(__file__).resolve().parents[3] / "docs" / "audit-format.md"
SECRET = "sk_live_Zq8wAb9x"


class Side(Enum):
    BUY = "buy"


class Ratio(Enum):
    HALF = 0.5


PAYLOADS = [
    {"scenario": "demo", "broker": "mock"},
    {"client_order_id": "c-1", "side": Side.BUY, "qty": Decimal("0.50"), "px": Decimal("43210.1")},
    {"client_order_id": "c-1", "note": 'café "quoted" ✓', "fills": [{"qty": Decimal("0.2")}]},
    # Look-alikes of the record's own tail, nested and inside a string, must not fool the verifier.
    {"nested": {"prev": GENESIS_HASH, "seq": 1}, "text": f',"prev":"{GENESIS_HASH}","seq":1,'},
    {"reason": "session closed", "open_orders": None, "count": 0},
]
STATES = ["INIT", "DRYRUN_ACTIVE", "DRYRUN_ACTIVE", "DRYRUN_ACTIVE", "STOPPED"]


def run_trail(*sinks, redactor=None, payloads=PAYLOADS):
    trail = AuditTrail(list(sinks), redactor)
    assert trail.open() == []
    records = [
        trail.append(step=index, type="event", state=STATES[index % 5], payload=payload)
        for index, payload in enumerate(payloads)
    ]
    trail.close()
    return trail, records


def write_file(directory, name="session.jsonl"):
    path = directory / name
    run_trail(JsonlFileSink(path))
    return path


def seal_of(path):
    return path.with_name(path.name + ".seal")


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
        ("x\n", None, "the file already holds records"),
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


def test_an_existing_empty_file_is_accepted(tmp_path):
    path = tmp_path / "session.jsonl"
    path.touch()
    run_trail(JsonlFileSink(path))
    assert verify_file(path).count == 5


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


# --- verification and tampering ----------------------------------------------------------------


def line_of(data, position):
    """1-based line number of the byte at `position`; a newline belongs to the line it ends."""
    return data.count(b"\n", 0, position) + 1


def test_every_single_byte_flip_is_detected(tmp_path):
    path = write_file(tmp_path)
    seal_of(path).unlink()  # the chain alone must catch every flip
    data = path.read_bytes()
    undetected = []
    for position in range(len(data)):
        for mask in (0x01, 0x20, 0x80):  # 0x20 turns hex digits upper case, 0x80 breaks UTF-8
            tampered = bytearray(data)
            tampered[position] ^= mask
            path.write_bytes(tampered)
            result = verify_file(path)
            if result.ok:
                undetected.append((position, mask))
                continue
            assert result.first_bad_line == line_of(data, position)
            assert result.torn_tail is (position == len(data) - 1)
    assert undetected == []  # no in-line byte is legitimately undetectable


def rewrite(path, edit):
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(edit(lines)))


@pytest.mark.parametrize(
    ("edit", "line", "count"),
    [
        (lambda lines: lines[:2] + lines[3:], 3, 2),  # a middle record deleted
        (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], 2, 1),  # two records swapped
        (lambda lines: lines[:2] + lines[1:], 3, 2),  # a record duplicated
        (lambda lines: lines[1:], 1, 0),  # the first record deleted
    ],
)
def test_deleted_swapped_or_inserted_records_break_the_chain(tmp_path, edit, line, count):
    path = write_file(tmp_path)
    rewrite(path, edit)
    result = verify_file(path)
    assert (result.ok, result.first_bad_line, result.count) == (False, line, count)
    assert result.reason.startswith(f"prev mismatch at line {line}: ")
    assert result.reason.endswith("deleted, inserted or reordered before this line.")


def test_a_mid_line_truncation_is_a_torn_tail(tmp_path):
    path = write_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\n", data.index(b"\n") + 1) + 40])  # 40 bytes into line 3
    result = verify_file(path)
    assert (result.ok, result.torn_tail, result.count, result.first_bad_line) == (False, True, 2, 3)
    assert result.reason == (
        "torn last line 3: the file ends mid-record (crash during append?); "
        "the 2 records before it verify."
    )


def test_a_clean_cut_is_caught_by_the_seal_and_only_by_the_seal(tmp_path):
    path = write_file(tmp_path)
    head = json.loads(seal_of(path).read_text())["head"]
    rewrite(path, lambda lines: lines[:3])
    sealed = verify_file(path)
    assert (sealed.ok, sealed.sealed, sealed.count) == (False, True, 3)
    assert (
        sealed.reason == f"truncated: the seal records 5 records with head {head}, the file has 3."
    )
    seal_of(path).unlink()
    unsealed = verify_file(path)  # documented limitation: a clean cut without a seal verifies
    assert (unsealed.ok, unsealed.sealed, unsealed.count) == (True, False, 3)


def recompute(path, new_payload):
    """Rewrites record 2's payload and every hash after it, as a forger would."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines[1]["payload"] = new_payload
    out, prev = [], GENESIS_HASH
    for record in lines:
        fields = {key: record[key] for key in ("seq", "step", "type", "state", "payload")}
        line, prev = encode_record(**fields, prev=prev)
        out.append(line + "\n")
    path.write_text("".join(out), encoding="utf-8")
    return prev


def test_a_recomputed_chain_is_caught_only_while_the_old_seal_remains(tmp_path):
    path = write_file(tmp_path)
    new_head = recompute(path, {"client_order_id": "c-1", "qty": "999"})
    stale = verify_file(path)
    assert not stale.ok
    assert stale.reason.startswith("head mismatch: the seal records head ")
    seal_of(path).write_text(
        canonical_json({"count": 5, "file": path.name, "format": FORMAT, "head": new_head}) + "\n"
    )
    forged = verify_file(path)
    assert (forged.ok, forged.head) == (True, new_head)  # undetectable, and documented as such
    doc = DOC.read_text(encoding="utf-8")
    assert "| whole chain recomputed after an edit, seal rewritten or deleted | **no** |" in doc


def forge(specs):
    """Lines with valid hashes and links but the given (seq, step) pairs."""
    lines, prev = [], GENESIS_HASH
    for seq, step in specs:
        line, prev = encode_record(seq=seq, step=step, type="t", state="s", payload={}, prev=prev)
        lines.append(line)
    return lines


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        (forge([(1, 0), (3, 0)]), 2, "seq not consecutive at line 2: 3 after 1."),
        (forge([(2, 0)]), 1, "seq not consecutive at line 1: 2 after 0."),
        (forge([(1, 5), (2, 4)]), 2, "step decreasing at line 2: 4 after 5."),
        (["", *forge([(1, 0)])], 1, "line 1 is malformed: it lacks the canonical record prefix."),
        ([forge([(1, 0)])[0].replace(",", ", ", 1)], 1, "lacks the canonical record prefix."),
        ([*forge([(1, 0)]), "not json"], 2, "line 2 is malformed"),
        ([forge([(1, 0)])[0].replace('"s"', '"S"')], 1, "hash mismatch at line 1: the record"),
    ],
)
def test_verify_names_the_first_bad_line_and_why(lines, line, reason):
    result = verify_lines(lines)
    assert (result.ok, result.first_bad_line, result.torn_tail) == (False, line, False)
    assert reason in result.reason


def test_verify_lines_sees_a_torn_tail_once_lines_carry_newlines():
    lines = [line + "\n" for line in forge([(1, 0), (2, 0)])]
    assert verify_lines(lines).ok
    torn = verify_lines([lines[0], lines[1][:-1]])
    assert (torn.ok, torn.torn_tail, torn.count) == (False, True, 1)


def test_a_seal_that_disagrees_is_a_failure(tmp_path):
    path = write_file(tmp_path)
    seal = json.loads(seal_of(path).read_text())
    for changed, reason in [
        ({"count": 4}, "the file has 5 records, more than the 4 its seal records."),
        ({"file": "other.jsonl"}, "the seal names file 'other.jsonl', not 'session.jsonl'."),
        ({"format": "x/2"}, "the seal of session.jsonl is malformed"),
    ]:
        seal_of(path).write_text(json.dumps(seal | changed))
        result = verify_file(path)
        assert (result.ok, result.sealed) == (False, True)
        assert result.reason.startswith(reason)


# --- the documented shell recipe ---------------------------------------------------------------


def recipe(tmp_path):
    block = re.search(
        r"```bash\n(#!/usr/bin/env bash\n# verify-audit\.sh.*?)```", DOC.read_text(), re.S
    )
    assert block, "docs/audit-format.md lost its verify-audit.sh block"
    script = tmp_path / "verify-audit.sh"
    script.write_text(block[1])
    return script


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "sed", "sha256sum", "tail")),
    reason="the documented recipe needs bash, sed, sha256sum and tail",
)
@pytest.mark.parametrize(
    ("tamper", "code", "output"),
    [
        (None, 0, "OK: 5 records, head "),
        (lambda p: p.write_bytes(p.read_bytes().replace(b"c-1", b"c-2", 1)), 1, "FAIL: hash mis"),
        (lambda p: rewrite(p, lambda lines: lines[:2] + lines[3:]), 1, "FAIL: prev mismatch at"),
        (lambda p: rewrite(p, lambda lines: lines[:3]), 1, "FAIL: seal records 5 records"),
        (lambda p: p.write_bytes(p.read_bytes()[:-1]), 1, "FAIL: torn last line"),
    ],
)
def test_the_documented_shell_recipe_verifies_and_catches_tampering(tmp_path, tamper, code, output):
    script, path = recipe(tmp_path), write_file(tmp_path)
    if tamper:
        tamper(path)
    done = subprocess.run(
        ["bash", str(script), str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (code, "")
    assert done.stdout.startswith(output)
    if code == 0:
        assert done.stdout.strip().endswith(f"{verify_file(path).head}, sealed")
