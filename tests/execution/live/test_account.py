"""The session's own account view: booked fill by fill, the no-negative-balance rule, the config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.account import AccountSpec, FeeSchedule
from peak_trade.execution.broker.model import Side
from peak_trade.execution.live.account import SessionAccount
from peak_trade.execution.live.checks import account_problem, check_runtime_limits
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.pnl import PnlMethod

D = Decimal
CASH = AccountSpec(currency="USD", cash=D("1000"), fees=FeeSchedule(per_fill=D("1")))
MARGIN = AccountSpec(currency="USD", cash=D("1000"), leverage=D("2"))


def test_fills_move_cash_and_fees_and_realise_pnl():
    account = SessionAccount(CASH)
    first = account.book_fill("o-1", "AAPL", Side.BUY, D("5"), D("100"))
    second = account.book_fill("o-2", "AAPL", Side.SELL, D("5"), D("110"))
    assert (first.cash, first.fee, first.cash_delta, first.realised_pnl) == (
        D("499"),
        D("1"),
        D("-501"),
        D("0"),
    )
    assert (second.cash, second.realised_pnl) == (D("1048"), D("50"))
    assert account.fees_paid == D("2")
    assert account.problem({"AAPL": D("0")}, {}) is None


def test_negative_cash_is_named_with_its_values():
    account = SessionAccount(CASH)
    account.book_fill("o-1", "AAPL", Side.BUY, D("10"), D("100"))
    problem = account.problem({"AAPL": D("10")}, {})
    assert problem is not None
    assert "cash -1 USD is below zero in a cash account" in problem
    assert "starting cash 1000" in problem
    assert "fees paid 1" in problem


def test_margin_allows_negative_cash_not_negative_buying_power():
    account = SessionAccount(MARGIN)
    account.book_fill("o-1", "AAPL", Side.BUY, D("10"), D("150"))
    assert account.cash == D("-500")
    assert account.problem({"AAPL": D("10")}, {}) is None
    account.book_fill("o-2", "AAPL", Side.BUY, D("10"), D("150"))
    problem = account.problem({"AAPL": D("20")}, {})
    assert problem is not None
    assert "buying power -1000" in problem
    # marked at a higher reference, the same positions are worth more: no breach
    assert account.problem({"AAPL": D("20")}, {"AAPL": D("200")}) is None


def test_an_accepted_deficit_breaches_again_only_when_it_falls_further():
    account = SessionAccount(CASH)
    account.book_fill("o-1", "AAPL", Side.BUY, D("10"), D("100"))
    accepted = account.accept_deficit({"AAPL": D("10")}, {})
    assert accepted is not None
    assert accepted["accepted"] == "-1"
    assert account.problem({"AAPL": D("10")}, {}) is None
    account.book_fill("o-2", "AAPL", Side.BUY, D("1"), D("1"))
    assert account.problem({"AAPL": D("11")}, {}) is not None


def test_nothing_to_accept_when_the_balance_is_not_negative():
    assert SessionAccount(CASH).accept_deficit({}, {}) is None
    assert SessionAccount(None).accept_deficit({}, {}) is None


def test_without_broker_terms_only_pnl_is_kept():
    account = SessionAccount(None, PnlMethod.AVERAGE_COST)
    booking = account.book_fill("o-1", "AAPL", Side.BUY, D("10"), D("100"))
    assert booking.cash is None
    assert "cash" not in booking.to_payload()
    payload = account.to_payload({"AAPL": D("10")}, {"AAPL": D("101")})
    assert payload["unrealised_pnl"] == {"AAPL": "10"}
    assert "cash" not in payload
    assert payload["pnl_method"] == "average_cost"
    assert account.problem({}, {}) is None


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ({}, None),
        ({"pnl_method": "fifo"}, None),
        ({"pnl_method": "average_cost"}, None),
        ({"pnl_method": "lifo"}, "account.pnl_method must be one of fifo, average_cost"),
        ({"method": "fifo"}, "unknown account key(s) method"),
        ("fifo", "account must be a mapping"),
    ],
)
def test_the_account_config_is_judged_by_preflight(account, problem):
    config = SessionConfig.from_mapping({"account": account})
    found = account_problem(config)
    assert (found is None) if problem is None else (problem in found)
    assert check_runtime_limits(config)[0] is (problem is None)
