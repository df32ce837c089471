"""Validate a loaded scenario against the JSON Schema, as located one-sentence problems.

Theory of operation: jsonschema (Draft 2020-12, with the format checker) reports every error with
an instance path but no line; the `LoadedDocument` maps each path to a line and column. Each error
becomes one sentence at the offending node (schema_problems.py). The validator judges the loader's
`Decimal` numbers exactly (decimal_validator.py).

Most documents are valid, so a fast exact check answers "valid?" first (decimal_validator.py);
jsonschema itself, the sentences and the module that writes them are reached only for a document
it does not accept.

The schema itself must be a valid Draft 2020-12 schema. Checking that against the metaschema costs
about 80 ms, most of a cold `peak-trade scenario validate`, so the bytes of the scenario schema as
last checked by the test suite are pinned here by their digest: a schema with exactly those bytes
is not checked again, any other schema (an edited one included) is checked at its first use.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from peak_trade.harness.decimal_validator import _fast_valid, _mark_checked, _validator_for
from peak_trade.harness.errors import Problem
from peak_trade.harness.loader import LoadedDocument

__all__ = ["CHECKED_SCHEMA_SHA256", "load_schema", "schema_bytes", "validate_document"]

SCHEMA_NAME = "scenario.schema.json"
_REPO_SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / SCHEMA_NAME

# sha256 of schemas/scenario.schema.json as tests/harness/test_validate_fast_check.py checks it
# against the metaschema; that test fails with the new value to pin when the schema changes.
CHECKED_SCHEMA_SHA256 = "dc75bbb334d00bd4c6e8ca76206a3191d07bbfd2710cf4ac94f42e7199362f66"


def schema_bytes() -> bytes:
    """The exact bytes of the scenario schema: the packaged copy, else the repository's."""
    packaged = importlib.resources.files("peak_trade.harness") / SCHEMA_NAME
    return (packaged if packaged.is_file() else _REPO_SCHEMA).read_bytes()


@functools.cache
def load_schema(path: Path | None = None) -> dict[str, Any]:
    """The scenario schema: the packaged copy, else `<repo>/schemas/scenario.schema.json`.

    Cached per argument; treat the returned dict as read-only (validators are cached per schema
    object, so a schema mutated in place would keep its old validator).
    """
    raw = schema_bytes() if path is None else Path(path).read_bytes()
    schema: dict[str, Any] = json.loads(raw.decode("utf-8"))
    if hashlib.sha256(raw).hexdigest() == CHECKED_SCHEMA_SHA256:
        _mark_checked(schema)
    return schema


def validate_document(
    doc: LoadedDocument, schema: Mapping[str, Any], *, secrets: Iterable[str] | None = None
) -> list[Problem]:
    """Every schema problem of `doc`, one sentence each, sorted by position; [] when valid.

    No sentence quotes a value under `config.secrets` or one holding any of `secrets` (by
    default the values under the document's own `config.secrets`).
    """
    if _fast_valid(doc.data, schema):
        return []
    from peak_trade.harness.schema_problems import _Explainer  # only for a document that may fail
    from peak_trade.harness.secret_screen import SecretScreen, secrets_in_data

    screen = SecretScreen(secrets_in_data(doc.data) if secrets is None else secrets)
    explainer = _Explainer(doc, schema, screen)
    problems: list[Problem] = []
    for error in _validator_for(schema).iter_errors(doc.data):
        problems.extend(explainer.explain(error))
    unique = {(p.line, p.col, p.json_path, p.message): p for p in reversed(problems)}
    return [screen.problem(unique[key]) for key in sorted(unique)]
