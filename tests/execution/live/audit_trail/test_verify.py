"""Verification: every tampering is found at its first bad line and named, the seal catches a
clean cut, and the shell recipe in docs/audit-format.md agrees with verify_file."""

import hashlib
import json
import re
import shutil
import subprocess

import pytest

from peak_trade.execution.live.audit import (
    FORMAT,
    GENESIS_HASH,
    canonical_json,
    encode_record,
    verify_file,
    verify_lines,
)
from tests.execution.live.audit_trail.support import (
    DOC,
    seal_of,
    write_file,
)

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
    assert "| whole chain recomputed after an edit, seal rewritten | **no** (alone) |" in doc


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


# --- what a verdict says, in each corner (found by `make mutate`) -------------------------------


def test_an_empty_list_of_lines_verifies_to_the_genesis_head():
    result = verify_lines([])
    assert (result.ok, result.count, result.head) == (True, 0, GENESIS_HASH)
    assert (result.first_bad_line, result.reason, result.torn_tail, result.sealed) == (
        None, None, False, False,
    )  # fmt: skip


def test_a_verified_chain_reports_its_count_and_head_and_no_finding():
    lines = forge([(1, 0), (2, 0), (3, 7)])
    for items in (lines, [line.encode() for line in lines], [f"{line}\n" for line in lines]):
        result = verify_lines(items)
        assert (result.ok, result.count, result.head) == (True, 3, lines[-1][9:73])
        assert (result.first_bad_line, result.reason, result.torn_tail) == (None, None, False)


def test_a_prev_mismatch_names_what_the_prev_should_have_been():
    first, second, third = forge([(1, 0), (2, 0), (3, 0)])
    result = verify_lines([second])
    assert result.reason == (
        "prev mismatch at line 1: its prev is not the genesis hash, so a record was deleted, "
        "inserted or reordered before this line."
    )
    result = verify_lines([first, third])
    assert result.reason == (
        "prev mismatch at line 2: its prev is not the hash of line 1, so a record was deleted, "
        "inserted or reordered before this line."
    )
    assert (result.count, result.head, result.first_bad_line) == (1, first[9:73], 2)


def test_a_torn_tail_names_the_records_before_it():
    lines = [f"{line}\n" for line in forge([(1, 0), (2, 0), (3, 0)])]
    result = verify_lines([*lines[:2], lines[2][:40]])
    assert result.reason == (
        "torn last line 3: the file ends mid-record (crash during append?); the 2 records "
        "before it verify."
    )
    assert (result.torn_tail, result.first_bad_line, result.count) == (True, 3, 2)


def test_a_line_without_any_tail_marker_is_malformed():
    # A record whose body holds no ',"prev":"' at all, hashed right: only the tail rule sees it.
    body = '{"payload":{},"seq":1,"state":"s","step":0,"type":"t"}'
    line = '{"hash":"' + hashlib.sha256(body.encode()).hexdigest() + '",' + body[1:]
    result = verify_lines([line])
    assert result.reason == "line 1 is malformed: it lacks the canonical record tail."


def test_a_file_without_a_seal_verifies_unsealed(tmp_path):
    path = write_file(tmp_path)
    seal_of(path).unlink()
    result = verify_file(path)
    assert (result.ok, result.sealed, result.count) == (True, False, 5)


def test_a_sealed_file_with_a_bad_line_reports_the_line_not_the_seal(tmp_path):
    path = write_file(tmp_path)
    data = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([data[0], data[2], *data[3:]]))
    result = verify_file(path)
    assert (result.ok, result.sealed, result.first_bad_line) == (False, True, 2)
    assert result.reason.startswith("prev mismatch at line 2")


@pytest.mark.parametrize(
    "seal_text",
    [
        pytest.param("not json", id="not json"),
        pytest.param("[]", id="a list"),
        pytest.param('{"count": 5}', id="keys missing"),
        pytest.param(None, id="count as text"),
        pytest.param(None, id="head as a number"),
    ],
)
def test_a_malformed_seal_cannot_vouch(tmp_path, request, seal_text):
    path = write_file(tmp_path)
    seal = json.loads(seal_of(path).read_text())
    case = request.node.callspec.id
    if case == "count as text":
        seal_text = json.dumps(seal | {"count": str(seal["count"])})
    elif case == "head as a number":
        seal_text = json.dumps(seal | {"head": 5})
    seal_of(path).write_text(seal_text)
    result = verify_file(path)
    assert (result.ok, result.sealed) == (False, True)
    assert (
        result.reason == "the seal of session.jsonl is malformed, so it cannot vouch for the file."
    )


def test_a_seal_with_another_head_is_a_head_mismatch(tmp_path):
    path = write_file(tmp_path)
    seal = json.loads(seal_of(path).read_text())
    seal_of(path).write_text(json.dumps(seal | {"head": "f" * 64}))
    result = verify_file(path)
    assert result.ok is False
    assert result.reason == (
        f"head mismatch: the seal records head {'f' * 64}, the file's is {seal['head']}."
    )
    seal_of(path).write_text(json.dumps(seal))
    assert verify_file(path).ok


def test_an_empty_file_is_not_a_verified_trail_and_one_record_is(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    result = verify_file(path)
    assert (result.ok, result.count, result.sealed) == (False, 0, False)
    assert result.reason == (
        "empty: the file holds no records, and every session writes at least one "
        "(session_opened); an emptied file is not a verified trail."
    )
    one = tmp_path / "one.jsonl"
    one.write_text(forge([(1, 0)])[0] + "\n")
    assert verify_file(one).ok
    assert verify_file(one).count == 1


def test_a_file_whose_only_record_lacks_its_newline_is_torn(tmp_path):
    # A file is a stream from its first byte: a last line without its newline was cut mid-append,
    # even when it is the only line.
    path = tmp_path / "torn.jsonl"
    path.write_text(forge([(1, 0)])[0])
    result = verify_file(path)
    assert (result.ok, result.torn_tail, result.count, result.first_bad_line) == (False, True, 0, 1)


def test_a_payload_with_its_own_prev_key_still_verifies():
    # A payload may hold an object with a "prev" key after another key: its ',"prev":"' comes
    # before the record's own, which is the last one on the line.
    lines, prev = [], GENESIS_HASH
    for seq in (1, 2):
        line, prev = encode_record(
            seq=seq, step=0, type="t", state="s", payload={"o": {"a": 1, "prev": "x"}}, prev=prev
        )
        lines.append(line)
    assert line.count(',"prev":"') == 2
    result = verify_lines(lines)
    assert (result.ok, result.count) == (True, 2)
