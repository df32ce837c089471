"""Bugs the reliability work found in the session API, kept as regression tests.

Each was first pinned by a strict xfail stating the behaviour the promise requires (so the suite
stayed green while the bug stayed visible); when its fix landed the mark was removed. A new bug
found this way goes here the same way. Bugs found through files or the CLI are pinned where they
were found (test_bad_inputs.py, test_crash.py).
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, Side
from peak_trade.execution.live.audit import MemorySink, verify_lines
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import SessionClosed
from peak_trade.execution.live.intents import ScriptedIntents, SubmitIntent
from peak_trade.execution.live.session import build_session
from tests.execution.live.support import bounded


def make(**overrides):
    config = SessionConfig.from_mapping(
        bounded({"allowlist": ["AAPL"], "max_steps": 10, **overrides})
    )
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


def test_a_client_order_id_is_never_accepted_twice_in_a_session() -> None:
    """Found by the reliability work: the duplicate-id rail saw only the closed_order_retention
    window, so an id reused after eviction reached the broker again. Fixed by book.used_ids."""
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


def test_an_order_whose_note_is_not_unicode_is_refused_and_recorded() -> None:
    """Found by the reliability work: a lone surrogate in a note made encode_record raise
    ValueError out of step(), unaudited."""
    session, intents, memory, broker = make()
    intents.add(1, order("o-1", note="\ud800"))
    intents.add(1, order("\udfff-2"))
    session.preflight()
    session.start()
    session.step()
    assert broker.commands == []
    refused = [json.loads(x)["payload"] for x in memory.lines if '"order_refused"' in x]
    assert [(r["rule"], r["escaped_text"]) for r in refused] == [("well_formed_order", True)] * 2
    assert refused[0]["note"] == "\\ud800"  # the six visible characters
    assert session.state.value == "DRYRUN_ACTIVE"
    assert verify_lines(memory.lines).ok


@pytest.mark.parametrize("reason", ["\ud800 pasted", 1.5, None])
def test_a_stop_reason_that_is_not_text_still_stops_the_session(reason: object) -> None:
    session, _, memory, _ = make()
    session.preflight()
    session.start()
    session.step()
    session.request_stop(reason)  # type: ignore[arg-type]
    assert session.state.value == "STOPPED"
    stop = next(json.loads(x) for x in memory.lines if '"stop_requested"' in x)
    assert (
        stop["payload"]["reason"]
        == {str: "\\ud800 pasted", float: "1.5", type(None): "None"}[type(reason)]
    )
    assert stop["payload"].get("escaped_text", False) is isinstance(reason, str)
    assert verify_lines(memory.lines).ok


def test_an_order_note_that_is_not_text_is_recorded_as_its_redacted_repr() -> None:
    """Found in review: orjson wrote a dataclass note itself, past the redactor, secret and float
    included. A note that is not a str is now refused and recorded as its repr (redacted); the
    audit refuses any type json would not write, whichever encoder sees it."""

    @dataclasses.dataclass
    class Note:
        api_key: str
        px: float

    secret = "hunter2-secret-value"
    session, intents, memory, broker = make(secrets={"broker_key": secret})
    intents.add(1, order("o-1", note=Note(api_key=secret, px=1.5)))  # type: ignore[arg-type]
    session.preflight()
    session.start()
    session.step()
    assert broker.commands == []
    assert secret not in "".join(memory.lines)
    refused = next(json.loads(x)["payload"] for x in memory.lines if '"order_refused"' in x)
    assert refused["rule"] == "well_formed_order"
    assert refused["note"].startswith("test_an_order_note_that_is_not_text")
    assert "[REDACTED]" in refused["note"]
    assert verify_lines(memory.lines).ok
