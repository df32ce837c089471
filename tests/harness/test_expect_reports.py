"""expect.reports and the FIX vocabulary of a scenario file: how it loads (chained ids, status
requests, resends, end of day, time in force) and how a run is compared with the expected
reports, row by row, with located, readable differences."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from peak_trade.execution.broker.model import TimeInForce
from peak_trade.execution.live.intents import (
    CancelIntent,
    ResendIntent,
    StatusIntent,
    SubmitIntent,
)
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.expectations import reports_mismatch
from peak_trade.harness.loader import load_scenario_text
from peak_trade.harness.model import ExpectedReport, build_scenario
from peak_trade.harness.runner import run_scenario
from peak_trade.harness.validate import load_schema, validate_document
from peak_trade.harness.verdict import evaluate

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """\
id: fix_like
title: chained cancel
description: a chained cancel, a status request and a resend
tags: [fix]
config: {allowlist: [XYZ], max_steps: 10, rails: {unbounded: true}}
broker:
  reference_prices: {XYZ: "100"}
  by_order:
    X: {actions: [ack], cancel_delay: 1}
steps:
  - submit: {id: X, symbol: XYZ, side: buy, qty: "10000", time_in_force: gtc}
  - status_request: X
    resend: [X]
  - cancel: {id: X, new_id: "Y"}
  - stop: done
    end_of_day: true
expect:
  final_state: STOPPED
  reports:
    "Y":
      - {exec_type: new, status: new, order_qty: "10000", cum_qty: "0", leaves_qty: "10000", last_qty: "0"}
      - {exec_type: order_status, status: new, order_qty: "10000", cum_qty: "0", leaves_qty: "10000", last_qty: "0"}
      - {exec_type: order_status, status: new, order_qty: "10000", cum_qty: "0", leaves_qty: "10000", last_qty: "0"}
      - {exec_type: pending_cancel, status: pending_cancel, order_qty: "10000", cum_qty: "0", leaves_qty: "10000", last_qty: "0", client_order_id: "Y", orig_client_order_id: X}
      - {exec_type: canceled, status: canceled, order_qty: "10000.0", cum_qty: "0", leaves_qty: "0", last_qty: "0", client_order_id: "Y"}
"""  # noqa: E501


def build(text: str, path: str = "scenarios/fix_like.yaml"):
    doc = load_scenario_text(text, path=path)
    problems = validate_document(doc, load_schema())
    assert not problems, [p.format() for p in problems]
    return build_scenario(doc)


def test_the_fix_vocabulary_loads_into_intents_and_steps() -> None:
    scenario = build(SCENARIO)
    submit, status, resend, cancel = (i for s in scenario.steps for i in s.intents)
    assert isinstance(submit, SubmitIntent)
    assert submit.order.time_in_force is TimeInForce.GTC
    assert status == StatusIntent(client_order_id="X")
    assert resend == ResendIntent(client_order_id="X")
    assert cancel == CancelIntent(client_order_id="X", new_client_order_id="Y")
    assert [s.end_of_day for s in scenario.steps] == [False, False, False, True]
    rows = scenario.expect.reports["Y"]
    assert rows[0].where == "scenarios/fix_like.yaml:21"
    assert rows[3].fields["orig_client_order_id"] == "X"
    assert rows[4].fields["order_qty"] == Decimal("10000.0")


def test_expected_reports_name_any_id_of_the_chain_and_pass_row_by_row() -> None:
    verdict = evaluate(build(SCENARIO), snapshot_dir=None)
    assert verdict.passed, [m.format() for m in verdict.mismatches]


def test_a_new_id_must_be_unique_in_the_scenario() -> None:
    text = SCENARIO.replace('new_id: "Y"', "new_id: X")
    with pytest.raises(ScenarioError) as raised:
        build(text)
    (problem,) = raised.value.problems
    assert problem.json_path == "/steps/2/cancel/new_id"
    assert "id 'X' is already used in step entry 0" in problem.message


def test_a_replace_with_a_new_id_is_chained_and_the_order_goes_by_it() -> None:
    text = SCENARIO.replace(
        'cancel: {id: X, new_id: "Y"}', 'replace: {id: X, qty: "9000", new_id: "Y"}'
    ).replace("X: {actions: [ack], cancel_delay: 1}", "X: [ack]")
    result = run_scenario(build(text))
    assert result.aliases == {"Y": "X"}  # the book holds the order by its first id
    assert result.resolve("Y") == "X"
    assert result.orders["X"].order_qty == Decimal(9000)


def row(**fields: object) -> ExpectedReport:
    base = {"exec_type": "trade", "status": "partially_filled", "order_qty": Decimal(10000)}
    return ExpectedReport(fields={**base, **fields}, where="s.yaml:7")


RECEIVED = {
    "exec_type": "trade",
    "status": "partially_filled",
    "order_qty": "10000",
    "cum_qty": "2000",
    "leaves_qty": "8000",
    "last_qty": "2000",
    "last_px": "100",
}


def test_agreeing_reports_are_no_mismatch_and_decimals_compare_by_value() -> None:
    assert reports_mismatch("X", [row(cum_qty=Decimal("2000.00"))], [RECEIVED]) is None


def test_a_differing_field_names_its_row_its_place_and_both_values() -> None:
    mismatch = reports_mismatch("X", [row(cum_qty=Decimal(3000), last_px=Decimal(101))], [RECEIVED])
    assert mismatch is not None
    assert mismatch.key == "reports.X"
    assert mismatch.detail == (
        "  row 1 (s.yaml:7): cum_qty expected 3000, got 2000; last_px expected 101, got 100 "
        "[received trade partially_filled 10000/2000/8000/2000 last_px=100]"
    )


def test_missing_and_extra_reports_are_listed() -> None:
    missing = reports_mismatch("X", [row(), row(status="filled")], [RECEIVED])
    assert missing is not None
    assert "row 2 (s.yaml:7): expected trade filled 10000/?/?/?, nothing more received" in (
        missing.detail
    )
    extra = reports_mismatch("X", [], [RECEIVED])
    assert extra is not None
    assert extra.detail == "  row 1: not expected, received trade partially_filled " + (
        "10000/2000/8000/2000 last_px=100"
    )
    assert (extra.expected, extra.actual) == ("0 reports", "1 received, 1 row(s) differ")


def test_a_field_the_report_lacks_is_a_difference() -> None:
    mismatch = reports_mismatch("X", [row(avg_px=Decimal(100))], [RECEIVED])
    assert mismatch is not None
    assert "avg_px expected 100, got None" in mismatch.detail
