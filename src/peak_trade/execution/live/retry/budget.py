"""The session-wide retry budget: at most N retries within any window of W steps.

A value, not a service: `RetryBudget` is frozen, `left(step)` reads it and `spend(step)` returns
the budget after one more retry. Only the retries inside the window are kept, so it holds at
most N steps (bounded by the policy). Time is the logical step: a retry spent at step s counts
for the steps s .. s + W - 1, then drops out of the window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryBudget:
    limit: int  # retries per window (0: none)
    window_steps: int
    spent_steps: tuple[int, ...] = ()  # the steps of the retries still inside the window

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_steps < 1:
            raise ValueError(
                f"a retry budget needs limit >= 0 and window_steps >= 1, got {self.limit}, "
                f"{self.window_steps}"
            )

    def _inside(self, step: int) -> tuple[int, ...]:
        first = step - self.window_steps + 1
        return tuple(s for s in self.spent_steps if s >= first)

    def used(self, step: int) -> int:
        """Retries spent in the window that ends at `step`."""
        return len(self._inside(step))

    def left(self, step: int) -> int:
        """Retries still allowed at `step`."""
        return max(0, self.limit - self.used(step))

    def spend(self, step: int) -> RetryBudget:
        """The budget after one retry at `step`; raises when none is left (decide first)."""
        inside = self._inside(step)
        if len(inside) >= self.limit:
            raise ValueError(f"the retry budget is spent at step {step}: {self.limit} used")
        return RetryBudget(
            limit=self.limit, window_steps=self.window_steps, spent_steps=(*inside, step)
        )
