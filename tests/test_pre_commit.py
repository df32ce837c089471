"""The pre-commit hooks: the one this repository publishes, and its own local hooks.

The local hooks run the project's tools through .ci/venv-tool, which sets up .venv first on a
clean clone (`make .venv/.installed`, what `make test` does), so no hook needs a prepared .venv.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VALIDATE = ("scenario", "validate", "--strict")


def test_the_published_hook() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "peak-trade-validate"]
    assert hook["language"] == "python"  # pre-commit installs this repository for it
    assert shlex.split(hook["entry"]) == ["peak-trade", "scenario", "validate"]
    assert hook["pass_filenames"] is True
    assert re.search(hook["files"], "scenarios/x.yaml")
    assert not re.search(hook["files"], ".github/workflows/ci.yml")


def test_every_local_hook_runs_through_the_venv_tool() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {h["id"] for h in hooks} == {"ruff-check", "ruff-format", "scenario-validate"}
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == ".ci/venv-tool", hook["id"]
        assert hook["language"] == "script", hook["id"]
    validate = next(h for h in hooks if h["id"] == "scenario-validate")
    assert "--strict" in validate["entry"]


def test_the_venv_tool_runs_a_tool_of_the_prepared_venv() -> None:
    fresh = subprocess.run(
        ["make", "--question", ".venv/.installed"], cwd=ROOT, capture_output=True, check=False
    )
    if fresh.returncode != 0:  # setting .venv up would install packages: not in a test
        pytest.skip(".venv is not up to date with pyproject.toml")
    done = subprocess.run(
        [ROOT / ".ci" / "venv-tool", "peak-trade", *VALIDATE, "scenarios/broker_reject.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "1 scenario file(s) valid (strict)\n"), done.stderr
