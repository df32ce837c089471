"""The page from plain values: bounded whatever the trail holds, and every verdict shown."""

from __future__ import annotations

from peak_trade.observe.facts import fold_records
from peak_trade.report.model import FAIL, PASS, UNREADABLE, Links, RunReport, ScenarioReport
from peak_trade.report.page import render_report


def refused(n: int) -> dict[str, object]:
    return {
        "seq": n,
        "step": 1,
        "state": "DRYRUN_ACTIVE",
        "type": "order_refused",
        "payload": {
            "client_order_id": f"o-{n}",
            "rule": "max_order_qty",
            "limit": "100",
            "observed": "101",
            "detail": "qty 101 over 100",
        },
    }


def entry(scenario_id: str, verdict: str, facts, reason: str = "why") -> ScenarioReport:
    return ScenarioReport(
        scenario_id=scenario_id,
        title=f"title of {scenario_id}",
        verdict=verdict,
        reason=reason,
        facts=facts,
        audit_name=f"build/audit/{scenario_id}.jsonl",
        links=Links(audit=f"../audit/{scenario_id}.jsonl"),
    )


def run(*scenarios: ScenarioReport, not_run: tuple[tuple[str, str], ...] = ()) -> RunReport:
    return RunReport(
        scenarios=scenarios,
        audit_dir="build/audit",
        evidence_dir="evidence",
        version="9.9",
        not_run=not_run,
    )


def test_a_flood_of_refusals_is_listed_up_to_the_limit_and_counted() -> None:
    facts = fold_records((refused(n) for n in range(1, 1001)), limit=100)
    page = render_report(run(entry("flood", PASS, facts)))
    section = page.split('data-scenario="flood"')[1]
    assert section.count("<td>max_order_qty</td>") == 100
    assert "… and 900 more refusals not listed" in section
    assert '<td class="num">1000</td>' in page  # the summary counts them all


def test_what_did_not_pass_is_listed_first_with_its_reason() -> None:
    facts = fold_records([refused(1)])
    page = render_report(
        run(
            entry("good", PASS, facts),
            entry("bad", FAIL, facts, reason="No PASS evidence binds this trail."),
            entry("gone", UNREADABLE, None, reason="The audit file cannot be read: a FIFO."),
        )
    )
    not_passed = page.split("<h2>Not passed (2)</h2>")[1].split("</ul>")[0]
    assert '<a href="#scenario-2">bad</a>' in not_passed
    assert '<a href="#scenario-3">gone</a>' in not_passed
    assert "good" not in not_passed
    assert "NOT EVERY SCENARIO PASSED" in page
    assert "3 scenario(s): 1 passed, 1 failed, 1 unreadable" in page
    unreadable = page.split('data-scenario="gone"')[1].split("</section>")[0]
    assert "<svg" not in unreadable  # no facts, no drawing: the reason says why
    assert "The audit file cannot be read: a FIFO." in unreadable


def test_scenarios_without_a_trail_are_named() -> None:
    page = render_report(run(entry("a", PASS, fold_records([])), not_run=(("b", "<B>"),)))
    assert "Scenarios without an audit trail in this run (1)" in page
    assert "<li><code>b</code>: &lt;B&gt;</li>" in page
    assert "<h2>Not passed" not in page


def test_the_page_is_a_pure_function_of_its_input() -> None:
    report = run(entry("a", PASS, fold_records([refused(1), refused(2)])))
    assert render_report(report) == render_report(report)
