"""`--scheduler`: the same campaign on a Dask cluster, on loopback only, equals the local one.

The only test of the suite that opens sockets: pytest-socket lets it reach 127.0.0.1 and
nothing else (`allow_hosts`); every other test keeps sockets disabled (pyproject addopts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peak_trade.cli.main import main

distributed = pytest.importorskip(
    "distributed", reason="the optional extra `cluster` (distributed) is not installed"
)

ROOT = Path(__file__).resolve().parents[2]
BASES = [
    str(ROOT / "scenarios" / "partial_fills.yaml"),
    str(ROOT / "scenarios" / "delayed_cancel_fill_race.yaml"),
]


def _identity(path: Path) -> dict:
    report = json.loads((path / "EXPLORE-REPORT.json").read_text(encoding="utf-8"))
    for key in ("timing", "command"):
        report.pop(key)
    for finding in report["findings"]:
        finding.pop("reproducer")
    return report


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_loopback_cluster_finds_what_local_workers_find(tmp_path: Path) -> None:
    argv = ["explore", *BASES, "--budget", "24", "--seed", "5"]
    local = main([*argv, "--workers", "1", "--output", str(tmp_path / "local")])
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = main(
            [*argv, "--scheduler", cluster.scheduler_address, "--output", str(tmp_path / "dask")]
        )
    assert remote == local
    assert _identity(tmp_path / "dask") == _identity(tmp_path / "local")
    assert _identity(tmp_path / "dask")["variants_run"] == 24


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_an_unreachable_scheduler_is_bad_input(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("peak_trade.explore.cluster.CONNECT_TIMEOUT", "1s")
    code = main(
        [
            "explore",
            BASES[0],
            "--budget",
            "2",
            "--output",
            str(tmp_path),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ]
    )
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
