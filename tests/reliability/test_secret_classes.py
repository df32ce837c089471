"""Secrets, class by class: each way a configured secret used to leave the tool, tried again.

The classes (docs/reliability.md, "Secrets"): error messages that quote values; printed fields
(`scenario list` titles, `--json` paths); outputs that escape text before redacting it; encodings
(base64 inside a longer string, hex, letter case); short secrets (digests, quantities, the
scenario digest); key-name rules that erased symbols; pytest's collection and failure text.
Every leak check uses `secret_oracle.leaks`, which decodes outputs itself instead of trusting
the redactor's own list of spellings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peak_trade.cli.main import main
from peak_trade.execution.live.audit_trail.redaction import REDACTED, Redactor, is_sensitive_key
from peak_trade.execution.live.audit_trail.secret_strength import secret_weakness
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.model import load_scenario
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.verdict import evaluate
from tests.reliability.secret_oracle import leaks

# Strong secrets holding what escapes change: a pipe, a backtick, a space, both quotes, a
# backslash, `/`, `+`, `=`, `?`; each 12+ characters from 3+ classes.
SECRETS = {
    "api_key": "sk-Live|Key`7f3a 9c",
    "password": "Pw'Quote\"Slash\\42",
    "session_token": "tok/Plus+Eq=Q?5x",
}
API, PASSWORD, TOKEN = SECRETS.values()
PIN = "48151623"
ALL = {**SECRETS, "broker_pin": PIN}


def q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid double-quoted YAML scalar


def secrets_block(extra: str = "") -> str:
    lines = "".join(f"    {name}: {q(value)}\n" for name, value in SECRETS.items())
    return f"  secrets:\n{lines}{extra}"


def scenario(
    *,
    id_: str = "secret_case",
    title: str = "A scenario with secrets",
    config_extra: str = "",
    secrets_extra: str = "",
    steps: str = '  - submit: {id: o-1, symbol: AAPL, side: buy, qty: "1"}\n  - stop: done\n',
    expect: str = "expect: {final_state: STOPPED}\n",
) -> str:
    return (
        f"id: {id_}\ntitle: {q(title)}\nconfig:\n  allowlist: [AAPL]\n  max_steps: 10\n"
        f"{config_extra}{secrets_block(secrets_extra)}"
        # no limits, no trading: the explicit declaration, unless the case sets its own rails
        f"{'' if 'rails:' in config_extra else '  rails: {unbounded: true}' + chr(10)}"
        'broker:\n  reference_prices: {AAPL: "190.10"}\n'
        f"steps:\n{steps}{expect}"
    )


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def fragment_leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """`leaks`, and any 8-character piece of a secret (a message that cut a value short)."""
    found = set(leaks(text, secrets))
    folded = text.casefold()
    for name, secret in secrets.items():
        pieces = {secret[i : i + 8].casefold() for i in range(max(1, len(secret) - 7))}
        if any(piece in folded for piece in pieces):
            found.add(name)
    return sorted(found)


# --- 1. error messages quote values ------------------------------------------------------------

LONG = "x" * 30
BROKEN = {
    "pin as a number": scenario(secrets_extra=f"    broker_pin: {PIN}\n"),
    "pin as hex": scenario(secrets_extra="    broker_pin: 0x2DEADBEEF\n"),
    "pin with a leading zero": scenario(secrets_extra=f"    broker_pin: 0{PIN}\n"),
    "pin with separators": scenario(secrets_extra="    broker_pin: 48_151_623\n"),
    "pin with an exponent": scenario(secrets_extra="    broker_pin: 48151623e2\n"),
    "pin in a list": scenario(secrets_extra=f"    broker_pin: [{PIN}]\n"),
    "pin in a mapping": scenario(secrets_extra=f"    broker_pin: {{value: {PIN}}}\n"),
    "secret pasted as a name": scenario(secrets_extra=f"    {q('sk-Pasted/Key-0042')}: x\n"),
    "secret with a tag": scenario(secrets_extra=f"    tagged: !!str {q('Tagged-Secret-77')}\n"),
    "secret defined twice": scenario(secrets_extra=f"    api_key: {q(API)}\n"),
    "secret as an order type": scenario(
        steps=f"  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: '1', type: {q(API)}}}\n"
    ),
    "secret as a side": scenario(
        steps=f"  - submit: {{id: o-1, symbol: AAPL, side: {q(TOKEN)}, qty: '1'}}\n"
    ),
    "secret as a quantity": scenario(
        steps=f"  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: {q(PASSWORD)}}}\n"
    ),
    "secret as a rail limit": scenario(config_extra=f"  rails: {{max_order_qty: {q(TOKEN)}}}\n"),
    "secret at the end of a long value": scenario(
        config_extra=f"  session_id: {q(LONG + LONG + API)}\n"
    ),
    "secret as an unknown key": scenario(steps=f"  - {{{q(TOKEN)}: 1}}\n"),
    "secret as the id": scenario(id_=q(TOKEN)),
    "secret as a tag": scenario(title="t") + f"tags: [{q(API)}]\n",
    "secret as a stop mode": scenario(steps=f"  - stop: {{mode: {q(API)}, reason: done}}\n"),
    "secret as a step bound": scenario(config_extra=f"  max_steps: {q(PASSWORD)}\n"),
    "secret in a reference price": scenario(steps=f"  - reference_prices: {{AAPL: {q(TOKEN)}}}\n"),
    "yaml syntax error below the secrets": scenario(steps="  - submit: {id: o-1\n"),
    "yaml syntax error in a flow block": (
        "id: x\ntitle: t\nconfig:\n  allowlist: [AAPL]\n"
        f"  secrets: {{api_key: {q(API)}, password: {q(PASSWORD)}}}\nsteps: [ {{\n"
    ),
}
HIDDEN = {
    **ALL,
    "hex pin": "0x2DEADBEEF",
    "hex pin value": "12309560047",
    "pasted": "sk-Pasted/Key-0042",
}
HIDDEN |= {"tagged": "Tagged-Secret-77"}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_error_messages_never_repeat_a_secret(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("broken.yaml")
    path.write_text(BROKEN[case], encoding="utf-8")
    outputs = {}
    for command in ("validate", "run", "list"):
        code, outputs[command] = cli(capsys, "scenario", command, str(path))
        assert code == 2, (command, outputs[command])
        assert re.search(r"broken\.yaml:\d+:\d+: error: ", outputs[command]), outputs[command]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    outputs["str(ScenarioError)"] = str(caught.value)  # what pytest collection prints
    outputs["repr"] = repr(caught.value.problems)
    found = {name: fragment_leaks(text, HIDDEN) for name, text in outputs.items()}
    assert not any(found.values()), (found, outputs["validate"])


def test_one_files_error_never_repeats_another_files_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(scenario(secrets_extra=f"    broker_pin: {PIN}\n"), "utf-8")
    Path("b.yaml").write_text(
        scenario(
            id_="other", title=f"title quoting {API}", steps=f"  - stop: {{mode: {q(API)}}}\n"
        ),
        "utf-8",
    )
    for command in ("validate", "list", "run"):
        code, text = cli(capsys, "scenario", command, "a.yaml", "b.yaml")
        assert code == 2
        assert not fragment_leaks(text, ALL), (command, text)


# --- 2. weak secrets are refused where the scenario is loaded ----------------------------------

WEAK = [
    "4815",
    PIN,
    "hunter2",
    "alllowercaseletters",
    "ALLUPPERCASE1234",
    "DeadBeefCafe1234",  # three classes, but only hex digits: it could sit inside a digest
    "-1234.5678E90",  # three classes, but a number
    "Tab\there-Secret1",
    "New\nline-Secret1",
    " Leading-Space-1x",
]


@pytest.mark.parametrize("value", WEAK)
def test_a_weak_secret_is_refused_at_load_time_with_a_located_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert secret_weakness(value) is not None
    monkeypatch.chdir(tmp_path)
    Path("weak.yaml").write_text(scenario(secrets_extra=f"    weak_one: {q(value)}\n"), "utf-8")
    line = 1 + scenario(secrets_extra=f"    weak_one: {q(value)}\n").split("weak_one")[0].count(
        "\n"
    )
    code, text = cli(capsys, "scenario", "validate", "weak.yaml")
    assert code == 2
    assert f"weak.yaml:{line}:" in text, text
    assert "[at /config/secrets/weak_one]" in text
    assert "the secret 'weak_one' is too weak" in text
    assert not fragment_leaks(text, {"weak": value.strip()}) or len(value.strip()) < 8
    assert q(value) not in text
    assert len(value) < 6 or value.strip() not in text


def test_a_secret_in_the_scenario_id_is_refused_since_the_id_names_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "prod_key-2026x"  # strong, and a valid id: it would name the evidence file
    text = scenario(id_=f"run_{secret}", secrets_extra=f"    desk_key: {q(secret.upper())}\n")
    Path("id.yaml").write_text(text, "utf-8")
    code, out = cli(capsys, "scenario", "run", "id.yaml", "--evidence-dir", "ev")
    assert code == 2
    assert "id.yaml:1:5: error: the scenario id holds the configured secret 'desk_key'" in out
    assert not fragment_leaks(out, {"s": secret})
    assert not Path("ev").exists()


def test_the_strength_rule_accepts_the_library_and_canary_secrets() -> None:
    for value in [*SECRETS.values(), "sk-canary-7f3a9c1e", "pw-canary/+x9=q", "sk-canary-0001"]:
        assert secret_weakness(value) is None, value


# --- 3. printed fields: list titles, --json paths ---------------------------------------------


def test_list_titles_and_json_paths_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = Path("scn-" + quote(TOKEN, safe=""))  # a folder named by a (percent-encoded) secret
    folder.mkdir()
    path = folder / "titled.yaml"
    path.write_text(scenario(title=f"Title with {API} and {PASSWORD}"), "utf-8")
    code, listed = cli(capsys, "scenario", "list", str(path))
    assert code == 0
    assert "[REDACTED]" in listed
    code, ran = cli(
        capsys, "scenario", "run", str(path), "--json", "--evidence-dir", f"ev-{API}",
        "--audit-dir", f"audit-{PASSWORD}", "--snapshot-dir", "none",
    )  # fmt: skip
    assert code == 1  # no stored snapshot
    row = json.loads(ran.splitlines()[0])
    assert REDACTED in row["path"]
    assert REDACTED in row["audit_file"]
    assert not leaks(listed, SECRETS), listed
    assert not leaks(ran, SECRETS), ran


# --- 4. outputs escape text: redaction sees the final bytes -----------------------------------


def test_evidence_escaping_never_splits_a_secret_past_the_redactor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Table pipes, folded newlines, code-span backticks and shell quoting were applied before
    redaction, so `sk-Live|Key` became `sk-Live\\|Key` and passed."""
    monkeypatch.chdir(tmp_path)
    text = scenario(
        title=f"Title {API} with {PASSWORD}",
        config_extra=f"  broker_kind: {q(API + ' / ' + PASSWORD)}\n",
        expect="expect: {final_state: PREFLIGHT_FAILED}\n",
    )
    path = Path("escaped.yaml")
    path.write_text(text, "utf-8")
    snapshot = snapshot_path(Path("snaps"), "secret_case")
    snapshot.parent.mkdir()
    snapshot.write_text(evaluate(load_scenario(path), snapshot_dir=None).snapshot_text)
    operator = f"ops {API}\n{PASSWORD} | {TOKEN}"
    code, out = cli(
        capsys, "scenario", "run", str(path), "--evidence-dir", "ev", "--operator", operator,
        "--snapshot-dir", "snaps",
    )  # fmt: skip
    assert code == 0, out
    evidence = next(Path("ev").glob("EV-*.md")).read_text("utf-8")
    assert "broker_is_mock" in evidence
    assert "**no**" in evidence
    assert not leaks(evidence, SECRETS), leaks(evidence, SECRETS)
    assert not leaks(out, SECRETS)
    code, verified = cli(capsys, "evidence", "verify", str(next(Path("ev").glob("EV-*.md"))),
                         "--snapshot-dir", "snaps")  # fmt: skip
    assert code == 0, verified
    assert not leaks(verified, SECRETS)


@pytest.mark.parametrize("secret", [*SECRETS.values(), "multi  space\\|Pipe9"])
@pytest.mark.parametrize(
    "render",
    [
        lambda s: json.dumps(f"x {s} y"),
        lambda s: json.dumps(f"x {s} y", ensure_ascii=False),
        lambda s: repr(f"x {s} y"),
        lambda s: repr(f"x {s} y\"'"),
        lambda s: " ".join(f"x {s} y".split()).replace("|", "\\|"),
        lambda s: " ".join(f"x {s} y".split()).replace("|", "\\|").replace("`", "'"),
        lambda s: __import__("shlex").quote(f"x {s} y"),
        lambda s: __import__("html").escape(f"x {s} y"),
        lambda s: json.dumps(repr(f"x {s} y")),
    ],
)
def test_every_escaped_spelling_is_redacted_in_final_text(secret: str, render) -> None:
    final = render(secret)
    assert leaks(final, {"s": secret}), "the oracle must see the escaped secret"
    assert not leaks(Redactor([secret]).redact_text(final), {"s": secret})


# --- 5. encodings -----------------------------------------------------------------------------


def _b64(text: str, urlsafe: bool = False) -> str:
    raw = text.encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


def encoded_plantings(secret: str) -> list[str]:
    forms = [f"Basic {_b64(user + ':' + secret)}" for user in ("u", "us", "use")]
    forms += [f"token={_b64(user + secret + '!', True)}" for user in ("", "a", "ab")]
    forms += [_b64(secret).rstrip("="), secret.encode().hex(), secret.encode().hex().upper()]
    forms += [secret.upper(), secret.lower(), secret.swapcase()]
    forms += ["".join(f"%{b:02X}" for b in secret.encode()), quote(secret, safe="").lower()]
    return forms


def test_encoded_secrets_reach_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    planted = [form for secret in SECRETS.values() for form in encoded_plantings(secret)]
    assert all(leaks(form, SECRETS) for form in planted), "the oracle must see every planting"
    steps = "  - submit:\n" + "".join(
        f"      - {{id: o-{i}, symbol: AAPL, side: buy, qty: '1', note: {q(form)}}}\n"
        for i, form in enumerate(planted, start=1)
    )
    steps += f"  - stop: {q(' '.join(planted[:6]))}\n"
    path = Path("encoded.yaml")
    path.write_text(scenario(steps=steps), "utf-8")
    snapshot = snapshot_path(Path("snaps"), "secret_case")
    snapshot.parent.mkdir()
    snapshot_text = evaluate(load_scenario(path), snapshot_dir=None).snapshot_text
    snapshot.write_text(snapshot_text)
    code, out = cli(
        capsys, "scenario", "run", str(path), "--audit-dir", "audit", "--evidence-dir", "ev",
        "--snapshot-dir", "snaps",
    )  # fmt: skip
    assert code == 0, out
    evidence = next(Path("ev").glob("EV-*.md"))
    code, verified = cli(capsys, "evidence", "verify", str(evidence), "--snapshot-dir", "snaps")
    assert code == 0, verified
    code, audited = cli(capsys, "audit", "verify", "audit/secret_case.jsonl")
    assert code == 0, audited
    texts = {
        "audit": Path("audit/secret_case.jsonl").read_text("utf-8"),
        "snapshot": snapshot_text,
        "evidence": evidence.read_text("utf-8"),
        "stdout": out + verified + audited,
    }
    assert texts["audit"].count(REDACTED) >= len(planted)
    found = {name: leaks(text, SECRETS) for name, text in texts.items()}
    assert not any(found.values()), found


# --- 6. short secrets, digests, quantities, the scenario digest --------------------------------


def test_a_digest_is_never_altered_by_redaction() -> None:
    secret = "Digest-Tail-42x"
    digest = "ab" * 4 + secret.encode().hex() + "cd" * 2
    digest = (digest + "0" * 64)[:64]
    redactor = Redactor([secret])
    text = f"head {digest} and {secret.encode().hex()} alone"
    kept = redactor.redact_text(text, keep=[digest])
    assert digest in kept
    assert kept.endswith(f"and {REDACTED} alone")
    assert redactor.redact_text(text) != text  # without keep, the hex form is caught everywhere


def test_quantities_equal_to_digit_strings_survive_and_evidence_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    steps = f"  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: {q(PIN)}}}\n  - stop: done\n"
    path = Path("qty.yaml")
    path.write_text(scenario(steps=steps), "utf-8")
    snapshot = snapshot_path(Path("snaps"), "secret_case")
    snapshot.parent.mkdir()
    snapshot.write_text(evaluate(load_scenario(path), snapshot_dir=None).snapshot_text)
    code, out = cli(capsys, "scenario", "run", str(path), "--audit-dir", "audit",
                    "--evidence-dir", "ev", "--snapshot-dir", "snaps")  # fmt: skip
    assert code == 0, out
    audit = Path("audit/secret_case.jsonl").read_text("utf-8")
    assert f'"qty":"{PIN}"' in audit
    evidence = next(Path("ev").glob("EV-*.md"))
    assert f"| {PIN} |" in evidence.read_text("utf-8")
    code, verified = cli(capsys, "evidence", "verify", str(evidence), "--snapshot-dir", "snaps")
    assert code == 0, verified


def test_the_scenario_digest_lets_nobody_test_a_guess_of_a_secret(tmp_path: Path) -> None:
    """The evidence's scenario SHA-256 was the hash of a file holding the secret: a guess could
    be checked against it. Now it hashes the file with the secrets redacted: it is the same
    whatever the secret's value, and still changes with any other byte."""
    first, second, edited = (tmp_path / name for name in ("a.yaml", "b.yaml", "c.yaml"))
    first.write_text(scenario(), "utf-8")
    second.write_text(scenario().replace(API, "sk-Other|Value`1 2"), "utf-8")
    edited.write_text(scenario(title="Another title"), "utf-8")
    digest = load_scenario(first).sha256
    assert digest != hashlib.sha256(first.read_bytes()).hexdigest()
    assert load_scenario(second).sha256 == digest
    assert load_scenario(edited).sha256 != digest
    plain = tmp_path / "plain.yaml"
    plain.write_text(scenario().replace(secrets_block(), ""), "utf-8")
    assert load_scenario(plain).sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()


# --- 7. key-name rules: credential-shaped keys only --------------------------------------------

CREDENTIAL_KEYS = ["password", "db_password", "apiKey", "X-Api-Key", "X-API-KEY", "clientSecret",
                   "refresh_token", "Authorization", "PASSWORD", "private_key", "passphrase",
                   "session-token", "broker_pin", "Set-Cookie", "credentials"]  # fmt: skip
DOMAIN_KEYS = ["TOKEN/USDT", "USDT/TOKEN", "TOKEN", "SECRET", "KEY", "PIN", "AUTH-USD", "symbol",
               "token_count", "secret_name", "sort_key", "redaction_names", "tokens_used",
               "SECRET.L", "PASS:TOKEN"]  # fmt: skip


@pytest.mark.parametrize("key", CREDENTIAL_KEYS)
def test_credential_shaped_keys_are_redacted(key: str) -> None:
    assert is_sensitive_key(key)
    assert Redactor().redact({key: "v"}) == {key: REDACTED}


@pytest.mark.parametrize("key", DOMAIN_KEYS)
def test_domain_keys_keep_their_values(key: str) -> None:
    assert not is_sensitive_key(key)
    assert Redactor().redact({key: "v"}) == {key: "v"}


def test_a_token_symbol_keeps_its_position_and_reference_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        "id: token_symbol\ntitle: t\nconfig:\n  allowlist: [TOKEN/USDT, SECRET]\n  max_steps: 5\n"
        "  rails: {unbounded: true, reference_prices: {TOKEN/USDT: '2.50'}}\n"
        'broker:\n  reference_prices: {TOKEN/USDT: "2.50", SECRET: "7.25"}\n'
        "steps:\n  - submit: [{id: o-1, symbol: TOKEN/USDT, side: buy, qty: '40'},"
        " {id: o-2, symbol: SECRET, side: sell, qty: '3'}]\n"
        "  - reference_prices: {TOKEN/USDT: '2.55'}\n  - stop: done\n"
        "expect: {final_state: STOPPED, positions: {TOKEN/USDT: '40', SECRET: '-3'}}\n"
    )
    path = Path("token.yaml")
    path.write_text(text, "utf-8")
    verdict = evaluate(load_scenario(path), snapshot_dir=None)
    assert verdict.passed, verdict.mismatches
    audit = "\n".join(verdict.result.audit_lines)
    assert REDACTED not in audit
    assert '"TOKEN/USDT":"40"' in audit
    assert '"SECRET":"-3"' in audit
    assert '"TOKEN/USDT":"2.55"' in audit
    assert '"TOKEN/USDT":"2.50"' in audit


# --- 8. pytest collection and failure text ----------------------------------------------------

PYTEST_MODULE = """
from pathlib import Path
import pytest
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.expectations import format_failure
from peak_trade.harness.model import load_scenario
from peak_trade.harness.verdict import evaluate

def _load(path):
    try:
        return load_scenario(path)
    except ScenarioError as error:
        return error

@pytest.mark.parametrize("loaded", [_load(p) for p in sorted(Path("scn").glob("*.yaml"))])
def test_scenario(loaded):
    if isinstance(loaded, ScenarioError):
        pytest.fail(str(loaded), pytrace=False)
    verdict = evaluate(loaded, snapshot_dir=None)
    if verdict.mismatches:
        pytest.fail(format_failure(loaded.id, verdict.mismatches), pytrace=False)
"""


def test_pytest_collection_and_failure_text_hold_no_secret(tmp_path: Path) -> None:
    (tmp_path / "scn").mkdir()
    (tmp_path / "scn" / "a.yaml").write_text(
        scenario(secrets_extra=f"    broker_pin: {PIN}\n"), "utf-8"
    )
    expect = f"expect: {{final_state: STOPPED, refused_orders: {{o-1: {q(API)}}}}}\n"
    (tmp_path / "scn" / "b.yaml").write_text(scenario(id_="b", expect=expect), "utf-8")
    (tmp_path / "test_scn.py").write_text(PYTEST_MODULE, "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-v", "test_scn.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert "2 failed" in output, output
    assert "'broker_pin' must be a string" in output
    assert "refused_orders" in output
    assert not fragment_leaks(output, ALL), output


# --- 9. generated: any strong secret, pasted into any typed field ------------------------------

FIELDS = {
    "order type": "  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: '1', type: {v}}}\n",
    "side": "  - submit: {{id: o-1, symbol: AAPL, side: {v}, qty: '1'}}\n",
    "quantity": "  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: {v}}}\n",
    "limit price": (
        "  - submit: {{id: o-1, symbol: AAPL, side: buy, qty: '1', type: limit,"
        " limit_price: {v}}}\n"
    ),
    "symbol": "  - submit: {{id: o-1, symbol: {v}, side: buy, qty: '1'}}\n",
    "stop mode": "  - stop: {{mode: {v}, reason: done}}\n",
    "run count": "  - run: {v}\n",
    "unknown key": "  - {{{v}: 1}}\n",
    "cancel list": "  - cancel: [{v}, {v}, 3]\n",
    "reference price": "  - reference_prices: {{AAPL: {v}}}\n",
}
generated_secrets = st.text(
    alphabet=st.sampled_from("abcxyzABCXYZ0189-_/+=|`'\" \\?#:{}[],&*!%@é"),
    min_size=12,
    max_size=40,
).filter(lambda s: secret_weakness(s) is None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=generated_secrets, field=st.sampled_from(sorted(FIELDS)), long=st.booleans())
def test_a_generated_secret_in_a_typed_field_never_reaches_the_message(secret, field, long):
    value = ("padding " * 6 + secret) if long else secret  # long: a value cut short when quoted
    steps = FIELDS[field].format(v=json.dumps(value, ensure_ascii=False))
    text = scenario(secrets_extra=f"    generated: {json.dumps(secret, ensure_ascii=False)}\n")
    text = text.replace("steps:\n", f"steps:\n{steps}", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
    message = str(caught.value) + repr(caught.value.problems)
    assert re.search(r"generated\.yaml:\d+:\d+: error: ", message), message
    assert not fragment_leaks(message, {"generated": secret}), message
