"""`evidence verify` on both formats it accepts, on a sign-off filled in by hand, and on the
reproducibility line, in a scenario tree of its own (a git repository or not)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.evidence import (
    DIGESTS_HEADING,
    EVIDENCE_FORMAT,
    FORMAT_2,
    evidence_filename,
    parse_digests,
    recorded_date,
    sha256_text,
    today,
)
from peak_trade.harness.evidence_v2 import render_evidence_v2
from peak_trade.harness.model import load_scenario
from peak_trade.harness.signoff import BLANK
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]
HAPPY = "happy_path_full_fills"
HAS_GIT = shutil.which("git") is not None


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of its own: the happy path scenario and its snapshot, not in a repository."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "snapshots").mkdir()
    shutil.copy(ROOT / "scenarios" / f"{HAPPY}.yaml", tmp_path / "scenarios")
    shutil.copy(ROOT / "snapshots" / f"{HAPPY}.json", tmp_path / "snapshots")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(capsys: pytest.CaptureFixture[str]) -> Path:
    code, out, err = run(
        capsys, "scenario", "run", f"scenarios/{HAPPY}.yaml", "--operator", "alice"
    )
    assert code == 0, out + err
    return Path("evidence") / evidence_filename(HAPPY, today())


def verify(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    return run(capsys, "evidence", "verify", str(path))


def fill(text: str, label: str, value: str) -> str:
    old = f"- **{label}:** {BLANK}"
    assert text.count(old) == 1, label
    return text.replace(old, f"- **{label}:** {value}")


def test_new_evidence_is_format_3_and_verifies(tree: Path, capsys):
    path = write(capsys)
    assert parse_digests(path.read_text("utf-8"))["format"] == EVIDENCE_FORMAT
    code, out, err = verify(capsys, path)
    assert (code, err) == (0, "")
    assert out.endswith(f"{path}: note: the sign-off block is not filled in yet\n")


def test_a_sign_off_filled_in_by_hand_verifies_and_is_reported(tree: Path, capsys):
    path = write(capsys)
    text = path.read_text("utf-8")
    text = fill(text, "Reviewed by (operator)", "Dana Ops")
    text = fill(text, "Date signed (YYYY-MM-DD)", "2026-12-04")
    text = fill(text, "Decision (APPROVED or REJECTED)", "APPROVED for C5")
    text = fill(text, "Signature", "D. Ops")
    path.write_text(text, "utf-8")
    code, out, err = verify(capsys, path)
    assert (code, err) == (0, ""), err
    assert (
        f"{path}: signed off by hand: operator 'Dana Ops', date '2026-12-04', decision "
        "'APPROVED for C5', signature 'D. Ops'\n"
    ) in out
    # ... and any other one-byte change to the signed file still fails, at its line
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("- **Signature:**"):
            continue
        edited = [*lines[: number - 1], line[:-1] + chr(ord(line[-1]) ^ 1), *lines[number:]]
        path.write_text("\n".join(edited), "utf-8")
        code, out, err = verify(capsys, path)
        assert code != 0, (number, line)
        assert out == ""
        break  # the exhaustive sweep is tests/reliability/test_evidence_tamper.py


def test_a_filled_field_on_two_lines_fails(tree: Path, capsys):
    path = write(capsys)
    text = fill(path.read_text("utf-8"), "Signature", "D.\nOps")
    path.write_text(text, "utf-8")
    code, out, err = verify(capsys, path)
    assert (code, out) == (1, "")
    assert "the evidence text differs from what the re-run renders" in err


def test_a_format_2_file_still_verifies_and_an_edit_still_fails(tree: Path, capsys):
    path = write(capsys)
    recorded = parse_digests(path.read_text("utf-8"))
    inputs = recorded["inputs"]
    verdict = evaluate(load_scenario(f"scenarios/{HAPPY}.yaml"), snapshot_dir=Path("snapshots"))
    old = render_evidence_v2(
        verdict,
        operator=inputs["operator"],
        date=recorded_date(recorded),
        command=inputs["command"],
        version=recorded["peak_trade_version"],
        git_commit=None,
        python=inputs["python"],
        platform=inputs["platform"],
        snapshot_name=inputs["snapshot"],
    )
    digests = parse_digests(old)
    assert digests["format"] == FORMAT_2
    assert "scenario_in_git" not in digests["inputs"]
    assert "## Sign-off" not in old  # format 2 had none
    assert digests["text_sha256"] == sha256_text(old[: old.index(f"\n{DIGESTS_HEADING}\n") + 1])
    path.write_text(old, "utf-8")
    code, out, err = verify(capsys, path)
    assert (code, err) == (0, ""), err
    assert "sign-off" not in out
    path.write_text(old.replace("| o-1 | AAPL |", "| o-9 | AAPL |"), "utf-8")
    code, out, err = verify(capsys, path)
    assert (code, out) == (1, "")
    assert "the evidence text differs from what the re-run renders" in err
    # A format 3 body under a format 2 label is not format 2 evidence.
    new = path.with_name("copy.md")
    text = write(capsys).read_text("utf-8")
    new.write_text(text.replace(EVIDENCE_FORMAT, FORMAT_2), "utf-8")
    assert verify(capsys, new)[0] != 0


def test_outside_a_repository_the_line_says_so(tree: Path, capsys):
    text = write(capsys).read_text("utf-8")
    assert (
        f"- **Reproducible:** unknown: `scenarios/{HAPPY}.yaml` is not in a git repository, so "
        "no commit can reproduce it\n"
    ) in text
    assert "- **Git commit:**" not in text


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_in_a_repository_committed_modified_and_untracked(tree: Path, capsys):
    git(tree, "init", "-q")
    git(tree, "add", "scenarios", "snapshots")
    git(tree, "commit", "-q", "-m", "scenarios")
    head = git(tree, "rev-parse", "HEAD")
    path = write(capsys)
    text = path.read_text("utf-8")
    assert f"- **Git commit:** `{head}`\n" in text
    assert (
        f"- **Reproducible:** yes: `scenarios/{HAPPY}.yaml` is committed unchanged at `{head}`\n"
    ) in text
    code, out, err = verify(capsys, path)
    assert (code, err) == (0, ""), err

    scenario = tree / "scenarios" / f"{HAPPY}.yaml"
    scenario.write_text(scenario.read_text("utf-8") + "# a local edit\n", "utf-8")
    text = write(capsys).read_text("utf-8")
    assert (
        f"- **Reproducible:** **no**: uncommitted or modified: not reproducible from `{head}` "
        f"(`scenarios/{HAPPY}.yaml` differs from the version committed there)\n"
    ) in text
    assert verify(capsys, path)[0] == 0

    copy = tree / "scenarios" / "copy.yaml"
    copy.write_text(scenario.read_text("utf-8").replace(f"id: {HAPPY}", "id: happy_copy"), "utf-8")
    fresh = evaluate(load_scenario("scenarios/copy.yaml"), snapshot_dir=None)
    (tree / "snapshots" / "happy_copy.json").write_text(fresh.snapshot_text, "utf-8")
    code, out, err = run(capsys, "scenario", "run", "scenarios/copy.yaml")
    assert code == 0, out + err
    text = (Path("evidence") / evidence_filename("happy_copy", today())).read_text("utf-8")
    assert (
        f"- **Reproducible:** **no**: uncommitted or modified: not reproducible from `{head}` "
        "(`scenarios/copy.yaml` is not committed there)\n"
    ) in text


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_a_forged_claim_of_a_committed_file_fails_where_the_commit_is_known(tree: Path, capsys):
    """The line, the recorded input and the text hash rewritten together (what a careful forger
    does) still fail: the verifier asks the repository what the commit holds."""
    git(tree, "init", "-q")
    git(tree, "add", "snapshots")
    git(tree, "commit", "-q", "-m", "snapshots only")
    head = git(tree, "rev-parse", "HEAD")
    path = write(capsys)
    text = path.read_text("utf-8")
    said = "(`scenarios/happy_path_full_fills.yaml` is not committed there)"
    assert said in text
    claim = f"yes: `scenarios/{HAPPY}.yaml` is committed unchanged at `{head}`"
    old_line = next(line for line in text.split("\n") if line.startswith("- **Reproducible:**"))
    forged = text.replace(old_line, f"- **Reproducible:** {claim}")
    body, _, _ = forged.partition(f"\n{DIGESTS_HEADING}\n")
    data = parse_digests(forged)
    data["inputs"]["scenario_in_git"] = "committed"
    data["text_sha256"] = sha256_text(body + "\n")
    block = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    lines = forged.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith('{"audit_head"'))
    lines[index] = block
    path.write_text("\n".join(lines), "utf-8")
    code, out, err = verify(capsys, path)
    assert (code, out) == (1, "")
    assert err == (
        f"{path}: error: the evidence says scenarios/{HAPPY}.yaml is committed unchanged at "
        f"{head}, but what that commit holds at scenarios/{HAPPY}.yaml is not there: the "
        "reproducibility line is not true\n"
    )
    # Where the commit is not known, the claim cannot be re-checked, and the verifier says so.
    shutil.rmtree(tree / ".git")
    code, out, err = verify(capsys, path)
    assert (code, err) == (0, ""), err
    assert (
        f"{path}: note: that scenarios/{HAPPY}.yaml is committed unchanged at {head} is not "
        f"re-checked: scenarios/{HAPPY}.yaml is not in a git repository here\n"
    ) in out


def test_a_renderer_that_changed_is_named_beside_an_edited_block(
    tree: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    # Evidence written by a peak_trade whose renderer differs (e.g. a later fix in what the
    # evidence reports) is intact text and intact digests that re-render otherwise: the
    # finding must not accuse only the file of an edit.
    path = write(capsys)
    import peak_trade.harness.evidence_check as evidence_check

    real = evidence_check.render_again

    def changed_renderer(verdict, recorded):
        text = real(verdict, recorded)
        return text.replace("## ", "## Re-rendered: ", 1)

    monkeypatch.setattr(evidence_check, "render_again", changed_renderer)
    code, out, err = verify(capsys, path)
    assert code == 1, out + err
    assert "the digests block was edited, or the evidence was written by a peak_trade" in err
    assert "it records version " in err
    assert "Re-rendered: " in err  # the first differing line, as this renderer writes it
