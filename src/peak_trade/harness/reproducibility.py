"""Whether the scenario file that was run is committed, unchanged, at the commit the evidence names.

`scenario_in_git` is the imperative edge (git plumbing, each call bounded by a timeout): the
scenario's own repository is asked for HEAD, for the blob HEAD holds at the scenario's path, and
for the blob id of the bytes that were run (`git hash-object --no-filters`, so no filter or line
ending conversion hides a difference). `reproducibility_line` is the pure sentence the evidence
prints. No blob id is ever printed: the blob id of a file holding a secret would let anyone test
guesses of that secret against it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_SECONDS = 2.0

COMMITTED = "committed"  # tracked at HEAD, and its blob there is the bytes that were run
MODIFIED = "modified"  # tracked at HEAD with other bytes (or the file changed since the run)
UNTRACKED = "untracked"  # HEAD has no such file (new, ignored, or outside the repository)
NO_COMMIT = "no_commit"  # a git repository without a commit yet
NO_REPOSITORY = "no_repository"  # not inside a git work tree
NO_GIT = "no_git"  # git could not be run (not installed, timed out)
STATUSES = (COMMITTED, MODIFIED, UNTRACKED, NO_COMMIT, NO_REPOSITORY, NO_GIT)

_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass(frozen=True, slots=True, kw_only=True)
class GitFacts:
    commit: str | None  # HEAD of the scenario's repository, None when there is none
    status: str  # one of STATUSES


class _NoGit(Exception):
    pass


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    """(exit code, stdout stripped) of `git args` in `cwd`; _NoGit when git cannot run."""
    code, raw = _git_bytes(cwd, *args, stdin=stdin)
    return code, raw.decode("utf-8", "replace").strip()


def _git_bytes(cwd: Path, *args: str, stdin: bytes | None = None) -> tuple[int, bytes]:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        raise _NoGit from None
    return done.returncode, done.stdout


def scenario_in_git(path: Path, raw: bytes | None, *, commit: str | None = None) -> GitFacts:
    """Where the scenario file `path`, whose run read the bytes `raw` (None: they are not known,
    e.g. the file no longer holds them), stands in its git repository: at HEAD, or at `commit`
    (a verifier re-checking what evidence says; NO_COMMIT when the repository lacks it)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():  # the file's folder is gone: no repository to ask
        return GitFacts(commit=None, status=NO_REPOSITORY)
    try:
        code, inside = _git(folder, "rev-parse", "--is-inside-work-tree")
        if code != 0 or inside != "true":
            return GitFacts(commit=None, status=NO_REPOSITORY)
        wanted = "HEAD" if commit is None else commit
        if not (wanted == "HEAD" or _OBJECT_ID.fullmatch(wanted)):
            return GitFacts(commit=None, status=NO_COMMIT)
        code, commit = _git(folder, "rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}")
        if code != 0 or not _OBJECT_ID.fullmatch(commit):
            return GitFacts(commit=None, status=NO_COMMIT)
        code, blob = _git(folder, "rev-parse", "--verify", "--quiet", f"{commit}:./{path.name}")
        if code != 0 or not _OBJECT_ID.fullmatch(blob):
            return GitFacts(commit=commit, status=UNTRACKED)
        if raw is None:
            return GitFacts(commit=commit, status=MODIFIED)
        code, ran = _git(folder, "hash-object", "--no-filters", "--stdin", stdin=raw)
    except _NoGit:
        return GitFacts(commit=None, status=NO_GIT)
    if code != 0 or not _OBJECT_ID.fullmatch(ran):
        return GitFacts(commit=None, status=NO_GIT)
    return GitFacts(commit=commit, status=COMMITTED if ran == blob else MODIFIED)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommittedFile:
    status: str  # COMMITTED: `content` is the file at the commit; else why there is none
    content: bytes | None = None


def file_at_commit(path: Path, commit: str, *, max_bytes: int) -> CommittedFile:
    """The content of the file `path` as the commit `commit` of its repository holds it, for a
    verifier re-checking evidence that says the file was committed unchanged there."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return CommittedFile(status=NO_REPOSITORY)
    if not _OBJECT_ID.fullmatch(commit):
        return CommittedFile(status=NO_COMMIT)
    try:
        code, inside = _git(folder, "rev-parse", "--is-inside-work-tree")
        if code != 0 or inside != "true":
            return CommittedFile(status=NO_REPOSITORY)
        code, _ = _git(folder, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
        if code != 0:
            return CommittedFile(status=NO_COMMIT)
        spec = f"{commit}:./{path.name}"
        code, size = _git(folder, "cat-file", "-s", spec)
        if code != 0 or not size.isdigit():
            return CommittedFile(status=UNTRACKED)
        if int(size) > max_bytes:  # no scenario is this large: not the file that ran
            return CommittedFile(status=MODIFIED)
        code, content = _git_bytes(folder, "cat-file", "blob", spec)
    except _NoGit:
        return CommittedFile(status=NO_GIT)
    if code != 0:
        return CommittedFile(status=UNTRACKED)
    return CommittedFile(status=COMMITTED, content=content)


def reproducibility_line(status: str, commit: str | None, path: str) -> str:
    """The evidence's sentence for `status` (the Markdown of one list item's value); `path` is
    already safe inside a code span."""
    shown = f"`{path}`"
    at = f"`{commit}`" if commit else "the named commit"
    if status == COMMITTED:
        return f"yes: {shown} is committed unchanged at {at}"
    if status in (MODIFIED, UNTRACKED):
        why = (
            f"{shown} differs from the version committed there"
            if status == MODIFIED
            else f"{shown} is not committed there"
        )
        return f"**no**: uncommitted or modified: not reproducible from {at} ({why})"
    if status == NO_COMMIT:
        return f"**no**: uncommitted: {shown} is in a git repository that has no commit yet"
    if status == NO_REPOSITORY:
        return f"unknown: {shown} is not in a git repository, so no commit can reproduce it"
    return f"unknown: git could not be run, so whether {shown} is committed is not known"
