"""One project config for the CLI and the pytest plugin: `[tool.peak_trade]` in pyproject.toml.

The project is the nearest directory, from the working directory (the CLI) or pytest's rootdir
(the plugin) upwards, that holds a `pyproject.toml`; its paths are relative to that directory.
Every value records where it came from (a built-in default, the file, or a command-line flag), so
`peak-trade config` can say why a path is what it is. Only the standard library is used here:
every command reads the config, and none should pay for more than it needs.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PYPROJECT = "pyproject.toml"
TABLE = "[tool.peak_trade]"
MAX_PARENTS = 256  # a bound on the walk up to the project's directory
MAX_SCENARIO_PATHS = 1_000

DEFAULTS: dict[str, object] = {
    "scenarios": ("scenarios",),
    "snapshot_dir": "snapshots",
    "audit_dir": None,  # no audit files unless asked for
    "evidence_dir": "evidence",
}
KEYS = tuple(DEFAULTS)
DEFAULT_SOURCE = "default"


class ConfigError(ValueError):
    """pyproject.toml cannot be read, or `[tool.peak_trade]` holds a wrong value; one sentence."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectConfig:
    """Resolved settings: absolute paths, and for each key where its value came from."""

    root: Path  # the project's directory (of pyproject.toml, else the starting directory)
    pyproject: Path | None  # None: no pyproject.toml found
    configured: bool  # pyproject.toml has a [tool.peak_trade] table
    scenarios: tuple[Path, ...]
    snapshot_dir: Path
    audit_dir: Path | None
    evidence_dir: Path
    sources: Mapping[str, str] = field(default_factory=dict)

    def override(self, key: str, value: object, flag: str) -> ProjectConfig:
        """This config with `key` set from a command-line `flag` (None: the flag was not given)."""
        if value is None:
            return self
        if key == "scenarios":
            paths: object = tuple(Path(v).absolute() for v in value)  # type: ignore[attr-defined]
        else:
            paths = Path(value).absolute()  # type: ignore[arg-type]
        return replace(self, **{key: paths}, sources={**self.sources, key: flag})  # type: ignore[arg-type]


def find_pyproject(start: Path) -> Path | None:
    here = start.absolute()
    for directory in (here, *here.parents)[:MAX_PARENTS]:
        candidate = directory / PYPROJECT
        if candidate.is_file():
            return candidate
    return None


def load_project_config(start: Path | None = None) -> ProjectConfig:
    """The config of the project `start` (default: the working directory) lies in."""
    begin = (start or Path.cwd()).absolute()
    pyproject = find_pyproject(begin)
    table: Mapping[str, object] = {}
    configured = False
    if pyproject is not None:
        table, configured = _read_table(pyproject)
    root = begin if pyproject is None else pyproject.parent
    where = f"{PYPROJECT} {TABLE}"
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for key in KEYS:
        if key in table:
            values[key] = _checked(key, table[key], pyproject)
            sources[key] = where
        else:
            values[key] = DEFAULTS[key]
            sources[key] = DEFAULT_SOURCE

    def absolute(value: object) -> Path:
        return (root / str(value)).absolute()

    audit = values["audit_dir"]
    return ProjectConfig(
        root=root,
        pyproject=pyproject,
        configured=configured,
        scenarios=tuple(absolute(p) for p in values["scenarios"]),  # type: ignore[attr-defined]
        snapshot_dir=absolute(values["snapshot_dir"]),
        audit_dir=None if audit is None else absolute(audit),
        evidence_dir=absolute(values["evidence_dir"]),
        sources=sources,
    )


def _read_table(pyproject: Path) -> tuple[Mapping[str, object], bool]:
    try:
        with open(pyproject, "rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read {pyproject}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    tool = document.get("tool")
    if not isinstance(tool, dict) or "peak_trade" not in tool:
        return {}, False
    table = tool["peak_trade"]
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: {TABLE} must be a table of settings")
    for key in table:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(KEYS)}"
            raise ConfigError(f"{pyproject}: unknown key {key!r} in {TABLE}{hint}")
    return table, True


def _checked(key: str, value: object, pyproject: Path | None) -> object:
    where = f"{pyproject}: {TABLE} {key}"
    if key == "scenarios":
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise ConfigError(f'{where} must be a list of paths, e.g. ["scenarios"]')
        if len(value) > MAX_SCENARIO_PATHS:
            raise ConfigError(f"{where} names more than {MAX_SCENARIO_PATHS} paths")
        return tuple(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f'{where} must be a path, e.g. "{DEFAULTS[key] or "build/audit"}"')
    return value
