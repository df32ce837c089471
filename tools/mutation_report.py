"""The figures of the last mutation campaign (`make mutate`), per module and overall.

Reads mutmut's result files under `mutants/` and the equivalent mutants judged harmless in
docs/reliability.md ("Mutation testing": one table row per mutant, its name in backticks first).
A mutant counts as killed when a test failed, timed out or crashed on it; the score is killed
over the mutants that change behaviour (all mutants less the equivalent ones). Prints every
survivor not judged equivalent with its diff, and every listed equivalent that no longer survives
(a stale row), so the doc stays true. Exit 1 when any module is below the target.

    python -m tools.mutation_report [MODULE]
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TARGET = 0.95
MUTANTS = Path("mutants")
DOC = Path("docs/reliability.md")
MODULES = {
    "state": "src/peak_trade/execution/live/state.py",
    "book": "src/peak_trade/execution/live/book.py",
    "rails": "src/peak_trade/execution/live/rails/rules.py",
    "redaction": "src/peak_trade/execution/live/audit_trail/redaction.py",
    "audit_verify": "src/peak_trade/execution/live/audit_trail/verify.py",
    "model": "src/peak_trade/execution/broker/model.py",
    "order_lifecycle": "src/peak_trade/execution/broker/order_lifecycle.py",
}
# mutmut's exit codes (mutmut/stats.py): a failing test run, a timeout or a crash is a kill.
KILLED = {1, 3, 24, -24, 36, 152, 255, -9, -11}
SURVIVED = {0}
NO_TESTS = {5, 33}
_ROW = re.compile(r"^\| `(peak_trade\.[\w.]+__mutmut_\d+)` \|")


@dataclass
class Figures:
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    unchecked: int = 0
    alive: list[str] = field(default_factory=list)  # survived or reached by no test
    stale: list[str] = field(default_factory=list)  # listed as equivalent, yet killed

    @property
    def relevant(self) -> int:
        return self.mutants - self.equivalent

    @property
    def score(self) -> float:
        return self.killed / self.relevant if self.relevant else 1.0


def equivalents(doc: Path = DOC) -> set[str]:
    """Mutant names listed as equivalent in the doc's mutation-testing section."""
    if not doc.exists():
        return set()
    return {m[1] for line in doc.read_text("utf-8").splitlines() if (m := _ROW.match(line))}


def module_figures(module: str, judged: set[str]) -> Figures | None:
    meta = MUTANTS / (MODULES[module] + ".meta")
    if not meta.exists():
        return None
    codes: dict[str, int | None] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    figures = Figures(mutants=len(codes))
    for name, code in sorted(codes.items()):
        if code in KILLED:
            figures.killed += 1
            if name in judged:
                figures.stale.append(name)
        elif name in judged and (code in SURVIVED or code in NO_TESTS):
            figures.equivalent += 1
        elif code is None:
            figures.unchecked += 1
            figures.alive.append(name)
        else:
            figures.alive.append(name)
    return figures


def _diff(name: str, module: str) -> str:
    """The changed lines of one mutant (mutmut's own diff, read in this process: fast)."""
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant
    except ImportError:  # the report still runs without the extra; the diff is left out
        return "      (install the mutate extra for the diff)"
    try:
        diff = get_diff_for_mutant(name, path=MODULES[module])
    except Exception as exc:  # a mutant of a file changed since the run: say so, carry on
        return f"      (no diff: {type(exc).__name__})"
    lines = [
        line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    return "\n".join(f"      {line}" for line in lines)


def main(argv: list[str]) -> int:
    chosen = argv or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        print(f"unknown module {unknown[0]!r}; one of: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    judged = equivalents()
    total = Figures()
    rows, below = [], []
    for module in chosen:
        figures = module_figures(module, judged)
        if figures is None:
            continue
        rows.append((module, figures))
        for attr in ("mutants", "killed", "equivalent", "unchecked"):
            setattr(total, attr, getattr(total, attr) + getattr(figures, attr))
        total.alive += figures.alive
        total.stale += figures.stale
        if figures.score < TARGET:
            below.append(module)
    print("| Module | Mutants | Killed | Equivalent | Alive | Score |")
    print("|---|---|---|---|---|---|")
    for module, f in [*rows, ("overall", total)]:
        alive = len(f.alive)
        print(f"| {module} | {f.mutants} | {f.killed} | {f.equivalent} | {alive} | {f.score:.1%} |")
    if total.unchecked:
        print(f"\n{total.unchecked} mutants not checked yet: run `make mutate` to finish.")
    for module, f in rows:
        for name in f.alive:
            print(f"\nalive: {name}\n{_diff(name, module)}")
    for name in total.stale:
        print(f"\nlisted as equivalent in {DOC} but killed (remove the row): {name}")
    if below:
        print(f"\nbelow the {TARGET:.0%} target: {', '.join(below)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
