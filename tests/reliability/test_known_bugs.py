"""Bugs the reliability work found in the session API, each pinned by a strict xfail.

Each test states the behaviour the promise requires. It fails today (xfail), so the suite stays
green while the bug stays visible; when a fix lands the test passes, strict xfail turns that into
a failure, and the mark is removed. Bugs found through files or the CLI are pinned where they
were found (test_bad_inputs.py, test_crash.py).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.live.audit import MemorySink
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import SessionClosed, SessionError
from peak_trade.execution.live.intents import ScriptedIntents, SubmitIntent
from peak_trade.execution.live.session import build_session


def make(**overrides):
    config = SessionConfig.from_mapping({"allowlist": ["AAPL"], "max_steps": 10, **overrides})
    intents = ScriptedIntents()
    memory = MemorySink()
    broker = MockBroker(parse_broker_spec({"reference_prices": {"AAPL": "100"}}))
    session = build_session(config, broker, intents, extra_sinks=[memory], environ_names=())
    return session, intents, memory, broker


def order(cid: str, note: str | None = None) -> SubmitIntent:
    new = NewOrder(client_order_id=cid, symbol="AAPL", side=Side.BUY, qty=Decimal(1))
    return SubmitIntent(order=new, note=note)


def test_acknowledge_after_close_raises_session_closed() -> None:
    """Found by the state machine, fixed since (orchestrator._refuse checks the session is open
    first); kept as a regression test."""
    session, _, _, _ = make()
    session.preflight()
    session.cancel("done")
    session.close()
    with pytest.raises(SessionClosed):
        session.acknowledge("", "no operator named")


@pytest.mark.xfail(
    strict=True,
    reason="BUG rails duplicate_client_order_id: it only sees the book's closed_order_retention "
    "window, so an id reused after eviction is accepted and sent to the broker (the mock refuses "
    "it as a duplicate and the session breaches; a real venue might not)",
)
def test_a_client_order_id_is_never_accepted_twice_in_a_session() -> None:
    session, intents, memory, broker = make(closed_order_retention=1)
    intents.add(1, order("o-1"))
    intents.add(3, order("o-2"))
    intents.add(5, order("o-1"))  # o-1 filled at step 2 and left the one-order window at step 4
    session.preflight()
    session.start()
    session.run_n_steps(6)
    sent = [cmd.client_order_id for _, cmd in broker.commands if isinstance(cmd, NewOrder)]
    assert sent.count("o-1") == 1, sent
    refused = [json.loads(x)["payload"] for x in memory.lines if '"order_refused"' in x]
    assert any(r.get("rule") == "duplicate_client_order_id" for r in refused)


@pytest.mark.xfail(
    strict=True,
    reason="BUG orchestrator._record: a payload that cannot be encoded (a lone surrogate in an "
    "order note or a stop reason) makes encode_record raise ValueError, which escapes step() "
    "unaudited instead of a refused order or a SessionError",
)
@pytest.mark.parametrize("where", ["order note", "stop reason"])
def test_text_that_is_not_unicode_is_refused_not_raised(where: str) -> None:
    session, intents, _, broker = make()
    intents.add(1, order("o-1", note="\ud800" if where == "order note" else None))
    session.preflight()
    session.start()
    try:
        session.step()
        session.request_stop("\ud800 pasted")
    except SessionError:
        pass  # a typed, audited refusal is fine
    assert broker.commands == [] or where == "stop reason"
