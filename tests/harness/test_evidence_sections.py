"""What the evidence shows an operator signing it: each section for a scenario that has it, its
"none" for one that has not, bounded tables and diagrams, inert text, and no secret anywhere."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from peak_trade.cli.main import main
from peak_trade.harness.evidence import render_evidence
from peak_trade.harness.evidence_sections import MAX_ROWS, cell, description, expectation_rows
from peak_trade.harness.mermaid import MAX_MESSAGES
from peak_trade.harness.model import Expectations, load_scenario
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.verdict import Verdict, evaluate
from tests.reliability.secret_oracle import leaks
from tests.reliability.test_secret_classes import SECRETS, q, scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
FACTS = {
    "operator": "alice",
    "date": dt.date(2024, 5, 1),
    "command": "peak-trade scenario run x.yaml",
    "version": "9.9.9",
    "git_commit": None,
    "scenario_in_git": "no_repository",
    "python": "3.11.7",
    "platform": "Linux x86_64",
}


def render(path: Path) -> str:
    verdict = evaluate(load_scenario(path), snapshot_dir=None)
    assert verdict.passed, verdict.mismatches
    return render_evidence(verdict, **FACTS)


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section."""
    start = text.index(f"\n## {heading}\n") + len(heading) + 5
    end = text.find("\n## ", start)
    return text[start:end].lstrip("\n")


@pytest.fixture(scope="module")
def happy() -> str:
    return render(SCENARIOS / "happy_path_full_fills.yaml")


@pytest.fixture(scope="module")
def collar() -> str:
    return render(SCENARIOS / "rails" / "rail_price_collar.yaml")


@pytest.fixture(scope="module")
def overfill() -> str:
    return render(SCENARIOS / "overfill_breach_acknowledged.yaml")


@pytest.fixture(scope="module")
def kill() -> str:
    return render(SCENARIOS / "rails" / "rail_kill_switch_operator.yaml")


@pytest.fixture(scope="module")
def drift() -> str:
    return render(SCENARIOS / "failure_matrix" / "fm_position_drift_escalates.yaml")


def test_the_description_is_quoted_under_the_title(overfill: str):
    lines = overfill.split("\n")
    assert lines[1] == ""
    assert lines[2].startswith("> The broker reports a 150-share execution on a 100-share order.")
    assert lines[2].endswith("An error never resumes trading.")


def test_a_scenario_without_a_description_says_so(tmp_path: Path):
    path = tmp_path / "bare.yaml"
    path.write_text(
        "id: bare\ntitle: Bare\nconfig:\n  allowlist: [AAPL]\n  max_steps: 3\n"
        "  rails: {unbounded: true}\nbroker:\n  reference_prices: {AAPL: '1'}\n"
        "steps:\n  - stop: done\nexpect: {final_state: STOPPED}\n",
        encoding="utf-8",
    )
    text = render(path)
    assert "\n_The scenario has no description._\n" in text
    assert section(text, "Expectations checked").count("| `expect.") == 1


def test_the_expectations_checked_are_listed_with_what_each_requires(overfill: str):
    body = section(overfill, "Expectations checked")
    for row in (
        "| `expect.final_state` | the session ends in `STOPPED` | met |",
        "| `expect.steps_run` | 4 steps run | met |",
        "| `expect.orders.o-1` | status `filled`, cum_qty `150`, fills `1` | met |",
        "| `expect.positions.AAPL` | net `150` | met |",
        "| `expect.failed_checks` | preflight checks failing: none | met |",
        "| `expect.breaches` | invariants breached, in order: 1: `execution_reports_sound` | met |",
        "| `expect.audit.absent` | no record of: 2: `order_refused`, `illegal_transition` | met |",
    ):
        assert row in body, row
    states = "`PREFLIGHT_OK`, `DRYRUN_ACTIVE`, `ERROR_REQUIRES_OPERATOR`, `STOPPING`, `STOPPED`"
    assert f"| `expect.states` | the states entered, in this order: 5: {states} | met |" in body


def test_a_long_expected_list_is_cut_and_counted():
    types = tuple(f"type_{i}" for i in range(20))
    rows = dict(expectation_rows(Expectations(audit_types=types), str))
    shown = rows["audit.types"]
    assert shown.startswith("exactly these record types: 20: `type_0`, `type_1`, ")
    assert shown.endswith("`type_11` ... and 8 more")


def test_unmet_expectations_are_marked(tmp_path: Path):
    path = tmp_path / "happy.yaml"
    source = (SCENARIOS / "happy_path_full_fills.yaml").read_text(encoding="utf-8")
    path.write_text(source.replace("steps_run: 4", "steps_run: 5"), encoding="utf-8")
    verdict = evaluate(load_scenario(path), snapshot_dir=None)
    text = render_evidence(verdict, **FACTS)
    assert "| `expect.steps_run` | 5 steps run | **not met** |" in text
    assert "| `expect.final_state` | the session ends in `STOPPED` | met |" in text


def test_a_rail_refusal_shows_rail_limit_and_observed_value(collar: str, happy: str):
    body = section(collar, "Refused orders and requests")
    assert "| Step | Order | Request | Rail or rule | Limit | Observed | Detail |" in body
    assert "| 1 | `o-2` | new order | `price_collar` | `[95.00, 105.00]` | `105.01` | rail " in body
    assert "| 1 | `o-4` | new order | `price_collar` | `[95.00, 105.00]` | `94.99` | rail " in body
    assert "outside the collar \\[95.00, 105.00\\]" in body  # free text: brackets made inert
    assert section(happy, "Refused orders and requests").strip() == (
        "_no order or request was refused_"
    )


def test_a_breach_shows_invariant_and_detail(overfill: str, happy: str):
    body = section(overfill, "Breaches")
    assert (
        "| 2 | `execution_reports_sound` | o-1 o-1:2: overfill: cum_qty 150 exceeds order_qty 100"
        in body
    )
    assert section(happy, "Breaches").strip() == "_no invariant was breached_"


def test_operator_actions_show_who_note_and_step(overfill: str, kill: str):
    body = section(overfill, "Operator actions")
    assert (
        "| 4 | acknowledged the error | alice | overfill reconciled with the broker by phone |"
        in (body)
    )
    actions = section(kill, "Operator actions")
    assert "| 1 | engaged the kill switch | _not named_ | risk desk halt |" in actions
    assert (
        "| 3 | re-armed the kill switch | risk desk | market data confirmed, limits reviewed |"
        in (actions)
    )
    assert "| 6 | requested a graceful stop | _not named_ | end of rehearsal |" in actions


def test_no_operator_action_says_so(drift: str):
    assert section(drift, "Operator actions").strip() == "_no operator action_"


def test_the_kill_switch_engagement_and_rearm(kill: str, happy: str):
    body = section(kill, "Kill switch")
    assert "| 1 | engaged | operator |  |  |  | risk desk halt |" in body
    assert "| 3 | re-armed | risk desk |  |  |  | market data confirmed, limits reviewed |" in body
    assert "At the end of the session the kill switch is **not engaged**." in body
    assert section(happy, "Kill switch").strip() == "_the kill switch was never engaged_"


def test_an_automatic_kill_switch_names_its_rail_limit_and_observed_value():
    text = render(SCENARIOS / "rails" / "rail_max_realised_loss.yaml")
    body = section(text, "Kill switch")
    assert re.search(r"\| \d+ \| engaged \| \S+ \| `max_realised_loss` \| `50` \| `52.00` \|", body)


def test_reconciliation_findings(drift: str, happy: str):
    body = section(drift, "Reconciliation")
    assert "| 3 | pending | `position_mismatch` | `AAPL` | ours 100, broker 110 |" in body
    assert "| 5 | escalated | `position_mismatch` | `AAPL` |  |" in body
    assert "they last agreed at step 2." in body
    assert section(happy, "Reconciliation").startswith(
        "_no difference between the session's books and the broker's_"
    )


def test_the_state_timeline_is_a_diagram_and_a_table(overfill: str):
    body = section(overfill, "State timeline")
    assert body.startswith("```mermaid\nflowchart TD\n")
    edge = "step 4: acknowledge by alice: overfill reconciled with the broker by phone"
    assert f'    n3 -->|"{edge}"| n4' in body
    assert "    class n3 failed" in body
    assert "| 4 | ERROR_REQUIRES_OPERATOR → STOPPING | acknowledge by alice: overfill" in body


def test_the_message_sequence_shows_both_directions(kill: str):
    body = section(kill, "Messages between session and broker")
    assert body.startswith("7 message(s) between the session and the broker:\n\n```mermaid\n")
    for line in (
        "    S->>B: step 1: new order o-1: buy 100 AAPL",
        "    B-->>S: step 1: report o-1: new",
        "    S->>B: step 1: cancel o-1",
        "    B-->>S: step 2: report o-1: canceled",
        "    B-->>S: step 5: report o-4: trade, order filled",
    ):
        assert line in body, line


def test_a_session_without_messages_says_so():
    text = render(SCENARIOS / "preflight" / "preflight_live_enabled_without_override.yaml")
    body = section(text, "Messages between session and broker")
    assert body.startswith("No message went to or came from the broker.")
    assert "    Note over S,B: no messages were exchanged" in body


BIG = (
    "id: big\ntitle: Many orders\nconfig:\n  allowlist: [AAPL]\n  max_steps: 5\n"
    "  rails: {unbounded: true}\nbroker:\n  reference_prices: {AAPL: '10'}\nsteps:\n"
    "  - submit:\n"
    + "".join(f"      - {{id: o-{i}, symbol: AAPL, side: buy, qty: '1'}}\n" for i in range(40))
    + "".join(f"      - {{id: x-{i}, symbol: MSFT, side: buy, qty: '1'}}\n" for i in range(70))
    + "  - {}\n  - stop: done\nexpect: {final_state: STOPPED}\n"
)


def test_diagrams_and_tables_are_bounded_and_count_the_rest(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_text(BIG, encoding="utf-8")
    text = render(path)
    messages = section(text, "Messages between session and broker")
    # 40 orders placed, acknowledged and filled: 120 messages; 70 refused before the broker
    assert messages.startswith(
        f"120 messages between the session and the broker; the first {MAX_MESSAGES} drawn"
    )
    assert messages.count("->>") == MAX_MESSAGES
    assert (
        f"    Note over S,B: {120 - MAX_MESSAGES} more messages not drawn, see the audit trail"
        in (messages)
    )
    refusals = section(text, "Refused orders and requests")
    assert refusals.count("| new order | `symbol_allowlist` |") == MAX_ROWS
    assert f"_... and {70 - MAX_ROWS} more refusals: see the audit trail_" in refusals
    assert len(text) < 64_000


HOSTILE = (
    'x"]) --> n9 ; click n0 "https://evil.example" %%{init: {"theme": "dark"}}%% '
    "<img src=https://evil.example/t.png> ![t](https://evil.example/p.png) "
    "[link](https://evil.example) <!-- hidden --> | pipe ``` fence #quot; & end"
)


def test_scenario_text_cannot_break_a_diagram_or_inject_markup(tmp_path: Path):
    note = HOSTILE.replace('"', "'")
    path = tmp_path / "hostile.yaml"
    path.write_text(
        "id: hostile\n"
        f"title: {q(HOSTILE[:110])}\n"
        f"description: {q(HOSTILE + chr(10) + '## Digests' + chr(10) + '# heading')}\n"
        "config:\n  allowlist: [AAPL]\n  max_steps: 5\n  rails: {unbounded: true}\n"
        "broker:\n  reference_prices: {AAPL: '10'}\n"
        "  by_order:\n    o-1: [ack, {fill: {qty: '2'}}]\n"
        "steps:\n  - submit: {id: o-1, symbol: AAPL, side: buy, qty: '1'}\n  - {}\n"
        f"  - kill: {q(note)}\n"
        f"    rearm: {{operator: {q(note)}, note: {q(note)}}}\n"
        f"    acknowledge: {{operator: {q(note)}, note: {q(note)}}}\n"
        "expect: {final_state: STOPPED}\n",
        encoding="utf-8",
    )
    text = render(path)
    assert text.count("\n## Digests\n") == 1
    # Markup is inert: no raw HTML, image, link or comment outside code.
    for raw in (r"<img", r"<!--", r"(?<!\\)\]\(https://", r"!\[t\]"):
        assert not re.search(raw, text), raw
    for block in re.findall(r"```mermaid\n(.*?)\n```", text, re.DOTALL):
        for line in block.split("\n")[1:]:
            if line.startswith("    classDef "):
                continue  # the colours, written here, not taken from the scenario
            assert not re.search(r"%%|[{}<>;#&`\\]", line.split(":", 1)[-1]), line
            if '|"' in line:  # an edge label: one quoted string, no quote or pipe inside
                assert re.fullmatch(r'    n\d+ -->\|"[^"|]*"\| n\d+', line), line
    body = section(text, "Operator actions")
    assert "\\[link\\](https://evil.example)" in body
    assert "&lt;img src=https://evil.example/t.png&gt;" in body


def test_no_secret_reaches_the_new_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """The secret corpus of tests/reliability planted in everything the new sections print: the
    description, refusal details (a symbol that is a secret), breach details, operator notes and
    names, kill switch reasons, stop reasons; the evidence written by the CLI verifies."""
    monkeypatch.chdir(tmp_path)
    api, password, token = SECRETS.values()
    steps = (
        f"  - submit:\n"
        f"      - {{id: o-1, symbol: AAPL, side: buy, qty: '1'}}\n"
        f"    kill: {q('halt ' + api)}\n"
        f"  - submit: {{id: o-2, symbol: AAPL, side: buy, qty: '1', note: {q(token)}}}\n"
        f"  - rearm: {{operator: {q('ops ' + password)}, note: {q('ok ' + token)}}}\n"
        f"  - stop: {q('done ' + api + ' | ' + password)}\n"
    )
    text = scenario(steps=steps).replace(
        "title:", f"description: {q('about ' + api + chr(10) + password)}\ntitle:", 1
    )
    path = Path("secret_sections.yaml")
    path.write_text(text, encoding="utf-8")
    snapshot = snapshot_path(Path("snaps"), "secret_case")
    snapshot.parent.mkdir()
    verdict: Verdict = evaluate(load_scenario(path), snapshot_dir=None)
    assert verdict.passed, verdict.mismatches
    snapshot.write_text(verdict.snapshot_text)
    argv = ["scenario", "run", str(path), "--evidence-dir", "ev", "--snapshot-dir", "snaps"]
    assert main([*argv, "--operator", f"op {token}"]) == 0
    evidence = next(Path("ev").glob("EV-*.md"))
    written = evidence.read_text("utf-8")
    assert "| 2 | `o-2` | new order | `kill_switch` |" in written
    for heading in ("State timeline", "Kill switch", "Operator actions"):
        assert "[REDACTED]" in section(written, heading), heading
    assert "> about [REDACTED] [REDACTED]" in written
    assert not leaks(written, SECRETS), leaks(written, SECRETS)
    capsys.readouterr()
    assert main(["evidence", "verify", str(evidence), "--snapshot-dir", "snaps"]) == 0
    assert not leaks(capsys.readouterr().out, SECRETS)


def test_cell_makes_markdown_and_html_inert():
    assert cell("a | b") == "a \\| b"
    assert cell("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert cell("![x](y) [l](u)") == "!\\[x\\](y) \\[l\\](u)"
    assert cell("`code`\nnext\\") == "'code' next\\\\"
    assert cell("kept [REDACTED] marker") == "kept [REDACTED] marker"


def test_a_description_cannot_open_a_block_of_its_own():
    for text, shown in (
        ("# heading", "> \\# heading"),
        ("1. first", "> 1\\. first"),
        ("2) second", "> 2\\) second"),
        ("- item", "> \\- item"),
        ("* item", "> \\* item"),
        ("> quote", "> &gt; quote"),
        ("plain 1. text", "> plain 1. text"),
    ):
        assert description(text, str)[0] == shown, text
    assert description("one\n\ntwo", str) == ["> one", ">", "> two", ""]
