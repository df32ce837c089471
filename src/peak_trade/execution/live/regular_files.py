"""Opening a file the user named: only a regular file, read with a bound.

A FIFO would block `open()` until a writer comes (forever), a device such as /dev/zero never
ends, and a path with a NUL byte raises ValueError: every one of them is refused here as an
`OSError` whose `strerror` is one sentence, so each command's usual "cannot read FILE: reason"
handling reports it. The file is opened without blocking and judged by `fstat` of the open
descriptor, so what is judged is what is read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["LineTooLong", "UnreadableFile", "iter_bounded_lines", "open_regular", "read_regular"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(OSError):
    """The path is not a regular file, holds a NUL byte, or is over its size bound."""

    def __init__(self, reason: str, path: object = None) -> None:
        if path is None:
            super().__init__(errno.EINVAL, reason)
        else:
            super().__init__(errno.EINVAL, reason, os.fspath(path))  # type: ignore[arg-type]


class LineTooLong(UnreadableFile):
    """A line is longer than its bound; `line` is its 1-based number."""

    def __init__(self, line: int, max_line: int) -> None:
        super().__init__(f"line {line} is longer than {max_line:,} bytes")
        self.line = line


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for reading in binary; UnreadableFile unless it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except ValueError:  # "embedded null byte"
        raise UnreadableFile("the path contains a NUL byte", repr(os.fspath(path))) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"it is {_kind(mode)}, not a regular file", path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The whole content of the regular file `path`; UnreadableFile when over `max_bytes`."""
    with open_regular(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnreadableFile(f"it is larger than {max_bytes:,} bytes", path)
    return data


def iter_bounded_lines(handle: BinaryIO, max_line: int) -> Iterator[bytes]:
    """The lines of `handle`, each with its newline (the last may lack it); UnreadableFile
    naming the line once one is longer than `max_line` bytes (never read whole)."""
    number = 0
    while True:  # bounded by the file's size: each round consumes at least one byte
        line = handle.readline(max_line + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line and not (len(line) == max_line + 1 and line.endswith(b"\n")):
            raise LineTooLong(number, max_line)
        yield line
