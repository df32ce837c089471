"""A finding as a scenario file `DIR/explore-<base>-<n>.yaml`: valid, failing until the fix.

The file is the shrunk variant's own data (the base scenario's config and steps with the faults
written into its broker script, and the tail of steps the explorer adds), a new id, and one
expectation: `expect.properties: [<the property>]`. `peak-trade scenario run` on it checks that
property (harness/verdict.py) and fails while the session violates it. Its comment header names
the base, the seed, the variant and its faults, and what to do once the bug is fixed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from peak_trade.explore.faults import Fault
from peak_trade.explore.properties import BY_NAME as PROPERTIES
from peak_trade.explore.variants import Base, describe, variant_data

__all__ = ["reproducer_id", "reproducer_text", "write_reproducer"]

MAX_ID = 64  # the schema's id length


def reproducer_id(base_id: str, number: int) -> str:
    suffix = f"-{number}"
    return "explore-" + base_id[: MAX_ID - len("explore-") - len(suffix)] + suffix


# Words YAML 1.1 reads as booleans or null: the scenario loader refuses them unquoted.
_YAML11_WORDS = frozenset(["y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"])
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


class _Dumper(yaml.SafeDumper):
    """Quotes every string the scenario loader could read as something else."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = _PLAIN.fullmatch(value) is not None and value.lower() not in _YAML11_WORDS
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else "'")


_Dumper.add_representer(str, _string)


def _plain(value: Any) -> Any:
    """Decimals as strings (a YAML float would be refused), containers copied."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def reproducer_text(
    base: Base,
    faults: tuple[Fault, ...],
    prop: str,
    *,
    number: int,
    seed: int,
    index: int,
    schema: str | None = None,
) -> str:
    data = variant_data(base, faults)
    says = PROPERTIES[prop].says
    document: dict[str, Any] = {
        "id": reproducer_id(base.id, number),
        "title": f"Explorer reproducer: {prop} on a variant of {base.id}",
        "description": (
            f"Found by peak-trade explore (seed {seed}, variant {index} of {base.id}) and shrunk "
            f"to {len(faults)} fault(s): {describe(faults)}. The property that must hold: {says}."
        ),
        "tags": ["explore", "reproducer"],
    }
    for key in ("config", "broker", "steps"):
        if key in data:
            document[key] = _plain(data[key])
    document["expect"] = {"properties": [prop]}
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    header = [
        *([f"# yaml-language-server: $schema={schema}"] if schema else []),
        f"# Reproducer written by `peak-trade explore` from {base.path}",
        f"# seed {seed}, variant {index}; faults: {describe(faults)}",
        f"# It fails while the session violates `{prop}` ({says});",
        "# once the bug is fixed it passes its expectations: record its snapshot",
        "# (`pytest --snapshot-update`) and keep it in the library as a regression scenario.",
    ]
    return "\n".join(header) + "\n" + body


def write_reproducer(
    directory: Path,
    base: Base,
    faults: tuple[Fault, ...],
    prop: str,
    *,
    number: int,
    seed: int,
    index: int,
) -> Path:
    """Write the reproducer and check it loads as a valid scenario (a failure is a bug here)."""
    from peak_trade.harness.model import load_scenario

    path = directory / f"explore-{base.id}-{number}.yaml"
    text = reproducer_text(base, faults, prop, number=number, seed=seed, index=index)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    load_scenario(path)  # raises a ScenarioError naming the problem if it is not valid
    return path
