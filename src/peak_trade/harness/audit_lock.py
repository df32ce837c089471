"""One run at a time per audit path: an advisory lock held while a run owns `<id>.jsonl`.

A run replaces its scenario's old trail (`DIR/<id>.jsonl` and its seal) and writes a new one. Two
runs doing that at once would delete each other's files and interleave or lose trails, both
exiting 0. So a run first takes an exclusive, non-blocking `flock` on `DIR/.<id>.jsonl.lock`; a
second run finds it taken and is refused (`AuditPathInUse`, exit 2) before it touches anything.
The lock file is removed on release; a run that takes a lock on a file that was removed
meanwhile (the classic race) sees that the path no longer names what it locked, and tries again.
The kernel drops the lock of a killed process, so a crash never leaves a path locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import suppress
from pathlib import Path
from types import TracebackType

__all__ = ["AuditPathInUse", "AuditPathLock"]

_ATTEMPTS = 3  # a lock file replaced under us more often than this is a run that keeps racing


class AuditPathInUse(OSError):
    """Another run is writing this audit path."""

    def __init__(self, audit_file: Path) -> None:
        super().__init__(
            errno.EBUSY,
            "another run is writing this audit file right now; wait for it, or use another "
            "--audit-dir",
            str(audit_file),
        )


def lock_path(audit_file: Path) -> Path:
    return audit_file.with_name(f".{audit_file.name}.lock")


class AuditPathLock:
    """`with AuditPathLock(path):` holds the run's claim on `path` (AuditPathInUse if taken)."""

    def __init__(self, audit_file: Path) -> None:
        self.audit_file = Path(audit_file)
        self.path = lock_path(self.audit_file)
        self._fd: int | None = None

    def acquire(self) -> None:
        for _ in range(_ATTEMPTS):  # bounded
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise AuditPathInUse(self.audit_file) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)  # the holder before us removed it as we opened it: lock the new one
        raise AuditPathInUse(self.audit_file)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with suppress(OSError):
            os.unlink(self.path)  # while still locked: a newcomer then locks a fresh file
        os.close(fd)

    def __enter__(self) -> AuditPathLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
