"""Request faults: rate limits, timeouts, gateway busy and permanent refusals of requests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker import (
    BrokerBusy,
    BrokerError,
    BrokerRateLimited,
    BrokerRequestRefused,
    BrokerTimeout,
    CancelOrder,
    DuplicateClientOrderId,
    ExecType,
    FillScriptError,
    MockBroker,
    NewOrder,
    OrderStatus,
    ReplaceOrder,
    Side,
    StatusRequest,
    TransientBrokerError,
    parse_broker_spec,
)


def _order(cid: str = "o-1", symbol: str = "AAPL", *, poss_resend: bool = False) -> NewOrder:
    return NewOrder(
        client_order_id=cid, symbol=symbol, side=Side.BUY, qty=Decimal(10), poss_resend=poss_resend
    )


def _broker(*rules: dict, **extra: object) -> MockBroker:
    return MockBroker(
        parse_broker_spec(
            {"reference_prices": {"AAPL": "100", "MSFT": "200"}, "request_faults": list(rules)}
            | extra
        )
    )


def _outcome(call) -> str:
    try:
        call()
    except BrokerError as exc:
        return type(exc).__name__
    return "ok"


# ----------------------------------------------------------------------------- answers


def test_a_rate_limit_names_its_retry_after_and_the_order_is_not_placed():
    broker = _broker({"answers": [{"rate_limited": {"retry_after": 3}}]})
    with pytest.raises(BrokerRateLimited, match="retry after 3 step") as caught:
        broker.submit(_order(), 1)
    assert caught.value.retry_after == 3
    assert caught.value.reason == "rate_limited"
    assert isinstance(caught.value, TransientBrokerError)
    assert broker.poll(1) == []  # nothing was placed
    assert broker.snapshot(1).open_orders == ()
    assert [c for _, c in broker.commands] == [_order()]  # the request was received


def test_answers_are_played_one_per_request_then_requests_go_through():
    broker = _broker({"answers": ["rate_limited", "gateway_busy", "ok", "timeout"]})
    outcomes = [_outcome(lambda i=i: broker.submit(_order(f"o-{i}"), 1)) for i in range(6)]
    assert outcomes == ["BrokerRateLimited", "BrokerBusy", "ok", "BrokerTimeout", "ok", "ok"]
    placed = {v.client_order_id for v in broker.snapshot(1).open_orders}
    assert placed == {"o-2", "o-4", "o-5"}  # a timeout that never arrived placed nothing


def test_a_timeout_that_reached_the_broker_placed_the_order():
    broker = _broker({"answers": [{"timeout": {"reached": True}}]})
    with pytest.raises(BrokerTimeout):
        broker.submit(_order(), 1)
    (ack,) = broker.poll(1)
    assert (ack.client_order_id, ack.exec_type) == ("o-1", ExecType.NEW)


def test_the_broker_never_holds_two_orders_for_one_id():
    broker = _broker({"answers": [{"timeout": {"reached": True}}]})
    with pytest.raises(BrokerTimeout):
        broker.submit(_order(), 1)
    with pytest.raises(DuplicateClientOrderId, match="duplicate client_order_id 'o-1'") as caught:
        broker.submit(_order(), 2)  # a plain resend of an order it holds
    assert isinstance(caught.value, BrokerRequestRefused)  # permanent: never worth a retry
    assert not isinstance(caught.value, TransientBrokerError)
    broker.submit(_order(poss_resend=True), 2)  # a PossResend finds it instead
    reports = broker.poll(2)
    # the resend is answered first (requests before the order's turn), then the ack plays
    assert [r.exec_type for r in reports] == [ExecType.ORDER_STATUS, ExecType.NEW]
    assert len(broker.snapshot(2).open_orders) == 1


def test_a_poss_resend_of_an_order_that_never_arrived_places_it():
    broker = _broker({"answers": ["timeout"]})
    with pytest.raises(BrokerTimeout):
        broker.submit(_order(), 1)
    broker.submit(_order(poss_resend=True), 2)
    assert [r.exec_type for r in broker.poll(2)] == [ExecType.NEW]


def test_a_permanent_refusal_carries_its_reason():
    broker = _broker({"answers": [{"refused": "account suspended"}]})
    with pytest.raises(BrokerRequestRefused, match="refused: account suspended"):
        broker.submit(_order(), 1)
    assert broker.snapshot(1).open_orders == ()


@pytest.mark.parametrize(
    ("kind", "call", "exc"),
    [
        ("cancel", lambda b: b.cancel(CancelOrder(client_order_id="o-1"), 2), BrokerBusy),
        (
            "replace",
            lambda b: b.replace(ReplaceOrder(client_order_id="o-1", new_qty=Decimal(5)), 2),
            BrokerRateLimited,
        ),
        ("status", lambda b: b.request_status(StatusRequest(client_order_id="o-1"), 2), BrokerBusy),
    ],
)
def test_cancel_replace_and_status_requests_can_fail_too(kind, call, exc):
    answer = "rate_limited" if kind == "replace" else "gateway_busy"
    broker = _broker({"requests": [kind], "answers": [answer]}, default=["ack"])
    broker.submit(_order(), 1)
    broker.poll(1)
    with pytest.raises(exc):
        call(broker)
    assert broker.poll(2) == []  # the failed request had no effect
    call(broker)  # the next one goes through
    (answer_report,) = broker.poll(3)
    expected = {
        "cancel": ExecType.CANCELED,
        "replace": ExecType.REPLACED,
        "status": ExecType.ORDER_STATUS,
    }[kind]
    assert answer_report.exec_type is expected


def test_a_cancel_that_timed_out_after_reaching_the_broker_took_effect():
    broker = _broker(
        {"requests": "cancel", "answers": [{"timeout": {"reached": True}}]}, default=["ack"]
    )
    broker.submit(_order(), 1)
    broker.poll(1)
    with pytest.raises(BrokerTimeout):
        broker.cancel(CancelOrder(client_order_id="o-1"), 2)
    (canceled,) = broker.poll(2)
    assert canceled.status is OrderStatus.CANCELED


# ----------------------------------------------------------------------------- selection


def test_rules_select_by_order_symbol_step_and_kind():
    broker = _broker(
        {"order": "o-1", "answer": "gateway_busy"},
        {"symbol": "MSFT", "answer": "rate_limited"},
        {"from_step": 3, "steps": 2, "requests": ["submit"], "answer": "timeout"},
    )
    assert _outcome(lambda: broker.submit(_order("o-1"), 1)) == "BrokerBusy"
    assert _outcome(lambda: broker.submit(_order("o-2", "MSFT"), 1)) == "BrokerRateLimited"
    assert _outcome(lambda: broker.submit(_order("o-3"), 2)) == "ok"
    assert _outcome(lambda: broker.submit(_order("o-4"), 3)) == "BrokerTimeout"
    assert _outcome(lambda: broker.submit(_order("o-5"), 4)) == "BrokerTimeout"
    assert _outcome(lambda: broker.submit(_order("o-6"), 5)) == "ok"  # the window is over
    # a status request is not a submit: the window rule does not answer it
    assert _outcome(lambda: broker.request_status(StatusRequest(client_order_id="o-3"), 3)) == "ok"


def test_a_symbol_rule_matches_requests_about_an_order_in_that_symbol():
    broker = _broker({"symbol": "MSFT", "requests": ["cancel"], "answer": "gateway_busy"})
    broker.submit(_order("o-1", "MSFT"), 1)
    broker.submit(_order("o-2", "AAPL"), 1)
    busy = _outcome(lambda: broker.cancel(CancelOrder(client_order_id="o-1"), 1))
    assert busy == "BrokerBusy"
    assert _outcome(lambda: broker.cancel(CancelOrder(client_order_id="o-2"), 1)) == "ok"
    # an order the broker does not know has no symbol: only rules without one match
    assert _outcome(lambda: broker.cancel(CancelOrder(client_order_id="o-9"), 1)) == "ok"


def test_the_first_matching_rule_with_an_answer_left_answers():
    broker = _broker(
        {"order": "o-1", "answers": ["gateway_busy"]},
        {"answers": ["rate_limited", "rate_limited"]},
    )
    outcomes = [_outcome(lambda: broker.submit(_order("o-1"), 1)) for _ in range(4)]
    # busy (rule 1), then rule 1 is spent: rate limited twice (rule 2), then it goes through
    assert outcomes == ["BrokerBusy", "BrokerRateLimited", "BrokerRateLimited", "ok"]


def test_a_restart_plays_the_request_faults_again():
    broker = _broker({"answers": ["gateway_busy"]})
    assert _outcome(lambda: broker.submit(_order("o-1"), 1)) == "BrokerBusy"
    broker.restart()
    assert _outcome(lambda: broker.submit(_order("o-1"), 1)) == "BrokerBusy"


@settings(max_examples=50, deadline=None)
@given(
    answers=st.lists(
        st.sampled_from(
            ["ok", "rate_limited", "timeout", "gateway_busy", {"timeout": {"reached": True}}]
        ),
        min_size=1,
        max_size=8,
    ),
    tries=st.integers(min_value=1, max_value=12),
)
def test_the_same_requests_get_the_same_answers_and_one_order_per_id(answers, tries):
    def run() -> tuple[list[str], int]:
        broker = _broker({"answers": answers})
        outcomes = []
        for i in range(tries):  # resends of one id, PossResend after the first as a session would
            outcomes.append(_outcome(lambda i=i: broker.submit(_order(poss_resend=i > 0), i + 1)))
        return outcomes, len(broker.snapshot(tries).open_orders)

    first, held = run()
    assert run() == (first, held)
    assert held <= 1  # never two orders for one id


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("rules", "pointer", "says"),
    [
        ("x", "/broker/request_faults", "must be a list"),
        ([{"answer": "ok", "answers": ["ok"]}], "/broker/request_faults/0", "exactly one of"),
        ([{}], "/broker/request_faults/0", "exactly one of"),
        ([{"answer": "slow"}], "/broker/request_faults/0/answer", "unknown answer 'slow'"),
        ([{"answer": "refused"}], "/broker/request_faults/0/answer", "needs a reason"),
        (
            [{"answer": {"rate_limited": {"retry_after": 0}}}],
            "/broker/request_faults/0/answer/rate_limited/retry_after",
            "from 1 to 100000",
        ),
        (
            [{"answer": {"timeout": {"reached": "yes"}}}],
            "/broker/request_faults/0/answer/timeout/reached",
            "true or false",
        ),
        ([{"requests": ["fill"], "answer": "ok"}], "/broker/request_faults/0/requests/0", "fill"),
        ([{"steps": 2, "answer": "ok"}], "/broker/request_faults/0/steps", "with from_step"),
        ([{"answers": []}], "/broker/request_faults/0/answers", "non-empty"),
        ([{"oder": "o-1", "answer": "ok"}], "/broker/request_faults/0/oder", "unknown key"),
        (
            [{"answer": {"gateway_busy": {"x": 1}}}],
            "/broker/request_faults/0/answer/gateway_busy/x",
            "unknown key",
        ),
    ],
)
def test_a_malformed_rule_is_refused_at_its_pointer(rules, pointer, says):
    with pytest.raises(FillScriptError) as caught:
        parse_broker_spec({"request_faults": rules}, path="/broker")
    message = str(caught.value)
    assert message.startswith(f"{pointer}: "), message
    assert says in message


def test_answer_forms_parse_to_the_same_rule():
    short = parse_broker_spec({"request_faults": [{"answer": {"refused": "no"}}]})
    long = parse_broker_spec({"request_faults": [{"answer": {"refused": {"reason": "no"}}}]})
    assert short == long
    bare = parse_broker_spec({"request_faults": [{"answer": "rate_limited"}]})
    assert bare.request_faults[0].answer.retry_after == 1
