"""Secret canaries: sentinel secrets planted wherever a real one could travel never come out.

A generated scenario registers four sentinel secrets in config.secrets and plants them, raw and
encoded, in: config values (session_id; a restricted symbol in the rails, a nested value), order
notes, a broker reject reason, an unsolicited cancel reason, a broker health detail, the
exception message of a failing submit, the kill-switch reason, the rearm and acknowledge notes
and the operator name, and a stop reason. The full CLI then runs it (`scenario run`, plain and
--json), verifies its audit and its evidence, validates and lists it. Zero occurrences of any
secret, in any spelling a leak would take (raw; percent-encoded, upper and lower case, with and
without `+` for spaces; base64 standard and URL-safe, with and without padding), may appear in the
audit file, its seal, the evidence, the snapshot, stdout/stderr of every command and the log
records; while every order id, the chain's hashes and the evidence digests stay intact.

The matrix is also read by `secret_oracle.leaks`, which decodes each output itself (escapes,
percent, hex and base64 at every offset, any letter case), and extended with the spellings the
redactor once missed: hex in both cases, letter-case changes, and base64 of `user:secret` at all
three byte alignments. Error paths are part of it: the same scenario broken (a PIN under
`config.secrets`) goes through `validate`, `run`, `list` and `evidence verify`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.live.audit import verify_file
from peak_trade.harness.model import load_scenario
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.verdict import evaluate
from tests.reliability.secret_oracle import leaks as decoded_leaks

# Each chosen so that its encodings differ: percent escapes, `+` for a space, base64 with `+`
# or `/` (so the URL-safe alphabet differs) and with padding.
SECRETS = {
    "api_key": "sk-SENTINEL->>>api-7f3a9c",
    "account_password": "pw/Sentinel+x9=q &z",
    "session_token": "sess-SENTINEL-tok/51d2?>",
    "restricted_symbol": "ZQX/SENTINEL9",  # shaped like a symbol, so it fits in the rails
}
API, PASSWORD, TOKEN, SYMBOL = SECRETS.values()
ORDER_IDS = ["o-1", "o-2", "o-3", "o-4", "o-5"]
SCENARIO_ID = "secret_canaries"


def b64(text: str, urlsafe: bool = False) -> str:
    raw = text.encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


def spellings(secret: str) -> set[str]:
    """The forms a leak would take. Written here, not taken from the redactor under test."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in set(forms)}
    for urlsafe in (False, True):
        forms |= {b64(secret, urlsafe), b64(secret, urlsafe).rstrip("=")}
    forms |= {secret.upper(), secret.lower(), secret.swapcase()}
    forms |= {secret.encode().hex(), secret.encode().hex().upper()}
    return forms


def basic_auth(secret: str) -> list[str]:
    """HTTP Basic headers holding the secret at each of the three base64 byte alignments."""
    return [f"Basic {b64(user + ':' + secret)}" for user in ("u", "us", "use")]


def leaks(text: str) -> list[str]:
    found = {
        f"{name} as {form!r}"
        for name, secret in SECRETS.items()
        for form in spellings(secret)
        if form in text
    }
    found |= {f"{name} (decoded)" for name in decoded_leaks(text, SECRETS)}
    return sorted(found)


def yaml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def scenario_text() -> str:
    secrets = "\n".join(f"    {name}: {yaml_string(value)}" for name, value in SECRETS.items())
    note_url = f"https://broker.example/api?key={API}&pw={quote(PASSWORD, safe='')}"
    retry_note = f"retry with {b64(API, urlsafe=True)} or {API.upper()} or {TOKEN.encode().hex()}"
    basic = " ".join(basic_auth(PASSWORD) + basic_auth(API))
    return f"""\
id: {SCENARIO_ID}
title: Sentinel secrets planted wherever a real one could travel
config:
  session_id: {yaml_string(TOKEN)}
  allowlist: [AAPL, MSFT]
  max_steps: 20
  drain_steps: 3
  max_unhealthy_steps: 1
  rails:
    unbounded: true
    restricted: [{SYMBOL}]
  secrets:
{secrets}
broker:
  reference_prices: {{AAPL: "190.10", MSFT: "410.00"}}
  by_order:
    o-2: [{{reject: {yaml_string(f"auth failed for {API} (Basic {b64(PASSWORD)})")}}}]
    o-3: [ack, {{cancel_unsolicited: {yaml_string(f"venue cancel, session {TOKEN}")}}}]
    o-4: {{fail_submit: {yaml_string(f"connection reset; Authorization: Bearer {API}")}}}
    o-5: [ack]
  health:
    - {{from_step: 2, steps: 1, detail: {yaml_string(f"gateway: password={quote_plus(PASSWORD)}")}}}
steps:
  - submit:
      - {{id: o-1, symbol: AAPL, side: buy, qty: "100", note: {yaml_string(note_url)}}}
      - {{id: o-2, symbol: MSFT, side: sell, qty: "5", note: {yaml_string(retry_note)}}}
      - {{id: o-5, symbol: AAPL, side: buy, qty: "7", type: limit, limit_price: "100",
          note: {yaml_string(basic)}}}
  - submit: {{id: o-3, symbol: MSFT, side: buy, qty: "3"}}
  - kill: {yaml_string(f"risk desk halt: key {API} seen in a log")}
  - rearm: {{operator: ops-1, note: {yaml_string(f"rotated {PASSWORD}")}}}
  - submit: {{id: o-4, symbol: AAPL, side: buy, qty: "1", note: {yaml_string(TOKEN)}}}
    stop: {{mode: cancel, reason: {yaml_string(f"operator pasted {b64(TOKEN)} and {API}")}}}
    acknowledge: {{operator: {yaml_string(f"ops {API}")}, note: {yaml_string(f"ack {PASSWORD}")}}}
expect: {{}}
"""


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scenario and its recorded snapshot, in a working directory of its own."""
    monkeypatch.chdir(tmp_path)
    path = Path(f"{SCENARIO_ID}.yaml")
    path.write_text(scenario_text(), encoding="utf-8")
    snapshot = snapshot_path(Path("snapshots"), SCENARIO_ID)
    snapshot.parent.mkdir()
    snapshot.write_text(evaluate(load_scenario(path), snapshot_dir=None).snapshot_text)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_planted_scenario_really_carries_the_secrets(planted: Path) -> None:
    text = planted.read_text(encoding="utf-8")
    for secret in SECRETS.values():
        assert leaks(text), "nothing planted"
        assert secret in text or b64(secret) in text or quote(secret, safe="") in text
    result = evaluate(load_scenario(planted), snapshot_dir=None).result
    types = [json.loads(line)["type"] for line in result.audit_lines]
    # Every planting site was reached: the secrets had their chance to leak.
    for kind in ("kill_switch_engaged", "kill_switch_rearmed", "submit_failed", "broker_health"):
        assert kind in types, kind
    assert result.final_state == "STOPPED"
    reasons = [json.loads(line)["payload"].get("reason") for line in result.audit_lines]
    assert sum(1 for r in reasons if r and "[REDACTED]" in r) >= 3


def test_no_secret_leaves_a_full_cli_run_in_any_spelling(
    planted: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    snapshots = ["--snapshot-dir", "snapshots"]
    outputs: dict[str, str] = {}

    code, outputs["run"] = cli(
        capsys, "scenario", "run", str(planted), "--audit-dir", "audit", "--evidence-dir", "ev",
        "--operator", "canary test", *snapshots,
    )  # fmt: skip
    assert code == 0, outputs["run"]
    code, outputs["run --json"] = cli(
        capsys, "scenario", "run", str(planted), "--audit-dir", "audit2", "--evidence-dir",
        "ev2", "--json", *snapshots,
    )  # fmt: skip
    assert code == 0, outputs["run --json"]
    audit = Path("audit") / f"{SCENARIO_ID}.jsonl"
    evidence = next(Path("ev").glob("EV-*.md"))
    code, outputs["audit verify"] = cli(capsys, "audit", "verify", str(audit))
    assert code == 0
    code, outputs["evidence verify"] = cli(capsys, "evidence", "verify", str(evidence), *snapshots)
    assert code == 0, outputs["evidence verify"]
    code, outputs["validate"] = cli(capsys, "scenario", "validate", str(planted))
    assert code == 0
    code, outputs["list"] = cli(capsys, "scenario", "list", str(planted))
    assert code == 0

    files = {
        "audit file": audit,
        "audit seal": audit.with_name(audit.name + ".seal"),
        "audit file (--json run)": Path("audit2") / audit.name,
        "evidence": evidence,
        "evidence (--json run)": next(Path("ev2").glob("EV-*.md")),
        "snapshot": snapshot_path(Path("snapshots"), SCENARIO_ID),
    }
    texts = {name: path.read_text(encoding="utf-8") for name, path in files.items()}
    texts |= {f"output of {name}": text for name, text in outputs.items()}
    texts["log records"] = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    found = {name: leaks(text) for name, text in texts.items()}
    assert not any(found.values()), {name: hit for name, hit in found.items() if hit}

    # What must stay intact: order ids, the hash chain, and the digests that anchor it.
    written = texts["audit file"]
    assert "[REDACTED]" in written
    for order_id in ORDER_IDS:
        assert f'"client_order_id":"{order_id}"' in written
        assert f"| {order_id} |" in texts["evidence"]
    result = verify_file(audit)
    assert (result.ok, result.sealed) == (True, True)
    assert texts["audit file"] == texts["audit file (--json run)"]
    assert f'"audit_head":"{result.head}"' in texts["evidence"]
    assert f'"head": "{result.head}"' in texts["snapshot"]
    assert f"head {result.head}" in outputs["audit verify"]
    row = json.loads(outputs["run --json"].splitlines()[0])
    assert (row["audit_head"], row["audit_records"]) == (result.head, result.count)


def test_the_broken_canary_scenario_leaks_through_no_error_path(
    planted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error paths of the same matrix: evidence made, then the scenario broken by a PIN
    under config.secrets (a number, refused) and by a secret pasted into a typed field."""
    snapshots = ["--snapshot-dir", "snapshots"]
    code, _ = cli(capsys, "scenario", "run", str(planted), "--evidence-dir", "ev", *snapshots)
    assert code == 0
    evidence = next(Path("ev").glob("EV-*.md"))
    broken = planted.read_text(encoding="utf-8").replace(
        "  secrets:\n", "  secrets:\n    broker_pin: 48151623\n"
    )
    broken = broken.replace('side: sell, qty: "5"', f'side: {yaml_string(API)}, qty: "5"')
    planted.write_text(broken, encoding="utf-8")
    outputs = {}
    for argv in (["scenario", "validate"], ["scenario", "run"], ["scenario", "list"]):
        code, outputs[" ".join(argv)] = cli(capsys, *argv, str(planted), *snapshots[:0])
        assert code == 2
    code, outputs["evidence verify"] = cli(capsys, "evidence", "verify", str(evidence), *snapshots)
    assert code == 1
    assert "no longer loads" in outputs["evidence verify"]
    for text in outputs.values():
        assert "48151623" not in text, text
    found = {name: leaks(text) for name, text in outputs.items()}
    assert not any(found.values()), found
