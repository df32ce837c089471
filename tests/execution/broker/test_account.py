"""The broker's account: the spec read strictly, fees and buying power exact, the mock's cash."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from peak_trade.execution.broker.account import (
    AccountSpec,
    AccountSpecError,
    BrokerAccount,
    FeeSchedule,
    buying_power,
    cash_delta,
    parse_account_spec,
)
from peak_trade.execution.broker.fill_script import (
    FillScriptError,
    MockBrokerSpec,
    OrderScript,
    SilentFill,
    parse_broker_spec,
)
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, Side

D = Decimal


def test_a_full_spec_is_read():
    spec = parse_account_spec(
        {
            "currency": "USD",
            "cash": "100000",
            "margin": {"leverage": "2"},
            "fees": {"per_fill": "1.00", "per_unit": "0.005", "bps": "0.5", "min_per_fill": "2"},
        }
    )
    assert spec == AccountSpec(
        currency="USD",
        cash=D("100000"),
        leverage=D("2"),
        fees=FeeSchedule(per_fill=D("1.00"), per_unit=D("0.005"), bps=D("0.5"), min_per_fill=D(2)),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cash": "1"}, "/account/currency: required"),
        ({"currency": "USD"}, "/account/cash: required"),
        ({"currency": "usd", "cash": "1"}, "/account/currency: must be a three-letter"),
        ({"currency": "US1", "cash": "1"}, "/account/currency: must be three letters"),
        ({"currency": "USD", "cash": "-1"}, "/account/cash: must be a decimal >= 0"),
        (
            {"currency": "USD", "cash": 1.5},
            "/account/cash: must be a decimal >= 0 written as a string",
        ),
        ({"currency": "USD", "cash": True}, "/account/cash: must be a decimal >= 0"),
        ({"currency": "USD", "cash": "1", "margin": {}}, "/account/margin/leverage: required"),
        (
            {"currency": "USD", "cash": "1", "margin": {"leverage": "0.5"}},
            "/account/margin/leverage: must be at least 1",
        ),
        (
            {"currency": "USD", "cash": "1", "fees": {"per_trade": "1"}},
            "/account/fees/per_trade: unknown key",
        ),
        (
            {"currency": "USD", "cash": "1", "fees": {"bps": "-1"}},
            "/account/fees/bps: must be a decimal >= 0",
        ),
        ({"currency": "USD", "cash": "1", "overdraft": "5"}, "/account/overdraft: unknown key"),
        ("USD", "/account: must be a mapping"),
    ],
)
def test_a_bad_spec_names_its_path(data, message):
    with pytest.raises(AccountSpecError, match=f"^{re.escape(message)}"):
        parse_account_spec(data)


def test_the_broker_spec_reports_account_problems_with_its_own_path():
    with pytest.raises(FillScriptError, match=r"^/broker/account/cash: required"):
        parse_broker_spec({"account": {"currency": "USD"}}, path="/broker")


@pytest.mark.parametrize(
    ("fees", "qty", "price", "fee"),
    [
        (FeeSchedule(), "10", "190.10", "0"),
        (FeeSchedule(per_fill=D("1.00")), "10", "190.10", "1.00"),
        (FeeSchedule(bps=D("0.5")), "10", "190.10", "0.095050"),
        (FeeSchedule(per_unit=D("0.005"), min_per_fill=D("1")), "10", "1", "1"),
        (FeeSchedule(per_unit=D("0.005"), min_per_fill=D("1")), "1000", "1", "5.000"),
        (FeeSchedule(per_fill=D("1"), per_unit=D("0.01"), bps=D("1")), "100", "50", "2.5000"),
    ],
)
def test_fees_are_exact(fees, qty, price, fee):
    assert fees.fee(D(qty), D(price)) == D(fee)
    assert str(fees.fee(D(qty), D(price))) == fee or fees.fee(D(qty), D(price)) == D(fee)


def test_cash_moves_by_side_and_always_pays_the_fee():
    assert cash_delta(Side.BUY, D("10"), D("100"), D("1")) == D("-1001")
    assert cash_delta(Side.SELL, D("10"), D("100"), D("1")) == D("999")


def test_buying_power_cash_account_is_cash():
    assert buying_power(D("-5"), {"AAPL": D("10")}, {"AAPL": D("100")}, None) == D("-5")


def test_buying_power_margin_is_equity_times_leverage_less_gross():
    # cash -500 after buying 10 @ 150 with 1000: equity 1000, gross 1500, BP 2000 - 1500
    assert buying_power(D("-500"), {"AAPL": D("10")}, {"AAPL": D("150")}, D("2")) == D("500")
    # a short: cash 2500 after selling 10 @ 150; equity 1000, gross 1500
    assert buying_power(D("2500"), {"AAPL": D("-10")}, {"AAPL": D("150")}, D("2")) == D("500")
    assert buying_power(D("1000"), {}, {}, D("3")) == D("3000")


def test_the_broker_account_books_fills_and_marks_at_the_last_fill():
    account = BrokerAccount(AccountSpec(currency="USD", cash=D("1000"), leverage=D("2")))
    account.book_fill("AAPL", Side.BUY, D("10"), D("150"))
    statement = account.statement({"AAPL": D("10")}, {"AAPL": D("100")})
    assert (statement.cash, statement.buying_power, statement.fees_paid) == (
        D("-500"),
        D("500"),
        D("0"),
    )


def _mock(**script) -> MockBroker:
    spec = MockBrokerSpec(
        reference_prices={"AAPL": D("100")},
        account=AccountSpec(currency="USD", cash=D("1000"), fees=FeeSchedule(per_fill=D("1"))),
        **script,
    )
    return MockBroker(spec)


def test_the_mock_reports_its_account_in_the_snapshot():
    broker = _mock()
    assert broker.snapshot(0).account.cash == D("1000")
    broker.submit(NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=D("3")), 1)
    broker.poll(1)
    broker.poll(2)
    statement = broker.snapshot(2).account
    assert (statement.cash, statement.fees_paid, statement.currency) == (D("699"), D("1"), "USD")


def test_a_silent_fill_moves_the_brokers_cash():
    broker = _mock(by_order={"o-1": OrderScript(actions=(SilentFill(qty=D("2")),))})
    broker.submit(NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.SELL, qty=D("5")), 1)
    assert broker.poll(1) == []
    assert broker.snapshot(1).account.cash == D("1199")


def test_a_restart_of_the_broker_process_forgets_the_account():
    broker = _mock()
    broker.submit(NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=D("3")), 1)
    broker.poll(1)
    broker.poll(2)
    broker.restart()
    assert broker.snapshot(3).account.cash == D("1000")


def test_no_account_no_statement():
    assert MockBroker(MockBrokerSpec()).snapshot(0).account is None
