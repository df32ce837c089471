"""Stateful property test: random operator and strategy actions against orchestrator + MockBroker.

Each example builds one session from a drawn config (mostly passing, some failing preflight) and
a drawn broker spec (sound and faulty fill scripts, cancel behaviours, health outages, unsolicited
reports, gateway restarts), then applies a random sequence of rules. Rule preconditions are read
from the transition table (`allowed_triggers`, `STEPPING_STATES`, `TERMINAL_STATES`), never
hard-coded, so the test follows the table if it changes.

After every rule the invariants below are re-derived from the audit trail alone (the memory
sink), independently of the orchestrator's own bookkeeping:

- every transition record is a row of TRANSITIONS leaving the state we tracked, and every record
  carries the state it was written in; the orchestrator's state is where the records lead;
- an order is submitted only in DRYRUN_ACTIVE (never after STOPPING), and every order the broker
  received has such a record;
- the position per symbol equals the signed sum of applied trade reports in the audit;
- cash (booked fill by fill in `fill_booked`) is never below zero unless the session is in
  ERROR_REQUIRES_OPERATOR, or at or above a deficit an operator accepted there;
- no accepted order breaks a configured rail (allowlist, restricted list, max_order_qty,
  max_orders_per_step, kill switch) and no client order id is accepted twice; no step sends
  more messages (submits, amends, strategy cancels; the session's own cancels count) than
  max_messages_per_step;
- the audit chain verifies, every record included;
- the broker is the mock and no record names another broker kind;
- every error raised to the caller is a SessionError, and (except SessionClosed) it was audited;
- retries (the broker's gateway rate limits, times out, is busy or refuses requests): never two
  live orders for one client order id - the broker holds at most one order per id, every order
  it received again under an id was sent as a retry (request_retried) and marked PossResend once
  an attempt had timed out, and no order the broker still works is closed in the session's book
  as rejected; no request is attempted more than config.retry.max_attempts times, and no window
  of budget_window_steps steps holds more than budget_retries retries.

`make soak` runs the same machine under the `soak` profile (see tests/reliability/conftest.py).
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, OrderType, Side
from peak_trade.execution.broker.protocol import BrokerKind
from peak_trade.execution.live.audit import GENESIS_HASH, MemorySink, verify_lines
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.errors import SessionClosed, SessionError
from peak_trade.execution.live.intents import (
    CancelIntent,
    ReplaceIntent,
    ScriptedIntents,
    SubmitIntent,
)
from peak_trade.execution.live.session import build_session
from peak_trade.execution.live.state import (
    STEPPING_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    SessionState,
    Trigger,
    allowed_triggers,
)
from tests.reliability.conftest import active_profile

ALLOWED = ("AAPL", "MSFT")
OUTSIDE = "TSLA"  # never in the allowlist
RESTRICTED = "GME"  # always in the allowlist; the rails restrict it in some sessions
REFERENCE = {"AAPL": "190.10", "MSFT": "410.00", "TSLA": "250.00", "GME": "20.00"}
SCRIPTED_ORDERS = 12  # o-1 .. o-12 get drawn scripts; later ids play the default script

# --- broker scripts: plain data, parsed by parse_broker_spec like a scenario's `broker:` --------

SOUND_SCRIPTS = [
    ["ack", "fill"],
    ["ack", {"fill": {"qty": "1"}}, "fill"],
    ["ack", {"fill": {"qty": "1"}}],  # partially filled, then rests
    ["ack"],  # rests until canceled
    [{"wait": 2}, "ack", "fill"],
    [{"reject": "insufficient margin"}],
    ["ack", "duplicate", "fill", "duplicate"],
    ["ack", {"fill": {"qty": "1"}}, "duplicate", "fill"],  # a resent trade, applied once
    ["ack", {"fill": {"qty": "1"}}, "expire"],
    ["ack", {"cancel_unsolicited": "venue halt"}],
    {"actions": ["ack"], "on_cancel": "reject"},
    {"actions": ["ack"], "on_cancel": "ignore"},
    {"actions": ["ack"], "cancel_delay": 2},
    {"actions": ["ack", {"fill": {"qty": "1"}}], "on_replace": "reject"},
    {"actions": ["ack"], "replace_delay": 1},
]
FAULTY_SCRIPTS = [
    ["ack", {"fill": {"qty": "100000"}}],  # overfill
    ["ack", {"silent_fill": {"qty": "1"}}, "fill"],  # a lost report
    [{"wait": 40}],  # never acknowledged
    ["duplicate", "ack", "duplicate", {"fill": {"qty": "1"}}, "duplicate"],
    {"fail_submit": "connection reset by peer"},
    ["ack", {"reject": "late reject after ack"}],
]
SOMETIMES = st.sampled_from([False, False, False, False, True])  # False first: the shrink target
scripts = st.one_of(st.sampled_from(SOUND_SCRIPTS), st.sampled_from(FAULTY_SCRIPTS))


# Request faults: rate limits, timeouts (some after the broker carried the request out), a busy
# gateway and permanent refusals, aimed at orders, symbols, step windows or every request.
ANSWERS = st.sampled_from(
    [
        "rate_limited",
        {"rate_limited": {"retry_after": 3}},
        {"rate_limited": {"retry_after": 20}},  # longer than any cap drawn below: given up
        "timeout",
        {"timeout": {"reached": True}},
        "gateway_busy",
        {"refused": "account suspended"},
        "ok",
    ]
)
REQUEST_KINDS = st.lists(
    st.sampled_from(["submit", "cancel", "replace", "status"]), min_size=1, max_size=4, unique=True
)


@st.composite
def request_fault_rules(draw: st.DrawFn) -> dict[str, object]:
    rule: dict[str, object] = {}
    if draw(st.booleans()):
        rule["requests"] = draw(REQUEST_KINDS)
    # "all" first (the shrink target) and twice: a rule that hits whatever order is sent
    where = draw(st.sampled_from(["all", "all", "order", "symbol", "window"]))
    if where == "order":
        rule["order"] = f"o-{draw(st.integers(1, 4))}"  # the first orders: the likely ones
    elif where == "symbol":
        rule["symbol"] = draw(st.sampled_from(ALLOWED))
    elif where == "window":
        rule["from_step"] = draw(st.integers(1, 20))
        rule["steps"] = draw(st.integers(1, 3))
    if where == "window" and draw(st.booleans()):
        rule["answer"] = draw(ANSWERS)
    else:
        rule["answers"] = draw(st.lists(ANSWERS, min_size=1, max_size=6))
    return rule


@st.composite
def broker_specs(draw: st.DrawFn) -> dict[str, object]:
    spec: dict[str, object] = {
        "reference_prices": dict(REFERENCE),
        "by_order": {
            f"o-{n}": draw(scripts) for n in range(1, SCRIPTED_ORDERS + 1) if draw(st.booleans())
        },
    }
    if draw(st.booleans()):
        spec["default"] = draw(scripts)
    outages = draw(
        st.lists(
            st.fixed_dictionaries(
                {"from_step": st.sampled_from([8, 15, 25, 3]), "steps": st.integers(1, 4)},
                optional={"detail": st.just("gateway down")},
            ),
            max_size=2,
        )
    )
    if outages:
        spec["health"] = outages
    if draw(SOMETIMES):
        spec["unsolicited_reports"] = [
            {
                "step": draw(st.integers(1, 20)),
                "client_order_id": "ghost-1",
                "symbol": "AAPL",
                "side": "buy",
                "qty": "5",
                "price": "100",
            }
        ]
    if draw(st.booleans()):  # replays resend fills: duplicates must be applied once
        at_steps = st.sampled_from([3, 6, 10, 20])
        spec["restarts"] = [{"at_step": step, "replay_last": 3} for step in draw(st.sets(at_steps))]
    if draw(st.booleans()):  # fills move cash: small accounts go below zero
        spec["account"] = {
            "currency": "USD",
            "cash": draw(st.sampled_from(["100", "5000", "1000000"])),
            "fees": draw(st.sampled_from([{}, {"per_fill": "1.00", "bps": "0.5"}])),
        }
    if draw(st.booleans()):
        spec["request_faults"] = draw(st.lists(request_fault_rules(), min_size=1, max_size=3))
    if draw(SOMETIMES):
        spec["position_drift"] = [
            {"from_step": draw(st.integers(1, 20)), "symbol": "MSFT", "qty": "1"}
        ]
    return spec


# An order the strategy asks for: (symbol, side, qty, limit price or None, reuse the last id).
OrderSpec = tuple[str, Side, str, str | None, bool]
order_specs = st.tuples(
    st.sampled_from([*ALLOWED, *ALLOWED, OUTSIDE, RESTRICTED]),
    st.sampled_from(Side),
    st.sampled_from(["5", "1", "10", "11", "50", "51", "500"]),
    st.sampled_from([None, "100", "500"]),
    st.sampled_from([False] * 9 + [True]),
)


# --- session configs ------------------------------------------------------------------------

FAILING_CHANGES = [
    {"live": {"enabled": True}},  # live without the test override
    {"allowlist": []},
    {"allowlist": ["aapl"]},
    {"max_steps": None},
    {"max_steps": 0},
    {"enabeld": True},  # a typo'd safety switch
    {"live": {"enabeld": True}},
    {"broker_kind": "live"},
    {"rails": {"max_order_qty": "-1"}},
    {"rails": {"max_order_qyt": "10"}},
    {"secrets": {"api_key": "ab"}},
    {"audit": {"sink": "s3"}},
    {"drain_steps": 0},
    {"max_unhealthy_steps": -1},
]


@st.composite
def rails_configs(draw: st.DrawFn) -> dict[str, object]:
    rails: dict[str, object] = {}
    if draw(st.booleans()):
        rails["max_order_qty"] = draw(st.sampled_from(["10", "50"]))
    if draw(st.booleans()):
        rails["restricted"] = [RESTRICTED]
    if draw(st.booleans()):
        rails["max_orders_per_step"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        rails["max_open_orders"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        rails["kill_switch"] = {"rejections": draw(st.integers(2, 4)), "window_steps": 3}
    if draw(st.booleans()):
        rails["self_trade_prevention"] = draw(st.booleans())
    if draw(st.booleans()):  # every message counts: submits, amends and cancels
        rails["max_messages_per_step"] = draw(st.integers(1, 3))
    if draw(SOMETIMES):
        rails["duplicate_orders"] = {"window_steps": draw(st.integers(1, 3))}
    return rails


@st.composite
def session_configs(draw: st.DrawFn) -> dict[str, object]:
    config: dict[str, object] = {
        "session_id": "stateful",
        "allowlist": [*ALLOWED, RESTRICTED],
        "max_steps": draw(st.sampled_from([30, 60, 12, 3])),
        "drain_steps": draw(st.integers(1, 4)),
        "max_unhealthy_steps": draw(st.integers(0, 2)),
        "rails": {"unbounded": True, **draw(rails_configs())},
    }
    if draw(st.booleans()):
        config["reconciler"] = {"ack_timeout_steps": 3, "cancel_timeout_steps": 3}
    if draw(st.booleans()):
        config["retry"] = {
            "max_attempts": draw(st.integers(1, 4)),
            "backoff": draw(st.sampled_from(["fixed", "exponential"])),
            "max_backoff_steps": draw(st.sampled_from([4, 8])),
            "budget_retries": draw(st.integers(0, 4)),
            "budget_window_steps": draw(st.sampled_from([5, 20])),
        }
    if draw(st.sampled_from([False, False, False, False, True])):
        config["live"] = {"enabled": True, "test_override": True}  # passes; still mock only
    if draw(st.sampled_from([False, False, False, True])):  # one session in four fails
        config.update(draw(st.sampled_from(FAILING_CHANGES)))
    return config


# --- the machine ----------------------------------------------------------------------------


def signed(side: str, qty: str) -> Decimal:
    return Decimal(qty) if side == Side.BUY.value else -Decimal(qty)


def applied_trade(payload: dict) -> bool:
    """A fill that counts: a trade report the session applied (not a duplicate, not unknown)."""
    return payload["exec_type"] == "trade" and payload["outcome"] == "applied"


class SessionMachine(RuleBasedStateMachine):
    @initialize(
        config=session_configs(),
        spec=broker_specs(),
        head_start=st.sampled_from([2, 2, 2, 2, 1, 0]),
        patience=st.sampled_from([10, 20, 5, 40, 0]),
        opening=st.lists(order_specs, max_size=4),
        warmup=st.integers(0, 3),
    )
    def build(
        self,
        config: dict[str, object],
        spec: dict[str, object],
        head_start: int,
        patience: int,
        opening: list[OrderSpec],
        warmup: int,
    ) -> None:
        self.config = SessionConfig.from_mapping(config)
        self.broker = MockBroker(parse_broker_spec(spec))
        self.intents = ScriptedIntents()
        self.sink = MemorySink()
        self.session = build_session(
            self.config, self.broker, self.intents, extra_sinks=[self.sink], environ_names=()
        )
        self.closed = False
        # A running session may be stopped, cancelled or closed only after `patience` steps, so
        # that most examples trade for a while; the early states are left at once.
        self.patience = patience
        self.next_order = 1
        self.submitted: list[str] = []  # ids handed to the session as intents
        # Independently derived from the audit, record by record.
        self.seen = 0
        self.seen_seq, self.head = 0, GENESIS_HASH
        self.tracked = SessionState.INIT
        self.positions: dict[str, Decimal] = {}
        self.accepted: dict[str, dict[str, object]] = {}  # client_order_id -> order_submitted
        self.per_step: dict[int, int] = {}
        self.kill_engaged = False
        self.cash: Decimal | None = None  # the session's cash, as its fill_booked records say
        self.accepted_deficit: Decimal | None = None  # as account_deficit_accepted says
        self.stopping_seen = False
        self.preflight_passed = False
        self.override_audited = False
        rails = self.config.rails if isinstance(self.config.rails, dict) else {}
        limit = rails.get("max_order_qty")
        self.max_order_qty = Decimal(limit) if isinstance(limit, str) else None
        self.restricted = set(rails.get("restricted") or ())
        self.max_per_step = rails.get("max_orders_per_step")
        self.max_messages = rails.get("max_messages_per_step")
        self.messages: dict[int, int] = {}  # messages sent per step, as the audit says
        retry = self.config.retry if isinstance(self.config.retry, dict) else {}
        self.max_attempts = retry.get("max_attempts", 3)
        self.budget = (retry.get("budget_retries", 10), retry.get("budget_window_steps", 20))
        self.retried: dict[str, list[tuple[int, bool]]] = {}  # submits resent: (step, poss)
        self.retry_steps: list[int] = []  # the step of every retry decided
        self.attempts: dict[tuple[str, str], int] = {}  # (request, id) -> highest attempt
        # The strategy's opening orders for the first steps: most sessions trade (fills move
        # cash, requests meet the broker's faults) whichever rules hypothesis switches on.
        for n, order in enumerate(opening):
            self.offer(order, 1 + n % 2)
        # Most examples start with preflight (and start) done, so that the rules below spend
        # their budget on a running session; the rest exercise the early states.
        if head_start >= 1:
            self.call(self.session.preflight)
        if head_start >= 2 and self.allows(Trigger.START):
            self.call(self.session.start)
            for _ in range(warmup):  # the opening orders go out, meet the faults, fill
                if self.session.state in STEPPING_STATES:
                    self.call(self.session.step)

    # --- calling the session --------------------------------------------------------------

    def call(self, operation, *args):
        """Call a session operation: only SessionError may escape, and it must be audited."""
        before = len(self.sink.lines)
        try:
            result = operation(*args)
        except SessionError as error:
            raised = error
        else:
            assert not self.closed, f"{operation.__name__} succeeded on a closed session"
            return result
        if self.closed:
            assert isinstance(raised, SessionClosed), raised
        elif not isinstance(raised, SessionClosed):
            assert len(self.sink.lines) > before, f"unaudited {type(raised).__name__}: {raised}"
        return raised

    def allows(self, trigger: Trigger) -> bool:
        return trigger in allowed_triggers(self.session.state)

    def ripe(self) -> bool:
        running = self.session.state in STEPPING_STATES
        return not running or self.session.step_clock >= self.patience

    # --- rules: lifecycle -----------------------------------------------------------------

    @precondition(lambda self: self.allows(Trigger.PREFLIGHT_PASSED))
    @rule()
    def preflight(self) -> None:
        self.call(self.session.preflight)

    @precondition(lambda self: self.allows(Trigger.START))
    @rule()
    def start(self) -> None:
        self.call(self.session.start)

    @precondition(lambda self: self.session.state in STEPPING_STATES)
    @rule(orders=st.lists(order_specs, max_size=3))
    def step(self, orders: list[OrderSpec]) -> None:
        """One step, with the strategy's orders for it (the main driver of trading)."""
        for spec in orders:
            self.offer(spec, self.session.step_clock + 1)
        self.call(self.session.step)

    @precondition(lambda self: self.session.state in STEPPING_STATES)
    @rule(n=st.integers(0, 12))
    def run_n_steps(self, n: int) -> None:
        self.call(self.session.run_n_steps, n)

    @precondition(lambda self: self.session.state not in STEPPING_STATES)
    @rule(n=st.integers(-1, 3))
    def step_when_not_running(self, n: int) -> None:
        before = self.session.state
        error = self.call(self.session.step)
        assert isinstance(error, SessionError)
        error = self.call(self.session.run_n_steps, n)
        assert isinstance(error, SessionError)
        assert self.session.state is before

    @precondition(lambda self: self.allows(Trigger.STOP_REQUESTED) and self.ripe())
    @rule(reason=st.sampled_from(["end of rehearsal", "operator stop"]))
    def request_stop(self, reason: str) -> None:
        self.call(self.session.request_stop, reason)

    @precondition(lambda self: self.allows(Trigger.CANCEL) and self.ripe())
    @rule(reason=st.sampled_from(["safe stop", "panic"]))
    def cancel(self, reason: str) -> None:
        self.call(self.session.cancel, reason)

    @precondition(lambda self: self.allows(Trigger.ACKNOWLEDGE))
    @rule(operator=st.sampled_from(["ops-1", "ops-2", "  "]))
    def acknowledge(self, operator: str) -> None:
        self.call(self.session.acknowledge, operator, "reviewed")

    @rule(data=st.data())
    def illegal_trigger(self, data: st.DataObject) -> None:
        """An operation whose trigger the table refuses now: IllegalTransition, state kept."""
        operations = {
            Trigger.PREFLIGHT_PASSED: self.session.preflight,
            Trigger.START: self.session.start,
            Trigger.STOP_REQUESTED: lambda: self.session.request_stop("illegal"),
            Trigger.ACKNOWLEDGE: lambda: self.session.acknowledge("ops-1", "illegal"),
        }
        refused = [t for t in operations if not self.allows(t)]
        trigger = data.draw(st.sampled_from(refused))
        before = self.session.state
        error = self.call(operations[trigger])
        assert self.session.state is before
        if not self.closed:
            assert isinstance(error, IllegalTransition), error
            assert json.loads(self.sink.lines[-1])["type"] == "illegal_transition"

    @precondition(lambda self: not self.kill_engaged)  # as the audit says
    @rule(reason=st.sampled_from(["risk desk halt", "fat finger"]))
    def engage_kill_switch(self, reason: str) -> None:
        self.call(self.session.engage_kill_switch, reason)

    @rule(operator=st.sampled_from(["ops-1", "ops-2", ""]))
    def rearm_kill_switch(self, operator: str) -> None:
        self.call(self.session.rearm_kill_switch, operator, "checked")

    @precondition(
        lambda self: (
            not self.closed
            and (self.session.state in TERMINAL_STATES or (self.ripe() and self.patience == 0))
        )
    )
    @rule()
    def close(self) -> None:
        """Shutdown: in a terminal state, or (in impatient examples) whatever the state."""
        self.session.close()
        self.closed = True
        assert json.loads(self.sink.lines[-1])["type"] == "session_closed"

    # --- rules: the strategy's intents (acted on at the next step) -------------------------

    # Each of these may also run the next step, so that trading goes on in examples where
    # hypothesis's swarm testing has switched the stepping rules off.

    @rule(order=order_specs, ahead=st.integers(1, 3), then_step=st.booleans())
    def submit(self, order: OrderSpec, ahead: int, then_step: bool) -> None:
        """An order intent for one of the next steps: some are still pending when the session
        stops, so a stopping session is offered orders too (it must ignore them)."""
        self.offer(order, self.session.step_clock + ahead)
        self.maybe_step(then_step)

    def maybe_step(self, then_step: bool) -> None:
        if then_step and self.session.state in STEPPING_STATES:
            self.call(self.session.step)

    def offer(self, spec: OrderSpec, step: int) -> None:
        symbol, side, qty, limit, reuse = spec
        if reuse and self.submitted:  # now and then an id already used
            cid = self.submitted[-1]
        else:
            cid = f"o-{self.next_order}"
            self.next_order += 1
        self.submitted.append(cid)
        order = NewOrder(
            client_order_id=cid,
            symbol=symbol,
            side=side,
            qty=Decimal(qty),
            order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
            limit_price=None if limit is None else Decimal(limit),
        )
        self.intents.add(step, SubmitIntent(order=order, note="stateful"))

    @rule(index=st.integers(0, 15), then_step=st.booleans())
    def strategy_cancel(self, index: int, then_step: bool) -> None:
        cid = self.submitted[index] if index < len(self.submitted) else f"o-{index + 100}"
        self.intents.add(self.session.step_clock + 1, CancelIntent(client_order_id=cid))
        self.maybe_step(then_step)

    @precondition(lambda self: self.submitted)
    @rule(
        index=st.integers(0, 15),
        qty=st.sampled_from([None, "2", "20", "60"]),
        then_step=st.booleans(),
    )
    def strategy_replace(self, index: int, qty: str | None, then_step: bool) -> None:
        cid = self.submitted[index % len(self.submitted)]
        intent = ReplaceIntent(
            client_order_id=cid,
            new_qty=None if qty is None else Decimal(qty),
            new_limit_price=Decimal("101") if qty is None else None,
        )
        self.intents.add(self.session.step_clock + 1, intent)
        self.maybe_step(then_step)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def audit_tells_a_consistent_story(self) -> None:
        if not hasattr(self, "session"):
            return
        lines = self.sink.lines
        for line in lines[self.seen :]:
            self.absorb(json.loads(line))
        self.seen = len(lines)
        assert self.session.state is self.tracked, (self.session.state, self.tracked)
        assert self.head == self.session.status().audit_head

    def absorb(self, record: dict) -> None:
        kind, state, payload = record["type"], record["state"], record["payload"]
        assert (record["seq"], record["prev"]) == (self.seen_seq + 1, self.head), record
        self.seen_seq, self.head = record["seq"], record["hash"]
        if kind == "transition":
            source = SessionState(payload["from"])
            target = SessionState(payload["to"])
            trigger = Trigger(payload["trigger"])
            assert source is self.tracked, (record, self.tracked)
            assert TRANSITIONS.get((source, trigger)) is target, record
            self.tracked = target
            self.stopping_seen |= target is SessionState.STOPPING
            self.preflight_passed |= target is SessionState.PREFLIGHT_OK
        assert state == self.tracked.value, (record, self.tracked)
        assert kind != "live_broker_refused", record
        assert payload.get("broker_kind", "mock") == "mock" or kind == "session_opened", record
        if kind == "session_opened":
            assert payload["config"]["broker_kind"] == self.config.broker_kind
        self.override_audited |= kind == "live_override_used"
        if kind == "kill_switch_engaged":
            self.kill_engaged = True
        elif kind == "kill_switch_rearmed":
            self.kill_engaged = False
        elif kind in ("order_submitted", "replace_requested", "cancel_requested"):
            self.check_message(record)
        if kind == "order_submitted":
            self.check_accepted(record)
        elif kind in ("request_failed", "request_retried"):
            self.check_attempt(record)
        elif kind == "account_opened" and "statement" in payload:
            self.cash = Decimal(payload["statement"]["cash"])
        elif kind == "fill_booked":
            assert self.cash is not None, record
            assert "cash" in payload, record
            assert Decimal(payload["cash"]) == self.cash + Decimal(payload["cash_delta"]), record
            self.cash = Decimal(payload["cash"])
        elif kind == "account_deficit_accepted":
            assert self.tracked is SessionState.ERROR_REQUIRES_OPERATOR, record
            self.accepted_deficit = Decimal(payload["accepted"])
        elif kind == "execution_report" and applied_trade(payload):
            symbol = payload["symbol"]
            change = signed(payload["side"], payload["last_qty"])
            self.positions[symbol] = self.positions.get(symbol, Decimal(0)) + change

    def check_attempt(self, record: dict) -> None:
        """No request is tried more often than max_attempts, and retries stay within the
        budget's window."""
        payload = record["payload"]
        key = (payload["request"], payload["client_order_id"])
        attempt = payload["attempt"]
        assert attempt <= self.max_attempts, record
        if record["type"] == "request_retried":
            assert attempt == self.attempts.get(key, 0) + 1, (record, self.attempts.get(key))
            step = record["step"]
            if payload["request"] == "submit":
                self.retried.setdefault(payload["client_order_id"], []).append(
                    (step, bool(payload.get("poss_resend")))
                )
        else:
            assert payload["decision"] in ("retry", "give_up", "never_retry"), record
            if payload["decision"] == "retry":
                step = record["step"]
                assert payload["next_attempt_step"] > step, record
                # the budget is charged when a retry is decided: never more than budget_retries
                # decisions within any window of budget_window_steps steps
                self.retry_steps.append(step)
                limit, window = self.budget
                inside = [s for s in self.retry_steps if s > step - window]
                assert len(inside) <= limit, (record, inside)
        self.attempts[key] = attempt

    def check_message(self, record: dict) -> None:
        """Every message counts towards max_messages_per_step; only the session's own cancels
        (stop, kill switch, breach) may go past it."""
        step = record["step"]
        self.messages[step] = self.messages.get(step, 0) + 1
        own_cancel = (
            record["type"] == "cancel_requested"
            and record["payload"]["reason"] != "strategy cancel"
        )
        if isinstance(self.max_messages, int) and not own_cancel:
            assert self.messages[step] <= self.max_messages, (record, self.messages[step])

    def check_accepted(self, record: dict) -> None:
        payload, cid = record["payload"], record["payload"]["client_order_id"]
        assert record["state"] == SessionState.DRYRUN_ACTIVE.value, record
        assert not self.stopping_seen, f"order accepted after STOPPING: {record}"
        assert not self.kill_engaged, f"order accepted while the kill switch is engaged: {record}"
        assert payload["symbol"] in self.config.allowlist, record
        assert payload["symbol"] not in self.restricted, record
        if self.max_order_qty is not None:
            assert Decimal(payload["qty"]) <= self.max_order_qty, record
        assert cid not in self.accepted, f"client order id accepted twice: {record}"
        self.accepted[cid] = record
        step = record["step"]
        self.per_step[step] = self.per_step.get(step, 0) + 1
        if isinstance(self.max_per_step, int):
            assert self.per_step[step] <= self.max_per_step, record

    @invariant()
    def positions_equal_the_audited_fills(self) -> None:
        if not hasattr(self, "session"):
            return
        book = self.session.book.positions
        for symbol in self.positions.keys() | book.keys():
            expected = self.positions.get(symbol, Decimal(0))
            assert book.get(symbol, Decimal(0)) == expected, (symbol, book, self.positions)
        status = self.session.status().positions
        assert {s: q for s, q in status.items() if q} == {
            s: q for s, q in self.positions.items() if q
        }

    @invariant()
    def cash_never_negative_unless_in_error(self) -> None:
        """Cash below zero only in ERROR_REQUIRES_OPERATOR, or at or above a deficit an operator
        accepted there (the audit's own account); and the session's account says the same."""
        if not hasattr(self, "session") or self.cash is None:
            return
        if self.cash < 0:
            accepted = self.accepted_deficit is not None and self.cash >= self.accepted_deficit
            assert self.tracked is SessionState.ERROR_REQUIRES_OPERATOR or accepted, (
                self.cash,
                self.tracked,
                self.accepted_deficit,
            )
        account = self.session._account
        assert account is not None
        assert account.cash == self.cash

    @invariant()
    def every_order_the_broker_saw_was_accepted_while_active(self) -> None:
        if not hasattr(self, "session"):
            return
        first_sent: dict[str, int] = {}
        for step, command in self.broker.commands:
            if isinstance(command, NewOrder):
                cid = command.client_order_id
                record = self.accepted.get(cid)
                assert record is not None, f"the broker got an unaudited order: {command}"
                assert record["payload"]["qty"] == str(command.qty)
                assert record["payload"]["symbol"] == command.symbol
                if cid not in first_sent:
                    first_sent[cid] = step
                    assert record["step"] == step
                else:  # sent again: only ever as an audited retry of the same order
                    assert (step, command.poss_resend) in self.retried.get(cid, []), (
                        command,
                        self.retried.get(cid),
                    )

    @invariant()
    def never_two_live_orders_for_one_client_order_id(self) -> None:
        """The broker holds at most one order per id, and no order it still works is one the
        session has closed as rejected (believed never placed)."""
        if not hasattr(self, "session") or self.closed:
            return
        views = self.broker.snapshot(self.session.step_clock).open_orders
        ids = [v.client_order_id for v in views]
        assert len(ids) == len(set(ids)), ids
        for cid in ids:
            order = self.session.book.known(cid)
            if order is not None:
                assert order.status.value != "rejected", (cid, order, views)

    def the_audit_chain_verifies(self) -> None:
        """The whole chain, by the verifier users run (at teardown; `absorb` checks each new
        record's link and seq as it arrives, which keeps the per-rule cost flat)."""
        lines = self.sink.lines
        result = verify_lines([line + "\n" for line in lines])
        assert (result.ok, result.count) == (True, len(lines)), result.reason
        assert result.head == self.session.status().audit_head

    @invariant()
    def never_live(self) -> None:
        if not hasattr(self, "session"):
            return
        assert self.broker.kind is BrokerKind.MOCK
        live = self.config.live
        if self.preflight_passed and live.enabled is not False:
            assert live.enabled is True
            assert live.test_override is True
            assert self.override_audited, "live.enabled passed preflight without its record"

    def teardown(self) -> None:
        if not hasattr(self, "session"):
            return
        if not self.closed:
            self.session.close()
            self.audit_tells_a_consistent_story()
        self.the_audit_chain_verifies()


SessionMachine.TestCase.settings = settings.get_profile(active_profile())
TestSessionMachine = SessionMachine.TestCase
