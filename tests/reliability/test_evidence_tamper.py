"""Tampering with real evidence files, as `peak-trade evidence verify` judges them.

Five scenarios (a full-fill session, a preflight failure by design, planted secrets, an overfill
acknowledged by an operator, an amend) run through the CLI with an operator and write their
evidence. Then every line of every file is edited (a character appended, the line deleted,
doubled, swapped with the next, its middle character changed), every field of the digests
block and of its recorded inputs is changed, every byte of one file is flipped, and edits are
made consistently in two places (the operator, the date: in the text and in the inputs). Each
edit must fail, and an edit of the text must be named at its line. The checks run through
`parse_evidence` and `evidence_findings` (what the command runs) against one fresh run per
scenario; the command itself is run on the edits the review reported (final state, positions,
orders, preflight rows, operator, date, title, a decoy digests block first) and on a sample of
the rest. Old-format files get a clear message, and the evidence `make run` writes verifies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.evidence import (
    DIGESTS_HEADING,
    INPUTS_KEY,
    EvidenceAltered,
    EvidenceFormatError,
    parse_evidence,
)
from peak_trade.harness.evidence_check import evidence_findings
from peak_trade.harness.model import load_scenario
from peak_trade.harness.signoff import FIELDS as SIGNOFF_FIELDS
from peak_trade.harness.verdict import Verdict, evaluate

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "snapshots"  # [tool.peak_trade] snapshot_dir
SCENARIOS = (
    "happy_path_full_fills.yaml",
    "preflight/preflight_live_enabled_without_override.yaml",
    "redaction_of_planted_secrets.yaml",
    "overfill_breach_acknowledged.yaml",
    "failure_matrix/fm_amend_price.yaml",
)
OPERATOR = "alice-ops"


@dataclass(frozen=True)
class Evidence:
    path: Path
    raw: bytes
    verdict: Verdict
    scenario_sha256: str


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Evidence]:
    """The evidence the CLI writes for each scenario, with one fresh run of it to check against."""
    out = tmp_path_factory.mktemp("evidence")
    found = {}
    for name in SCENARIOS:
        scenario = ROOT / "scenarios" / name
        argv = ["scenario", "run", str(scenario), "--evidence-dir", str(out)]
        assert main([*argv, "--operator", OPERATOR, "--snapshot-dir", str(SNAPSHOTS)]) == 0
        path = next(out.glob(f"EV-*-{load_scenario(scenario).id.upper()}-PASS.md"))
        # As the command does: the scenario loaded by the path the evidence records.
        loaded = load_scenario(
            str(parse_evidence(path.read_text("utf-8")).digests["scenario_path"])
        )
        verdict = evaluate(loaded, snapshot_dir=SNAPSHOTS)
        sha = loaded.sha256  # as the command computes it: the file's bytes, secrets redacted
        found[name] = Evidence(path, path.read_bytes(), verdict, sha)
    return found


def judge(item: Evidence, raw: bytes, name: str | None = None) -> tuple[bool, int | None]:
    """(verifies, the first line a finding names) for `raw` in place of the evidence file."""
    try:
        text = raw.decode("utf-8")
        recorded = parse_evidence(text).digests
    except UnicodeDecodeError:
        return False, None
    except EvidenceFormatError as exc:
        return False, exc.line
    findings = evidence_findings(
        text,
        recorded,
        item.verdict,
        scenario_sha256=item.scenario_sha256,
        name=item.path.name if name is None else name,
    )
    lines = [f.line for f in findings if f.line is not None]
    return not findings, lines[0] if lines else None


def line_edits(lines: list[bytes]) -> list[tuple[str, int, list[bytes]]]:
    """(edit, the 1-based line it changes first, the edited lines) for every line."""
    edits = []
    for index, line in enumerate(lines):
        number = index + 1
        edits.append(
            ("append a character", number, [*lines[:index], line + b"x", *lines[index + 1 :]])
        )
        edits.append(("delete", number, lines[:index] + lines[index + 1 :]))
        edits.append(("double", number, lines[: index + 1] + lines[index:]))
        if index + 1 < len(lines) and lines[index + 1] != line:
            swapped = [*lines[:index], lines[index + 1], line, *lines[index + 2 :]]
            edits.append(("swap with the next", number, swapped))
        if line:
            middle = len(line) // 2
            char = b"0" if line[middle : middle + 1] != b"0" else b"1"
            changed = line[:middle] + char + line[middle + 1 :]
            edits.append(
                ("change a character", number, [*lines[:index], changed, *lines[index + 1 :]])
            )
    return edits


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_untouched_evidence_verifies(evidence, scenario) -> None:
    assert judge(evidence[scenario], evidence[scenario].raw) == (True, None)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_edit_of_every_line_fails_at_that_line(evidence, scenario) -> None:
    item = evidence[scenario]
    lines = item.raw.split(b"\n")
    digests_at = lines.index(DIGESTS_HEADING.encode()) + 1
    passed, misplaced, tried = [], [], 0
    fields = signoff_field_lines(lines)
    for edit, number, edited in line_edits(lines):
        raw = b"\n".join(edited)
        if raw == item.raw:
            continue  # e.g. swapping two equal lines: no edit at all
        tried += 1
        ok, line = judge(item, raw)
        label = lines[number - 1][: lines[number - 1].find(b":**") + 3]
        if (
            number in fields
            and edit in ("append a character", "change a character")
            and edited[number - 1].startswith(label)
        ):
            assert ok, (edit, number)  # filled in by hand, on its own line: still verifies
            continue
        if ok:
            passed.append((edit, number))
        # A deleted or doubled blank line shows where the texts part, which may be the next
        # line of the same run of blank lines; otherwise the edited line itself is named.
        elif (line is None or not number <= line <= number + 1) and not (
            number >= digests_at - 1 and line is not None and line >= digests_at - 1
        ):
            misplaced.append((edit, number, line))
    assert tried >= 4 * len(lines)  # five kinds of edit; blank lines take fewer
    assert passed == []
    assert misplaced == []


def signoff_field_lines(lines: list[bytes]) -> set[int]:
    """The 1-based numbers of the sign-off field lines (the last lines before the digests but
    one), which an operator fills in by hand."""
    end = lines.index(DIGESTS_HEADING.encode())
    numbers = set(range(end - len(SIGNOFF_FIELDS), end))  # 0-based end-1 is a blank line
    assert all(lines[n - 1].startswith(b"- **") for n in numbers)
    return numbers


def digests_line(raw: bytes) -> tuple[list[bytes], int, dict]:
    lines = raw.split(b"\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(b'{"audit_head"'))
    return lines, index, json.loads(lines[index])


def changed_value(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if not value.endswith("0") else "1") if value else "x"
    return None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_field_of_the_digests_and_of_the_inputs_is_bound(evidence, scenario) -> None:
    item = evidence[scenario]
    lines, index, data = digests_line(item.raw)
    edits = [({**data, key: changed_value(v)}, key) for key, v in data.items() if key != INPUTS_KEY]
    inputs = data[INPUTS_KEY]
    for key, value in inputs.items():
        edits.append(({**data, INPUTS_KEY: {**inputs, key: changed_value(value)}}, key))
        if value is not None:
            edits.append(({**data, INPUTS_KEY: {**inputs, key: None}}, f"{key}=null"))
    edits.append(({k: v for k, v in data.items() if k != "text_sha256"}, "no text_sha256"))
    edits.append(({**data, "extra": "x"}, "an extra key"))
    assert len(edits) >= 2 * len(inputs) + len(data)
    for edited, what in edits:
        text = json.dumps(edited, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        raw = b"\n".join([*lines[:index], text.encode(), *lines[index + 1 :]])
        ok, line = judge(item, raw)
        assert not ok, what
        assert line == index + 1, (what, line)  # named at the digests, where the edit is


def test_every_byte_flipped_fails_at_its_line(evidence) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    starts = [0]
    for line in item.raw.split(b"\n"):
        starts.append(starts[-1] + len(line) + 1)
    fields = signoff_field_lines(item.raw.split(b"\n"))
    passed, unlocated = [], []
    for position in range(len(item.raw)):
        flipped = bytearray(item.raw)
        flipped[position] ^= 0x01
        ok, line = judge(item, bytes(flipped))
        number = next(i for i, start in enumerate(starts) if start > position)
        line_text = item.raw.split(b"\n")[number - 1]
        column = position - starts[number - 1]
        if number in fields and line_text.index(b":**") + 3 <= column < len(line_text):
            assert ok, position  # in a sign-off field, after its label: filled in by hand
            continue
        if ok:
            passed.append(position)
        elif line is None and item.raw[position : position + 1] not in b"\x80\xff":
            unlocated.append((position, number))
    assert passed == []
    # Even a flip in the digests heading or its fences names a line (where the heading belongs).
    assert unlocated == []


def replace_lines(raw: bytes, old: str, new: str) -> bytes:
    text = raw.decode("utf-8")
    assert old in text, old
    return text.replace(old, new).encode("utf-8")


def test_an_edit_made_consistently_in_the_text_and_its_inputs_still_fails(evidence) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    renamed = replace_lines(item.raw, OPERATOR, "mallory")  # the text line and the inputs
    assert renamed.count(b"mallory") == 2
    assert judge(item, renamed)[0] is False
    date = re.search(rb"\*\*Date:\*\* (\d{4}-\d{2}-\d{2})", item.raw)[1].decode()
    redated = replace_lines(item.raw, date, "2020-02-02")
    assert judge(item, redated, name=item.path.name)[0] is False
    # ... and in the file name too: the text above the digests is hashed in them.
    name = re.sub(r"EV-\d{8}", "EV-20200202", item.path.name)
    assert judge(item, redated, name=name)[0] is False
    # A file named like evidence must carry its own date and scenario id.
    assert judge(item, item.raw, name=name)[0] is False
    assert judge(item, item.raw, name="EV-copy.md")[0] is True  # another name is not judged


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--snapshot-dir", str(SNAPSHOTS)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def first_line_starting(raw: bytes, prefix: str) -> int:
    lines = raw.decode("utf-8").split("\n")
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


# The edits the review reported passing: (name, line prefix, old, new).
REPORTED = [
    ("final state", "- **Final state:**", "`STOPPED`", "`DRYRUN_ACTIVE`"),
    ("steps", "- **Final state:**", "after 4", "after 5"),
    ("a refusal, a breach, an action", "| 4 | DRYRUN_ACTIVE → STOPPING |", "| 4 |", "| 3 |"),
    ("a message", "    S->>B: step 1: new order o-1", "buy", "sell"),
    ("an expectation", "| `expect.final_state` |", "met", "not met"),
    ("the reproducibility line", "- **Reproducible:**", ":** ", ":** yes: "),
    ("a sign-off field's label", "- **Signature:**", "Signature", "Signed"),
    ("a position", "| AAPL | 100 |", "100", "10"),
    ("an order row", "| o-1 | AAPL |", "filled", "new"),
    ("a preflight row", "| live_disabled |", "| yes |", "| **no** |"),
    ("the operator", "- **Operator:**", OPERATOR, "mallory"),
    ("the date", "- **Date:**", "(UTC)", "(CET)"),
    ("the title", "# Evidence:", "happy", "sad"),
    ("the verdict", "- **Verdict:**", "PASS", "FAIL"),
    ("the chain head", "- **Chain head:**", "`", "`0"),
]


@pytest.mark.parametrize(("what", "prefix", "old", "new"), REPORTED, ids=[r[0] for r in REPORTED])
def test_the_reported_edits_fail_through_the_command(
    evidence, tmp_path, capsys, what, prefix, old, new
) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    number = first_line_starting(item.raw, prefix)
    lines = item.raw.decode("utf-8").split("\n")
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    target = tmp_path / item.path.name
    target.write_text("\n".join(lines), encoding="utf-8")
    code, out, err = cli(capsys, "evidence", "verify", str(target))
    assert (code, out) == (1, ""), what
    assert err.startswith(
        f"{target}:{number}: error: the evidence text differs from what the re-run renders: "
        f"line {number} reads "
    ), err


def test_a_decoy_digests_block_placed_first_fails(evidence, tmp_path, capsys) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    text = item.raw.decode("utf-8")
    block = text[text.index(DIGESTS_HEADING) :]
    forged = block.replace('"audit_records":', '"audit_records":1', 1)
    target = tmp_path / item.path.name
    target.write_text(forged + "\n" + text, encoding="utf-8")
    code, out, err = cli(capsys, "evidence", "verify", str(target))
    assert (code, out) == (1, "")
    heading = text.split("\n").index(DIGESTS_HEADING) + 1 + forged.count("\n") + 1
    assert err == (
        f"{target}:1: error: 2 '## Digests' sections (lines 1, {heading}): evidence has exactly "
        "one, so the file was edited; a second digests block is never trusted\n"
    )
    with pytest.raises(EvidenceAltered):
        parse_evidence(text + "\n" + block)


def test_a_sample_of_every_kind_of_line_edit_fails_through_the_command(
    evidence, tmp_path, capsys
) -> None:
    item = evidence["overfill_breach_acknowledged.yaml"]
    edits = line_edits(item.raw.split(b"\n"))
    target = tmp_path / item.path.name
    for edit, number, edited in edits[::23]:  # a prime stride: every kind of edit, many lines
        target.write_bytes(b"\n".join(edited))
        code, out, err = cli(capsys, "evidence", "verify", str(target))
        assert code in (1, 2), (edit, number)
        assert out == "", (edit, number)
        assert err.startswith(f"{target}:"), err


def test_the_evidence_the_cli_writes_verifies_and_an_old_format_file_is_refused_clearly(
    evidence, tmp_path, capsys
) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    code, out, err = cli(capsys, "evidence", "verify", str(item.path))
    assert (code, err) == (0, "")
    assert out.startswith(f"{item.path}: ok: scenario happy_path_full_fills ")
    assert "and the whole evidence text" in out
    # Format 1 (what peak_trade wrote before): its body was never bound, so it is not verified.
    lines, index, data = digests_line(item.raw)
    old = {k: v for k, v in data.items() if k not in (INPUTS_KEY, "text_sha256")}
    old["format"] = "peak_trade.evidence/1"
    lines[index] = json.dumps(old, sort_keys=True, separators=(",", ":")).encode()
    target = tmp_path / item.path.name
    target.write_bytes(b"\n".join(lines))
    code, out, err = cli(capsys, "evidence", "verify", str(target))
    assert (code, out) == (2, "")
    assert err == (
        f"{target}:{index + 1}: error: this evidence is in the old format peak_trade.evidence/1, "
        "which bound only its digests block and not the text around it, so it cannot be "
        f"verified; run `peak-trade scenario run {data['scenario_path']}` again to write "
        "evidence in format peak_trade.evidence/3\n"
    )


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('{"operator":"\\ud800"}', "not valid Unicode (a lone surrogate escape)"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        ("1" * 5000, "not valid JSON"),  # past Python's digit limit for int()
    ],
    ids=["lone surrogate", "deep list", "deep object", "huge number"],
)
def test_a_hostile_digests_block_is_bad_input_not_a_crash(
    evidence, tmp_path, capsys, block, message
) -> None:
    item = evidence["happy_path_full_fills.yaml"]
    lines, index, _ = digests_line(item.raw)
    lines[index] = block.encode()
    target = tmp_path / item.path.name
    target.write_bytes(b"\n".join(lines))
    code, out, err = cli(capsys, "evidence", "verify", str(target))
    assert (code, out) == (2, "")
    assert err.startswith(f"{target}:{index + 1}: error: the digests block ")
    assert message in err
