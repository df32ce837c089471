"""The secrets of a scenario document, known before any message about the document is printed.

A configured secret must appear in no output, and error messages are outputs: they quote values
("found the number 48151623"). So the values under `config.secrets` are taken from the document
as early as it can be read at all: from the loaded data, from the loader's walk when the
document has problems, and, when the YAML cannot even be parsed, from its lines
(`secrets_in_text`, a best effort). `SecretScreen` is what every message passes through: the
explainer asks it whether a value may be quoted (never one under `config.secrets`, never one that
holds a configured secret in any spelling), and `ScenarioError` redacts every problem's text with
it as the last step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from peak_trade.execution.live.audit_trail.redaction import Redactor
from peak_trade.execution.live.audit_trail.secret_strength import STRENGTH_RULE, secret_weakness
from peak_trade.harness.errors import Problem

SECRETS_PATH = ("config", "secrets")
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # the schema's propertyNames for secrets
HIDDEN = "not shown: it sits under config.secrets"
HOLDS_SECRET = "not shown: it holds a configured secret"
# Error text is redacted by substring for values at least this long; a shorter value (a refused
# PIN) would match inside line numbers, so it is kept out of messages by `is_secret_path` and
# `hides` instead, which compare whole values.
MESSAGE_MIN_LENGTH = 6
_MAX_SCAN_LINES = 100_000


def is_secret_path(path: Sequence[str | int]) -> bool:
    """Whether a JSON path is `config.secrets` or lies under it."""
    return tuple(path[:2]) == SECRETS_PATH


def secrets_in_data(data: object) -> list[str]:
    """Every scalar under `config.secrets` of loaded data, as text (numbers as written)."""
    config = data.get("config") if isinstance(data, Mapping) else None
    if not isinstance(config, Mapping) or "secrets" not in config:
        return []
    found: list[str] = []
    stack: list[object] = [config["secrets"]]
    budget = 10_000  # a bound on a malformed (say, deeply nested) secrets block
    while stack and budget:
        budget -= 1
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str):
            found.append(item)
        elif isinstance(item, Decimal) and item.is_finite():
            found.append(format(item, "f"))
        elif isinstance(item, int) and not isinstance(item, bool):
            found.append(str(item))
    return found


_SECRETS_KEY = re.compile(
    r"""^(?P<indent>[ ]*)(?:-[ ]+)?(?P<q>["']?)secrets(?P=q)[ ]*:(?P<rest>.*)$"""
)
_ITEM = re.compile(r"^[ ]*-[ ]+(?P<value>[^\s{\[].*)$")
_ENTRY = re.compile(
    r"""^[ ]*(?:-[ ]+)?(?:"[^"]*"|'[^']*'|[^:#'"{}\[\],]+)[ ]*:(?:[ ]+|$)(?P<value>.*)$"""
)


def secrets_in_text(text: str) -> list[str]:
    """Values that look like entries of a `secrets:` block, read from the lines of `text`.

    For a document YAML cannot parse: the loader's messages rarely quote values, but they must
    not quote these. Over-reading is harmless (more is redacted), so the reading is generous.
    """
    lines = text.splitlines()[:_MAX_SCAN_LINES]
    found: list[str] = []
    index = 0
    while index < len(lines):
        match = _SECRETS_KEY.match(lines[index])
        index += 1
        if match is None:
            continue
        rest = _strip_comment(match["rest"]).strip()
        if rest.startswith("{"):
            for entry in rest.strip("{} ").split(","):
                _, colon, value = entry.partition(":")
                if colon:
                    found.append(_unquote(value.strip()))
            continue
        if rest:
            found.append(_unquote(rest))
            continue
        base = len(match["indent"])
        while index < len(lines):
            line = lines[index]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= base:
                break
            index += 1
            entry = _ENTRY.match(line) or _ITEM.match(line)
            if entry is not None:
                found.append(_unquote(_strip_comment(entry["value"]).strip()))
    return [value for value in found if value]


def _strip_comment(text: str) -> str:
    if text.lstrip().startswith(("'", '"')):
        return text  # a quoted scalar: _unquote reads up to its closing quote
    head, _, _ = text.partition(" #")
    return head


def _unquote(text: str) -> str:
    if text.startswith('"'):
        try:
            value, _ = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return text[1:].partition('"')[0]
        return value if isinstance(value, str) else text
    if text.startswith("'"):
        match = re.match(r"'((?:[^']|'')*)'", text)
        return match.group(1).replace("''", "'") if match else text[1:]
    return text


class SecretScreen:
    """What messages about a document must not repeat: the values under `config.secrets`."""

    __slots__ = ("_folded", "redactor", "values")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: tuple[str, ...] = tuple(dict.fromkeys(v for v in values if v))
        self._folded = frozenset(v.casefold() for v in self.values)
        self.redactor = Redactor(
            [v for v in self.values if len(v) >= MESSAGE_MIN_LENGTH], lenient=True
        )

    def __bool__(self) -> bool:
        return bool(self.values)

    def hides(self, value: object) -> bool:
        """Whether `value` (a string or a number) equals or holds a configured secret."""
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, Decimal):
            text = format(value, "f") if value.is_finite() else str(value)
        else:
            text = str(value) if isinstance(value, str | int) else None
        if text is None:
            return False
        return text.casefold() in self._folded or self.redactor.hides(text)

    def text(self, text: str) -> str:
        return self.redactor.redact_text(text)

    def problem(self, problem: Problem) -> Problem:
        """`problem` with its file, message and path redacted (the same object when clean)."""
        fields = (problem.file, problem.message, problem.json_path)
        redacted = tuple(self.text(field) for field in fields)
        if redacted == fields:
            return problem
        file, message, json_path = redacted
        return Problem(
            file=file, line=problem.line, col=problem.col, message=message, json_path=json_path
        )


def secret_strength_problems(doc: object) -> list[Problem]:
    """A located problem for every configured secret too weak to redact; values never shown."""
    data = getattr(doc, "data", None)
    config = data.get("config") if isinstance(data, Mapping) else None
    secrets = config.get("secrets") if isinstance(config, Mapping) else None
    if not isinstance(secrets, Mapping):
        return []
    problems: list[Problem] = []
    scenario_id = data.get("id") if isinstance(data, Mapping) else None
    for name, value in secrets.items():
        if (
            isinstance(scenario_id, str)
            and isinstance(value, str)
            and secret_weakness(value) is None
            and value.casefold() in scenario_id.casefold()
        ):
            # The id names the snapshot, audit and evidence files: a file name cannot be redacted.
            line, col = doc.locate(("id",))  # type: ignore[attr-defined]
            message = (
                f"the scenario id holds the configured secret '{name}'; the id names the "
                "snapshot, audit and evidence files, so it must not (the id is not shown)"
            )
            problems.append(
                Problem(file=doc.path, line=line, col=col, message=message, json_path="/id")  # type: ignore[attr-defined]
            )
        if not isinstance(value, str) or not SECRET_NAME.fullmatch(str(name)):
            continue  # the schema reports a value that is not a string, or a bad name
        reason = secret_weakness(value)
        if reason is None:
            continue
        path = (*SECRETS_PATH, name)
        line, col = doc.locate(path)  # type: ignore[attr-defined]
        message = (
            f"the secret '{name}' is too weak to be redacted reliably: {reason} ({STRENGTH_RULE}); "
            "the value is not shown"
        )
        problems.append(
            Problem(
                file=doc.path,  # type: ignore[attr-defined]
                line=line,
                col=col,
                message=message,
                json_path="/" + "/".join(map(str, path)),
            )
        )
    return problems
