"""Tampering with a real session's audit file, as `peak-trade audit verify` reports it.

tests/execution/live/audit_trail/test_verify.py covers `verify_file` on a synthetic five-record
trail. This file starts from what users verify: the sealed audit file the CLI writes for a real
scenario run (`scenario run --audit-dir`), and checks the command's exit code and its located
message for each kind of tampering: every byte position flipped, a record deleted, two swapped, a
mid-line truncation (a torn last line, named by its number), a clean cut at a line boundary
(caught by the seal alone), the seal deleted (an unsealed trail fails unless --allow-unsealed), an
emptied file, and recomputed chains with the seal deleted or rewritten: `audit verify` alone
cannot catch a recomputed chain with a rewritten seal (the documented limitation is asserted to
hold, so the documentation stays true), and `evidence verify EV.md --audit FILE` catches every one
of them through the head the evidence records and the re-run reproduces.
"""

from __future__ import annotations

import bisect
import json
import re
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.live.audit import (
    FORMAT,
    GENESIS_HASH,
    canonical_json,
    encode_record,
    verify_file,
    verify_lines,
)
from peak_trade.harness.project_config import load_project_config

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "happy_path_full_fills.yaml"
SNAPSHOTS = load_project_config(ROOT).snapshot_dir  # [tool.peak_trade] snapshot_dir
DOC = ROOT / "docs" / "audit-format.md"
MASKS = (0x01, 0x20, 0x80)  # a low bit; 0x20 upper-cases hex digits; 0x80 breaks UTF-8


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    """The sealed audit file of a real CLI run; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    argv = ["scenario", "run", str(SCENARIO), "--audit-dir", "audit", "--evidence-dir", "ev"]
    main([*argv, "--snapshot-dir", str(SNAPSHOTS)])
    capsys.readouterr()
    path = Path("audit") / "happy_path_full_fills.jsonl"
    result = verify_file(path)
    assert (result.ok, result.sealed) == (True, True), result.reason
    return path


def verify_cli(path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["audit", "verify", str(path), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def seal_of(path: Path) -> Path:
    return path.with_name(path.name + ".seal")


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def test_every_byte_flip_of_a_real_trail_is_found_at_its_line(audit: Path) -> None:
    data = audit.read_bytes()
    starts = [0]
    for line in lines_of(data):
        starts.append(starts[-1] + len(line))
    undetected, misplaced = [], []
    for position in range(len(data)):
        line = bisect.bisect_right(starts, position)  # 1-based
        for mask in MASKS:
            tampered = bytearray(data)
            tampered[position] ^= mask
            result = verify_lines(lines_of(bytes(tampered)))
            if result.ok:
                undetected.append((position, mask))
            elif result.first_bad_line != line:
                misplaced.append((position, mask, result.first_bad_line, line))
    assert undetected == []
    assert misplaced == []


def test_the_cli_names_the_flipped_line_for_every_line(audit: Path, capsys) -> None:
    data = audit.read_bytes()
    lines = lines_of(data)
    for number, line in enumerate(lines, start=1):
        offset = sum(len(x) for x in lines[: number - 1]) + len(line) // 2  # inside the payload
        tampered = bytearray(data)
        tampered[offset] ^= 0x01
        audit.write_bytes(bytes(tampered))
        code, out, err = verify_cli(audit, capsys)
        assert (code, out) == (1, ""), err
        first = err.splitlines()[0]
        assert first.startswith(f"{audit}:{number}: error: "), first
        assert re.search(rf"(hash mismatch|line {number} is malformed)", first), first
        if number > 1:
            assert f"note: the {number - 1} record(s) before it verify" in err
    audit.write_bytes(data)
    assert verify_cli(audit, capsys)[0] == 0


def test_a_deleted_record_is_named_by_the_next_line(audit: Path, capsys) -> None:
    lines = lines_of(audit.read_bytes())
    audit.write_bytes(b"".join(lines[:4] + lines[5:]))  # record 5 deleted
    code, _, err = verify_cli(audit, capsys)
    assert code == 1
    assert err.startswith(f"{audit}:5: error: prev mismatch at line 5: ")
    assert f"{audit}: note: the 4 record(s) before it verify" in err


def test_two_swapped_records_are_named_at_the_first(audit: Path, capsys) -> None:
    lines = lines_of(audit.read_bytes())
    lines[6], lines[7] = lines[7], lines[6]
    audit.write_bytes(b"".join(lines))
    code, _, err = verify_cli(audit, capsys)
    assert code == 1
    assert err.startswith(f"{audit}:7: error: prev mismatch at line 7: ")


@pytest.mark.parametrize("into", [1, 40, -2])  # bytes into the line; -2: all but its newline
def test_a_mid_line_truncation_is_a_torn_last_line_named_precisely(audit: Path, capsys, into):
    data = audit.read_bytes()
    lines = lines_of(data)
    keep = 9  # whole records kept
    cut = sum(len(x) for x in lines[:keep]) + (into if into > 0 else len(lines[keep]) + into + 1)
    audit.write_bytes(data[:cut])
    code, out, err = verify_cli(audit, capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"{audit}:{keep + 1}: error: torn last line {keep + 1}: the file ends mid-record "
        f"(crash during append?); the {keep} records before it verify.\n"
    )


def test_a_clean_cut_at_a_line_boundary_is_caught_by_the_seal_alone(audit: Path, capsys) -> None:
    seal = json.loads(seal_of(audit).read_text())
    lines = lines_of(audit.read_bytes())
    for keep in (len(lines) - 1, 1):
        audit.write_bytes(b"".join(lines[:keep]))
        code, _, err = verify_cli(audit, capsys)
        assert code == 1
        assert err == (
            f"{audit}:{keep}: error: truncated: the seal records {seal['count']} records with "
            f"head {seal['head']}, the file has {keep}.\n"
        )
    # With its seal deleted too, the cut is an unsealed trail: a failure unless allowed.
    seal_of(audit).unlink()
    code, out, err = verify_cli(audit, capsys)
    assert (code, out) == (1, "")
    assert err.startswith(f"{audit}:1: error: unsealed: the 1 records, head ")
    code, out, _ = verify_cli(audit, capsys, "--allow-unsealed")
    assert code == 0
    assert out.endswith(
        "(no seal: a clean cut at a record boundary would not be detected; allowed by "
        "--allow-unsealed)\n"
    )


def evidence_of() -> Path:
    return next(Path("ev").glob("EV-*-HAPPY_PATH_FULL_FILLS-PASS.md"))


def evidence_cli(audit: Path, capsys) -> tuple[int, str, str]:
    argv = ["evidence", "verify", str(evidence_of()), "--audit", str(audit)]
    code = main([*argv, "--snapshot-dir", str(SNAPSHOTS)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_the_evidence_binds_its_sealed_trail(audit: Path, capsys) -> None:
    code, out, err = evidence_cli(audit, capsys)
    assert (code, err) == (0, ""), err
    head = verify_file(audit).head
    assert out.splitlines()[1] == (
        f"{audit}: ok: the sealed trail of this run: 25 records, head {head}, as the evidence "
        "records"
    )


def recompute(path: Path, edit) -> str:
    """Edit records and recompute every hash after them, as a forger would; returns the head."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    edit(records)
    out, prev = [], GENESIS_HASH
    for seq, record in enumerate(records, start=1):
        fields = {key: record[key] for key in ("step", "type", "state", "payload")}
        line, prev = encode_record(seq=seq, prev=prev, **fields)
        out.append(line + "\n")
    path.write_text("".join(out), encoding="utf-8")
    return prev


def reseal(path: Path, head: str) -> int:
    """Rewrite the seal to match the file, as a forger would; returns the record count."""
    count = len(lines_of(path.read_bytes()))
    seal = {"count": count, "file": path.name, "format": FORMAT, "head": head}
    seal_of(path).write_text(canonical_json(seal) + "\n")
    return count


def forge_fill_price(records: list[dict]) -> None:
    fills = [r for r in records if r["payload"].get("exec_type") == "trade"]
    fills[0]["payload"]["last_px"] = "0.01"


def test_a_recomputed_chain_is_caught_by_its_old_seal_or_by_the_evidence(audit, capsys) -> None:
    original_head = verify_file(audit).head
    new_head = recompute(audit, forge_fill_price)
    code, _, err = verify_cli(audit, capsys)
    assert code == 1  # the old seal still names the old head
    assert "error: head mismatch: the seal records head " in err
    # A forger who also rewrites the seal passes `audit verify` alone: the file holds nothing
    # a forger cannot recompute (the documented limitation, asserted so the docs stay true)...
    count = reseal(audit, new_head)
    code, out, err = verify_cli(audit, capsys)
    assert (code, err) == (0, "")
    assert out == f"{audit}: ok: {count} records, head {new_head} (sealed)\n"
    doc = DOC.read_text(encoding="utf-8")
    row = "| whole chain recomputed after an edit, seal rewritten | **no** (alone) |"
    assert f"{row} yes: head differs |" in doc
    assert re.search(r"external\s+anchor", doc)
    # ...but not the evidence: the run it records reproduces the original head, not the forger's.
    code, out, err = evidence_cli(audit, capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"{audit}:{count}: error: audit_head differs: the evidence records head {original_head}, "
        f"the file's is {new_head}\n"
    )


# name -> how a forger rewrites the trail (records edited, chain recomputed) and what the seal
# becomes; each passes no check: `audit verify` fails it alone, or the evidence does.
FORGERIES = {
    "a record deleted, re-chained, seal deleted": (lambda r: r.pop(5), "delete"),
    "a record deleted, re-chained, seal rewritten": (lambda r: r.pop(5), "rewrite"),
    "cut after 10 records, seal deleted": (lambda r: r.__delitem__(slice(10, None)), "delete"),
    "cut after 10 records, seal rewritten": (lambda r: r.__delitem__(slice(10, None)), "rewrite"),
    "a fill price edited, re-chained, seal deleted": (forge_fill_price, "delete"),
    "emptied, seal deleted": (lambda r: r.clear(), "delete"),
    "emptied, seal rewritten": (lambda r: r.clear(), "rewrite"),
    "emptied, seal kept": (lambda r: r.clear(), "keep"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_trail_never_verifies_against_its_evidence(audit, capsys, name) -> None:
    edit, seal = FORGERIES[name]
    original_head = verify_file(audit).head
    new_head = recompute(audit, edit)
    if seal == "delete":
        seal_of(audit).unlink()
    elif seal == "rewrite":
        reseal(audit, new_head)
    alone, out, err = verify_cli(audit, capsys)
    emptied = not audit.read_bytes()
    if seal == "delete" or emptied:
        assert (alone, out) == (1, ""), name
        assert ("error: empty: " if emptied else "error: unsealed: ") in err, err
    else:
        assert alone == 0, name  # the limitation without an anchor
    code, out, err = evidence_cli(audit, capsys)
    assert (code, out) == (1, ""), name
    assert new_head != original_head
    if not emptied:
        assert f"the evidence records head {original_head}, the file's is {new_head}" in err
    evidence = evidence_of().read_text(encoding="utf-8")
    assert f'"audit_head":"{original_head}"' in evidence  # the external anchor that catches it


@pytest.mark.parametrize(
    "seal",
    [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b"[]", b'{"count": "24"}', b""],
    ids=["deep nesting", "not UTF-8", "a list", "a string count", "empty"],
)
def test_a_malformed_seal_is_a_located_failure_not_a_crash(audit: Path, capsys, seal) -> None:
    seal_of(audit).write_bytes(seal)
    code, out, err = verify_cli(audit, capsys)
    assert (code, out) == (1, "")
    # The error points at the last record, the one the seal would vouch for.
    last_line = audit.read_bytes().count(b"\n")
    assert err == (
        f"{audit}:{last_line}: error: the seal of {audit.name} is malformed, so it cannot "
        "vouch for the file.\n"
    )
