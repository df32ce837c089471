"""`peak-trade scenario validate --strict`: the conventions of a scenario library.

A valid scenario runs; a strict one is also a good library member: it names its schema for the
editor, its file is named by its id, it says what it shows, and its expectations pin the final
state and the whole state sequence. `RULES` is the one list of these conventions (the guide's
"Strict mode" section lists exactly these, checked by a test); each broken rule is a located
problem like any other spec error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from peak_trade.harness.errors import Problem
from peak_trade.harness.loader import LoadedDocument, json_pointer

__all__ = ["MODELINE", "RULES", "schema_location", "strict_problems"]

MODELINE = re.compile(r"# yaml-language-server: \$schema=(?P<path>\S+)")
SCHEMA_RELATIVE = Path("schemas") / "scenario.schema.json"

# (rule, what it requires), in the order the guide lists them.
RULES: tuple[tuple[str, str], ...] = (
    (
        "modeline",
        "the first line is the editor modeline `# yaml-language-server: $schema=<path>`, and "
        "`<path>`, relative to the file, is a copy of the installed schema "
        "(`peak-trade schema --output <path>` writes it)",
    ),
    ("file-name", "the file is named `<id>.yaml`"),
    ("description", "`description` is given and not blank: what the scenario shows and why"),
    ("tags", "`tags` lists at least one tag"),
    ("final-state", "`expect.final_state` is given"),
    ("states", "`expect.states` is given: every state the session enters, in order"),
)


def strict_problems(doc: LoadedDocument, text: str, *, root: Path, schema: bytes) -> list[Problem]:
    """Every strict rule the valid scenario `doc` (file text `text`) breaks; [] when none."""
    problems: list[Problem] = []

    def add(path: tuple[str, ...], message: str, *, key: bool = False) -> None:
        line, col = doc.locate(path, key=key)
        problems.append(
            Problem(
                file=doc.path,
                line=line,
                col=col,
                message=f"{message} (--strict)",
                json_path=json_pointer(path),
            )
        )

    modeline = _modeline_problem(doc.path, text, root=root, schema=schema)
    if modeline is not None:
        problems.append(modeline)
    data = doc.data
    scenario_id = str(data.get("id", ""))
    name = Path(doc.path).name
    if name != f"{scenario_id}.yaml":
        add(("id",), f"the file name {name!r} is not the id; name the file '{scenario_id}.yaml'")
    if not str(data.get("description") or "").strip():
        add(
            ("description",) if "description" in data else (),
            "add a 'description': what the scenario shows and why it matters",
        )
    if not data.get("tags"):
        add(("tags",) if "tags" in data else (), "add 'tags' with at least one tag")
    expect = data.get("expect") or {}
    for key, why in (
        ("final_state", "the state the session ends in"),
        ("states", "every state the session enters, in order"),
    ):
        if not isinstance(expect, dict) or expect.get(key) is None:
            add(("expect",), f"add 'expect.{key}': {why}", key=True)
    return problems


def _modeline_problem(file: str, text: str, *, root: Path, schema: bytes) -> Problem | None:
    first = text.split("\n", 1)[0].removeprefix("\ufeff").rstrip("\r")
    folder = Path(os.path.abspath(file)).parent
    match = MODELINE.fullmatch(first)

    def problem(message: str) -> Problem:
        return Problem(file=file, line=1, col=1, message=f"{message} (--strict)")

    if match is None:
        wanted = _relative(schema_location(folder, root), folder)
        return problem(
            "the first line is not the editor modeline; make it "
            f"'# yaml-language-server: $schema={wanted}'"
        )
    reference = match["path"]
    if "://" in reference:
        return problem(
            f"the modeline names {reference}, which editors would download; point it at a local "
            "copy of the schema (`peak-trade schema --output schemas/scenario.schema.json`)"
        )
    target = folder / reference
    try:
        stored = target.read_bytes()
    except OSError:
        shown = _relative(target, Path.cwd())
        return problem(
            f"the modeline names {reference}, which does not exist here ({shown}); write it with "
            f"`peak-trade schema --output {shown}`"
        )
    if stored != schema:
        shown = _relative(target, Path.cwd())
        return problem(
            f"the modeline names {reference}, which is not the schema of the installed peak_trade; "
            f"refresh it with `peak-trade schema --output {shown}`"
        )
    return None


def schema_location(folder: Path, root: Path) -> Path:
    """The schema file a scenario in `folder` should name (see cli/template.py)."""
    top = Path(os.path.abspath(root))
    bases = [folder, *folder.parents]
    if top in bases:
        bases = bases[: bases.index(top) + 1]
    found = (base / SCHEMA_RELATIVE for base in bases if (base / SCHEMA_RELATIVE).is_file())
    return next(found, top / SCHEMA_RELATIVE)


def _relative(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()
