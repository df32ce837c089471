"""`peak-trade report`: what it writes, what it exits with, what it refuses.

Exit codes: 0 every scenario in the report passed; 1 the report is written but a scenario did not
pass (FAIL, NOT VERIFIED, UNREADABLE, each named on stderr); 2 bad input, no report written.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from peak_trade.cli.main import main
from peak_trade.execution.live.audit_trail.redaction import REDACTED
from tests.reliability.secret_oracle import leaks
from tests.report.run_tree import HOSTILE_ID, HOSTILE_TITLE, SECRET, Run, make_run

REPORT = "build/report/index.html"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    return make_run(tmp_path, monkeypatch)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["report", "--audit-dir", "build/audit", "--output", REPORT, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class Page(HTMLParser):
    """The elements of a page that matter here: tags opened, links, section attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.sections: list[dict[str, str | None]] = []
        self.svgs_per_section: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "section":
            self.sections.append(values)
            self.svgs_per_section.append(0)
        if tag == "svg" and self.sections:
            self.svgs_per_section[-1] += 1


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_a_passing_run_gives_exit_0_and_one_section_with_two_drawings_per_scenario(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = report(capsys)
    assert (code, err) == (0, "")
    n = len(run.ids)
    assert out.splitlines() == [
        f"report: {REPORT}",
        f"    {n} scenario(s): {n} passed, 0 not passed",
        "    audit trails: build/audit/<id>.jsonl",
        f"    metrics: build/audit/<id>.prom ({len(list(run.audit_dir.glob('*.prom')))} of {n})",
        f"    evidence: evidence/EV-YYYYMMDD-<ID>-PASS.md ({n} of {n} bound to their trails)",
    ]
    page = parse(run.output)
    assert [s["data-scenario"] for s in page.sections] == list(run.ids)
    assert {s["data-verdict"] for s in page.sections} == {"PASS"}
    assert page.svgs_per_section == [2] * len(run.ids)


def test_the_page_loads_nothing_and_runs_nothing(run: Run, capsys) -> None:
    report(capsys)
    html = run.output.read_text(encoding="utf-8")
    page = parse(run.output)
    assert not {"script", "link", "img", "iframe", "object", "embed", "base"} & set(page.tags)
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    assert not re.search(r"\ssrc=|url\(|@import", html)
    # The only absolute URL is the SVG namespace name, which nothing fetches.
    assert set(re.findall(r"https?://[^\s\"'<>]*", html)) == {"http://www.w3.org/2000/svg"}


def test_every_link_is_relative_and_names_a_file_of_the_run(run: Run, capsys) -> None:
    report(capsys)
    page = parse(run.output)
    files = [link for link in page.links if not link.startswith("#")]
    assert files
    kinds = set()
    for link in files:
        assert not re.match(r"[a-z][a-z0-9+.-]*:", link)
        assert not link.startswith("/")
        target = (run.output.parent / unquote(link)).resolve()
        assert target.is_file(), link
        kinds.add(target.parent.name if target.suffix != ".yaml" else "scenarios")
    assert kinds == {"audit", "evidence", "scenarios"}


def test_a_hostile_title_stays_text_and_a_secret_in_it_is_redacted(run: Run, capsys) -> None:
    report(capsys)
    html = run.output.read_text(encoding="utf-8")
    page = parse(run.output)
    assert "script" not in page.tags
    assert "b" not in page.tags
    assert page.tags.count("section") == len(run.ids)
    assert "&lt;/svg&gt;&lt;/section&gt;&lt;script&gt;" in html
    assert leaks(html, {"api_key": SECRET}) == []
    assert f"key {REDACTED}" in html
    hostile = next(s for s in page.sections if s["data-scenario"] == HOSTILE_ID)
    assert hostile["data-verdict"] == "PASS"
    title = HOSTILE_TITLE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    title = title.replace('"', "&quot;").replace("'", "&#x27;")
    assert f"<td>{title} key {REDACTED}</td>" in html  # in the summary, as text


def test_the_same_run_gives_the_same_bytes_wherever_it_lies(
    run: Run, capsys, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    report(capsys)
    first = run.output.read_bytes()
    assert report(capsys)[0] == 0
    assert run.output.read_bytes() == first
    other = make_run(tmp_path_factory.mktemp("another_checkout"), monkeypatch)
    assert report(capsys)[0] == 0
    assert other.output.read_bytes() == first


def test_the_report_shows_a_refusal_with_its_rail_and_a_breach(run: Run, capsys) -> None:
    report(capsys)
    html = run.output.read_text(encoding="utf-8")
    rail = html.split('data-scenario="rail_max_order_qty"')[1].split("</section>")[0]
    assert (
        "<td>order_refused</td><td>o-2</td><td>max_order_qty</td><td>100</td><td>101</td>" in rail
    )
    breach = html.split('data-scenario="overfill_breach_acknowledged"')[1].split("</section>")[0]
    assert "<td>execution_reports_sound</td>" in breach
    assert "acknowledge" in breach


def test_a_tampered_audit_is_shown_not_verified_and_exits_1(run: Run, capsys) -> None:
    audit = run.audit_dir / "happy_path_full_fills.jsonl"
    audit.write_bytes(audit.read_bytes().replace(b'"qty":"100"', b'"qty":"900"', 1))
    code, out, err = report(capsys)
    assert code == 1
    assert out.startswith(f"report: {REPORT}\n")
    assert err.startswith("happy_path_full_fills: NOT VERIFIED: The audit trail is not verified:")
    section = parse(run.output).sections[run.ids.index("happy_path_full_fills")]
    assert section["data-verdict"] == "NOT VERIFIED"
    number = run.ids.index("happy_path_full_fills") + 1
    html = run.output.read_text(encoding="utf-8")
    assert (
        f'<h2>Not passed (1)</h2>\n<ul class="not-passed">\n<li><a href="#scenario-{number}">'
        in html
    )


def test_a_trail_without_its_seal_is_not_verified(run: Run, capsys) -> None:
    (run.audit_dir / "happy_path_full_fills.jsonl.seal").unlink()
    code, _, err = report(capsys)
    assert code == 1
    assert "happy_path_full_fills: NOT VERIFIED: The audit trail is verified but not sealed" in err


def test_a_trail_no_evidence_binds_fails(run: Run, capsys) -> None:
    for evidence in run.evidence_dir.glob("EV-*-HAPPY_PATH_FULL_FILLS-PASS.md"):
        evidence.unlink()
    code, _, err = report(capsys)
    assert code == 1
    assert err == (
        "happy_path_full_fills: FAIL: No PASS evidence binds this trail: there is no PASS "
        "evidence for happy_path_full_fills in evidence, and `peak-trade scenario run` writes "
        "evidence for every scenario that passes.\n"
    )


def test_evidence_of_another_run_or_of_an_edited_scenario_does_not_count(run: Run, capsys) -> None:
    # Another scenario's evidence under this scenario's name: another trail's head.
    (happy,) = run.evidence_dir.glob("EV-*-HAPPY_PATH_FULL_FILLS-PASS.md")
    (other,) = run.evidence_dir.glob("EV-*-RAIL_MAX_ORDER_QTY-PASS.md")
    happy.write_bytes(other.read_bytes())
    code, _, err = report(capsys)
    assert code == 1
    assert f"{happy.name} is the evidence of scenario rail_max_order_qty" in err
    # The scenario file edited after its run: the evidence is of another version of it.
    scenario = run.root / "scenarios/rail_max_order_qty.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    code, _, err = report(capsys)
    assert "rail_max_order_qty: FAIL: No PASS evidence binds this trail" in err
    assert "the scenario file changed since" in err


def test_an_unreadable_audit_file_is_reported_as_such(run: Run, capsys) -> None:
    os.mkfifo(run.audit_dir / "zz_fifo.jsonl")
    code, _, err = report(capsys)
    assert code == 1
    assert "zz_fifo: UNREADABLE: The audit file cannot be read: it is a FIFO" in err
    assert parse(run.output).sections[-1]["data-verdict"] == "UNREADABLE"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--audit-dir", "nowhere"],
            "peak-trade: cannot read the audit folder nowhere: it does not exist; run "
            "`peak-trade scenario run --audit-dir nowhere` first, or name the folder with "
            "--audit-dir\n",
        ),
        (
            ["--audit-dir", "scenarios"],
            "peak-trade: no audit trails (*.jsonl) in scenarios: run `peak-trade scenario run "
            "--audit-dir scenarios` first\n",
        ),
        (
            ["--output", "build"],
            "peak-trade: cannot write the report build: it is a folder; name a file, e.g. "
            "build/report/index.html\n",
        ),
    ],
)
def test_bad_input_exits_2_with_a_sentence_and_writes_nothing(
    run: Run, capsys, argv: list[str], message: str
) -> None:
    code, out, err = report(capsys, *argv)
    assert (code, out, err) == (2, "", message)
    assert not run.output.exists()


def test_an_invalid_scenario_file_is_bad_input(run: Run, capsys) -> None:
    (run.root / "scenarios/broken.yaml").write_text("id: broken\ntitle: [\n", encoding="utf-8")
    code, _, err = report(capsys)
    assert code == 2
    assert "scenarios/broken.yaml:" in err
    assert err.endswith("scenario file(s) invalid; no report written\n")
    assert not run.output.exists()


def test_output_is_required(run: Run, capsys) -> None:
    capsys.readouterr()
    assert main(["report"]) == 2
    assert "--output" in capsys.readouterr().err


def test_a_trail_of_a_scenario_no_longer_there_fails(run: Run, capsys) -> None:
    (run.root / "scenarios/happy_path_full_fills.yaml").unlink()
    code, _, err = report(capsys)
    assert code == 1
    assert err.startswith(
        "happy_path_full_fills: FAIL: No scenario file with the id happy_path_full_fills is "
        "among the scenarios read"
    )
