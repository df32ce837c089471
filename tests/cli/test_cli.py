"""The `peak-trade` command line, in process: exit codes, located messages, files written.

Each test works in a hermetic tree under tmp_path (scenarios/, schemas/ and the stored snapshot
rendered from a fresh run), so it depends neither on the repository's snapshot files nor on
what else lies in scenarios/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import peak_trade
from peak_trade.cli import scenario_cmds
from peak_trade.cli.main import main
from peak_trade.execution.live.audit import verify_file
from peak_trade.execution.live.audit_trail.redaction import REDACTED
from peak_trade.harness.evidence import evidence_filename, parse_digests, today
from peak_trade.harness.model import load_scenario
from peak_trade.harness.project_config import DEFAULTS
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]
HAPPY_ID = "happy_path_full_fills"
# The happy scenario's audit length, from the scenario itself (it changes with the engine).
_HAPPY_SOURCE = Path(__file__).resolve().parents[2] / "scenarios" / f"{HAPPY_ID}.yaml"
HAPPY_RECORDS = len(evaluate(load_scenario(_HAPPY_SOURCE), snapshot_dir=None).result.audit_lines)
HAPPY = f"scenarios/{HAPPY_ID}.yaml"
HAPPY_EVIDENCE = f"evidence/{evidence_filename(HAPPY_ID, today())}"
# The tree has no pyproject.toml, so the CLI uses the default snapshot folder.
DEFAULT_SNAPSHOT_DIR = Path(str(DEFAULTS["snapshot_dir"]))


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / HAPPY, tmp_path / HAPPY)
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    record_snapshot(HAPPY)
    return tmp_path


def record_snapshot(path: str) -> None:
    """What `pytest --snapshot-update` would store for the scenario at `path`."""
    scenario = load_scenario(path)
    stored = snapshot_path(DEFAULT_SNAPSHOT_DIR, scenario.id)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(evaluate(scenario, snapshot_dir=None).snapshot_text, encoding="utf-8")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err  # never, whatever went wrong
    return code, captured.out, captured.err


def edit(path: str | Path, old: str, new: str) -> None:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def copy_happy(name: str, *, new_id: str | None = None) -> str:
    target = Path("scenarios") / f"{name}.yaml"
    shutil.copy(HAPPY, target)
    if new_id is not None:
        edit(target, f"id: {HAPPY_ID}", f"id: {new_id}")
    return target.as_posix()


# --- entry points and arguments ------------------------------------------------------------------


def test_module_entry_point_prints_the_version():
    done = subprocess.run(
        [sys.executable, "-m", "peak_trade", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"peak-trade {peak_trade.__version__}"


def test_console_script_entry_point_runs_in_process(capsys):
    code, out, _ = cli(capsys, "--version")
    assert (code, out.strip()) == (0, f"peak-trade {peak_trade.__version__}")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["scenario"],
        ["scenario", "validate", "--no-such-flag"],
        ["scenario", "run", "--no-such-flag", "x"],
        ["frobnicate"],
        ["audit", "verify"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert "usage: peak-trade" in err


# --- list and validate ---------------------------------------------------------------------------


def test_list_shows_id_title_and_tags(tree, capsys):
    code, out, err = cli(capsys, "scenario", "list")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split() == ["ID", "TITLE", "TAGS"]
    assert row.startswith(f"{HAPPY_ID}  Happy path - two symbols, every order acked")
    assert row.endswith("happy-path, fills")


def test_list_still_lists_the_valid_files_when_one_is_invalid(tree, capsys):
    Path("scenarios/broken.yaml").write_text("id: broken\ntitle: [\n", encoding="utf-8")
    code, out, err = cli(capsys, "scenario", "list", "scenarios")
    assert code == 2
    assert HAPPY_ID in out
    assert err.startswith("scenarios/broken.yaml:")


def test_validate_ok(tree, capsys):
    code, out, err = cli(capsys, "scenario", "validate", "scenarios")
    assert (code, out, err) == (0, "1 scenario file(s) valid\n", "")


def test_validate_names_every_problem_as_one_located_line(tree, capsys):
    bad = copy_happy("bad", new_id="bad")
    edit(bad, 'qty: "100"}', 'qty: "-5"}')
    edit(bad, "final_state: STOPPED", "final_state: STOPED")
    code, out, err = cli(capsys, "scenario", "validate", "scenarios")
    assert code == 2
    assert out == "1 of 2 scenario file(s) invalid\n"
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("scenarios/bad.yaml:21:53: error: 'qty' must be ")
    assert lines[0].endswith(" [at /steps/0/submit/qty]")
    assert lines[1].startswith("scenarios/bad.yaml:27:16: error: 'final_state' must be ")
    assert lines[1].endswith(" [at /expect/final_state]")


def test_validate_reports_unreadable_yaml_with_its_location(tree, capsys):
    Path("scenarios/tabs.yaml").write_text("id: x\n\ttitle: y\n", encoding="utf-8")
    code, out, err = cli(capsys, "scenario", "validate", "scenarios/tabs.yaml")
    assert code == 2
    assert out == "1 of 1 scenario file(s) invalid\n"
    assert re.match(r"scenarios/tabs\.yaml:2:1: error: .*tabs", err)


def test_validate_a_missing_path_exits_2(tree, capsys):
    code, out, err = cli(capsys, "scenario", "validate", "scenarios", "nowhere/x.yaml")
    assert code == 2
    assert out == ""
    assert err == "peak-trade: nowhere/x.yaml: no such file or folder\n"


def test_validate_a_folder_without_scenarios_exits_2(tree, capsys):
    Path("empty").mkdir()
    code, _, err = cli(capsys, "scenario", "validate", "empty")
    assert code == 2
    assert "no scenario files" in err


def test_validate_reports_duplicate_ids_at_the_second_file(tree, capsys):
    second = copy_happy("zz_copy")
    code, out, err = cli(capsys, "scenario", "validate", "scenarios")
    assert code == 2
    assert out == "1 of 2 scenario file(s) invalid\n"
    assert err.startswith(
        f"{second}:2:5: error: duplicate scenario id '{HAPPY_ID}' (also the id of {HAPPY})"
    )
    assert err.rstrip().endswith("[at /id]")


def test_a_file_named_twice_is_validated_once(tree, capsys):
    absolute = str(Path(HAPPY).resolve())
    code, out, err = cli(
        capsys, "scenario", "validate", HAPPY, absolute, "./scenarios", "scenarios"
    )
    assert (code, out, err) == (0, "1 scenario file(s) valid\n", "")


# --- run -----------------------------------------------------------------------------------------


def test_run_pass_writes_a_verifiable_audit_file_and_evidence(tree, capsys):
    code, out, err = cli(
        capsys, "scenario", "run", "scenarios", "--audit-dir", "build/audit", "--operator", "ann"
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(
        rf"\[1/1\] PASS {HAPPY_ID}  STOPPED  4 steps  {HAPPY_RECORDS} records  head [0-9a-f]{{12}}",
        lines[0],
    )
    assert f"    audit: build/audit/{HAPPY_ID}.jsonl" in lines
    assert f"    metrics: build/audit/{HAPPY_ID}.prom" in lines
    assert f"    evidence: {HAPPY_EVIDENCE}" in lines
    assert lines[-1] == "1 passed, 0 failed"
    assert lines[-3].split() == ["ID", "VERDICT", "FINAL", "STATE", "STEPS", "RECORDS"]
    assert lines[-2].split() == [HAPPY_ID, "PASS", "STOPPED", "4", str(HAPPY_RECORDS)]

    audit = verify_file(Path(f"build/audit/{HAPPY_ID}.jsonl"))
    assert (audit.ok, audit.sealed, audit.count) == (True, True, HAPPY_RECORDS)
    assert lines[0].endswith(audit.head[:12])

    text = Path(HAPPY_EVIDENCE).read_text(encoding="utf-8")
    assert "- **Operator:** ann" in text
    assert f"peak-trade scenario run {HAPPY}" in text
    digests = parse_digests(text)
    assert digests["scenario_path"] == HAPPY
    assert digests["audit_head"] == audit.head
    assert digests["audit_records"] == HAPPY_RECORDS
    assert digests["scenario_sha256"] == load_scenario(HAPPY).sha256
    assert sorted(p.name for p in Path("evidence").iterdir()) == [Path(HAPPY_EVIDENCE).name]


def test_run_fail_writes_no_evidence_and_removes_todays_pass_evidence(tree, capsys):
    assert cli(capsys, "scenario", "run", HAPPY)[0] == 0
    assert Path(HAPPY_EVIDENCE).is_file()
    edit(HAPPY, "states: [PREFLIGHT_OK, DRYRUN_ACTIVE, STOPPING, STOPPED]", "states: [STOPPED]")
    code, out, err = cli(capsys, "scenario", "run", HAPPY)
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(
        f"[1/1] FAIL {HAPPY_ID}  STOPPED  4 steps  {HAPPY_RECORDS} records  head "
    )
    assert lines[1] == f"    scenario {HAPPY_ID}: 1 expectation(s) not met"
    assert "    - expect.states: expected ['STOPPED'], got " in out
    assert "first difference at index 0: expected 'STOPPED', found 'PREFLIGHT_OK'" in out
    assert f"    removed {HAPPY_EVIDENCE}: today's PASS evidence" in out
    assert lines[-1] == "0 passed, 1 failed"
    assert not Path(HAPPY_EVIDENCE).exists()
    assert list(Path("evidence").iterdir()) == []


def test_run_without_a_stored_snapshot_fails_with_the_hint(tree, capsys):
    snapshot_path(DEFAULT_SNAPSHOT_DIR, HAPPY_ID).unlink()
    code, out, _ = cli(capsys, "scenario", "run", HAPPY)
    assert code == 1
    assert "expect.snapshot: expected 'a stored snapshot " in out
    assert "--snapshot-update" in out
    assert not Path("evidence").exists()
    assert not DEFAULT_SNAPSHOT_DIR.joinpath(f"{HAPPY_ID}.json").exists()  # never written


def test_run_with_a_changed_snapshot_names_the_first_differing_record(tree, capsys):
    stored = snapshot_path(DEFAULT_SNAPSHOT_DIR, HAPPY_ID)
    edit(stored, '"check":"live_disabled"', '"check":"live_off"')
    code, out, _ = cli(capsys, "scenario", "run", HAPPY, "--snapshot-dir", str(stored.parent))
    assert code == 1
    assert "first difference at audit record seq 3" in out


def test_run_json_prints_one_object_per_scenario(tree, capsys):
    record_snapshot(copy_happy("second", new_id="second"))
    failing = copy_happy("third", new_id="third")
    edit(failing, "steps_run: 4", "steps_run: 3")
    code, out, err = cli(capsys, "scenario", "run", "scenarios", "--json", "--audit-dir", "a")
    assert code == 1
    assert err == ""
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [HAPPY_ID, "second", "third"]
    for row in rows:
        assert list(row) == [
            "id",
            "path",
            "valid",
            "errors",
            "passed",
            "final_state",
            "steps_run",
            "audit_records",
            "audit_head",
            "evidence",
            "audit_file",
            "metrics_file",
            "mismatches",
        ]
        assert row["audit_file"] == f"a/{row['id']}.jsonl"
        assert row["metrics_file"] == f"a/{row['id']}.prom"
        assert verify_file(Path(row["audit_file"])).head == row["audit_head"]
    happy, _, third = rows
    assert happy["passed"] is True
    assert happy["path"] == HAPPY
    assert (happy["final_state"], happy["steps_run"], happy["audit_records"]) == (
        "STOPPED",
        4,
        HAPPY_RECORDS,
    )
    assert happy["evidence"] == HAPPY_EVIDENCE
    assert Path(happy["evidence"]).is_file()
    assert happy["mismatches"] == []
    assert third["passed"] is False
    assert third["evidence"] is None
    assert third["mismatches"][0]["text"] == "expect.steps_run: expected 3, got 4"
    assert (third["mismatches"][0]["expected"], third["mismatches"][0]["actual"]) == (3, 4)
    assert third["mismatches"][1]["key"] == "snapshot"
    assert third["mismatches"][1]["text"].startswith(
        "expect.snapshot: expected 'a stored snapshot "
    )


def test_run_with_an_invalid_scenario_runs_and_writes_nothing(tree, capsys):
    bad = copy_happy("bad", new_id="bad")
    edit(bad, "side: buy", "side: buyy")
    code, out, err = cli(capsys, "scenario", "run", "scenarios", "--audit-dir", "build/audit")
    assert code == 2
    assert out == ""
    assert err.startswith("scenarios/bad.yaml:21:")
    assert "(did you mean 'buy'?)" in err
    assert err.endswith("1 of 2 scenario file(s) invalid; nothing was run\n")
    assert not Path("build").exists()
    assert not Path("evidence").exists()


def test_run_with_duplicate_ids_runs_nothing(tree, capsys):
    copy_happy("zz_copy")
    code, out, err = cli(capsys, "scenario", "run", "scenarios")
    assert (code, out) == (2, "")
    assert "duplicate scenario id" in err
    assert not Path("evidence").exists()


def test_an_unexpected_error_is_one_redacted_line(tree, capsys, monkeypatch):
    secret = "sk-canary-0001"
    edit(HAPPY, "  drain_steps: 3", f'  drain_steps: 3\n  secrets: {{api_key: "{secret}"}}')

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom with {secret}\nand a second line")

    monkeypatch.setattr(scenario_cmds, "evaluate", explode)
    code, out, err = cli(capsys, "scenario", "run", HAPPY)
    assert code == 1
    assert out == ""
    assert err == (
        f"peak-trade: internal error: RuntimeError: boom with {REDACTED} and a second line "
        "(this is a bug; please report it)\n"
    )


def test_an_unwritable_evidence_dir_is_one_sentence(tree, capsys):
    Path("evidence").write_text("a file, not a folder", encoding="utf-8")
    code, _, err = cli(capsys, "scenario", "run", HAPPY)
    assert code == 2
    assert err == "peak-trade: cannot write evidence into evidence: evidence is not a folder\n"


def test_an_unusable_audit_dir_is_one_sentence(tree, capsys):
    Path("taken").write_text("a file, not a folder", encoding="utf-8")
    code, _, err = cli(capsys, "scenario", "run", HAPPY, "--audit-dir", "taken/audit")
    assert code == 2
    assert err == "peak-trade: cannot create the audit folder taken/audit: Not a directory\n"


# --- new -----------------------------------------------------------------------------------------


def test_new_writes_a_template_that_validates_and_passes(tree, capsys):
    code, out, err = cli(capsys, "scenario", "new", "partial_fill")
    assert (code, err) == (0, "")
    path = Path("scenarios/partial_fill.yaml")
    assert out.startswith(f"wrote {path.as_posix()}\n")
    assert "run `pytest --snapshot-update` to record it" in out
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../schemas/scenario.schema.json"
    for key in ("id", "title", "description", "tags", "config", "broker", "steps", "expect"):
        assert re.search(rf"^{key}:", text, re.MULTILINE), key
    assert cli(capsys, "scenario", "validate", path.as_posix())[0] == 0
    scenario = load_scenario(path)
    assert scenario.id == "partial_fill"
    verdict = evaluate(scenario, snapshot_dir=None)
    assert verdict.passed, verdict.mismatches
    # Without a snapshot, a run fails and says how to record one.
    code, out, _ = cli(capsys, "scenario", "run", path.as_posix())
    assert code == 1
    assert "--snapshot-update" in out


def test_new_refuses_to_overwrite(tree, capsys):
    assert cli(capsys, "scenario", "new", "mine")[0] == 0
    Path("scenarios/mine.yaml").write_text("# my edits\n", encoding="utf-8")
    code, out, err = cli(capsys, "scenario", "new", "mine")
    assert (code, out) == (2, "")
    assert "scenarios/mine.yaml already exists" in err
    assert Path("scenarios/mine.yaml").read_text(encoding="utf-8") == "# my edits\n"
    assert sorted(p.name for p in Path("scenarios").glob("*.yaml")) == [
        f"{HAPPY_ID}.yaml",
        "mine.yaml",
    ]


@pytest.mark.parametrize("bad_id", ["Bad", "-dash", "_under", "has space", "", "a" * 65, "x/y"])
def test_new_refuses_a_bad_id(tree, capsys, bad_id):
    code, out, err = cli(capsys, "scenario", "new", "--", bad_id)
    assert (code, out) == (2, "")
    assert err.startswith("peak-trade: invalid scenario id")
    assert sorted(p.name for p in Path("scenarios").glob("*.yaml")) == [f"{HAPPY_ID}.yaml"]


@pytest.mark.parametrize("scenario_id", ["123", "no", "null", "0755"])
def test_new_ids_yaml_would_misread_still_validate(tree, capsys, scenario_id):
    assert cli(capsys, "scenario", "new", scenario_id)[0] == 0
    assert load_scenario(f"scenarios/{scenario_id}.yaml").id == scenario_id


def test_new_stdout_writes_no_file_and_points_at_the_schema_from_dir(tree, capsys):
    code, out, _ = cli(capsys, "scenario", "new", "deep", "--dir", "scenarios/sub", "--stdout")
    assert code == 0
    assert out.splitlines()[0] == (
        "# yaml-language-server: $schema=../../schemas/scenario.schema.json"
    )
    assert not Path("scenarios/sub").exists()
    assert cli(capsys, "scenario", "new", "deep", "--dir", "scenarios/sub")[0] == 0
    assert Path("scenarios/sub/deep.yaml").read_text(encoding="utf-8") == out


# --- audit verify --------------------------------------------------------------------------------


@pytest.fixture
def audit_file(tree, capsys) -> Path:
    assert cli(capsys, "scenario", "run", HAPPY, "--audit-dir", "audit")[0] == 0
    return Path(f"audit/{HAPPY_ID}.jsonl")


def test_audit_verify_ok_sealed_and_unsealed(audit_file, capsys):
    head = verify_file(audit_file).head
    code, out, err = cli(capsys, "audit", "verify", str(audit_file))
    assert (code, err) == (0, "")
    assert out == f"{audit_file}: ok: {HAPPY_RECORDS} records, head {head} (sealed)\n"
    audit_file.with_name(audit_file.name + ".seal").unlink()
    code, out, err = cli(capsys, "audit", "verify", str(audit_file))
    assert (code, out) == (1, "")
    assert err == (
        f"{audit_file}:{HAPPY_RECORDS}: error: unsealed: the {HAPPY_RECORDS} records, head {head} "
        "verify, but no seal lies beside the file (no seal: a clean cut at a record boundary "
        "would not be detected); a trail of a session that crashed or is still running is "
        "checked with --allow-unsealed\n"
    )
    code, out, err = cli(capsys, "audit", "verify", str(audit_file), "--allow-unsealed")
    assert (code, err) == (0, "")
    assert out == (
        f"{audit_file}: ok: {HAPPY_RECORDS} records, head {head} "
        "(no seal: a clean cut at a record boundary would not be detected; allowed by "
        "--allow-unsealed)\n"
    )


@pytest.mark.parametrize("sealed", [True, False])
def test_audit_verify_an_empty_file_is_never_ok(audit_file, capsys, sealed):
    if not sealed:
        audit_file.with_name(audit_file.name + ".seal").unlink()
    audit_file.write_bytes(b"")
    for extra in ((), ("--allow-unsealed",)):
        code, out, err = cli(capsys, "audit", "verify", str(audit_file), *extra)
        assert (code, out) == (1, "")
        assert err == (
            f"{audit_file}: error: empty: the file holds no records, and every session writes at "
            "least one (session_opened); an emptied file is not a verified trail.\n"
        )


def test_audit_verify_names_the_first_tampered_line(audit_file, capsys):
    lines = audit_file.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b'"ok":true', b'"ok":fals\x65', 1).replace(b"true", b"TRUE", 1)
    audit_file.write_bytes(b"\n".join(lines))
    code, out, err = cli(capsys, "audit", "verify", str(audit_file))
    assert (code, out) == (1, "")
    assert err.startswith(f"{audit_file}:5: error: ")
    assert "line 5" in err


def test_audit_verify_flipped_byte(audit_file, capsys):
    data = bytearray(audit_file.read_bytes())
    offset = sum(len(line) + 1 for line in data.split(b"\n")[:6]) + 100  # inside line 7
    data[offset] ^= 0x01
    audit_file.write_bytes(bytes(data))
    code, _, err = cli(capsys, "audit", "verify", str(audit_file))
    assert code == 1
    assert err.startswith(f"{audit_file}:7: error: ")


def test_audit_verify_a_clean_cut_against_the_seal(audit_file, capsys):
    lines = audit_file.read_text(encoding="utf-8").splitlines(keepends=True)
    audit_file.write_text("".join(lines[:20]), encoding="utf-8")
    code, _, err = cli(capsys, "audit", "verify", str(audit_file))
    assert code == 1
    assert err.startswith(
        f"{audit_file}:20: error: truncated: the seal records {HAPPY_RECORDS} records"
    )


def test_audit_verify_missing_or_unreadable_exits_2(tree, capsys):
    code, out, err = cli(capsys, "audit", "verify", "nope.jsonl")
    assert (code, out) == (2, "")
    assert err == "peak-trade: cannot read the audit file nope.jsonl: No such file or directory\n"
    code, _, err = cli(capsys, "audit", "verify", "scenarios")
    assert code == 2
    assert err.startswith("peak-trade: cannot read the audit file scenarios: ")


# --- evidence verify -----------------------------------------------------------------------------


@pytest.fixture
def evidence_file(tree, capsys) -> Path:
    assert cli(capsys, "scenario", "run", HAPPY)[0] == 0
    return Path(HAPPY_EVIDENCE)


def test_evidence_verify_ok(evidence_file, capsys):
    code, out, err = cli(capsys, "evidence", "verify", str(evidence_file))
    assert (code, err) == (0, "")
    assert out.startswith(f"{evidence_file}: ok: scenario {HAPPY_ID} ({HAPPY}) passes again")


def test_evidence_verify_names_a_changed_scenario_file(evidence_file, capsys):
    recorded = parse_digests(evidence_file.read_text(encoding="utf-8"))
    lines = evidence_file.read_text(encoding="utf-8").split("\n")
    at = next(n for n, line in enumerate(lines, 1) if line.startswith("- **Scenario SHA-256:**"))
    edit(HAPPY, "# yaml-language-server", "# edited\n# yaml-language-server")
    actual = load_scenario(HAPPY).sha256
    code, out, err = cli(capsys, "evidence", "verify", str(evidence_file))
    assert (code, out) == (1, "")
    first, second = err.splitlines()
    assert first == (
        f"{evidence_file}: error: scenario_sha256 differs: "
        f"expected {recorded['scenario_sha256']}, actual {actual}"
    )
    assert second.startswith(
        f"{evidence_file}:{at}: error: the evidence text differs from what the re-run renders: "
        f"line {at} reads '- **Scenario SHA-256:** `{recorded['scenario_sha256']}`', the re-run "
        f"renders '- **Scenario SHA-256:** `{actual}`'"
    )


def test_evidence_verify_names_a_changed_run(evidence_file, capsys):
    edit(HAPPY, 'qty: "50"}', 'qty: "60"}')
    code, _, err = cli(capsys, "evidence", "verify", str(evidence_file))
    assert code == 1
    for key in ("scenario_sha256", "audit_head", "snapshot_sha256"):
        assert f"error: {key} differs: expected " in err
    assert "the scenario no longer passes" in err


def test_evidence_verify_names_a_scenario_that_no_longer_loads(evidence_file, capsys):
    edit(HAPPY, "side: buy", "side: buyy")
    code, _, err = cli(capsys, "evidence", "verify", str(evidence_file))
    assert code == 1
    assert "error: scenario_sha256 differs" in err
    assert f"the scenario {HAPPY} no longer loads" in err
    Path(HAPPY).unlink()
    code, _, err = cli(capsys, "evidence", "verify", str(evidence_file))
    assert code == 1
    assert f"the scenario file {HAPPY} cannot be read" in err


@pytest.mark.parametrize(
    "content",
    [
        b"# Just notes\n",
        b"## Digests\n\n```json\n{broken\n```\n",
        b'## Digests\n\n```json\n{"format": "peak_trade.evidence/1"}\n```\n',
        b"\xff\xfe not text",
    ],
)
def test_evidence_verify_malformed_exits_2(tree, capsys, content):
    Path("EV.md").write_bytes(content)
    code, out, err = cli(capsys, "evidence", "verify", "EV.md")
    assert (code, out) == (2, "")
    assert re.match(r"EV\.md(:4)?: error: ", err), err


def test_evidence_verify_missing_exits_2(tree, capsys):
    code, _, err = cli(capsys, "evidence", "verify", "nope.md")
    assert code == 2
    assert err == "peak-trade: cannot read the evidence file nope.md: No such file or directory\n"
