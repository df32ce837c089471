"""The query-first table for given-up requests: every row, and what a reply is found to say."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest

from peak_trade.execution.broker.model import (
    UNKNOWN_ORDER,
    ZERO,
    ExecType,
    ExecutionReport,
    OrderStatus,
    Side,
)
from peak_trade.execution.live.retry.fate_query import (
    FATE_TABLE,
    Fate,
    GivenUp,
    QueryFinding,
    finding_of,
    resolve_fate,
)

S, C, R, Q = GivenUp.SUBMIT, GivenUp.CANCEL, GivenUp.REPLACE, QueryFinding
EXPECTED = {
    (S, Q.UNKNOWN_TO_BROKER): Fate.MARK_REJECTED,
    (S, Q.WORKING): Fate.ADOPT,
    (S, Q.CLOSED): Fate.ADOPT,
    (S, Q.NO_ANSWER): Fate.ESCALATE,
    (C, Q.UNKNOWN_TO_BROKER): Fate.ESCALATE,
    (C, Q.WORKING): Fate.ESCALATE,
    (C, Q.CLOSED): Fate.ADOPT,
    (C, Q.NO_ANSWER): Fate.ESCALATE,
    (R, Q.UNKNOWN_TO_BROKER): Fate.ESCALATE,
    (R, Q.WORKING): Fate.KEEP_WORKING,
    (R, Q.CLOSED): Fate.ADOPT,
    (R, Q.NO_ANSWER): Fate.ESCALATE,
}


def _reply(status: OrderStatus, *, reason: str | None = None, cum: str = "0") -> ExecutionReport:
    qty = ZERO if reason == UNKNOWN_ORDER else Decimal(100)
    closed = status.is_closed
    return ExecutionReport(
        exec_id="o-1:9",
        client_order_id="o-1",
        exec_type=ExecType.ORDER_STATUS,
        status=status,
        symbol="" if reason == UNKNOWN_ORDER else "AAPL",
        side=Side.BUY,
        order_qty=qty,
        cum_qty=Decimal(cum),
        leaves_qty=ZERO if closed else qty - Decimal(cum),
        reason=reason,
    )


REPLIES = {
    Q.UNKNOWN_TO_BROKER: _reply(OrderStatus.REJECTED, reason=UNKNOWN_ORDER),
    Q.WORKING: _reply(OrderStatus.NEW),
    Q.CLOSED: _reply(OrderStatus.FILLED, cum="100"),
    Q.NO_ANSWER: None,
}


def test_the_table_has_every_row_and_only_those():
    assert set(FATE_TABLE) == set(itertools.product(GivenUp, QueryFinding))
    assert FATE_TABLE == EXPECTED


@pytest.mark.parametrize(("given_up", "finding"), sorted(EXPECTED, key=str), ids=str)
def test_every_row_is_reached_from_a_reply(given_up, finding):
    resolution = resolve_fate("o-1", given_up, REPLIES[finding], why_none="no reply within 2")
    assert resolution.finding is finding
    assert resolution.fate is EXPECTED[(given_up, finding)]
    assert resolution.detail.startswith(f"{given_up.value} of o-1 given up; ")
    assert resolution.fate.value in resolution.detail
    payload = resolution.to_payload()
    assert payload["finding"] == finding.value
    assert payload["fate"] == resolution.fate.value


@pytest.mark.parametrize(
    ("status", "finding"),
    [
        (OrderStatus.PENDING_NEW, Q.WORKING),
        (OrderStatus.PARTIALLY_FILLED, Q.WORKING),
        (OrderStatus.PENDING_CANCEL, Q.WORKING),
        (OrderStatus.CANCELED, Q.CLOSED),
        (OrderStatus.EXPIRED, Q.CLOSED),
        (OrderStatus.REJECTED, Q.CLOSED),  # known to the broker, rejected by it: closed
    ],
)
def test_a_reply_is_working_or_closed_by_its_status(status, finding):
    assert finding_of(_reply(status)) is finding


def test_only_an_order_status_report_is_a_reply():
    ack = replace(_reply(OrderStatus.NEW), exec_type=ExecType.NEW)
    assert finding_of(ack) is Q.NO_ANSWER
    assert finding_of(None) is Q.NO_ANSWER


def test_a_missing_reply_says_why():
    resolution = resolve_fate("o-2", S, None, why_none="no reply within 2 step(s)")
    assert resolution.fate is Fate.ESCALATE
    assert "no reply within 2 step(s)" in resolution.detail
    assert "the broker's state is unknown" in resolution.detail
