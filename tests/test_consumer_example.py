"""examples/consumer/, adopted for real: a wheel of peak_trade in a fresh virtual environment.

The wheel is built from this checkout without build isolation and installed without its
dependencies and without an index, so nothing is downloaded; the new environment sees the
dependencies this project has installed through a `.pth` line (the project's own editable install
is not among them: `.pth` files on that path are not run). In a copy of the example repository
the test then walks the README's steps: the schema for the editor, `scenario validate --strict`,
`pytest` (no snapshot yet: fails), `pytest --snapshot-update`, `pytest`, `peak-trade scenario
run`, a renamed scenario (its old snapshot unused: fails; --snapshot-update prunes it), and the
pre-commit hook this repository publishes. It also checks the README section's sample output
against what these commands print.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "consumer"
STEP_TIMEOUT = 300  # seconds per command: a bound, far above a normal run
# The example depends on peak-trade and pytest only; the other plugins installed here stay out.
QUIET_PLUGINS = "-p no:syrupy -p no:hypothesispytest -p no:xdist -p no:randomly"

PIP = (sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check")

pytestmark = pytest.mark.slow


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == code, f"{argv}: exit {done.returncode}\n{output[-4000:]}"
    assert "Traceback" not in output
    return done.stdout


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("consumer")
    wheels = base / "wheels"
    run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, ROOT],
        cwd=base,
    )
    (wheel,) = wheels.glob("peak_trade-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    python = venv / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base)
    Path(purelib.strip(), "project-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    run(
        [*PIP, "--python", python, "install", "--no-index", "--no-deps", wheel],
        cwd=base,
    )
    repo = base / "repo"
    shutil.copytree(EXAMPLE, repo)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PYTEST", "VIRTUAL_ENV", "PEAK_TRADE"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTEST_ADDOPTS"] = QUIET_PLUGINS
    return repo, env


def test_the_wheel_is_what_runs(consumer: tuple[Path, dict[str, str]]) -> None:
    repo, env = consumer
    where = run(["python", "-c", "import peak_trade; print(peak_trade.__file__)"], repo, env)
    assert "/venv/lib/" in where
    assert str(ROOT / "src") not in where


def test_the_readme_steps_in_the_example_repository(
    consumer: tuple[Path, dict[str, str]],
) -> None:
    repo, env = consumer
    outputs: dict[str, str] = {}
    outputs["schema"] = run(
        ["peak-trade", "schema", "--output", "schemas/scenario.schema.json"], repo, env
    )
    outputs["validate"] = run(["peak-trade", "scenario", "validate", "--strict"], repo, env)
    assert outputs["validate"] == "2 scenario file(s) valid (strict)\n"

    first = run(["python", "-m", "pytest", "-q"], repo, env, code=1)
    assert "expect.snapshot: expected 'a stored snapshot snapshots/first_order.json'" in first
    outputs["update"] = run(["python", "-m", "pytest", "-q", "--snapshot-update"], repo, env)
    assert "peak_trade: 2 snapshots written" in outputs["update"]
    assert sorted(p.name for p in (repo / "snapshots").iterdir()) == [
        "first_order.json",
        "two_symbols.json",
    ]
    collected = run(["python", "-m", "pytest", "-q", "--collect-only"], repo, env)
    assert "scenarios/first_order.yaml::first_order" in collected
    outputs["pytest"] = run(["python", "-m", "pytest", "-q"], repo, env)
    assert re.search(r"^2 passed in ", outputs["pytest"], re.MULTILINE)
    outputs["run"] = run(["peak-trade", "scenario", "run"], repo, env)
    assert outputs["run"].splitlines()[-1] == "2 passed, 0 failed"
    records = [
        json.loads(line)
        for line in run(["peak-trade", "scenario", "run", "--json"], repo, env).splitlines()
    ]
    assert [(r["id"], r["passed"]) for r in records] == [
        ("first_order", True),
        ("two_symbols", True),
    ]
    assert sorted(p.name for p in (repo / "evidence").iterdir())  # evidence of each pass

    # A renamed scenario: pytest and the CLI agree it has no snapshot; the old one is unused.
    old = repo / "scenarios" / "first_order.yaml"
    text = old.read_text(encoding="utf-8").replace("id: first_order", "id: first_order_v2")
    (repo / "scenarios" / "first_order_v2.yaml").write_text(text, encoding="utf-8")
    old.unlink()
    stale = run(["python", "-m", "pytest", "-q"], repo, env, code=1)
    assert "peak_trade: 1 unused snapshot" in stale
    assert "  unused snapshots/first_order.json" in stale
    assert "1 failed, 1 passed" in stale
    cli = run(["peak-trade", "scenario", "run"], repo, env, code=1)
    assert "FAIL first_order_v2" in cli
    assert cli.splitlines()[-1] == "1 passed, 1 failed"
    pruned = run(["python", "-m", "pytest", "-q", "--snapshot-update"], repo, env)
    assert "peak_trade: 1 unused snapshot deleted" in pruned
    assert not (repo / "snapshots" / "first_order.json").exists()
    run(["python", "-m", "pytest", "-q"], repo, env)
    check_readme_samples(outputs)


def test_the_published_pre_commit_hook_validates_scenarios(
    consumer: tuple[Path, dict[str, str]],
) -> None:
    repo, env = consumer
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "peak-trade-validate"]
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for r in config["repos"] for h in r["hooks"]] == ["peak-trade-validate"]
    files = [
        p.relative_to(repo).as_posix()
        for p in sorted((repo / "scenarios").rglob("*"))
        if re.search(hook["files"], p.relative_to(repo).as_posix())
    ]
    assert files
    run([*shlex.split(hook["entry"]), *hook.get("args", []), *files], repo, env)
    broken = repo / "scenarios" / "broken.yaml"
    broken.write_text("id: broken\ntitle: x\nsteps: [\n", encoding="utf-8")
    try:
        out = subprocess.run(
            [*shlex.split(hook["entry"]), "scenarios/broken.yaml"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
    finally:
        broken.unlink()
    assert out.returncode == 2
    assert out.stderr.startswith("scenarios/broken.yaml:")
    assert "invalid YAML" in out.stderr


# --- the README's "Use it in your repository" samples ---------------------------------------------

SAMPLE = re.compile(
    r"^(?P<indent> *)<!-- sample: (?P<name>\w+) -->\n(?P=indent)```\n(?P<body>.*?)(?P=indent)```\n",
    re.DOTALL | re.MULTILINE,
)


def _normal(text: str) -> str:
    """Output without what varies from run to run (durations, dates, audit heads) or with the
    engine (how many audit records a scenario writes)."""
    text = re.sub(r" in \d+\.\d+s", " in 0.01s", text)
    text = re.sub(r"\d+ records", "# records", text)
    text = re.sub(r"^(\S+ +(?:PASS|FAIL) +\S+ +\d+ +)\d+$", r"\1#", text, flags=re.MULTILINE)
    text = re.sub(r"EV-\d{8}-", "EV-YYYYMMDD-", text)
    return re.sub(r"head [0-9a-f]{12}", "head …", text)


def check_readme_samples(outputs: dict[str, str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    samples = {
        m["name"]: "".join(
            line.removeprefix(m["indent"]) for line in m["body"].splitlines(keepends=True)
        )
        for m in SAMPLE.finditer(readme)
    }
    assert set(samples) == set(outputs), f"README samples {sorted(samples)}"
    for name, body in samples.items():
        shown = body.split("\n", 1)[1]  # after the "$ command" line
        assert _normal(shown) == _normal(outputs[name]), name
