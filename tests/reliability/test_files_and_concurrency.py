"""Files and concurrency: an audit file is never shared, never silently lost (issue 10, §3).

Each class the review reproduced, tried through the real entry point where it matters:
concurrent runs on one --audit-dir (real processes), paths that are not regular files (FIFO,
/dev/zero, a 3 GB line as a sparse file, deep nesting, a NUL byte), audit paths that escape the
run's directory, a full disk mid-record (in process and under RLIMIT_FSIZE), output locations
checked before anything runs, and signals (a real SIGTERM; an interrupted seal).
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.live.audit import AuditSinkError, JsonlFileSink, verify_file
from peak_trade.execution.live.audit_trail import writer as audit_module
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.intents import ScriptedIntents
from peak_trade.execution.live.session import build_session
from peak_trade.harness.audit_lock import AuditPathLock
from peak_trade.harness.model import load_scenario
from peak_trade.harness.verdict import evaluate
from peak_trade.observe.facts import read_facts
from peak_trade.observe.metrics import TEXT, render

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "happy_path_full_fills.yaml"
TIMEOUT = 60  # seconds: a hang guard for the subprocesses, not a speed goal


def long_scenario(directory: Path, orders: int = 300, *, own_file_sink: bool = False) -> Path:
    """`orders` orders, one per step: long enough to be caught mid-run."""
    sink = ", audit: {sink: file, path: own_trail.jsonl}" if own_file_sink else ""
    lines = [
        "id: long_session",
        "title: A long session",
        f"config: {{allowlist: [AAPL], max_steps: 5000, rails: {{unbounded: true}}{sink}}}",
        'broker: {reference_prices: {AAPL: "190.10"}}',
        "steps:",
    ]
    lines += [f"  - submit: {{id: o-{n}, symbol: AAPL, side: buy, qty: 1}}" for n in range(orders)]
    lines += ["  - stop: end", "expect: {final_state: STOPPED}"]
    path = directory / "long_session.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*argv: str, cwd: Path, env: dict[str, str] | None = None, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "peak_trade", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=TIMEOUT)
    return process.returncode, out, err


# --- two runs, one --audit-dir -----------------------------------------------------------------


def test_a_run_whose_audit_file_is_in_use_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    scenario = long_scenario(tmp_path, 5)
    argv = ["scenario", "run", str(scenario), "--audit-dir", "audit", "--evidence-dir", "ev"]
    with AuditPathLock(audit_dir / "long_session.jsonl"):  # another run holds it
        code, _, err = finished(cli(*argv, "--snapshot-dir", "snap", cwd=tmp_path))
    assert code == 2, err
    assert "another run is writing this audit file right now" in err
    assert "long_session.jsonl" in err
    assert "internal error" not in err
    assert sorted(p.name for p in audit_dir.iterdir()) == []  # its lock is ours, released
    assert not (tmp_path / "ev").exists()


def test_concurrent_runs_never_interleave_or_lose_a_trail(tmp_path: Path) -> None:
    scenario = long_scenario(tmp_path, 300)
    argv = ["scenario", "run", str(scenario), "--json", "--audit-dir", "audit"]
    argv += ["--snapshot-dir", "snap"]
    runs = [cli(*argv, "--evidence-dir", f"ev{n}", cwd=tmp_path) for n in range(3)]
    results = [finished(run) for run in runs]
    codes = sorted(code for code, _, _ in results)
    for code, _, err in results:
        assert code in (1, 2), err  # 1: no stored snapshot (expected); 2: refused, in use
        if code == 2:
            assert "another run is writing this audit file" in err
    assert 1 in codes
    trail = tmp_path / "audit" / "long_session.jsonl"
    verified = verify_file(trail)
    assert verified.ok, verified.reason
    assert verified.sealed
    heads = {json.loads(out)["audit_head"] for code, out, _ in results if code == 1}
    assert verified.head in heads  # the file is one whole run's trail
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == [
        "long_session.jsonl",
        "long_session.jsonl.seal",
        "long_session.prom",
    ]
    # The metrics beside it are that trail's, whichever run wrote them last.
    assert trail.with_suffix(".prom").read_bytes() == render(read_facts(trail), TEXT)


def test_an_audit_file_that_exists_is_never_opened_by_a_second_sink(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    first = JsonlFileSink(path)
    first.open()
    with pytest.raises(AuditSinkError, match="already exists"):
        JsonlFileSink(path).open()  # O_EXCL: even while the file is still empty
    first.close()


def test_two_seals_written_at_once_use_their_own_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []
    real_replace = os.replace

    def spy(source: object, target: object) -> None:
        names.append(str(source))
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", spy)
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        sink = JsonlFileSink(tmp_path / name)
        sink.open()
        sink.close()
    sink = JsonlFileSink(tmp_path / "d.jsonl")
    sink.open()
    sink.close()
    assert len(set(names)) == len(names) == 4
    assert all(".tmp" in name and Path(name).parent == tmp_path for name in names)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- only regular files, read with a bound -------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (768 * 1024 * 1024, 768 * 1024 * 1024))


def limited(*argv: str, cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "peak_trade", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


SNAPSHOTS = ROOT / "snapshots"


def real_evidence(directory: Path) -> Path:
    """Evidence of a real passing run of the happy path, written in `directory`."""
    copy = directory / "happy_path_full_fills.yaml"
    copy.write_bytes(HAPPY.read_bytes())
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "peak_trade",
            "scenario",
            "run",
            copy.name,
            "--evidence-dir",
            "ev",
            "--snapshot-dir",
            str(SNAPSHOTS),
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (evidence,) = (directory / "ev").iterdir()
    return evidence


def evidence_naming(directory: Path, scenario_path: str, *, digests: str | None = None) -> Path:
    """Real evidence whose digests block names `scenario_path` (or is `digests` instead)."""
    evidence = real_evidence(directory)
    lines = evidence.read_text(encoding="utf-8").split("\n")
    at = lines.index("```json") + 1
    data = json.loads(lines[at])
    data["scenario_path"] = scenario_path
    lines[at] = digests or json.dumps(data, sort_keys=True, separators=(",", ":"))
    evidence.write_text("\n".join(lines), encoding="utf-8")
    return evidence


@pytest.mark.parametrize(
    "command",
    [("scenario", "validate"), ("scenario", "run"), ("audit", "verify"), ("evidence", "verify")],
)
def test_a_fifo_is_refused_not_waited_on(fifo: Path, tmp_path: Path, command: tuple) -> None:
    code, out, err = limited(*command, str(fifo), cwd=tmp_path)
    assert code == 2, (out, err)
    assert "FIFO (named pipe), not a regular file" in err
    assert "internal error" not in err


@pytest.mark.parametrize("command", [("audit", "verify"), ("evidence", "verify")])
def test_dev_zero_is_refused(tmp_path: Path, command: tuple) -> None:
    code, _, err = limited(*command, "/dev/zero", cwd=tmp_path)
    assert code == 2, err
    assert "character device, not a regular file" in err
    assert "internal error" not in err


def sparse_line(path: Path, size: int = 3 * 1024**3) -> Path:
    """A `size`-byte file of one line with no newline, taking no disk space (sparse)."""
    with open(path, "wb") as handle:
        handle.write(b'{"hash":"')
        handle.truncate(size)
    return path


def test_a_3_gb_single_line_is_refused_within_memory(tmp_path: Path) -> None:
    line = sparse_line(tmp_path / "huge.jsonl")
    code, _, err = limited("audit", "verify", str(line), cwd=tmp_path)
    assert code == 1, err
    assert "huge.jsonl:1: error: line 1 is malformed: it is longer than" in err
    code, _, err = limited("evidence", "verify", str(line), cwd=tmp_path)
    assert code == 2, err
    assert "not evidence" in err
    assert "internal error" not in err
    # An evidence file naming it as its scenario: read with the scenario size bound.
    evidence = evidence_naming(tmp_path, str(line))
    code, _, err = limited("evidence", "verify", str(evidence), cwd=tmp_path)
    assert code in (1, 2), err
    assert "internal error" not in err
    assert "MemoryError" not in err


def test_deep_nesting_and_a_nul_byte_get_a_message_not_an_exception(tmp_path: Path) -> None:
    deep = evidence_naming(tmp_path, "x", digests="[" * 200_000 + "]" * 200_000)
    code, _, err = limited("evidence", "verify", str(deep), cwd=tmp_path)
    assert code in (1, 2), err
    assert "RecursionError" not in err
    assert "internal error" not in err
    nul = evidence_naming(tmp_path, "scenarios/a\u0000b.yaml")
    code, _, err = limited("evidence", "verify", str(nul), cwd=tmp_path)
    assert code in (1, 2), err
    assert "ValueError" not in err
    assert "internal error" not in err
    seal_target = tmp_path / "t.jsonl"
    seal_target.write_bytes(b"")
    (tmp_path / "t.jsonl.seal").write_text("[" * 200_000)
    code, _, err = limited("audit", "verify", str(seal_target), cwd=tmp_path)
    assert code in (1, 2), err
    assert "internal error" not in err


def test_a_fifo_beside_an_audit_file_is_no_seal(tmp_path: Path) -> None:
    trail = tmp_path / "happy.jsonl"
    evaluate(load_scenario(HAPPY), snapshot_dir=None, audit_file=trail)
    seal = tmp_path / "happy.jsonl.seal"
    seal.unlink()
    os.mkfifo(seal)
    code, _, err = limited("audit", "verify", str(trail), cwd=tmp_path)
    assert code == 1, err
    assert "the seal of happy.jsonl is unreadable: it is a FIFO" in err
    assert "internal error" not in err


# --- config.audit.path stays inside the run's directory -----------------------------------------


def scenario_with_audit_path(directory: Path, audit_path: str) -> Path:
    path = directory / "own_sink.yaml"
    path.write_text(
        "id: own_sink\ntitle: Own sink\n"
        "config: {allowlist: [AAPL], max_steps: 3, rails: {unbounded: true}, "
        f"audit: {{sink: file, path: {json.dumps(audit_path)}}}}}\n"
        "steps: [{}]\nexpect: {}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("audit_path", "fragment"),
    [
        ("/tmp/escaped.jsonl", "must be relative"),
        ("/dev/stdout", "must be relative"),
        ("../escaped.jsonl", "must not contain '..'"),
        ("a/../../escaped.jsonl", "must not contain '..'"),
        ("C:\\\\escaped.jsonl", "must be relative"),
        ("sub/", "must name a file"),
    ],
)
def test_an_audit_path_that_escapes_is_refused_located(
    tmp_path: Path,
    audit_path: str,
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = scenario_with_audit_path(tmp_path, audit_path)
    for command in ("validate", "run"):
        assert main(["scenario", command, path.name]) == 2
        err = capsys.readouterr().err
        assert "own_sink.yaml:3:" in err
        assert fragment in err
        assert "[at /config/audit/path]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["own_sink.yaml"]


def test_a_symlink_out_of_the_run_directory_is_refused(tmp_path: Path) -> None:
    base, outside = tmp_path / "run", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "sub").symlink_to(outside)
    config = SessionConfig.from_mapping(
        {
            "session_id": "s",
            "allowlist": ["AAPL"],
            "max_steps": 3,
            "audit": {"sink": "file", "path": "sub/trail.jsonl"},
        }
    )
    session = build_session(config, MockBroker(), ScriptedIntents(), base_dir=base, environ={})
    checks = session.preflight()
    failed = [c for c in checks if not c.ok]
    assert failed, checks
    assert any("outside the run's audit directory" in c.detail for c in failed)
    session.close()
    assert list(outside.iterdir()) == []


def test_evidence_verify_writes_nothing_outside_a_private_temporary_directory(
    tmp_path: Path,
) -> None:
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    scenario = scenario_with_audit_path(work, "trail.jsonl")
    evidence = evidence_naming(work, str(scenario))
    before = sorted(p.name for p in work.iterdir())
    env = {**os.environ, "TMPDIR": str(scratch)}
    code, _, err = finished(cli("evidence", "verify", str(evidence), cwd=work, env=env))
    assert code in (1, 2), err  # the forged digests do not verify; the point is where it wrote
    assert "internal error" not in err
    assert sorted(p.name for p in work.iterdir()) == before
    assert list(scratch.iterdir()) == [], "a scratch directory was left behind"


# --- a full disk ---------------------------------------------------------------------------------


def test_a_short_write_is_cut_back_to_the_last_whole_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write, calls = os.write, []

    def full_disk(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 6:  # the sixth record: half of it fits, then the disk is full
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(audit_module.os, "write", full_disk)
    audit_file = tmp_path / "happy.jsonl"
    scenario = load_scenario(HAPPY)
    verdict = evaluate(scenario, snapshot_dir=None, audit_file=audit_file)
    monkeypatch.undo()
    assert not verdict.passed  # the run fails
    assert any(m.key in ("audit_sinks", "final_state", "breaches") for m in verdict.mismatches)
    verified = verify_file(audit_file)
    assert verified.ok, verified.reason  # no torn line: five whole records
    assert verified.count == 5
    assert not verified.torn_tail
    assert audit_file.read_bytes().endswith(b"\n")


def test_a_write_that_makes_no_progress_is_a_failure_not_a_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def stuck(fd: int, data: bytes) -> int:
        return real_write(fd, data[:1]) if len(data) > 100 else 0

    sink = JsonlFileSink(tmp_path / "t.jsonl")
    sink.open()
    monkeypatch.setattr(audit_module.os, "write", stuck)
    with pytest.raises(AuditSinkError, match="no space left"):
        sink.write("x" * 200)
    monkeypatch.undo()
    sink.close()
    assert (tmp_path / "t.jsonl").read_bytes() == b""


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_in_a_real_run_fails_it_and_leaves_whole_records(tmp_path: Path) -> None:
    scenario = long_scenario(tmp_path, 60)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "peak_trade",
            "scenario",
            "run",
            str(scenario),
            "--json",
            "--audit-dir",
            "audit",
            "--evidence-dir",
            "ev",
            "--snapshot-dir",
            "snap",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_file_size_limit(20_000),
        check=False,
    )
    assert done.returncode == 1, done.stderr
    line = json.loads(done.stdout.splitlines()[0])
    assert line["passed"] is False
    assert "audit" in json.dumps(line["mismatches"])  # the sink failure is among them
    trail = tmp_path / "audit" / "long_session.jsonl"
    assert trail.stat().st_size <= 20_000
    verified = verify_file(trail)
    assert verified.ok, verified.reason
    assert not verified.sealed
    assert not (tmp_path / "ev").exists() or not list((tmp_path / "ev").iterdir())


# --- output locations first ----------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--evidence-dir", "--audit-dir"])
def test_a_bad_output_location_is_found_before_anything_runs(
    tmp_path: Path, option: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    scenario = long_scenario(tmp_path, 3)
    argv = ["scenario", "run", scenario.name, "--snapshot-dir", "snap"]
    argv += ["--audit-dir", "audit", "--evidence-dir", "ev"]
    argv[argv.index(option) + 1] = "a_file/inside"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "a_file" in err
    assert "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "long_session.yaml"]


# --- signals -------------------------------------------------------------------------------------


def test_sigterm_mid_run_cleans_up_and_leaves_a_valid_unsealed_prefix(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scenario = long_scenario(tmp_path, 2_000, own_file_sink=True)
    env = {**os.environ, "TMPDIR": str(scratch)}
    run = cli(
        "scenario",
        "run",
        str(scenario),
        "--audit-dir",
        "audit",
        "--evidence-dir",
        "ev",
        "--snapshot-dir",
        "snap",
        cwd=tmp_path,
        env=env,
    )
    trail = tmp_path / "audit" / "long_session.jsonl"
    deadline = time.monotonic() + TIMEOUT
    while run.poll() is None and time.monotonic() < deadline:
        if trail.exists() and trail.stat().st_size > 20_000 and any(scratch.iterdir()):
            run.send_signal(signal.SIGTERM)
            break
        time.sleep(0.005)
    code, _, err = finished(run)
    assert code == 128 + signal.SIGTERM, err
    assert "terminated by SIGTERM" in err
    assert list(scratch.iterdir()) == [], "a scratch directory was left behind"
    leftovers = [p.name for p in (tmp_path / "audit").iterdir()]
    assert leftovers == ["long_session.jsonl"], leftovers  # no seal, no .tmp, no lock
    verified = verify_file(trail)
    assert verified.ok, verified.reason
    assert not verified.sealed
    assert not (tmp_path / "ev").exists()


def test_an_interrupted_seal_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = JsonlFileSink(tmp_path / "t.jsonl")
    sink.open()
    sink.write('{"hash":"' + "0" * 64 + '"}')

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt  # what SIGTERM becomes in the CLI (a BaseException)

    monkeypatch.setattr(audit_module.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sink.close()
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]
