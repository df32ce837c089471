"""Safety checks that a broken implementation would pass unnoticed (issue 10 section 6).

Mutation testing (`make mutate`, docs/reliability.md "Mutation testing") found checks that no
test could fail: a scan that would stop at the first item, an "either" weakened to "both", a
branch never executed. Each test below builds the situation a user relies on the check for —
several resting orders, a real position break, a report about another order, an id no broker can
carry, a resent fill after later fills, a record that is hashed right but shaped wrong, secrets in
str and list subclasses — and asserts the behaviour, through the public API of each module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict, namedtuple
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

import pytest

from peak_trade.execution.broker.model import (
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    Side,
)
from peak_trade.execution.live.audit import GENESIS_HASH, MemorySink, encode_record, verify_lines
from peak_trade.execution.live.audit_trail.redaction import REDACTED, Redactor
from peak_trade.execution.live.book import OrderState, Outcome, SessionBook
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.intents import ScriptedIntents
from peak_trade.execution.live.rails.config import RailsConfig
from peak_trade.execution.live.rails.rules import RailContext, check_order
from peak_trade.execution.live.session import build_session
from tests.execution.live.support import BASE_CONFIG, ScriptedBroker, Session, bounded, submit
from tests.execution.live.support import order as market_buy
from tests.execution.live.support import report as scripted_report

D = Decimal

# --- helpers ---------------------------------------------------------------------------------


def running(broker: ScriptedBroker) -> Session:
    """A started session over `broker`, with a memory audit to read back."""
    sink, intents = MemorySink(), ScriptedIntents()
    config = SessionConfig.from_mapping(bounded(BASE_CONFIG))
    session = Session(
        build_session(config, broker, intents, extra_sinks=[sink]), sink, broker, intents
    )
    session.orchestrator.preflight()
    session.orchestrator.start()
    return session


def new_order(
    cid: str = "o-new",
    side: Side = Side.BUY,
    qty: str = "10",
    limit: str | None = "100",
    symbol: str = "AAPL",
) -> NewOrder:
    return NewOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
    )


def resting(
    cid: str,
    side: Side,
    limit: str | None,
    symbol: str = "AAPL",
    leaves: str = "10",
) -> OrderState:
    return OrderState(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        order_qty=D(10),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit),
        submitted_step=1,
        status=OrderStatus.NEW,
        leaves_qty=D(leaves),
    )


def context(*open_orders: OrderState, allowlist: frozenset[str] = frozenset({"AAPL", "MSFT"})):
    return RailContext(
        step=2,
        allowlist=allowlist,
        reference_prices={},
        positions={},
        open_orders=open_orders,
        known_client_order_ids=frozenset(o.client_order_id for o in open_orders),
        accepted_order_steps=(),
        kill_switch_engaged=False,
    )


def rails(**overrides) -> RailsConfig:
    return RailsConfig.from_mapping(overrides)


def book_report(
    n: int,
    exec_type: ExecType,
    status: OrderStatus,
    cum: str,
    *,
    cid: str = "o-1",
    qty: str = "10",
    last: str = "0",
    px: str | None = None,
    leaves: str | None = None,
    symbol: str = "AAPL",
    side: Side = Side.BUY,
    poss_resend: bool = False,
) -> ExecutionReport:
    closed = status in {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED}
    return ExecutionReport(
        exec_id=f"{cid}:{n}",
        client_order_id=cid,
        exec_type=exec_type,
        status=status,
        symbol=symbol,
        side=side,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(leaves) if leaves is not None else (D(0) if closed else D(qty) - D(cum)),
        last_qty=D(last),
        last_px=None if px is None else D(px),
        poss_resend=poss_resend,
    )


def book_with_order(qty: str = "10", side: Side = Side.BUY) -> SessionBook:
    book = SessionBook()
    book.add(new_order("o-1", side=side, qty=qty), step=1)
    assert book.apply(book_report(1, ExecType.NEW, OrderStatus.NEW, "0", qty=qty, side=side))
    return book


# --- self-trade prevention looks at every resting order ---------------------------------------


@pytest.mark.parametrize(
    "others",
    [
        pytest.param([resting("o-msft", Side.SELL, "90", symbol="MSFT")], id="other symbol first"),
        pytest.param([resting("o-buy", Side.BUY, "120")], id="same side first"),
        pytest.param([resting("o-done", Side.SELL, "90", leaves="0")], id="nothing left first"),
        pytest.param([resting("o-far", Side.SELL, "150")], id="a sell above our bid first"),
        pytest.param(
            [
                resting("o-msft", Side.SELL, "90", symbol="MSFT"),
                resting("o-buy", Side.BUY, "120"),
                resting("o-far", Side.SELL, "150"),
            ],
            id="three harmless orders first",
        ),
    ],
)
def test_self_trade_prevention_checks_every_resting_order(others):
    crossing = resting("o-cross", Side.SELL, "95")
    ctx = context(*others, crossing)
    rejection = check_order(new_order("o-new", Side.BUY, limit="100"), rails(), ctx)
    assert rejection is not None
    assert rejection.rail == "self_trade_prevention"
    assert "o-cross" in rejection.observed  # the order it crosses is named, not a harmless one
    # and a sell against our own resting buys is found wherever the crossing buy sits
    ctx = context(resting("o-b1", Side.BUY, "80"), resting("o-b2", Side.BUY, "101"))
    rejection = check_order(new_order("o-s", Side.SELL, limit="100"), rails(), ctx)
    assert rejection is not None
    assert "o-b2" in rejection.observed


def test_self_trade_prevention_passes_when_no_resting_order_crosses():
    ctx = context(
        resting("o-msft", Side.SELL, "90", symbol="MSFT"),
        resting("o-buy", Side.BUY, "120"),
        resting("o-far", Side.SELL, "150"),
        resting("o-done", Side.SELL, "90", leaves="0"),
    )
    assert check_order(new_order("o-new", Side.BUY, limit="100"), rails(), ctx) is None
    off = rails(self_trade_prevention=False)
    assert check_order(new_order("o-new", Side.BUY, limit="160"), off, ctx) is None


# --- a client order id no broker message can carry is refused --------------------------------


UNSENDABLE_IDS = {
    "empty": "",
    "blank": " ",
    "inner space": "o 1",
    "leading space": " o-1",
    "newline": "o-1\n",
    "tab": "o\t1",
    "FIX SOH": "o-1\x01",
    "NUL": "\x00",
    "no-break space": "o-1\u00a0",
    "line separator": "o\u2028x",
}


@pytest.mark.parametrize("cid", UNSENDABLE_IDS.values(), ids=UNSENDABLE_IDS.keys())
def test_the_well_formed_rail_refuses_ids_that_cannot_travel(cid):
    rejection = check_order(new_order(cid), rails(), context())
    assert rejection is not None
    assert rejection.rail == "well_formed_order"
    assert rejection.observed == repr(cid)
    assert "client order id" in rejection.detail


@pytest.mark.parametrize(
    "cid",
    ["o-1", "A", "strat.7:leg_2", "é-1", "x" * 64],
    ids=["plain", "one letter", "punctuated", "accented", "64 characters"],
)
def test_the_well_formed_rail_accepts_printable_ids(cid):
    assert check_order(new_order(cid), rails(), context()) is None


def test_a_blank_symbol_is_refused_even_when_allowlisted():
    ctx = context(allowlist=frozenset({"", " ", "AAPL"}))
    for symbol in ("", " "):
        rejection = check_order(new_order(symbol=symbol), rails(), ctx)
        assert rejection is not None
        assert rejection.rail == "well_formed_order"
        assert "symbol" in rejection.detail


def test_an_empty_id_never_reaches_the_broker():
    broker = ScriptedBroker()
    session = running(broker)
    submit(session.intents, 1, market_buy(cid=""), market_buy(cid="o 2"), market_buy(cid="o-3"))
    session.orchestrator.step()
    refused = session.of_type("order_refused")
    assert [r["payload"]["rule"] for r in refused] == ["well_formed_order"] * 2
    assert [cmd.client_order_id for _, cmd in broker.commands] == ["o-3"]


# --- the position invariant catches a break on either side -----------------------------------


def test_a_break_known_to_one_side_only_is_found():
    # The running sums behind the invariant (fills' last qty, orders' cum) as a bookkeeping bug
    # would leave them: a symbol that only one of the two sums knows still breaks the invariant.
    book = book_with_order()
    book.signed_cum["AAPL"] = D(4)
    assert book.position_breaks() == ["AAPL: position 0 != signed cum_qty 4"]
    book = book_with_order()
    book.positions["MSFT"] = D(-4)
    assert book.position_breaks() == ["MSFT: position -4 != signed cum_qty 0"]
    book.signed_cum["AAPL"] = D(1)
    assert book.position_breaks() == [
        "AAPL: position 0 != signed cum_qty 1",
        "MSFT: position -4 != signed cum_qty 0",
    ]


def test_sums_that_net_to_zero_on_one_side_only_are_no_break():
    book = book_with_order()
    book.signed_cum["AAPL"] = D(0)  # a buy and a sell of 4, netted
    book.positions["MSFT"] = D(0)
    assert book.position_breaks() == []


def test_a_consistent_book_has_no_break():
    book = book_with_order()
    book.apply(book_report(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="1"))
    book.apply(book_report(3, ExecType.CANCELED, OrderStatus.CANCELED, "4"))
    assert book.positions == {"AAPL": D(4)}
    assert book.position_breaks() == []


def resend(report: ExecutionReport, exec_id: str) -> ExecutionReport:
    return dataclasses.replace(report, exec_id=exec_id, poss_resend=True)


def test_a_resent_fill_after_later_fills_breaches_and_is_never_counted():
    # No stub: a broker that resends an old fill under an exec id the session never saw, after a
    # later fill. Counting it would double the position; it is refused and named instead.
    broker = ScriptedBroker()
    fill = scripted_report(
        "o-1", 2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, cum="40", last="40", px="10"
    )
    later = scripted_report(
        "o-1", 3, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, cum="70", last="30", px="10"
    )
    ack = scripted_report("o-1", 1, ExecType.NEW, OrderStatus.NEW)
    broker.reports[1] = [ack, fill, later, resend(fill, "o-1:9")]  # one poll, one check
    session = running(broker)
    submit(session.intents, 1, market_buy())
    session.orchestrator.step()
    outcomes = [r["payload"]["outcome"] for r in session.of_type("execution_report")]
    assert outcomes == ["applied", "applied", "applied", "refused"]
    breaches = [b["payload"]["invariant"] for b in session.of_type("invariant_breach")]
    assert "execution_reports_sound" in breaches
    assert "position_matches_fills" not in breaches  # nothing double-counted
    book = session.orchestrator.book
    assert book.positions == {"AAPL": D(70)}
    assert book.open_orders["o-1"].fills == 2


# --- a report about another order is never written over the book -----------------------------


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"qty": "100"}, id="quantity"),
        pytest.param({"symbol": "MSFT"}, id="symbol"),
        pytest.param({"side": Side.SELL}, id="side"),
    ],
)
def test_a_report_that_contradicts_the_order_sent_is_refused(kw):
    book = book_with_order()
    before = book.open_orders["o-1"]
    trade = book_report(
        2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "6", last="6", px="9", **kw
    )
    result = book.apply(trade)
    assert result.outcome is Outcome.REFUSED
    assert result.violations  # named as a finding, whatever the wording
    after = book.open_orders["o-1"]
    # nothing of it applied: status, quantities, price and fills are as before
    assert (after.status, after.order_qty, after.cum_qty, after.leaves_qty) == (
        before.status,
        before.order_qty,
        before.cum_qty,
        before.leaves_qty,
    )
    assert (after.fills, after.notional) == (0, D(0))
    assert book.positions.get("AAPL", D(0)) == D(0)
    assert book.positions.get("MSFT", D(0)) == D(0)
    assert book.fills == 0
    assert book.position_breaks() == []
    # the same report again is refused again: never applied late
    assert book.apply(trade).outcome is Outcome.REFUSED
    assert book.open_orders["o-1"] == after
    # and the order still takes its own reports afterwards
    own = book_report(3, ExecType.TRADE, OrderStatus.FILLED, "10", last="10", px="9")
    assert book.apply(own).violations == ()
    assert book.closed_orders["o-1"].cum_qty == D(10)
    assert book.positions == {"AAPL": D(10)}


def test_a_report_that_contradicts_the_order_breaches_and_is_audited_refused():
    broker = ScriptedBroker()
    broker.reports[1] = [
        scripted_report(
            "o-1", 1, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, qty="1000", cum="500",
            last="500", px="10",
        )
    ]  # fmt: skip
    session = running(broker)
    submit(session.intents, 1, market_buy(qty="100"))
    session.orchestrator.step()
    report = session.of_type("execution_report")[0]["payload"]
    assert report["outcome"] == "refused"
    assert any("1000" in v and "100 " in v for v in report["violations"])  # both quantities
    breaches = [b["payload"]["invariant"] for b in session.of_type("invariant_breach")]
    assert breaches == ["execution_reports_sound"]
    order = session.orchestrator.book.open_orders["o-1"]
    assert (order.order_qty, order.cum_qty, order.leaves_qty) == (D(100), D(0), D(100))


# --- a resent fill after later fills ----------------------------------------------------------


def test_a_resent_fill_after_later_fills_never_moves_cum_or_status_back():
    book = book_with_order()
    first = book_report(2, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="10")
    book.apply(first)
    book.apply(book_report(3, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "8", last="4", px="13"))
    before = book.open_orders["o-1"]
    # the first fill resent under an exec id never seen: it would count the 4 twice
    result = book.apply(resend(first, "o-1:9"))
    assert result.outcome is Outcome.REFUSED
    assert result.violations
    assert book.open_orders["o-1"] == before  # cum 8, leaves 2, 2 fills: nothing moved back
    assert (before.cum_qty, before.leaves_qty, before.fills) == (D(8), D(2), 2)
    assert book.positions == {"AAPL": D(8)}
    assert book.position_breaks() == []
    # its own resend (the exec id already applied) is a duplicate: applied once only
    assert book.apply(resend(first, first.exec_id)).outcome is Outcome.DUPLICATE
    assert book.positions == {"AAPL": D(8)}


def test_an_older_report_without_poss_resend_is_refused():
    book = book_with_order()
    book.apply(book_report(2, ExecType.TRADE, OrderStatus.FILLED, "10", last="10", px="11"))
    late = book_report(3, ExecType.TRADE, OrderStatus.PARTIALLY_FILLED, "4", last="4", px="10")
    result = book.apply(late)
    assert result.violations
    order = book.closed_orders["o-1"]
    assert (order.status, order.cum_qty, order.fills) == (OrderStatus.FILLED, D(10), 1)
    assert book.positions == {"AAPL": D(10)}


# --- the verifier holds every record to the canonical shape ----------------------------------


def chain(n: int = 3) -> list[str]:
    lines, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        line, prev = encode_record(
            seq=seq, step=seq, type="note", state="INIT", payload={"i": seq}, prev=prev
        )
        lines.append(line)
    return lines


def rehashed(body: str) -> str:
    """A line for `body` whose hash is right: only the shape can be judged wrong."""
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f'{{"hash":"{digest}",{body[1:]}'


GOOD_TAIL = ',"prev":"{prev}","seq":2,"state":"INIT","step":2,"type":"note"}'
BAD_TAILS = {
    "seq 02": GOOD_TAIL.replace('"seq":2', '"seq":02'),
    "extra key": GOOD_TAIL.replace('"note"}', '"note","x":1}'),
    "no step": GOOD_TAIL.replace('"step":2,', ""),
    "space": GOOD_TAIL.replace(',"seq"', ', "seq"'),
    "step -1": GOOD_TAIL.replace('"step":2', '"step":-1'),
    "bare state": GOOD_TAIL.replace('"INIT"', "INIT"),
    "trailing space": GOOD_TAIL + " ",
    "unclosed": GOOD_TAIL[:-1],
}


@pytest.mark.parametrize("tail", BAD_TAILS.values(), ids=BAD_TAILS.keys())
def test_a_rehashed_record_with_a_non_canonical_tail_is_refused(tail):
    first, *_ = chain(1)
    prev = first[9:73]
    good = rehashed('{"payload":{"i":2}' + GOOD_TAIL.replace("{prev}", prev))
    assert verify_lines([first, good]).ok  # the same record, canonical, verifies
    bad = rehashed('{"payload":{"i":2}' + tail.replace("{prev}", prev))
    result = verify_lines([first, bad])
    assert not result.ok
    assert result.first_bad_line == 2
    assert result.reason == "line 2 is malformed: it lacks the canonical record tail."
    assert result.count == 1
    assert result.head == prev


def test_a_record_whose_tail_hides_in_the_payload_is_refused():
    # The last ',"prev":"' of a line is the record's own: a payload string cannot fake a tail.
    first, *_ = chain(1)
    prev = first[9:73]
    fake = f'"prev":"{prev}","seq":2,"state":"INIT","step":2,"type":"note"}}'
    body = '{"payload":{"s":' + json.dumps("," + fake) + "}" + ',"prev":"' + prev + '"}'
    result = verify_lines([first, rehashed(body)])
    assert not result.ok
    assert result.first_bad_line == 2


def test_a_canonical_chain_verifies_and_a_changed_step_order_does_not():
    lines = chain(3)
    result = verify_lines(lines)
    assert (result.ok, result.count, result.head) == (True, 3, lines[-1][9:73])
    # the same chain with step going back at line 3 (rehashed, so only the step rule can catch it)
    first, second = lines[:2]
    prev = second[9:73]
    body = f'{{"payload":{{"i":3}},"prev":"{prev}","seq":3,"state":"INIT","step":1,"type":"note"}}'
    result = verify_lines([first, second, rehashed(body)])
    assert (result.ok, result.first_bad_line) == (False, 3)
    assert result.reason == "step decreasing at line 3: 1 after 2."


# --- redaction reaches secrets in subclasses and other mappings -------------------------------

SECRET = "s3cr3t-Value-42"


class Text(str):
    pass


class Items(list):
    pass


Pair = namedtuple("Pair", "name value")


class Mode(StrEnum):
    LIVE = "live"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(Text(f"key={SECRET}"), id="str subclass"),
        pytest.param(Items([f"key={SECRET}"]), id="list subclass"),
        pytest.param(Items([Items([SECRET])]), id="nested list subclass"),
        pytest.param(Pair("key", SECRET), id="namedtuple"),
        pytest.param(OrderedDict(note=SECRET), id="OrderedDict"),
        pytest.param(MappingProxyType({"note": SECRET}), id="mapping proxy"),
        pytest.param({"outer": Items([Text(SECRET)])}, id="subclasses in a dict"),
        pytest.param([Pair("a", Text(SECRET))], id="subclasses in a list"),
    ],
)
def test_secrets_in_subclasses_are_redacted(value):
    out = Redactor([SECRET]).redact(value)
    text = json.dumps(_plain(out))
    assert SECRET not in text
    assert REDACTED in text


def _plain(value: object) -> object:
    if isinstance(value, dict | MappingProxyType | OrderedDict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def test_subclasses_without_a_secret_come_back_as_they_were():
    redactor = Redactor([SECRET])
    for value in (Text("plain"), Items(["plain"]), Pair("a", "b"), OrderedDict(a="b")):
        assert redactor.redact(value) is value
    # a str-valued Enum is a constant, not data: never rewritten, even if it spells a secret
    assert Redactor(["live-mode", "LIVE"]).redact(Mode.LIVE) is Mode.LIVE


def test_a_secret_under_a_sensitive_key_in_a_mapping_subclass_is_redacted():
    out = Redactor().redact(OrderedDict(api_key=12345678, note="ok"))
    assert out == {"api_key": REDACTED, "note": "ok"}
    out = Redactor().redact(MappingProxyType({"password": Text("hunter2-long")}))
    assert out == {"password": REDACTED}
