"""Find scenario files: YAML files under the given files or folders, in a stable order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".yaml", ".yml")
MAX_FILES = 100_000  # a bound on the walk, far above any real scenario library


class DiscoveryError(ValueError):
    """A path the user named does not exist or holds no scenario."""


def discover_scenarios(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files under `paths` (files as given, folders recursively), sorted, no repeats."""
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES and p.is_file() and "__snapshots__" not in p.parts
            )
            for file in files[:MAX_FILES]:
                found[file] = None
        elif path.exists():  # a FIFO, a device, a socket: the loader says what it is, located
            found[path] = None
        else:
            raise DiscoveryError(f"{path}: no such file or folder")
        if len(found) > MAX_FILES:
            raise DiscoveryError(f"more than {MAX_FILES} scenario files under the given paths")
    return list(found)
