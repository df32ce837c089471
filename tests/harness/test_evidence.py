"""Evidence: pure, deterministic, redacted Markdown with a digests block that can be re-checked."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from peak_trade.execution.live.audit import canonical_json
from peak_trade.execution.live.audit_trail.redaction import REDACTED
from peak_trade.harness import evidence
from peak_trade.harness.evidence import (
    EVIDENCE_FORMAT,
    EvidenceAltered,
    EvidenceFormatError,
    differing_digests,
    evidence_filename,
    parse_digests,
    render_evidence,
    write_evidence,
    write_text_atomic,
)
from peak_trade.harness.model import load_scenario
from peak_trade.harness.reproducibility import NO_REPOSITORY, GitFacts
from peak_trade.harness.verdict import Verdict, evaluate

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "happy_path_full_fills.yaml"
SECRET = "sk-canary-0001"
OPERATOR_SECRET = "pw-operator-canary-77"
DAY = dt.date(2024, 5, 1)

SECRET_SCENARIO = f"""\
id: secret_canary
title: Canary {SECRET} in the title | with a pipe
description: the secret {SECRET} must never reach evidence
config:
  allowlist: [AAPL]
  max_steps: 5
  drain_steps: 2
  rails: {{unbounded: true}}
  secrets: {{api_key: "{SECRET}", other: "{OPERATOR_SECRET}"}}
broker:
  reference_prices: {{AAPL: "190.10"}}
steps:
  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: "10", note: "key {SECRET}"}}
  - {{}}
  - stop: done with {SECRET}
expect:
  final_state: STOPPED
"""


def facts(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "operator": "alice",
        "date": DAY,
        "command": "peak-trade scenario run scenarios/happy_path_full_fills.yaml",
        "version": "9.9.9",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "scenario_in_git": "committed",
        "python": "3.11.7",
        "platform": "Linux x86_64",
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def happy() -> Verdict:
    verdict = evaluate(load_scenario(HAPPY), snapshot_dir=None)
    assert verdict.passed
    return verdict


@pytest.fixture
def secret_verdict(tmp_path: Path) -> Verdict:
    path = tmp_path / "secret_canary.yaml"
    path.write_text(SECRET_SCENARIO, encoding="utf-8")
    verdict = evaluate(load_scenario(path), snapshot_dir=None)
    assert verdict.passed, verdict.mismatches
    return verdict


def test_filename_is_dated_upper_cased_and_says_pass():
    assert evidence_filename("happy_path-1", DAY) == "EV-20240501-HAPPY_PATH-1-PASS.md"
    assert evidence_filename("x", dt.date(1999, 12, 31)) == "EV-19991231-X-PASS.md"


def test_render_has_every_section_a_reviewer_needs(happy: Verdict):
    text = render_evidence(happy, **facts())
    scenario, result = happy.scenario, happy.result
    assert text.startswith(f"# Evidence: {scenario.id}: {scenario.title}\n")
    for expected in (
        "- **Operator:** alice",
        "- **Date:** 2024-05-01 (UTC)",
        f"- **Scenario:** `{scenario.path}`",
        f"- **Scenario SHA-256:** `{scenario.sha256}`",
        "- **peak_trade:** 9.9.9",
        "- **Git commit:** `0123456789abcdef0123456789abcdef01234567`",
        "- **Verdict:** **PASS**",
        "```sh\npeak-trade scenario run scenarios/happy_path_full_fills.yaml\n```",
        "- **Final state:** `STOPPED` after 4 step(s)",
        "| 0 | INIT → PREFLIGHT_OK | preflight_passed |",
        "| 4 | DRYRUN_ACTIVE → STOPPING | stop_requested: end of rehearsal |",
        "| 4 | STOPPING → STOPPED | drained |",
        "| Check | OK | Detail |",
        "| live_disabled | yes | live trading is off |",
        "| Id | Symbol | Side | Qty | Status | Cum | Leaves | Avg px | Fills |",
        "| o-1 | AAPL | buy | 100 | filled | 100 | 0 | 190.10 | 1 |",
        "| o-2 | MSFT | sell | 50 | filled | 50 | 0 | 410.00 | 1 |",
        "| AAPL | 100 |",
        "| MSFT | -50 |",
        f"- **Audit records:** {result.count}",
        f"- **Chain head:** `{result.head}`",
        "- **Snapshot:** `happy_path_full_fills.json`",
        "- **Python:** 3.11.7",
        "- **Platform:** Linux x86_64",
        "## Digests\n\n```json\n",
    ):
        assert expected in text, expected
    assert text.endswith("\n```\n")  # the digests block closes the file


def test_digests_block_is_canonical_json_that_parses_back(happy: Verdict):
    text = render_evidence(happy, **facts())
    parsed = parse_digests(text)
    assert parsed == {
        "format": EVIDENCE_FORMAT,
        "scenario_id": happy.scenario.id,
        "scenario_path": happy.scenario.path,
        "scenario_sha256": hashlib.sha256(HAPPY.read_bytes()).hexdigest(),
        "audit_records": happy.result.count,
        "audit_head": happy.result.head,
        "snapshot_sha256": hashlib.sha256(happy.snapshot_text.encode()).hexdigest(),
        "peak_trade_version": "9.9.9",
        "inputs": {
            "command": "peak-trade scenario run scenarios/happy_path_full_fills.yaml",
            "date": "2024-05-01",
            "git_commit": "0123456789abcdef0123456789abcdef01234567",
            "operator": "alice",
            "platform": "Linux x86_64",
            "python": "3.11.7",
            "scenario_in_git": "committed",
            "snapshot": "happy_path_full_fills.json",
        },
        "text_sha256": hashlib.sha256(text.split("## Digests\n")[0].encode()).hexdigest(),
    }
    assert f"```json\n{canonical_json(parsed)}\n```\n" in text
    assert differing_digests(parsed, dict(parsed)) == []
    changed = {**parsed, "audit_head": "f" * 64, "peak_trade_version": "0"}
    assert differing_digests(parsed, changed) == [("audit_head", parsed["audit_head"], "f" * 64)]


def test_optional_facts_are_left_out_when_unknown(happy: Verdict):
    text = render_evidence(
        happy, **facts(operator=None, git_commit=None, scenario_in_git=NO_REPOSITORY)
    )
    assert "- **Operator:**" not in text
    assert "Git commit" not in text
    assert "happy_path_full_fills.yaml` is not in a git repository, so no commit can" in text


def test_snapshot_name_can_be_given(happy: Verdict):
    text = render_evidence(happy, **facts(), snapshot_name="tests/__snapshots__/x/y.json")
    assert "- **Snapshot:** `tests/__snapshots__/x/y.json` (SHA-256 `" in text


def test_identical_inputs_give_identical_text_apart_from_the_date(happy: Verdict):
    first = render_evidence(happy, **facts())
    again = render_evidence(evaluate(load_scenario(HAPPY), snapshot_dir=None), **facts())
    later = render_evidence(happy, **facts(date=dt.date(2031, 1, 2)))
    assert first == again
    differing = [
        (a, b) for a, b in zip(first.splitlines(), later.splitlines(), strict=True) if a != b
    ]
    # The date, and the digests block that records it and hashes the text above it.
    assert differing[0] == ("- **Date:** 2024-05-01 (UTC)", "- **Date:** 2031-01-02 (UTC)")
    assert len(differing) == 2
    assert '"date":"2031-01-02"' in differing[1][1]


def test_planted_secrets_never_appear(secret_verdict: Verdict):
    text = render_evidence(secret_verdict, **facts(operator=f"bob {OPERATOR_SECRET}"))
    assert SECRET not in text
    assert OPERATOR_SECRET not in text
    assert REDACTED in text
    assert f"# Evidence: secret_canary: Canary {REDACTED} in the title \\| with a pipe" in text
    assert parse_digests(text)["scenario_id"] == "secret_canary"


def test_a_failing_verdict_says_so(tmp_path: Path):
    path = tmp_path / "happy.yaml"
    path.write_text(
        HAPPY.read_text(encoding="utf-8").replace("steps_run: 4", "steps_run: 5"),
        encoding="utf-8",
    )
    verdict = evaluate(load_scenario(path), snapshot_dir=None)
    text = render_evidence(verdict, **facts())
    assert "- **Verdict:** **FAIL**: 1 expectation(s) not met" in text
    assert "- expect.steps_run: expected 5, got 4" in text
    with pytest.raises(ValueError, match="passing verdict only"):
        write_evidence(verdict, tmp_path, operator=None, command="x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Notes\n\nnothing here\n", "not peak_trade evidence"),
        ("## Digests\n\n```json\n{not json\n```\n", "not valid JSON"),
        ("## Digests\n\n```json\n[1, 2]\n```\n", "not a JSON object"),
        ('## Digests\n\n```json\n{"format": "other/1"}\n```\n', "has format 'other/1'"),
        (
            '## Digests\n\n```json\n{"format": "peak_trade.evidence/1", "scenario_path": "s.yaml"}'
            "\n```\n",
            "old format peak_trade.evidence/1, which bound only its digests block",
        ),
        ("## Digests\n\n```json\n{}\n", "has no ```json block, closed by a ``` line"),
        (f'## Digests\n\n```json\n{{"format": "{EVIDENCE_FORMAT}"}}\n```\n', "lacks audit_head"),
    ],
)
def test_malformed_digests_are_refused(text: str, message: str):
    with pytest.raises(EvidenceFormatError, match=message):
        parse_digests(text)


def test_digest_types_are_checked(happy: Verdict):
    data = parse_digests(render_evidence(happy, **facts()))
    inputs = data["inputs"]
    for key, bad, message in (
        ("audit_records", "22", "audit_records"),
        ("audit_records", True, "audit_records"),
        ("audit_head", 7, "audit_head"),
        ("text_sha256", "", "text_sha256"),
        ("inputs", [], "inputs is not a JSON object"),
        ("inputs", {**inputs, "extra": 1}, "inputs must hold exactly"),
        ("inputs", {**inputs, "date": "2024-13-01"}, "not a YYYY-MM-DD date"),
        ("inputs", {**inputs, "date": "20240501"}, "not a YYYY-MM-DD date"),
        ("inputs", {**inputs, "command": None}, "command is not a string"),
        ("inputs", {**inputs, "operator": 3}, "operator is not a string or null"),
    ):
        text = f"## Digests\n\n```json\n{json.dumps({**data, key: bad})}\n```\n"
        with pytest.raises(EvidenceFormatError, match=message) as caught:
            parse_digests(text)
        assert caught.value.line == 4


def test_exactly_one_digests_block_is_accepted(happy: Verdict):
    text = render_evidence(happy, **facts())
    block = text[text.index("## Digests\n") :]
    for forged in (block + "\n" + text, text + "\n" + block):  # a decoy first, or after
        with pytest.raises(EvidenceAltered, match="2 '## Digests' sections") as caught:
            parse_digests(forged)
        assert caught.value.line == forged.split("\n").index("## Digests") + 1
    inside = text.replace("```sh\n", "```sh\n## Digests\n", 1)  # also inside a fenced block
    with pytest.raises(EvidenceAltered, match="2 '## Digests' sections"):
        parse_digests(inside)


def test_write_evidence_gathers_facts_and_writes_atomically(
    happy: Verdict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(evidence, "today", lambda: DAY)
    monkeypatch.setattr(
        evidence,
        "scenario_git",
        lambda scenario, lookup=None: GitFacts(commit=None, status=NO_REPOSITORY),
    )
    target = tmp_path / "new" / "evidence"
    path = write_evidence(happy, target, operator="carol", command="peak-trade scenario run x")
    assert path == target / "EV-20240501-HAPPY_PATH_FULL_FILLS-PASS.md"
    text = path.read_text(encoding="utf-8")
    assert "- **Operator:** carol" in text
    assert "- **Date:** 2024-05-01 (UTC)" in text
    assert [p.name for p in target.iterdir()] == [path.name]  # no temp file left behind
    write_evidence(happy, target, operator="dave", command="peak-trade scenario run x")
    assert "- **Operator:** dave" in path.read_text(encoding="utf-8")  # replaced in place
    assert [p.name for p in target.iterdir()] == [path.name]


def test_the_wallclock_is_marked(happy: Verdict):
    source = Path(evidence.__file__).read_text(encoding="utf-8")
    marked = [line for line in source.splitlines() if "# wallclock: evidence date" in line]
    assert len(marked) == 1
    assert "now(" in marked[0]


def test_write_text_atomic_without_overwrite_refuses_an_existing_file(tmp_path: Path):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "one\n", overwrite=False)
    with pytest.raises(FileExistsError):
        write_text_atomic(path, "two\n", overwrite=False)
    assert path.read_text(encoding="utf-8") == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
