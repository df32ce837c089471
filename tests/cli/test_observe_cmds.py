"""`peak-trade metrics` and `peak-trade session status`: output, exit codes, only reading."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from peak_trade.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["happy_path_full_fills", "drain_timeout_requires_operator", "rails/rail_max_drawdown"]


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("observe_cli")
    paths = [str(ROOT / "scenarios" / f"{name}.yaml") for name in SCENARIOS]
    argv = ["scenario", "run", *paths, "--audit-dir", str(base / "audit")]
    assert main([*argv, "--evidence-dir", str(base / "evidence")]) == 0
    return base / "audit"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the folder: its bytes and its modification time in nanoseconds."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_metrics_prints_openmetrics_that_parses(audit: Path, capsys) -> None:
    code, out, err = cli(capsys, "metrics", str(audit / "happy_path_full_fills.jsonl"))
    assert (code, err) == (0, "")
    assert out.endswith("# EOF\n")
    names = {s.name for f in parse_om(out) for s in f.samples}
    assert "peak_trade_orders_place_total" in names
    assert "peak_trade_session_state" in names


def test_metrics_output_prom_is_the_file_scenario_run_wrote(audit: Path, tmp_path, capsys) -> None:
    target = tmp_path / "again.prom"
    code, out, err = cli(
        capsys, "metrics", str(audit / "happy_path_full_fills.jsonl"), "--output", str(target)
    )
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {target}")
    assert target.read_bytes() == (audit / "happy_path_full_fills.prom").read_bytes()
    assert list(parse_text(target.read_text(encoding="utf-8")))
    assert target.stat().st_mode & 0o777 == 0o644


def test_metrics_format_overrides_the_suffix(audit: Path, tmp_path, capsys) -> None:
    target = tmp_path / "om.prom"
    trail = str(audit / "happy_path_full_fills.jsonl")
    assert cli(capsys, "metrics", trail, "--output", str(target), "--format", "openmetrics")[0] == 0
    assert target.read_text(encoding="utf-8").endswith("# EOF\n")
    code, out, _ = cli(capsys, "metrics", trail, "--format", "text")
    assert code == 0
    assert "# EOF" not in out
    assert "# TYPE peak_trade_orders_place_total counter" in out


def test_status_of_an_error_session_exits_0_and_shows_the_breach(audit: Path, capsys) -> None:
    trail = audit / "drain_timeout_requires_operator.jsonl"
    code, out, err = cli(capsys, "session", "status", str(trail))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"audit file: {trail}"
    assert "state: ERROR_REQUIRES_OPERATOR (session closed)" in lines
    assert any(line.startswith("last breach: step ") for line in lines)
    assert lines[-1].startswith("audit chain: verified and sealed: ")


def test_status_json_is_one_object_with_the_documented_keys(audit: Path, capsys) -> None:
    trail = audit / "rail_max_drawdown.jsonl"
    code, out, err = cli(capsys, "session", "status", str(trail), "--json")
    assert (code, err) == (0, "")
    status = json.loads(out)
    documented = (ROOT / "docs" / "operator.md").read_text(encoding="utf-8")
    for key in status:
        assert f"`{key}`" in documented, key
    for key in ("kill_switch", "chain", "reconciler", "open_orders"):
        for sub in status[key]:
            assert f"`{key}.{sub}`" in documented, f"{key}.{sub}"
    assert status["kill_switch"]["engaged"] is True
    assert status["kill_switch"]["last"]["rail"] == "max_drawdown"


WATCH_ONLY = [["session", "status"], ["session", "status", "--json"], ["metrics"]]


@pytest.mark.parametrize("argv", WATCH_ONLY)
def test_the_watch_only_commands_change_nothing(audit: Path, capsys, argv) -> None:
    before = snapshot(audit)
    for name in ("happy_path_full_fills", "drain_timeout_requires_operator"):
        code, _, err = cli(capsys, *argv, str(audit / f"{name}.jsonl"))
        assert (code, err) == (0, "")
    assert snapshot(audit) == before  # same files, same bytes, same mtimes, nothing created


def test_a_running_session_trail_is_read_without_a_seal(audit: Path, tmp_path, capsys) -> None:
    trail = tmp_path / "happy_path_full_fills.jsonl"
    lines = (audit / trail.name).read_bytes().splitlines(keepends=True)
    cut = 1 + next(i for i, line in enumerate(lines) if b'"state":"DRYRUN_ACTIVE"' in line)
    trail.write_bytes(b"".join(lines[:cut]) + lines[cut][:30])  # mid-append
    code, out, err = cli(capsys, "session", "status", str(trail))
    assert (code, err) == (0, "")
    assert "state: DRYRUN_ACTIVE (session not closed: running, crashed or cut)" in out
    assert f"audit chain: not verified: torn last line {cut + 1}" in out
    code, out, _ = cli(capsys, "metrics", str(trail))
    assert code == 0
    assert 'peak_trade_audit_chain_verified{session="happy_path_full_fills"} 0.0' in out
    assert f'peak_trade_audit_records{{session="happy_path_full_fills"}} {cut}.0' in out


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    yaml = tmp_path / "scenario.jsonl"
    yaml.write_text("id: x\nsteps: []\n", encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    return {
        "missing": (tmp_path / "nope.jsonl", "cannot read the audit file {}: No such file"),
        "folder": (tmp_path, "cannot read the audit file {}: it is a folder"),
        "fifo": (fifo, "cannot read the audit file {}: it is a FIFO (named pipe)"),
        "not a trail": (yaml, "{}:1: error: not an audit trail: no record in it verifies"),
        "empty": (empty, "{}: error: not an audit trail: no record in it verifies (empty"),
    }


@pytest.mark.parametrize("command", [["session", "status"], ["metrics"]])
@pytest.mark.parametrize("case", ["missing", "folder", "fifo", "not a trail", "empty"])
def test_bad_input_is_one_located_sentence_and_exit_2(tmp_path, capsys, command, case) -> None:
    path, message = bad_inputs(tmp_path)[case]
    code, out, err = cli(capsys, *command, str(path))
    assert code == 2
    assert out == ""
    assert message.format(path) in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_metrics_refuses_an_output_folder_before_reading(audit: Path, tmp_path, capsys) -> None:
    code, out, err = cli(
        capsys, "metrics", str(audit / "happy_path_full_fills.jsonl"), "--output", str(tmp_path)
    )
    assert (code, out) == (2, "")
    assert "cannot write the metrics file" in err
    assert "it is a folder" in err
    missing = tmp_path / "no" / "such" / "x.prom"
    trail = str(audit / "happy_path_full_fills.jsonl")
    code, _, err = cli(capsys, "metrics", trail, "--output", str(missing))
    assert code == 2
    assert "does not exist" in err


def test_a_run_writes_no_metrics_for_a_trail_that_is_no_longer_its_own(
    audit: Path, tmp_path: Path
) -> None:
    from peak_trade.cli.scenario_cmds import write_metrics_beside

    trail = tmp_path / "happy_path_full_fills.jsonl"
    for name in (trail.name, f"{trail.name}.seal"):
        (tmp_path / name).write_bytes((audit / name).read_bytes())
    assert write_metrics_beside(trail, "0" * 64) is None  # another run's trail by now
    assert not trail.with_suffix(".prom").exists()
    head = json.loads(trail.read_bytes().splitlines()[-1])["hash"]
    assert write_metrics_beside(trail, head) == trail.with_suffix(".prom")
    assert (
        trail.with_suffix(".prom").read_bytes()
        == (audit / "happy_path_full_fills.prom").read_bytes()
    )


@pytest.mark.parametrize("target", ["trail", "seal", "link", "other_trail", "source"])
def test_metrics_never_replaces_what_is_not_a_metrics_file(
    audit: Path, tmp_path, capsys, target
) -> None:
    """`--output` naming the trail, its seal, a link to it, another session's trail or any file
    that is not a metrics exposition: exit 2, one sentence, and every byte left as it was (the
    trail and its seal were replaced by the metrics, exit 0)."""
    for p in audit.glob("happy_path_full_fills.jsonl*"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    trail = tmp_path / "happy_path_full_fills.jsonl"
    other = tmp_path / "other.jsonl"
    other.write_bytes((audit / "drain_timeout_requires_operator.jsonl").read_bytes())
    source = tmp_path / "notes.txt"
    source.write_text("operator notes\n", encoding="utf-8")
    link = tmp_path / "link.prom"
    link.symlink_to(trail)
    output = {
        "trail": trail,
        "seal": trail.with_name(trail.name + ".seal"),
        "link": link,
        "other_trail": other,
        "source": source,
    }[target]
    before = snapshot(tmp_path)
    code, out, err = cli(capsys, "metrics", str(trail), "--output", str(output))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert f"cannot write the metrics file {output}" in err
    assert snapshot(tmp_path) == before
    # a metrics file it wrote is replaced as before
    prom = tmp_path / "x.prom"
    assert cli(capsys, "metrics", str(trail), "--output", str(prom))[0] == 0
    assert cli(capsys, "metrics", str(trail), "--output", str(prom))[0] == 0
