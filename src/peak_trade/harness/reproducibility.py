"""Whether the scenario file that was run is committed, unchanged, at the commit the evidence names.

`GitLookup` is the imperative edge (git plumbing, each call bounded by a timeout). For each
folder it asks the repository once whether it is a work tree, for its HEAD commit and for the
blobs that commit holds in that folder (`git ls-tree -z`); a file is committed unchanged when the
blob id of the bytes that were run (the git object id of exactly those bytes: no filter or line
ending conversion can hide a difference) is the one the commit holds at its path. A run of many
scenarios shares one lookup, so it pays a few git calls per folder, not per scenario.
`reproducibility_line` is the pure sentence the evidence prints. No blob id is ever printed: the
blob id of a file holding a secret would let anyone test guesses of that secret against it.
"""

from __future__ import annotations

import hashlib
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Folder:
    status: str | None  # None: a work tree with `commit`; else why there is no commit to ask
    commit: str | None = None
    blobs: tuple[tuple[str, str], ...] = ()  # (file name, blob id) at `commit` in this folder


class _NoGit(Exception):
    pass


def _git(cwd: Path, *args: str) -> tuple[int, bytes]:
    """(exit code, stdout) of `git args` in `cwd`; _NoGit when git cannot run."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        raise _NoGit from None
    return done.returncode, done.stdout


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


def blob_id(raw: bytes, commit: str) -> str:
    """The git object id of a blob holding exactly `raw`, in the hash of `commit`'s repository
    (SHA-1, or SHA-256 for a repository whose ids have 64 digits)."""
    algorithm = hashlib.sha256 if len(commit) == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(raw) + raw).hexdigest()


class GitLookup:
    """Where scenario files stand in their repositories; one per run of many scenarios (it keeps
    what each folder's repository said, so a later commit in the same run is not seen)."""

    def __init__(self) -> None:
        self._folders: dict[tuple[str, str], _Folder] = {}

    def scenario_in_git(
        self, path: Path, raw: bytes | None, *, commit: str | None = None
    ) -> GitFacts:
        """Where the scenario file `path`, whose run read the bytes `raw` (None: they are not
        known, e.g. the file no longer holds them), stands: at HEAD, or at `commit` (a verifier
        re-checking what evidence says; NO_COMMIT when the repository lacks it)."""
        path = Path(path)
        folder = self._folder(path.parent if str(path.parent) else Path("."), commit)
        if folder.status is not None:
            return GitFacts(commit=None, status=folder.status)
        assert folder.commit is not None
        blob = dict(folder.blobs).get(path.name)
        if blob is None:
            return GitFacts(commit=folder.commit, status=UNTRACKED)
        if raw is None or blob_id(raw, folder.commit) != blob:
            return GitFacts(commit=folder.commit, status=MODIFIED)
        return GitFacts(commit=folder.commit, status=COMMITTED)

    def _folder(self, folder: Path, commit: str | None) -> _Folder:
        key = (str(folder.absolute()), commit or "HEAD")
        found = self._folders.get(key)
        if found is None:
            found = self._folders[key] = _ask(folder, commit)
        return found


def _ask(folder: Path, commit: str | None) -> _Folder:
    if not folder.is_dir():  # the file's folder is gone: no repository to ask
        return _Folder(status=NO_REPOSITORY)
    wanted = "HEAD" if commit is None else commit
    if not (wanted == "HEAD" or _OBJECT_ID.fullmatch(wanted)):
        return _Folder(status=NO_COMMIT)
    try:
        code, inside = _git(folder, "rev-parse", "--is-inside-work-tree")
        if code != 0 or _text(inside) != "true":
            return _Folder(status=NO_REPOSITORY)
        code, out = _git(folder, "rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}")
        found = _text(out)
        if code != 0 or not _OBJECT_ID.fullmatch(found):
            return _Folder(status=NO_COMMIT)
        code, listing = _git(folder, "ls-tree", "-z", found, "--", ".")
    except _NoGit:
        return _Folder(status=NO_GIT)
    if code != 0:
        return _Folder(status=NO_GIT)
    blobs = []
    for entry in listing.split(b"\0"):  # bounded by the folder's entries
        head, tab, name = entry.partition(b"\t")
        fields = head.split(b" ")
        if tab and len(fields) == 3 and fields[1] == b"blob" and b"/" not in name:
            blobs.append((name.decode("utf-8", "surrogateescape"), fields[2].decode("ascii")))
    return _Folder(status=None, commit=found, blobs=tuple(blobs))


def scenario_in_git(path: Path, raw: bytes | None, *, commit: str | None = None) -> GitFacts:
    """`GitLookup.scenario_in_git` with a lookup of its own (nothing kept between calls)."""
    return GitLookup().scenario_in_git(path, raw, commit=commit)


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
        if code != 0 or _text(inside) != "true":
            return CommittedFile(status=NO_REPOSITORY)
        code, _ = _git(folder, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
        if code != 0:
            return CommittedFile(status=NO_COMMIT)
        spec = f"{commit}:./{path.name}"
        code, size = _git(folder, "cat-file", "-s", spec)
        if code != 0 or not _text(size).isdigit():
            return CommittedFile(status=UNTRACKED)
        if int(_text(size)) > max_bytes:  # no scenario is this large: not the file that ran
            return CommittedFile(status=MODIFIED)
        code, content = _git(folder, "cat-file", "blob", spec)
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
