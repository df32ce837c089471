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
    """The scenario spec is wrong; `problems` lists every located problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


class ScenarioLoadError(ScenarioError):
    """The file is not a strict scenario document: unreadable, too big, not UTF-8, bad YAML,
    duplicate keys, tags, alias bombs, ambiguous scalars, or a top level that is not a mapping."""


class ScenarioValidationError(ScenarioError):
    """The document was read but breaks the scenario schema."""
