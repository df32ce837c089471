"""Crash consistency of the audit file.

kill -9: a long generated scenario runs through the real CLI (`python -m peak_trade scenario run
--audit-dir D`) and is SIGKILLed when its audit file passes seeded byte thresholds. Whatever the
kill point, the file is a byte prefix of the complete run's file (runs are deterministic), holds
only whole records plus at most one torn last line, has no seal, and `peak-trade audit verify`
says precisely which: "FILE:N: error: unsealed: ..." (ok with --allow-unsealed) or
"FILE:N: error: torn last line N".

fsync failure: `os.fsync` raises EIO at the N-th call of a session whose file sink syncs every
record. For every N that falls in the running session: it ends in ERROR_REQUIRES_OPERATOR, no
order reaches the broker after the failure, fsync is never called again (no retry, no seal), and
the failure is recorded in the remaining (memory) sink.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.live.audit import AuditSinkError, MemorySink, verify_file
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import SessionError
from peak_trade.execution.live.intents import ScriptedIntents, SubmitIntent
from peak_trade.execution.live.session import build_session
from peak_trade.execution.live.state import SessionState

KILL_SEED = 20_241_124
KILL_POINTS = 5
ORDERS = 250
SCENARIO_ID = "crash_long_session"


def long_scenario(directory: Path) -> Path:
    """ORDERS orders, one per step, each acked then filled: about 770 records, ~300 KB."""
    lines = [
        f"id: {SCENARIO_ID}",
        "title: A long session for kill -9",
        "config: {allowlist: [AAPL, MSFT], max_steps: 2000, drain_steps: 3}",
        'broker: {reference_prices: {AAPL: "190.10", MSFT: "410.00"}}',
        "steps:",
    ]
    for n in range(1, ORDERS + 1):
        symbol, side = ("AAPL", "buy") if n % 2 else ("MSFT", "sell")
        lines.append(
            f'  - submit: {{id: o-{n}, symbol: {symbol}, side: {side}, qty: "{n % 7 + 1}", '
            f'note: "order {n} of the crash rehearsal"}}'
        )
    lines += ["  - stop: end of the crash rehearsal", "expect: {final_state: STOPPED}"]
    path = directory / f"{SCENARIO_ID}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_run(scenario: Path, out: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "peak_trade", "scenario", "run", str(scenario)]
    argv += ["--audit-dir", str(out / "audit"), "--evidence-dir", str(out / "evidence")]
    return subprocess.Popen(
        argv, cwd=out.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def audit_of(out: Path) -> Path:
    return out / "audit" / f"{SCENARIO_ID}.jsonl"


def kill_when_past(process: subprocess.Popen[bytes], audit: Path, threshold: int) -> bool:
    """SIGKILL the process once its audit file holds `threshold` bytes; False if it ended first."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        try:
            size = audit.stat().st_size
        except FileNotFoundError:
            size = 0
        if size >= threshold:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return True
        time.sleep(0.0002)
    process.wait(timeout=120)
    return False


def verify_cli(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["audit", "verify", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_kill_9_leaves_a_valid_prefix_and_at_most_one_torn_line(tmp_path: Path, capsys) -> None:
    scenario = long_scenario(tmp_path)
    reference = tmp_path / "reference"
    cli_run(scenario, reference).wait(timeout=300)
    complete = audit_of(reference).read_bytes()
    assert verify_file(audit_of(reference)).sealed
    thresholds = sorted(
        random.Random(KILL_SEED).sample(range(1, len(complete) * 9 // 10), KILL_POINTS)
    )
    killed = 0
    for threshold in thresholds:
        out = tmp_path / f"kill-at-{threshold}"
        audit = audit_of(out)
        if not kill_when_past(cli_run(scenario, out), audit, threshold):
            continue  # the run ended before the poll saw the threshold: nothing to judge
        killed += 1
        data = audit.read_bytes()
        assert len(data) >= threshold
        assert complete.startswith(data), "the killed file is not a prefix of the complete one"
        whole = data.count(b"\n")
        torn = not data.endswith(b"\n")
        result = verify_file(audit)
        assert not result.sealed
        assert not audit.with_name(audit.name + ".seal").exists()
        assert result.count == whole
        assert not (out / "evidence").exists() or not any((out / "evidence").iterdir())
        code, stdout, stderr = verify_cli(audit, capsys)
        if torn:
            assert (result.ok, result.torn_tail, result.first_bad_line) == (False, True, whole + 1)
            assert code == 1
            assert stderr.startswith(f"{audit}:{whole + 1}: error: torn last line {whole + 1}: ")
        else:
            assert result.ok
            assert (code, stdout) == (1, "")  # unsealed: a failure unless allowed
            assert stderr.startswith(f"{audit}:{whole}: error: unsealed: the {whole} records")
            code, stdout, stderr = verify_cli(audit, capsys, "--allow-unsealed")
            assert (code, stderr) == (0, "")
            assert stdout == (
                f"{audit}: ok: {whole} records, head {result.head} "
                "(no seal: a clean cut at a record boundary would not be detected; allowed by "
                "--allow-unsealed)\n"
            )
        # The crash a kill cannot produce (write(2) of one line is not split by SIGKILL), but
        # a power cut can: part of the next line reached the disk. Named precisely all the same.
        next_line = b"" if torn else complete[len(data) :].split(b"\n", 1)[0]
        if next_line:
            cut = random.Random(threshold).randrange(1, len(next_line))
            audit.write_bytes(data + next_line[:cut])
            code, _, stderr = verify_cli(audit, capsys)
            assert code == 1
            assert stderr == (
                f"{audit}:{whole + 1}: error: torn last line {whole + 1}: the file ends "
                f"mid-record (crash during append?); the {whole} records before it verify.\n"
            )
    assert killed >= KILL_POINTS - 1, f"only {killed} of {KILL_POINTS} runs were killed mid-way"


# --- fsync failure -----------------------------------------------------------------------------


class FsyncFault:
    """Stands in for os.fsync: raises EIO at call `fail_at`, notes what the session had done."""

    def __init__(self, real, fail_at: int, session_box: list, broker: MockBroker) -> None:
        self.real, self.fail_at, self.box, self.broker = real, fail_at, session_box, broker
        self.calls = 0
        self.states: list[SessionState] = []  # the session's state at each call
        self.commands_at_failure: int | None = None

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self.states.append(self.box[0].state)
        if self.calls == self.fail_at:
            self.commands_at_failure = len(self.broker.commands)
            raise OSError(errno.EIO, "Input/output error")
        self.real(fd)


def fsync_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int, ops=None):
    """A session trading one order per step with a per-record-fsync file sink; returns what
    happened. `ops` is the operator script (default: preflight, start, 12 steps, stop, the
    drain, close)."""
    intents = ScriptedIntents()
    for step in range(1, 11):
        order = NewOrder(client_order_id=f"o-{step}", symbol="AAPL", side=Side.BUY, qty=Decimal(1))
        intents.add(step, SubmitIntent(order=order))
    spec = {"reference_prices": {"AAPL": "100"}, "by_order": {"o-9": ["ack"], "o-10": ["ack"]}}
    broker = MockBroker(parse_broker_spec(spec))
    config = SessionConfig.from_mapping(
        {
            "allowlist": ["AAPL"],
            "max_steps": 30,
            "audit": {"sink": "file", "path": "session.jsonl", "fsync": "per_record"},
            "rails": {"unbounded": True},
        }
    )
    memory = MemorySink()
    tmp_path.mkdir(parents=True, exist_ok=True)
    session = build_session(
        config, broker, intents, base_dir=tmp_path, extra_sinks=[memory], environ_names=()
    )
    fault = FsyncFault(os.fsync, fail_at, [session], broker)
    monkeypatch.setattr(os, "fsync", fault)
    ops = ops or [
        session.preflight,
        session.start,
        *[session.step] * 12,
        lambda: session.request_stop("end of rehearsal"),
        *[session.step] * 3,  # the drain: resting orders are cancelled
        session.close,
    ]
    escaped: list[BaseException] = []
    for op in ops:
        try:
            op()
        except SessionError:
            pass  # audited by the session; not what this test is about
        except Exception as exc:
            escaped.append(exc)
    monkeypatch.undo()
    return session, broker, memory, fault, escaped


def clean_fsync_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[SessionState]:
    _, _, _, fault, escaped = fsync_session(tmp_path, monkeypatch, fail_at=0)
    assert not escaped
    return fault.states


def failure_records(memory: MemorySink) -> list[dict]:
    records = [json.loads(line) for line in memory.lines]
    return [r for r in records if "could not write a record" in json.dumps(r["payload"])]


def test_an_fsync_failure_anywhere_in_the_running_session_stops_it_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = clean_fsync_states(tmp_path / "clean", monkeypatch)
    running = [n for n, state in enumerate(states, start=1) if state is SessionState.DRYRUN_ACTIVE]
    assert len(running) >= 20
    for fail_at in running:
        directory = tmp_path / f"fail-{fail_at}"
        session, broker, memory, fault, escaped = fsync_session(directory, monkeypatch, fail_at)
        where = f"fsync failure at call {fail_at}"
        assert not escaped, where
        assert session.state is SessionState.ERROR_REQUIRES_OPERATOR, where
        assert fault.calls == fail_at, f"{where}: fsync was called again (a retry?)"
        sent_after = [
            cmd
            for _, cmd in broker.commands[fault.commands_at_failure :]
            if isinstance(cmd, NewOrder)
        ]
        assert sent_after == [], f"{where}: orders reached the broker after the failure"
        # The failure is recorded where the record still goes, as the breach that stopped it.
        records = [json.loads(line) for line in memory.lines]
        breaches = [r for r in records if r["type"] == "invariant_breach"]
        assert any(b["payload"]["invariant"] == "audit_sink_healthy" for b in breaches), where
        assert failure_records(memory), where
        # The file holds exactly the records written before the failure, verifies, and has no
        # seal: its last record reached the file, the sync of it failed, nothing followed.
        result = verify_file(directory / "session.jsonl")
        assert (result.ok, result.count, result.sealed) == (True, fail_at, False), where
        assert [line + "\n" for line in memory.lines[:fail_at]] == (
            (directory / "session.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        )


def test_an_fsync_failure_before_the_session_runs_lets_no_order_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preflight records, the PREFLIGHT_PASSED and START transitions: a sink failure in any of
    them fails preflight or breaches at the first step; no order is ever sent."""
    states = clean_fsync_states(tmp_path / "clean", monkeypatch)
    before = [
        n
        for n, s in enumerate(states, start=1)
        if s in (SessionState.INIT, SessionState.PREFLIGHT_OK)
    ]
    assert len(before) >= 12  # session_opened + 11 checks + the passed transition
    for fail_at in [*before, before[-1] + 1]:  # + the START transition
        directory = tmp_path / f"fail-{fail_at}"
        session, broker, memory, _, escaped = fsync_session(directory, monkeypatch, fail_at)
        where = f"fsync failure at call {fail_at}"
        assert not escaped, where
        assert session.state in (
            SessionState.PREFLIGHT_FAILED,
            SessionState.ERROR_REQUIRES_OPERATOR,
        ), where
        assert not [c for _, c in broker.commands if isinstance(c, NewOrder)], where
        assert failure_records(memory), where


def test_an_fsync_failure_during_the_stop_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the reliability work: a failure in a record written outside step() was never
    judged. Now every sink failure is recorded at once in the sinks left (and in the summary)."""
    states = clean_fsync_states(tmp_path / "clean", monkeypatch)
    # The record of the transition to STOPPED (drained): no step follows it to judge the failure.
    stopped = [n for n, s in enumerate(states, start=1) if s is SessionState.STOPPED]
    assert stopped
    directory = tmp_path / "fail"
    session, _, memory, _, escaped = fsync_session(directory, monkeypatch, stopped[0])
    assert not escaped
    assert failure_records(memory), (
        f"the file sink died ({verify_file(directory / 'session.jsonl').count} of "
        f"{len(memory.lines)} records in the file, no seal), the session ended "
        f"{session.state.value}, and no remaining sink says so"
    )


def test_an_fsync_failure_while_sealing_is_a_session_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the reliability work: a failed seal escaped close() as AuditSinkError."""
    states = clean_fsync_states(tmp_path / "clean", monkeypatch)
    seal_call = len(states) - 1  # the seal's temporary file, then its directory
    directory = tmp_path / "fail"
    _, _, _, _, escaped = fsync_session(directory, monkeypatch, seal_call)
    assert not [e for e in escaped if isinstance(e, AuditSinkError)], escaped
