"""Whether the scenario file run is committed unchanged at the named commit, in real git repos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from peak_trade.harness.reproducibility import (
    COMMITTED,
    MODIFIED,
    NO_COMMIT,
    NO_GIT,
    NO_REPOSITORY,
    UNTRACKED,
    GitLookup,
    blob_id,
    file_at_commit,
    reproducibility_line,
    scenario_in_git,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

CONTENT = b"id: x\ntitle: t\n"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "scenarios").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "scenarios" / "s.yaml").write_bytes(CONTENT)
    git(root, "add", "scenarios/s.yaml")
    git(root, "commit", "-q", "-m", "scenario")
    return root


def test_committed_unchanged(repo: Path):
    path = repo / "scenarios" / "s.yaml"
    facts = scenario_in_git(path, CONTENT)
    assert facts.status == COMMITTED
    assert facts.commit == git(repo, "rev-parse", "HEAD")
    line = reproducibility_line(facts.status, facts.commit, "scenarios/s.yaml")
    assert line == f"yes: `scenarios/s.yaml` is committed unchanged at `{facts.commit}`"


def test_the_bytes_run_are_compared_not_the_file_on_disk(repo: Path):
    path = repo / "scenarios" / "s.yaml"
    assert scenario_in_git(path, CONTENT + b"# edited\n").status == MODIFIED
    assert scenario_in_git(path, None).status == MODIFIED  # the bytes run are not known


def test_modified_after_the_commit(repo: Path):
    path = repo / "scenarios" / "s.yaml"
    path.write_bytes(CONTENT + b"# edited\n")
    git(repo, "add", "scenarios/s.yaml")  # staged is not committed
    facts = scenario_in_git(path, path.read_bytes())
    assert facts.status == MODIFIED
    line = reproducibility_line(facts.status, facts.commit, "scenarios/s.yaml")
    assert line.startswith(
        f"**no**: uncommitted or modified: not reproducible from `{facts.commit}` "
    )
    assert "differs from the version committed there" in line


def test_line_endings_are_not_normalised_away(repo: Path):
    git(repo, "config", "core.autocrlf", "true")
    path = repo / "scenarios" / "s.yaml"
    crlf = CONTENT.replace(b"\n", b"\r\n")
    assert scenario_in_git(path, crlf).status == MODIFIED


def test_untracked_and_ignored(repo: Path):
    new = repo / "scenarios" / "new.yaml"
    new.write_bytes(CONTENT)
    facts = scenario_in_git(new, CONTENT)
    assert facts.status == UNTRACKED
    line = reproducibility_line(facts.status, facts.commit, "scenarios/new.yaml")
    assert line == (
        f"**no**: uncommitted or modified: not reproducible from `{facts.commit}` "
        "(`scenarios/new.yaml` is not committed there)"
    )
    (repo / ".gitignore").write_text("ignored.yaml\n")
    ignored = repo / "scenarios" / "ignored.yaml"
    ignored.write_bytes(CONTENT)
    assert scenario_in_git(ignored, CONTENT).status == UNTRACKED


def test_a_repository_without_a_commit(tmp_path: Path):
    git(tmp_path, "init", "-q")
    path = tmp_path / "s.yaml"
    path.write_bytes(CONTENT)
    facts = scenario_in_git(path, CONTENT)
    assert (facts.status, facts.commit) == (NO_COMMIT, None)
    assert "has no commit yet" in reproducibility_line(facts.status, None, "s.yaml")


def test_outside_a_repository(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_bytes(CONTENT)
    facts = scenario_in_git(path, CONTENT)
    assert (facts.status, facts.commit) == (NO_REPOSITORY, None)
    assert reproducibility_line(facts.status, None, "s.yaml") == (
        "unknown: `s.yaml` is not in a git repository, so no commit can reproduce it"
    )
    assert scenario_in_git(tmp_path / "gone" / "s.yaml", CONTENT).status == NO_REPOSITORY


def test_without_git(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", "")
    facts = scenario_in_git(repo / "scenarios" / "s.yaml", CONTENT)
    assert (facts.status, facts.commit) == (NO_GIT, None)
    assert reproducibility_line(NO_GIT, None, "s.yaml").startswith("unknown: git could not be run")


def test_the_file_at_a_named_commit(repo: Path):
    path = repo / "scenarios" / "s.yaml"
    first = git(repo, "rev-parse", "HEAD")
    path.write_bytes(b"id: y\n")
    git(repo, "commit", "-q", "-am", "changed")
    at_first = file_at_commit(path, first, max_bytes=1000)
    assert (at_first.status, at_first.content) == (COMMITTED, CONTENT)
    assert scenario_in_git(path, CONTENT, commit=first).status == COMMITTED
    assert scenario_in_git(path, CONTENT).status == MODIFIED  # HEAD moved on
    assert file_at_commit(path, first, max_bytes=3).status == MODIFIED  # too large to be it
    assert file_at_commit(repo / "scenarios" / "x.yaml", first, max_bytes=99).status == UNTRACKED
    assert file_at_commit(path, "f" * 40, max_bytes=99).status == NO_COMMIT
    assert file_at_commit(path, "HEAD~1", max_bytes=99).status == NO_COMMIT  # ids only


def test_the_blob_id_is_what_git_computes_for_the_same_bytes(repo: Path):
    for raw in (CONTENT, b"", b"\r\n\x00\xff", "ü\n".encode()):
        done = subprocess.run(
            ["git", "hash-object", "--no-filters", "--stdin"],
            cwd=repo,
            input=raw,
            capture_output=True,
            check=True,
        )
        assert blob_id(raw, "0" * 40) == done.stdout.decode().strip()


def test_a_shared_lookup_asks_each_folder_once(repo: Path, monkeypatch: pytest.MonkeyPatch):
    from peak_trade.harness import reproducibility

    calls: list[tuple[str, ...]] = []
    real = reproducibility._git

    def counted(cwd: Path, *args: str) -> tuple[int, bytes]:
        calls.append(args)
        return real(cwd, *args)

    monkeypatch.setattr(reproducibility, "_git", counted)
    lookup = GitLookup()
    (repo / "scenarios" / "t.yaml").write_bytes(CONTENT)
    for _ in range(5):
        assert lookup.scenario_in_git(repo / "scenarios" / "s.yaml", CONTENT).status == COMMITTED
        assert lookup.scenario_in_git(repo / "scenarios" / "t.yaml", CONTENT).status == UNTRACKED
    assert len(calls) == 3  # work tree?, HEAD, the folder's blobs: once for ten answers
