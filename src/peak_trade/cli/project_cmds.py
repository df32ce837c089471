"""`peak-trade config` and `peak-trade schema`: what a repository adopting peak_trade sets up.

`config` shows the settings every other command and the pytest plugin resolve, each with where it
came from; `schema` hands out the packaged scenario schema, for editors and for a checked-in copy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from peak_trade.cli.common import EXIT_OK, Context, PathProblem
from peak_trade.cli.output import display_path, out, table
from peak_trade.harness.project_config import KEYS, ProjectConfig


def config_values(config: ProjectConfig) -> dict[str, object]:
    """Each setting as shown: paths relative to the working directory when under it."""
    values: dict[str, object] = {}
    for key in KEYS:
        value = getattr(config, key)
        if key == "scenarios":
            values[key] = [display_path(p) for p in value]
        else:
            values[key] = None if value is None else display_path(value)
    return values


def cmd_config(args: argparse.Namespace, ctx: Context) -> int:
    config: ProjectConfig = args.config
    values = config_values(config)
    pyproject = None if config.pyproject is None else display_path(config.pyproject)
    if args.json:
        record = {
            "pyproject": pyproject,
            "configured": config.configured,
            "root": display_path(config.root),
            "settings": {
                key: {"value": values[key], "source": config.sources[key]} for key in KEYS
            },
        }
        out(json.dumps(record, ensure_ascii=False))
        return EXIT_OK
    if pyproject is None:
        out("project: no pyproject.toml here or above; every setting is the default")
    elif config.configured:
        out(f"project: {pyproject} [tool.peak_trade]")
    else:
        out(f"project: {pyproject} (no [tool.peak_trade] table; every setting is the default)")
    rows = []
    for key in KEYS:
        value = values[key]
        shown = "(none: not written)" if value is None else json.dumps(value, ensure_ascii=False)
        rows.append((key, shown, config.sources[key]))
    for line in table(("KEY", "VALUE", "FROM"), rows):
        out(line)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, ctx: Context) -> int:
    from peak_trade.harness.validate import schema_bytes

    raw = schema_bytes()
    target: Path | None = args.output
    if target is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return EXIT_OK
    from peak_trade.harness.evidence import write_text_atomic

    try:
        write_text_atomic(target, raw.decode("utf-8"))
    except OSError as exc:
        raise PathProblem.wrap("write", target, exc) from None
    out(f"wrote {display_path(target)}")
    return EXIT_OK
