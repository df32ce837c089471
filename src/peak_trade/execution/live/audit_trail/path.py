"""Where a scenario's own audit file may go: inside the run's audit directory, nowhere else.

`config.audit.path` comes from a scenario file, which may be untrusted (`evidence verify` runs
the scenario an evidence file names). So it must be relative, free of `..`, and must not lead out
through a symlink; the validator refuses the first two with a located error, and the session's
composition root checks all three against the directory it is placed in.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["audit_path_problem", "escape_problem"]


def audit_path_problem(path: str) -> str | None:
    """Why `path` cannot be a scenario's audit path (relative, inside the run's directory)."""
    if "\x00" in path:
        return "audit.path must not contain a NUL byte"
    if (
        path.startswith(("/", "\\"))
        or Path(path).is_absolute()
        or (len(path) > 1 and path[1] == ":")
    ):
        return "audit.path must be relative: it is placed in the run's own audit directory"
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        return "audit.path must not contain '..': it stays inside the run's audit directory"
    if parts[-1] in ("", "."):
        return "audit.path must name a file, not a folder"
    return None


def escape_problem(base_dir: Path, path: Path) -> str | None:
    """A symlink on the way that leads outside `base_dir` (followed as the OS would)."""
    try:
        root = base_dir.resolve(strict=True)
        parent = path.parent.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return "audit.path cannot be resolved inside the run's audit directory"
    if parent != root and root not in parent.parents:
        return "audit.path leads outside the run's audit directory (through a symlink)"
    return None
