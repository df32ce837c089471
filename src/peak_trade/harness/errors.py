"""Errors that mean "the scenario spec is wrong", each located at file:line:col and a JSON path.

One base class, `ScenarioError`, with flat subclasses: `ScenarioLoadError` when the file cannot be
read as strict YAML, `ScenarioValidationError` when the data breaks the scenario schema. Both carry
every `Problem` found, not just the first, so an author fixes a file in one pass. Failures where the
system under test misbehaved (expected vs actual) are a different family and live elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with a scenario file; `line` and `col` are 1-based.

    `json_path` is a JSON pointer ("/steps/3/submit/qty", "/" for the root) when the problem is
    about a node of the document, and "" when it is about the file itself (unreadable, YAML syntax).
    """

    file: str
    line: int
    col: int
    message: str
    json_path: str = ""

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: error: {self.message}"
        return f"{text} [at {self.json_path}]" if self.json_path else text


class ScenarioError(Exception):
    """The scenario spec is wrong; `problems` lists every located problem found.

    `secrets` are the values found under `config.secrets` of the document (as far as it could be
    read): every problem is redacted with them here, the one place every error passes, so no
    message about the document repeats a secret, whoever prints it (the CLI, pytest, a caller).
    """

    def __init__(self, problems: Iterable[Problem], *, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(dict.fromkeys(s for s in secrets if s))
        found = tuple(problems)
        if self.secrets:
            from peak_trade.harness.secret_screen import SecretScreen

            screen = SecretScreen(self.secrets)
            found = tuple(screen.problem(problem) for problem in found)
        self.problems: tuple[Problem, ...] = found
        super().__init__(self.problems)

    def with_secrets(self, secrets: Iterable[str]) -> ScenarioError:
        """The same error, redacted with these secrets too."""
        more = tuple(s for s in secrets if s and s not in self.secrets)
        if not more:
            return self
        return type(self)(self.problems, secrets=(*self.secrets, *more))

    def __str__(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


class ScenarioLoadError(ScenarioError):
    """The file is not a strict scenario document: unreadable, too big, not UTF-8, bad YAML,
    duplicate keys, tags, alias bombs, ambiguous scalars, or a top level that is not a mapping."""


class ScenarioValidationError(ScenarioError):
    """The document was read but breaks the scenario schema."""
