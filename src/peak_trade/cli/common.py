"""What every command and the top-level error handler share: exit codes, path problems, context.

Kept free of the harness and the engine, so that `main` can import it for every command and a
command imports only what it needs (`scenario validate` never loads the engine).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from peak_trade.cli.output import display_path, screened

if TYPE_CHECKING:
    from peak_trade.execution.live.audit_trail.redaction import Redactor

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class PathProblem(Exception):
    """A file or folder the user named cannot be used; the message is one sentence."""

    @classmethod
    def wrap(cls, what: str, path: Path | str, exc: OSError) -> PathProblem:
        reason = exc.strerror or type(exc).__name__
        return cls(f"cannot {what} {display_path(path)}: {reason}")


@dataclass
class Context:
    """What the top-level error handler needs to know: the secrets known so far.

    Secrets live in the output screen (`output.screen_secrets`), which redacts everything a
    command prints; `redactor` is kept for callers that set one directly.
    """

    redactor: Redactor | None = None

    def redact_text(self, text: str) -> str:
        text = screened(text)
        return text if self.redactor is None else self.redactor.redact_text(text)
