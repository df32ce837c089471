"""The session's side of the FIX matrices: chained ids, status requests and PossResend resends
are sent, or refused and audited, never dropped."""

from __future__ import annotations

from decimal import Decimal

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import CancelOrder, NewOrder, StatusRequest
from peak_trade.execution.live.intents import CancelIntent, ResendIntent, StatusIntent
from tests.execution.live.support import order, submit


def started(make_session, script: object = ("ack",)):
    broker = MockBroker(parse_broker_spec({"reference_prices": {"AAPL": "100"},
                                           "default": list(script)}))  # fmt: skip
    session = make_session(broker=broker)
    session.orchestrator.preflight()
    session.orchestrator.start()
    return session, broker


def test_a_chained_cancel_goes_out_under_its_own_id(make_session) -> None:
    session, broker = started(make_session)
    submit(session.intents, 1, order("o-1"))
    session.intents.add(2, CancelIntent(client_order_id="o-1", new_client_order_id="c-1"))
    session.orchestrator.run_n_steps(3)
    assert broker.commands[1] == (2, CancelOrder(client_order_id="o-1", new_client_order_id="c-1"))
    (requested,) = session.of_type("cancel_requested")
    assert requested["payload"]["new_client_order_id"] == "c-1"
    reports = session.of_type("execution_report")
    assert (reports[-1]["payload"]["client_order_id"], reports[-1]["payload"]["status"]) == (
        "c-1",
        "canceled",
    )
    book = session.orchestrator.book
    assert book.known(book.aliases["c-1"]).status.value == "canceled"


def test_a_chained_request_under_a_used_id_is_refused(make_session) -> None:
    session, broker = started(make_session)
    submit(session.intents, 1, order("o-1"), order("o-2"))
    session.intents.add(2, CancelIntent(client_order_id="o-1", new_client_order_id="o-2"))
    session.orchestrator.step()
    session.orchestrator.step()
    (refused,) = session.of_type("cancel_refused")
    assert refused["payload"]["rule"] == "duplicate_client_order_id"
    assert not any(isinstance(c, CancelOrder) for _, c in broker.commands)


def test_status_requests_and_resends_are_sent_for_known_orders_and_refused_otherwise(
    make_session,
) -> None:
    session, broker = started(make_session, ("ack", {"wait": 5}))
    submit(session.intents, 1, order("o-1"))
    session.intents.add(
        2,
        StatusIntent(client_order_id="o-1"),
        StatusIntent(client_order_id="nope"),
        ResendIntent(client_order_id="o-1"),
        ResendIntent(client_order_id="nope"),
    )
    session.orchestrator.run_n_steps(2)
    sent = [c for _, c in broker.commands]
    assert StatusRequest(client_order_id="o-1") in sent
    resend = next(c for c in sent if isinstance(c, NewOrder) and c.poss_resend)
    assert (resend.client_order_id, resend.qty) == ("o-1", Decimal(100))
    assert [r["payload"]["client_order_id"] for r in session.of_type("status_request_refused")] == [
        "nope"
    ]
    assert [r["payload"]["client_order_id"] for r in session.of_type("resend_refused")] == ["nope"]
    assert session.of_type("order_resent")[0]["payload"]["poss_resend"] is True
    statuses = [
        r["payload"]["exec_type"] for r in session.of_type("execution_report") if r["step"] == 2
    ]
    assert statuses == ["order_status", "order_status"]
    assert session.orchestrator.book.orders_submitted == 1  # a resend is not a new order
