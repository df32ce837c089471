"""`peak-trade readiness` passes on the repository, and each item is shown able to FAIL.

The failing cases run on a small copy of a project in tmp_path (a few scenarios, their
snapshots, the two docs the items read, the credentials baseline, a git repository), each with
one thing broken; the pack must exit 1 and name the item, and only the items it breaks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.live import state as state_module
from peak_trade.readiness import runs

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "happy_path_full_fills": "scenarios/happy_path_full_fills.yaml",
    "duplicate_report_applied_once": "scenarios/duplicate_report_applied_once.yaml",
    "fm_retry_attempts_exhausted": "scenarios/failure_matrix/fm_retry_attempts_exhausted.yaml",
    "fm_overfill": "scenarios/failure_matrix/fm_overfill.yaml",
    "preflight_live_enabled_without_override": (
        "scenarios/preflight/preflight_live_enabled_without_override.yaml"
    ),
}
PYPROJECT = """[tool.peak_trade]
scenarios = ["scenarios"]
snapshot_dir = "snapshots"
evidence_dir = "evidence"
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _matrix_doc(ids: list[str]) -> str:
    text = (ROOT / "docs" / "failure-matrix.md").read_text(encoding="utf-8")
    _head, cases = text.split("## Cases", 1)
    rows = [
        line
        for line in cases.split("\n## ", 1)[0].splitlines()
        if line.startswith("|")
        and (
            line.startswith("|---")
            or line.startswith("| Case")
            or any(f"[`{i}`]" in line for i in ids)
        )
    ]
    return "# The failure matrix\n\n## Cases\n\n" + "\n".join(rows) + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    for scenario_id, relative in SCENARIOS.items():
        target = root / "scenarios" / Path(relative).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / relative, target)
        (root / "snapshots").mkdir(exist_ok=True)
        shutil.copyfile(
            ROOT / "snapshots" / f"{scenario_id}.json", root / "snapshots" / f"{scenario_id}.json"
        )
    (root / "docs").mkdir()
    shutil.copyfile(ROOT / "docs" / "readiness.md", root / "docs" / "readiness.md")
    fm = [i for i in SCENARIOS if i.startswith("fm_")]
    (root / "docs" / "failure-matrix.md").write_text(_matrix_doc(fm), encoding="utf-8")
    baseline = json.loads((ROOT / ".secrets.baseline").read_text(encoding="utf-8"))
    baseline["results"] = {}
    (root / ".secrets.baseline").write_text(json.dumps(baseline, indent=2), encoding="utf-8")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "project")
    monkeypatch.chdir(root)
    return root


def _pack(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str], str]:
    code = main(["readiness", "--output", "out", "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    return code, {i["key"]: i["verdict"] for i in data["items"]}, captured.err


def _failed(verdicts: dict[str, str]) -> set[str]:
    return {key for key, verdict in verdicts.items() if verdict == "FAIL"}


def _commit(root: Path) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "change")


def test_the_copy_passes_and_writes_the_pack(project: Path, capsys) -> None:
    code, verdicts, err = _pack(capsys)
    assert code == 0, err
    assert len(verdicts) == 13
    assert not _failed(verdicts)
    written = sorted(p.name for p in (project / "out").iterdir())
    assert [n for n in written if n.startswith("READINESS-")] == [
        n for n in written if n.startswith("READINESS-") and n[10:18].isdigit()
    ]
    markdown = next((project / "out").glob("READINESS-*.md")).read_text(encoding="utf-8")
    assert "necessary, not sufficient, for going live" in markdown
    assert "Live trading stays off" in markdown
    assert sorted(p.name for p in (project / "out" / "audit").glob("*.prom")) == sorted(
        f"{i}.prom" for i in SCENARIOS
    )


def test_the_same_tree_gives_the_same_pack(project: Path, capsys) -> None:
    main(["readiness", "--output", "a"])
    first = {p.name: p.read_bytes() for p in (project / "a").glob("READINESS-*")}
    main(["readiness", "--output", "a"])
    capsys.readouterr()
    second = {p.name: p.read_bytes() for p in (project / "a").glob("READINESS-*")}
    assert len(first) == 2
    assert first == second


def test_a_nondeterministic_scenario_fails_determinism(project, capsys, monkeypatch) -> None:
    calls: dict[str, int] = {}
    real = runs.play

    def flaky(scenario, audit_file, snapshot_dir):
        calls[scenario.id] = calls.get(scenario.id, 0) + 1
        if scenario.id == "happy_path_full_fills" and calls[scenario.id] == 2:
            config = replace(scenario.config, session_id="another-run")
            scenario = replace(scenario, config=config)
        return real(scenario, audit_file, snapshot_dir)

    monkeypatch.setattr(runs, "play", flaky)
    code, verdicts, err = _pack(capsys)
    assert code == 1
    # evidence of run 1 cannot verify against a run 2 that differs: both items say so
    assert _failed(verdicts) == {"deterministic", "evidence_verifies"}
    assert "FAIL deterministic" in err
    assert "happy_path_full_fills" in err


def test_a_tripwire_that_does_not_stop_fails(project, capsys, monkeypatch) -> None:
    S, T = state_module.SessionState, state_module.Trigger
    monkeypatch.setitem(state_module.TRANSITIONS, (S.DRYRUN_ACTIVE, T.BREACH), S.DRYRUN_ACTIVE)
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert "tripwires_stop" in _failed(verdicts)
    assert "fm_overfill" in err
    assert "DRYRUN_ACTIVE" in err


def test_a_committed_credential_fails(project: Path, capsys) -> None:
    key = "AKIA" + "Q7ZP3XK2M9RB4TJW"  # built here, so this file holds no key pattern
    (project / "deploy.env").write_text(f"aws_access_key_id={key}\n", encoding="utf-8")
    _commit(project)
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert _failed(verdicts) == {"no_credentials"}
    assert "deploy.env:1: AWS Access Key" in err
    assert key not in err
    assert key not in (project / "out").joinpath(
        next(p.name for p in (project / "out").glob("READINESS-*.md"))
    ).read_text(encoding="utf-8")


def test_an_unaudited_baseline_entry_fails(project: Path, capsys) -> None:
    (project / "creds.py").write_text('password = "hunter2-canary"\n', encoding="utf-8")
    _commit(project)
    code, verdicts, _ = _pack(capsys)
    assert code == 1
    assert _failed(verdicts) == {"no_credentials"}
    from peak_trade.readiness.credentials import baseline_document

    document = baseline_document(project)  # the entry, unaudited: still a FAIL
    (project / ".secrets.baseline").write_text(json.dumps(document), encoding="utf-8")
    assert _failed(_pack(capsys)[1]) == {"no_credentials"}
    for entries in document["results"].values():
        for entry in entries:
            entry["is_secret"] = False  # audited as a false positive
    (project / ".secrets.baseline").write_text(json.dumps(document), encoding="utf-8")
    assert _pack(capsys)[0] == 0


def test_a_tampered_evidence_file_fails(project: Path, capsys) -> None:
    assert main(["scenario", "run", "scenarios/happy_path_full_fills.yaml"]) == 0
    evidence = next((project / "evidence").glob("EV-*-HAPPY_PATH_FULL_FILLS-PASS.md"))
    text = evidence.read_text(encoding="utf-8")
    evidence.write_text(text.replace("PASS", "PASS (checked twice)", 1), encoding="utf-8")
    capsys.readouterr()
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert _failed(verdicts) == {"evidence_verifies"}
    assert evidence.name in err


def test_a_live_enabled_config_fails_no_live(project: Path, capsys) -> None:
    path = project / "scenarios" / "happy_path_full_fills.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("config:\n", "config:\n  live: {enabled: true, test_override: true}\n", 1),
        encoding="utf-8",
    )
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert "no_live" in _failed(verdicts)
    assert "happy_path_full_fills" in err
    assert "live-switch" in err


def test_removing_the_enable_flag_statement_fails(project: Path, capsys) -> None:
    doc = project / "docs" / "readiness.md"
    text = doc.read_text(encoding="utf-8")
    doc.write_text(
        text.replace("`live.enabled` defaults to `false`", "`live.enabled` is off"),
        encoding="utf-8",
    )
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert _failed(verdicts) == {"enable_flag_documented"}
    assert "`live.enabled` defaults to `false`" in err


def test_a_failure_matrix_row_without_its_scenario_fails(project: Path, capsys) -> None:
    (project / "scenarios" / "fm_overfill.yaml").unlink()
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert "failure_matrix_green" in _failed(verdicts)
    assert "fm_overfill: documented in docs/failure-matrix.md, but no such scenario" in err


def test_an_unsealed_trail_fails(project, capsys, monkeypatch) -> None:
    real = runs.play

    def unsealed(scenario, audit_file, snapshot_dir):
        played = real(scenario, audit_file, snapshot_dir)
        if scenario.id == "fm_overfill":
            audit_file.with_name(audit_file.name + ".seal").unlink(missing_ok=True)
        return played

    monkeypatch.setattr(runs, "play", unsealed)
    code, verdicts, err = _pack(capsys)
    assert code == 1
    assert "audit_sealed" in _failed(verdicts)
    assert "fm_overfill: the trail verifies but has no seal" in err


def test_an_invalid_scenario_is_bad_input(project: Path, capsys) -> None:
    (project / "scenarios" / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    assert main(["readiness", "--output", "out"]) == 2
    assert not (project / "out").exists()


def test_the_repository_is_ready(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["readiness", "--output", str(tmp_path / "pack")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "13 of 13 items pass" in captured.out
