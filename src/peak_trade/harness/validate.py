"""Validate a loaded scenario against the JSON Schema, as located one-sentence problems.

Theory of operation: jsonschema (Draft 2020-12, with the format checker) reports every error with
an instance path but no line; the `LoadedDocument` maps each path to a line and column. Each error
becomes one sentence at the offending node (schema_problems.py). The validator judges the loader's
`Decimal` numbers exactly (decimal_validator.py).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peak_trade.harness.decimal_validator import _validator_for
from peak_trade.harness.errors import Problem
from peak_trade.harness.loader import LoadedDocument
from peak_trade.harness.schema_problems import _Explainer

__all__ = ["load_schema", "validate_document"]

SCHEMA_NAME = "scenario.schema.json"
_REPO_SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / SCHEMA_NAME


@functools.cache
def load_schema(path: Path | None = None) -> dict[str, Any]:
    """The scenario schema: the packaged copy, else `<repo>/schemas/scenario.schema.json`.

    Cached per argument; treat the returned dict as read-only (validators are cached per schema
    object, so a schema mutated in place would keep its old validator).
    """
    if path is None:
        packaged = importlib.resources.files("peak_trade.harness") / SCHEMA_NAME
        text = (packaged if packaged.is_file() else _REPO_SCHEMA).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return json.loads(text)


def validate_document(doc: LoadedDocument, schema: Mapping[str, Any]) -> list[Problem]:
    """Every schema problem of `doc`, one sentence each, sorted by position; [] when valid."""
    explainer = _Explainer(doc, schema)
    problems: list[Problem] = []
    for error in _validator_for(schema).iter_errors(doc.data):
        problems.extend(explainer.explain(error))
    unique = {(p.line, p.col, p.json_path, p.message): p for p in reversed(problems)}
    return [unique[key] for key in sorted(unique)]
