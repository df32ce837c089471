"""observe.status: the status snapshot of real trails, compared with what their records say."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from peak_trade.observe.facts import fold_records, read_facts
from peak_trade.observe.status import STATUS_FORMAT, TEXT_ITEMS, session_status
from peak_trade.observe.trail_file import NotAnAuditTrail, read_trail

JSON_KEYS = [
    "format",
    "session",
    "state",
    "step",
    "closed",
    "live_enabled",
    "open_orders",
    "positions",
    "positions_source",
    "cash",
    "last_breach",
    "breaches",
    "rails_tripped",
    "kill_switch",
    "reconciler",
    "chain",
    "problems",
]


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_landed_trail_status_agrees_with_its_records(library_run: Path) -> None:
    with_summary = 0
    for trail in sorted(library_run.glob("*.jsonl")):
        rs = records(trail)
        status = session_status(read_facts(trail)).to_json()
        assert list(status) == JSON_KEYS
        assert status["format"] == STATUS_FORMAT
        assert status["state"] == rs[-1]["state"]
        assert status["step"] == rs[-1]["step"]
        assert status["session"] == rs[0]["payload"]["session_id"] == trail.stem
        assert status["closed"] is (rs[-1]["type"] == "session_closed")
        summary = next((r["payload"] for r in rs if r["type"] == "session_summary"), None)
        if summary is None:  # an ERROR_REQUIRES_OPERATOR session: derived from the reports
            assert status["state"] == "ERROR_REQUIRES_OPERATOR"
            assert status["positions_source"] == "reports"
        else:
            with_summary += 1
            assert status["positions_source"] == "summary"
            assert status["open_orders"]["ids"] == sorted(summary["open_orders"])
            held = summary["positions"]
            assert status["positions"] == {s: str(Decimal(q)) for s, q in held.items()}
            account = summary.get("account")
            if isinstance(account, dict) and "cash" in account:
                cash = {"currency": account["currency"], "amount": account["cash"]}
                assert status["cash"] == cash
            else:
                assert status["cash"] is None
            assert status["kill_switch"]["engaged"] is summary["kill_switch_engaged"]
        breaches = [r for r in rs if r["type"] == "invariant_breach"]
        assert status["breaches"] == len(breaches)
        if breaches:
            last = breaches[-1]
            assert status["last_breach"] == {
                "step": last["step"],
                "invariant": last["payload"]["invariant"],
                "detail": last["payload"]["detail"],
            }
        else:
            assert status["last_breach"] is None
        assert status["chain"]["verified"] is True
        assert status["chain"]["sealed"] is True
        assert status["chain"]["records"] == len(rs)
        json.dumps(status)  # plain JSON all the way down
    assert with_summary > 50


def test_the_text_form_names_every_field(library_run: Path) -> None:
    status = session_status(read_facts(library_run / "rail_max_drawdown.jsonl"))
    lines = status.to_text()
    assert [line.split(":", 1)[0] for line in lines] == [
        "session",
        "state",
        "step",
        "live",
        "open orders",
        "positions",
        "cash",
        "last breach",
        "rails tripped",
        "kill switch",
        "reconciler",
        "audit chain",
    ]
    assert "kill switch: ENGAGED, 1 engagement; last engaged at step" in "\n".join(lines)
    assert "max_drawdown (1)" in lines[8]
    assert lines[-1].startswith("audit chain: verified and sealed: ")


def test_an_error_session_shows_its_last_breach(library_run: Path) -> None:
    status = session_status(read_facts(library_run / "drain_timeout_requires_operator.jsonl"))
    assert status.state == "ERROR_REQUIRES_OPERATOR"
    assert status.last_breach is not None
    assert status.last_breach.invariant == "drain_within_bound"
    text = "\n".join(status.to_text())
    assert "last breach: step " in text
    assert "drain_within_bound" in text


def test_a_long_list_is_cut_with_a_count() -> None:
    opened = {"seq": 1, "step": 0, "state": "DRYRUN_ACTIVE", "type": "session_opened"}
    trail: list[dict[str, Any]] = [{**opened, "payload": {"session_id": "s"}}]
    for i in range(300):
        trail.append(
            {
                "seq": i + 2,
                "step": 1,
                "state": "DRYRUN_ACTIVE",
                "type": "order_submitted",
                "payload": {"client_order_id": f"o-{i:03}"},
            }
        )
    status = session_status(fold_records(trail), limit=50)
    shown = status.to_json()["open_orders"]
    assert (shown["count"], len(shown["ids"]), shown["omitted"]) == (300, 50, 250)
    line = next(x for x in status.to_text() if x.startswith("open orders"))
    assert line.endswith(f"and {300 - TEXT_ITEMS} more")
    assert line.count("o-") == TEXT_ITEMS


def test_a_broken_chain_is_reported_with_why(library_run: Path, tmp_path: Path) -> None:
    lines = (library_run / "happy_path_full_fills.jsonl").read_bytes().splitlines(keepends=True)
    broken = tmp_path / "happy_path_full_fills.jsonl"
    broken.write_bytes(b"".join(lines[:5] + lines[6:]))  # a record deleted
    status = session_status(read_trail(broken)).to_json()
    assert status["chain"]["verified"] is False
    assert status["chain"]["records"] == 5
    assert status["chain"]["first_bad_line"] == 6
    assert "prev mismatch at line 6" in status["chain"]["reason"]
    assert status["chain"]["summary"].startswith("not verified: ")


def test_an_unsealed_trail_says_what_a_missing_seal_means(
    library_run: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "broker_reject.jsonl"
    copy.write_bytes((library_run / "broker_reject.jsonl").read_bytes())
    status = session_status(read_trail(copy))
    assert (status.chain_verified, status.chain_sealed) == (True, False)
    assert status.chain_summary.startswith("verified but not sealed: no seal lies beside")


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"", None),
        (b"scenario: x\nsteps: []\n", 1),
        (b'{"type": "session_opened"}\n', 1),
        (b"\x00\xff" * 50, 1),
    ],
)
def test_a_file_without_one_verified_record_is_not_an_audit_trail(
    tmp_path: Path, content: bytes, line: int | None
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotAnAuditTrail) as caught:
        read_trail(path)
    assert caught.value.line == line
    assert caught.value.reason
