"""A deterministic mock broker that plays fill scripts.

Theory of operation
-------------------
Nothing here reads a clock or draws a random number: the same spec, commands and polls give the
same reports, exec ids included. Time is the caller's logical step.

- `submit(order, step)` records the command and gives the order its script
  (`MockBrokerSpec.script_for`). The first action runs at the first `poll` whose step is at or
  after `step`; then at most one action per order per step, and `Wait(k)` takes k steps. With one
  poll per step (the orchestrator's loop) a step and a poll are the same thing: the default
  script [ack, fill] acks in the submit step and fills on the next one.
- `cancel(request, step)` and `replace(request, step)` record the command; the next poll answers
  the order's requests in the order received, before that step's script action for the order (the
  requests arrived first).
  Cancel. ACCEPT: CANCELED, or with `cancel_delay` k: PENDING_CANCEL, then CANCELED k steps later
  while the script keeps playing (its fills report status PENDING_CANCEL). REJECT:
  CANCEL_REJECTED. IGNORE: silence. A cancel while one is pending is rejected ("cancel already
  pending").
  Replace (amend). A replace while a cancel or another replace is pending is rejected ("cancel
  pending", "replace already pending"); otherwise the script decides. REJECT: REPLACE_REJECTED
  ("replace rejected by script"). IGNORE: silence. ACCEPT: the request is checked (it must change
  something, a new qty must be positive, a new limit price positive and only for a limit order;
  else REPLACE_REJECTED naming the problem), then REPLACED, or with `replace_delay` k:
  PENDING_REPLACE, then REPLACED k steps later while the script keeps playing. Fills that race a
  pending replace count against the old quantity and report status PENDING_REPLACE (a pending
  cancel still outranks it). At REPLACED the order takes the new qty and limit price (fills
  without a price then use the new limit price) and the report carries them: order_qty is the new
  qty, leaves = new qty - cum, limit_price is set. A new qty at or below the filled quantity sets
  order_qty = cum_qty: the REPLACED report has status FILLED, leaves 0, and the order closes.
  A cancel or replace still pending when the order closes otherwise is rejected at once, cancel
  first: "too late: order filled" (or canceled, expired, ...). A pending cancel and a pending
  replace due in the same step: the cancel completes first, the replace is then too late.
- A poll first plays a scripted gateway restart that is due (re-sending recent reports), then
  answers cancels and replaces of unknown or closed orders (in the order received), then plays
  each order with work left in submission order, then sends the unsolicited reports that are due.
- An order whose script is exhausted rests, silent, until canceled or amended.
- Reports follow model.py: cum/leaves/last qty, last_px, avg_px (volume-weighted, computed in a
  fixed decimal context), status with FIX precedence (pending cancel, then pending replace,
  outrank filled). Exec ids count per order: "o-1:1", "o-1:2", ...; after `restart()` they
  repeat, as a real replay would.
- Faults a script asks for are reported, never hidden: a fill above leaves is an honest overfill
  (cum > order_qty, leaves = order_qty - cum, status FILLED); `Reject` after a fill keeps cum.
  The exceptions are the faults whose point is hiding: `SilentFill` (the report is lost; its exec
  id is skipped) and `position_drift` (snapshot positions only).
- Entry rejects, played as the order's only action: order qty not positive, or a fill that has
  no price to use (a market order without an explicit fill price and without a reference price:
  "no reference price for SYMBOL").
- Scripted faults beyond one order (see fill_script's docstring): `unsolicited_reports` (a trade
  report for an order nobody sent; exec ids "ghost:unsolicited:N"; the broker's positions move and
  it remembers the order as filled), `position_drift` (snapshot positions offset from a step on)
  and `restarts` (a gateway restart keeps orders, positions and exec-id counters, and re-sends
  the last N reports with their exec ids and poss_resend; resends are not themselves remembered).
  Unlike these, `restart()` simulates a restart of the whole broker process that loses its state.
- Memory does not grow with the number of orders: a closed order leaves the working structures;
  the last `closed_memory` closed orders are kept to answer a late cancel or replace ("order
  already filled"); older ones are "unknown order". For restart replays only the last
  max(replay_last) reports are kept. Positions (per symbol ever traded, flat included) and, unless
  `record_commands=False`, the command log are kept.
- FIX Appendix D (docs/fix-matrices.md). Chaining: a cancel or replace with a
  `new_client_order_id` Y for order X is answered (Y, X) (client_order_id Y,
  orig_client_order_id X); an accepted chained replace renames the order Y (its reports are then
  Exec(Y), requests may name Y), while fills racing it stay Exec(X). Latency: a command reaches
  the broker `to_broker` steps after it is sent (an order's first action, a request's answer), a
  report reaches the session `from_broker` steps after it is sent; a request that arrives after
  its order closed is answered as for a closed order. Per-request answers and
  `reject_after_pending` (PENDING_CANCEL / PENDING_REPLACE, then the reject). Busts and
  corrections recompute cum, notional, avg px and the position from the labelled executions;
  they, late fills and waits still play after the order closed. Time in force: an IOC or FOK
  order plays its leading ack and fills at once - IOC cancels the rest, FOK takes them only if
  they fill it whole, else cancels without a fill; `end_trading_day(step)`: DAY orders with
  leaves are DONE_FOR_DAY (leaves 0, closed), GTC ones DONE_FOR_DAY with their leaves and
  RESTATED at the next poll (day_order_qty = leaves). `request_status` and a PossResend of a
  known order are answered ORDER_STATUS; of an unknown order, REJECTED with "unknown order".
- Request faults (`spec.request_faults`, request_faults.py): a submit, cancel, replace or status
  request a rule answers raises from the call: BrokerRateLimited (with its retry-after in steps),
  BrokerTimeout, BrokerBusy or BrokerRequestRefused. Each is raised before the request is
  carried out, except a timeout with `reached: true`, raised after it (the order is placed, the
  cancel taken; only the answer is lost). A new order under an id the broker already holds is
  refused with DuplicateClientOrderId (a permanent refusal): never two orders for one id. The
  command log records every request received, failed ones included.
- An account (`spec.account`, broker/account.py): every fill the broker executes moves its cash
  and charges its fee (silent fills and unsolicited trades too); `snapshot()` carries the
  statement (cash, buying power at the last fill price or the reference, fees paid).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal
from operator import attrgetter

from peak_trade.execution.broker.account import BrokerAccount
from peak_trade.execution.broker.fill_script import (
    AFTER_CLOSE,
    Ack,
    Action,
    Bust,
    CancelBehaviour,
    CancelUnsolicited,
    Correct,
    Duplicate,
    Expire,
    Fill,
    Guarantee,
    LateFill,
    Latency,
    MockBrokerSpec,
    OrderScript,
    Reject,
    ReplaceBehaviour,
    Restate,
    SilentFill,
    UnsolicitedReport,
    Wait,
)
from peak_trade.execution.broker.model import (
    UNKNOWN_ORDER,
    ZERO,
    BrokerCommand,
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    OrderType,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
    build_report,
)
from peak_trade.execution.broker.protocol import (
    BrokerError,
    BrokerHealth,
    BrokerKind,
    BrokerOrderView,
    BrokerSnapshot,
    DuplicateClientOrderId,
)
from peak_trade.execution.broker.request_faults import AnswerKind, RequestAnswer, RequestFaultPlayer

_DECIMAL = Context(prec=28, rounding=ROUND_HALF_EVEN)  # fixed, whatever the caller's context
_HEALTHY = BrokerHealth(ok=True)
_EMPTY_SCRIPT = OrderScript(actions=())
_by_seq = attrgetter("seq")
_FILLS = (Fill, SilentFill)  # a tuple: isinstance with a tuple of classes is the cheapest form
_PRICED = (Fill, SilentFill, LateFill)  # the actions that execute at a price
_IMMEDIATE = (Ack, Fill)  # what an IOC / FOK order can play in the step it reaches the broker
# Members as module constants for the per-poll paths: `OrderStatus.NEW` goes through the Enum
# metaclass's attribute hook (about 0.1 us a read), a global read does not.
_PENDING_NEW, _NEW, _PARTIALLY_FILLED, _FILLED = (
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
)
_PENDING_CANCEL, _PENDING_REPLACE = OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE
_DONE_FOR_DAY, _STOPPED = OrderStatus.DONE_FOR_DAY, OrderStatus.STOPPED
_X_NEW, _X_TRADE, _X_REPLACED = ExecType.NEW, ExecType.TRADE, ExecType.REPLACED
_X_CANCEL_REJECTED, _X_REPLACE_REJECTED = ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED
_X_RESTATED = ExecType.RESTATED
_LIMIT = OrderType.LIMIT
_MOCK_KIND = BrokerKind.MOCK
_BUY = Side.BUY
_DAY, _IOC, _FOK = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK
# The most scripts whose facts `submit` remembers (see MockBroker._script_needs_price). A spec's
# scripts are few; the bound only matters for a spec whose script_for invents a script per order.
_SCRIPT_MEMORY = 256

_Request = CancelOrder | ReplaceOrder | StatusRequest
_KIND: dict[type, str] = {CancelOrder: "cancel", ReplaceOrder: "replace", StatusRequest: "status"}
_VERB = {"submit": "submit", "cancel": "cancel", "replace": "replace", "status": "status request"}
_OK = AnswerKind.OK


def _ids(request: _Request, current: str) -> tuple[str, str | None]:
    """(client_order_id, orig_client_order_id) of the answers to `request`: the request's own
    id with the order's current one as OrigClOrdID when the request is chained, else the
    order's current id alone (as before chaining existed)."""
    new_id = getattr(request, "new_client_order_id", None)
    return (current, None) if new_id is None else (new_id, current)


@dataclass(slots=True, eq=False)
class _Order:
    """The mock's working state for one order. `order` holds the current id, qty and limit price
    (a REPLACED swaps it for the amended order); `key` is the id it was submitted with, under
    which the broker files it whatever the chain of ids since."""

    order: NewOrder
    script: OrderScript
    seq: int
    due: int  # the step at which the next script action may run
    default_px: Decimal | None  # fill price when the action names none
    actions: tuple[Action, ...]  # script.actions, held here: read on every poll (no default:
    # an order built without them would silently never play)
    latency: Latency | None = None  # None: no message of this order is ever in flight
    cursor: int = 0
    acked: bool = False
    cum: Decimal = ZERO
    notional: Decimal = ZERO
    avg_px: Decimal | None = None
    exec_count: int = 0
    last_report: ExecutionReport | None = None
    # received, not yet answered: (the step it reaches the broker, the request)
    requests: list[tuple[int, _Request]] = field(default_factory=list)
    cancel_due: int | None = None  # a cancel is pending; CANCELED at this step
    cancel_ids: tuple[str, str | None] | None = None  # the pending cancel's answer ids
    cancel_rejects: bool = False  # the pending cancel ends in CANCEL_REJECTED
    replace_pending: ReplaceOrder | None = None  # an accepted amend waiting for replace_due
    replace_due: int = 0
    replace_rejects: bool = False  # the pending amend ends in REPLACE_REJECTED
    cancels_seen: int = 0  # requests answered so far, for per-request answers
    replaces_seen: int = 0
    closed: OrderStatus | None = None
    stopped: bool = False  # execution guaranteed (FIX Stopped)
    day_done: bool = False  # a GTC order between Done for Day and its restatement
    restate_due: int | None = None  # the step of a GTC order's next-day restatement
    # label -> (exec id, qty, px) of the executions a bust or correct may name
    labelled: dict[str, tuple[str, Decimal, Decimal]] | None = None
    immediate: bool = False  # IOC / FOK: the step it reached the broker was played
    script_key: str = ""  # the id it was submitted with: its key in the broker's books

    @property
    def status(self) -> OrderStatus:
        if self.closed is not None:
            return self.closed
        if self.cancel_due is not None:
            return _PENDING_CANCEL
        if self.replace_pending is not None:
            return _PENDING_REPLACE
        if self.day_done:
            return _DONE_FOR_DAY
        if self.cum >= self.order.qty:
            return _FILLED
        if self.stopped:
            return _STOPPED
        if self.cum > ZERO:
            return _PARTIALLY_FILLED
        return _NEW if self.acked else _PENDING_NEW

    @property
    def has_work(self) -> bool:
        if self.closed is not None:  # only the broker's corrections of what it reported
            return self.cursor < len(self.actions) and isinstance(
                self.actions[self.cursor], AFTER_CLOSE
            )
        return (
            self.cursor < len(self.actions)
            or bool(self.requests)
            or self.cancel_due is not None
            or self.replace_pending is not None
            or self.restate_due is not None
        )


class MockBroker:
    """A `BrokerAdapter` that plays a `MockBrokerSpec` (see the module docstring)."""

    def __init__(
        self,
        spec: MockBrokerSpec | None = None,
        *,
        record_commands: bool = True,
        closed_memory: int = 4096,
    ) -> None:
        self.spec = spec if spec is not None else MockBrokerSpec()
        self.commands: list[tuple[int, BrokerCommand]] = []  # (step, command) as received
        self._record_commands = record_commands
        self._closed_memory = closed_memory
        # Scripted faults beyond one order, in the order they fall due (stable for equal steps).
        self._unsolicited_plan = sorted(self.spec.unsolicited_reports, key=attrgetter("step"))
        self._restart_plan = sorted(self.spec.restarts, key=attrgetter("at_step"))
        self._history_size = max((r.replay_last for r in self._restart_plan), default=0)
        self._in_flight = self.spec.has_latency  # only then is anything delayed
        # id(script) -> (script, whether one of its fills has no price of its own). The script is
        # held so that its id cannot be reused while remembered; bounded by _SCRIPT_MEMORY.
        self._script_facts: dict[int, tuple[OrderScript, bool]] = {}
        self._forget_everything()

    def _forget_everything(self) -> None:
        self._seq = 0
        self._last_poll: int | None = None
        self._working: dict[str, _Order] = {}  # open orders, in submission order
        self._active: dict[str, _Order] = {}  # the open orders with work left
        # Whether _active may be out of submission order: submit appends the newest order, so
        # only a request re-adding an idle order can break the order. poll sorts only then.
        self._active_unordered = False
        self._closed: OrderedDict[str, _Order] = OrderedDict()  # the latest closed orders
        self._aliases: dict[str, str] = {}  # an id taken in a chained replace -> the order's key
        # requests for unknown/closed orders: (arrival step, request, the closed order or None)
        self._replies: list[tuple[int, _Request, _Order | None]] = []
        self._unknown_replies = 0
        self._positions: dict[str, Decimal] = {}
        account = self.spec.account  # cash and fees move with every fill the broker executes
        self._account = None if account is None else BrokerAccount(account)
        self._next_unsolicited = 0  # index into _unsolicited_plan
        self._unsolicited_sent = 0
        self._next_restart = 0  # index into _restart_plan
        # The last reports sent (not resends), for restart replays; bounded by the spec.
        self._history: deque[ExecutionReport] = deque(maxlen=self._history_size)
        self._lost: list[ExecutionReport] = []  # this poll's silent-fill reports
        # Reports on the wire: (step they reach the session, report), in the order sent.
        self._outbox: list[tuple[int, ExecutionReport]] = []
        self._day_ends: list[int] = []  # steps whose poll ends the trading day
        # Scripted answers to requests (rate limits, transient failures): request_faults.py.
        self._faults = RequestFaultPlayer(self.spec.request_faults)

    def restart(self) -> None:
        """Simulate a restart of the broker process: orders, positions and exec-id history are
        gone, so replaying the same commands repeats the same exec ids. The spec and the command
        log stay, and the spec's scripted faults play again from the start. (A scripted gateway
        restart, `restarts` in the spec, is the opposite: it keeps everything.)"""
        self._forget_everything()

    @property
    def kind(self) -> BrokerKind:
        return _MOCK_KIND  # asked before and after every call by the session's broker gateway

    # ----------------------------------------------------------------------------- commands

    def _find(self, cid: str) -> tuple[_Order | None, _Order | None]:
        """(working order, closed order) known by `cid`, its own id or one taken in a chain."""
        key = self._aliases.get(cid, cid)
        return self._working.get(key), self._closed.get(key)

    def _latency(self, script: OrderScript) -> Latency | None:
        if not self._in_flight:
            return None
        return script.latency if script.latency is not None else self.spec.latency

    def _fault(self, kind: str, cid: str, symbol: str | None, step: int) -> RequestAnswer | None:
        """The scripted answer to this request, None when it simply goes through; raises now
        when the request fails before the broker carries it out."""
        answer = self._faults.answer(kind, cid, symbol, step)
        if answer is None or answer.kind is _OK:
            return None
        if not answer.reached:
            raise answer.error(f"{_VERB[kind]} {cid}")
        return answer  # carried out first, then the caller sees the timeout

    def submit(self, order: NewOrder, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, order))
        if self._faults:
            cid = order.client_order_id
            answer = self._fault("submit", cid, order.symbol, step)
            self._submit(order, step)
            if answer is not None:
                raise answer.error(f"submit {cid}")
            return
        self._submit(order, step)

    def _submit(self, order: NewOrder, step: int) -> None:
        cid = order.client_order_id
        spec = self.spec
        if cid in self._working or cid in self._closed or cid in self._aliases:
            if order.poss_resend:  # FIX F.1.b: a resend of an order already received
                self._queue_reply(StatusRequest(client_order_id=cid), step)
                return
            # One order per id, ever: the idempotency a resend relies on (a resend that may have
            # been received already says so with PossResend, answered above).
            raise DuplicateClientOrderId(f"duplicate client_order_id {cid!r}")
        script = spec.script_for(order)
        if script.fail_submit is not None:
            raise BrokerError(script.fail_submit)
        default_px = order.limit_price
        if order.order_type is not _LIMIT or default_px is None:
            default_px = spec.reference_prices.get(order.symbol)
        entry_reject = None
        if order.qty <= ZERO:
            entry_reject = f"order qty must be positive, got {order.qty}"
        elif cid in spec.used_client_order_ids and not order.poss_resend:
            entry_reject = "duplicate ClOrdID"  # FIX OrdRejReason 6 (Appendix D F.1.a)
        elif default_px is None and self._script_needs_price(script):
            entry_reject = f"no reference price for {order.symbol}"
        if entry_reject is not None:
            script = replace(script, actions=(Reject(reason=entry_reject),))
        self._seq += 1
        latency = self._latency(script)
        o = _Order(
            order=order,
            script=script,
            seq=self._seq,
            due=step if latency is None else step + latency.to_broker,
            default_px=default_px,
            actions=script.actions,
            latency=latency,
            script_key=cid,
        )
        self._working[cid] = o
        if o.has_work:
            self._active[cid] = o  # the highest seq so far: _active stays in submission order

    def _script_needs_price(self, script: OrderScript) -> bool:
        """Whether a fill of `script` names no price (so the order needs a default one). Walked
        once per script, not per order: most orders share the spec's few scripts."""
        facts = self._script_facts.get(id(script))
        if facts is not None and facts[0] is script:
            return facts[1]
        needs = any(  # bounded by the script's actions
            isinstance(a, _PRICED) and a.price is None for a in script.actions
        )
        if len(self._script_facts) < _SCRIPT_MEMORY:
            self._script_facts[id(script)] = (script, needs)
        return needs

    def cancel(self, request: CancelOrder, step: int) -> None:
        self._request(request, step)

    def replace(self, request: ReplaceOrder, step: int) -> None:
        """Amend a working order (see the module docstring for the answers)."""
        self._request(request, step)

    def request_status(self, request: StatusRequest, step: int) -> None:
        """Ask for an order's current state: answered with an ORDER_STATUS report."""
        self._request(request, step)

    def end_trading_day(self, step: int) -> None:
        """The trading day ends after the broker's work at `step`: at that poll, DAY orders with
        leaves are done for the day (DONE_FOR_DAY, leaves 0, closed), GTC orders get DONE_FOR_DAY
        with their leaves kept and are RESTATED at the next poll, the next day's first event."""
        self._day_ends.append(step)

    def _request(self, request: _Request, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, request))
        if self._faults:
            cid = request.client_order_id
            working, known = self._find(cid)
            held = working or known
            symbol = None if held is None else held.order.symbol
            answer = self._fault(_KIND[type(request)], cid, symbol, step)
            self._take_request(request, step)
            if answer is not None:
                raise answer.error(f"{_VERB[_KIND[type(request)]]} {cid}")
            return
        self._take_request(request, step)

    def _take_request(self, request: _Request, step: int) -> None:
        o, closed = self._find(request.client_order_id)
        if o is None:
            self._queue_reply(request, step, closed)
            return
        latency = o.latency
        o.requests.append((step if latency is None else step + latency.to_broker, request))
        active = self._active
        key = o.script_key
        if key not in active:
            # An idle order comes back after newer ones: poll must sort by seq again.
            self._active_unordered = self._active_unordered or bool(active)
            active[key] = o

    def _queue_reply(self, request: _Request, step: int, closed: _Order | None = None) -> None:
        """A request the broker answers outside an order's own turn (unknown or closed order,
        a resend): it is looked up again when it arrives."""
        working, known = self._find(request.client_order_id)
        o = working or known or closed
        latency = o.latency if o is not None else self._latency(_EMPTY_SCRIPT)
        arrival = step if latency is None else step + latency.to_broker
        self._replies.append((arrival, request, o))

    # ----------------------------------------------------------------------------- reports

    def poll(self, step: int) -> list[ExecutionReport]:
        if self._last_poll is not None and step < self._last_poll:
            raise ValueError(f"poll step {step} is before the last polled step {self._last_poll}")
        self._last_poll = step
        out: list[ExecutionReport] = []
        restarts = self._restart_plan
        while self._next_restart < len(restarts) and restarts[self._next_restart].at_step <= step:
            last = restarts[self._next_restart].replay_last
            self._next_restart += 1
            replay = list(self._history)[-last:]  # the history holds at most max(replay_last)
            out.extend(replace(r, poss_resend=True) for r in replay)
        if self._replies:
            self._answer_replies(step, out)
        active = self._active
        if active:
            if self._active_unordered:
                ordered = sorted(active.values(), key=_by_seq)
                active.clear()
                active.update((o.script_key, o) for o in ordered)
                self._active_unordered = False
            else:
                ordered = list(active.values())  # already in seq order (see _active_unordered)
            for o in ordered:  # bounded by the open orders with work left
                if self._in_flight:
                    start = len(out)
                    self._play(o, step, out)
                    self._delay(o.latency, step, out, start)
                else:
                    self._play(o, step, out)
                if not o.has_work:
                    del active[o.script_key]
        if self._day_ends and self._day_ends[0] <= step:
            while self._day_ends and self._day_ends[0] <= step:  # bounded by the scripted ends
                self._day_ends.pop(0)
            self._end_day(step, out)
        plan = self._unsolicited_plan
        while self._next_unsolicited < len(plan) and plan[self._next_unsolicited].step <= step:
            out.append(self._unsolicited(plan[self._next_unsolicited], step))
            self._next_unsolicited += 1
        if self._history_size:
            self._history.extend(r for r in out if not r.poss_resend)
        if self._lost:
            lost = self._lost
            out = [r for r in out if not any(r is gone for gone in lost)]
            lost.clear()
        if self._in_flight:
            return self._deliver(step, out)
        return out

    def _delay(self, latency: Latency | None, step: int, out: list[ExecutionReport], start: int):
        """Put the reports out[start:] on the wire when they take steps to reach the session."""
        if latency is not None and latency.from_broker and len(out) > start:
            due = step + latency.from_broker
            self._outbox.extend((due, r) for r in out[start:])
            del out[start:]

    def _deliver(self, step: int, out: list[ExecutionReport]) -> list[ExecutionReport]:
        """What reaches the session at `step`: reports sent earlier whose time has come, in the
        order they were sent, then this poll's reports that take no time."""
        lost = {id(r) for r in self._lost}
        arrived = [r for due, r in self._outbox if due <= step and id(r) not in lost]
        self._outbox = [(due, r) for due, r in self._outbox if due > step]
        return arrived + out

    def _answer_replies(self, step: int, out: list[ExecutionReport]) -> None:
        waiting = []
        for arrival, request, o in self._replies:  # bounded by the requests received
            if arrival > step:
                waiting.append((arrival, request, o))
                continue
            start = len(out)
            working, known = self._find(request.client_order_id)
            o = working or known or o
            if o is not None and o.closed is None:  # working now: answered in its own turn
                o.requests.append((step, request))
                self._active.setdefault(o.script_key, o)
                self._active_unordered = True
            elif o is None:
                out.append(self._answer_unknown(request))
            elif isinstance(request, StatusRequest):
                ids = _ids(request, o.order.client_order_id)
                out.append(self._report(o, ExecType.ORDER_STATUS, ids=ids))
            else:
                out.append(self._answer_closed(o, request))
            if self._in_flight:
                self._delay(o.latency if o is not None else self.spec.latency, step, out, start)
        self._replies = waiting

    def _play(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        self._play_turn(o, step, out)
        if o.closed is not None and o.requests:
            self._flush_requests(o)

    def _flush_requests(self, o: _Order) -> None:
        """Requests still on the wire to an order that closed: answered when they arrive, as
        for any closed order."""
        self._replies.extend((arrival, request, o) for arrival, request in o.requests)
        o.requests.clear()

    def _play_turn(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        if o.restate_due is not None and step >= o.restate_due:
            self._restate_next_day(o, out)
        requests = o.requests
        while requests and requests[0][0] <= step:  # bounded by the requests received
            request = requests.pop(0)[1]
            if isinstance(request, StatusRequest):
                ids = _ids(request, o.order.client_order_id)
                out.append(self._report(o, ExecType.ORDER_STATUS, ids=ids))
            elif o.closed is not None:
                out.append(self._answer_closed(o, request))
            elif isinstance(request, ReplaceOrder):
                self._answer_replace(o, request, step, out)
            elif o.cancel_due is not None:
                ids = _ids(request, o.order.client_order_id)
                out.append(self._report(o, _X_CANCEL_REJECTED, "cancel already pending", ids=ids))
            else:
                self._answer_cancel(o, request, step, out)
        if o.closed is None and o.cancel_due is not None and step >= o.cancel_due:
            self._complete_cancel(o, out)
        if o.closed is None and o.replace_pending is not None and step >= o.replace_due:
            pending = o.replace_pending
            if o.replace_rejects:
                o.replace_pending = None
                o.replace_rejects = False
                ids = _ids(pending, o.order.client_order_id)
                out.append(self._report(o, _X_REPLACE_REJECTED, "replace rejected", ids=ids))
            else:
                self._complete_replace(o, pending, out)
        actions = o.actions
        if o.cursor < len(actions) and step >= o.due:
            if o.closed is not None and not isinstance(actions[o.cursor], AFTER_CLOSE):
                return
            tif = o.order.time_in_force
            if (tif is _IOC or tif is _FOK) and not o.immediate and o.closed is None:
                self._play_immediate(o, step, out)
                return
            action = actions[o.cursor]
            o.cursor += 1
            o.due = step + 1
            self._run(o, action, step, out)

    def _play_immediate(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        """An IOC or FOK order in the step it reaches the broker: the leading ack and fills of
        its script are the liquidity there is. IOC takes it and cancels the rest at once; FOK
        takes it only if it fills the whole order, else nothing fills and the order is canceled.
        The rest of the script is not played."""
        o.immediate = True
        actions = o.actions
        burst: list[Action] = []
        for action in actions[o.cursor :]:  # bounded by the script
            if not isinstance(action, _IMMEDIATE):
                break
            burst.append(action)
        o.cursor = len(actions)
        available = ZERO
        complete = False
        for action in burst:
            if isinstance(action, Fill):
                if action.qty is None:
                    complete = True
                else:
                    available += action.qty
        fok = o.order.time_in_force is _FOK
        if fok and not complete and available < o.order.qty:
            burst = [a for a in burst if isinstance(a, Ack)]
        for action in burst:
            if o.closed is None:
                self._run(o, action, step, out)
        if o.closed is None:
            reason = (
                "fill or kill: cannot be filled in full"
                if fok
                else "immediate or cancel: unfilled quantity canceled"
            )
            self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED, reason)

    def _answer_cancel(
        self, o: _Order, request: CancelOrder, step: int, out: list[ExecutionReport]
    ) -> None:
        behaviour = o.script.cancel_answer(o.cancels_seen)
        o.cancels_seen += 1
        ids = _ids(request, o.order.client_order_id)
        pending = behaviour is CancelBehaviour.REJECT_AFTER_PENDING
        if behaviour is CancelBehaviour.ACCEPT or pending:
            if o.script.cancel_delay or pending:
                o.cancel_due = step + o.script.cancel_delay
                o.cancel_ids = ids
                o.cancel_rejects = pending
                out.append(self._report(o, ExecType.PENDING_CANCEL, ids=ids))
            else:
                o.cancel_ids = ids
                self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED)
        elif behaviour is CancelBehaviour.REJECT:
            out.append(self._report(o, _X_CANCEL_REJECTED, "cancel rejected by script", ids=ids))

    def _complete_cancel(self, o: _Order, out: list[ExecutionReport]) -> None:
        o.cancel_due = None
        if o.cancel_rejects:  # accepted as pending, then refused (FIX B.1.a row 5 alt)
            o.cancel_rejects = False
            ids = o.cancel_ids
            o.cancel_ids = None
            out.append(self._report(o, _X_CANCEL_REJECTED, "cancel rejected", ids=ids))
        else:
            self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED)

    def _answer_replace(
        self, o: _Order, request: ReplaceOrder, step: int, out: list[ExecutionReport]
    ) -> None:
        behaviour = o.script.replace_answer(o.replaces_seen)
        o.replaces_seen += 1
        ids = _ids(request, o.order.client_order_id)
        problem = None
        if o.cancel_due is not None:
            problem = "cancel pending"
        elif o.replace_pending is not None:
            problem = "replace already pending"
        elif behaviour is ReplaceBehaviour.IGNORE:
            return
        elif behaviour is ReplaceBehaviour.REJECT:
            problem = "replace rejected by script"
        else:
            problem = _replace_problem(o.order, request)
        if problem is not None:
            out.append(self._report(o, _X_REPLACE_REJECTED, problem, ids=ids))
        elif o.script.replace_delay or behaviour is ReplaceBehaviour.REJECT_AFTER_PENDING:
            o.replace_pending = request
            o.replace_due = step + o.script.replace_delay
            o.replace_rejects = behaviour is ReplaceBehaviour.REJECT_AFTER_PENDING
            out.append(self._report(o, ExecType.PENDING_REPLACE, ids=ids))
        else:
            self._complete_replace(o, request, out)

    def _complete_replace(
        self, o: _Order, request: ReplaceOrder, out: list[ExecutionReport]
    ) -> None:
        """REPLACED: the order takes the new qty (never below cum), limit price and, when the
        request is chained, its new id."""
        o.replace_pending = None
        order = o.order
        ids = _ids(request, order.client_order_id)
        qty = order.qty if request.new_qty is None else max(request.new_qty, o.cum)
        limit = order.limit_price if request.new_limit_price is None else request.new_limit_price
        o.order = replace(order, client_order_id=ids[0], qty=qty, limit_price=limit)
        if ids[1] is not None:
            self._aliases[ids[0]] = o.script_key
        if order.order_type is _LIMIT and limit is not None:
            o.default_px = limit
        if o.cum >= qty:  # amended to at or below the filled quantity: done at cum
            self._close(o, OrderStatus.FILLED, out, ExecType.REPLACED, ids=ids)
        else:
            out.append(self._report(o, ExecType.REPLACED, ids=ids))

    def _run(self, o: _Order, action: Action, step: int, out: list[ExecutionReport]) -> None:
        if isinstance(action, _FILLS):
            self._fill(o, action, out)
        elif isinstance(action, Ack):
            o.acked = True
            out.append(self._report(o, _X_NEW))
        elif isinstance(action, Wait):
            o.due = step + action.steps
        elif isinstance(action, Duplicate):
            if o.last_report is not None:  # nothing sent yet: nothing to resend
                out.append(replace(o.last_report, poss_resend=True))
        elif isinstance(action, Reject):
            self._close(o, OrderStatus.REJECTED, out, ExecType.REJECTED, action.reason)
        elif isinstance(action, Expire):
            self._close(o, OrderStatus.EXPIRED, out, ExecType.EXPIRED)
        elif isinstance(action, CancelUnsolicited):
            self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED, action.reason)
        elif isinstance(action, LateFill):
            self._fill(o, action, out)
        elif isinstance(action, Bust | Correct):
            self._bust_or_correct(o, action, out)
        elif isinstance(action, Restate):
            self._restate(o, action, out)
        elif isinstance(action, Guarantee):
            o.stopped = True
            out.append(self._report(o, ExecType.STOPPED, last_qty=action.qty, last_px=action.price))

    def _fill(
        self, o: _Order, action: Fill | SilentFill | LateFill, out: list[ExecutionReport]
    ) -> None:
        order = o.order
        qty = action.qty
        if qty is None:
            qty = _DECIMAL.subtract(order.qty, o.cum)
        px = action.price if action.price is not None else o.default_px
        assert px is not None  # submit() turned a fill without a price into an entry reject
        cum = o.cum = _DECIMAL.add(o.cum, qty)
        notional = o.notional = _DECIMAL.add(o.notional, _DECIMAL.multiply(qty, px))
        o.avg_px = _DECIMAL.divide(notional, cum)
        self._move_position(order.symbol, order.side, qty)
        if self._account is not None:
            self._account.book_fill(order.symbol, order.side, qty, px)
        label = getattr(action, "label", None)
        report = self._report(o, _X_TRADE, last_qty=qty, last_px=px, label=label)
        if label is not None:
            self._label(o, label, report.exec_id, qty, px)
        out.append(report)
        if isinstance(action, SilentFill):
            self._lost.append(report)  # sent as far as the broker knows; poll() drops it
        if o.closed is None and cum >= order.qty:
            self._close(o, _FILLED, out)  # the trade report already said FILLED

    def _label(self, o: _Order, label: str, exec_id: str, qty: Decimal, px: Decimal) -> None:
        if o.labelled is None:
            o.labelled = {}
        o.labelled[label] = (exec_id, qty, px)

    def _bust_or_correct(self, o: _Order, action: Bust | Correct, out: list[ExecutionReport]):
        """Trade cancel or correct of a labelled execution: cum, notional, avg px and the
        position are recomputed from the executions that stand. A busted FILLED order works
        again; a canceled or done-for-day one stays closed (FIX J.1.b, J.1.d)."""
        standing = (o.labelled or {}).pop(action.ref, None)
        ref_id, old_qty, old_px = standing if standing else (f"?{action.ref}", ZERO, ZERO)
        order = o.order
        if isinstance(action, Bust):
            new_qty, new_px = ZERO, ZERO
        else:
            new_qty = action.qty if action.qty is not None else old_qty
            new_px = action.price if action.price is not None else old_px
        delta = _DECIMAL.subtract(new_qty, old_qty)
        o.cum = _DECIMAL.add(o.cum, delta)
        o.notional = _DECIMAL.add(
            _DECIMAL.subtract(o.notional, _DECIMAL.multiply(old_qty, old_px)),
            _DECIMAL.multiply(new_qty, new_px),
        )
        o.avg_px = _DECIMAL.divide(o.notional, o.cum) if o.cum > ZERO else None
        if delta:
            self._move_position(order.symbol, order.side, delta)
        if o.closed is _FILLED and o.cum < order.qty:  # the order works again
            self._reopen(o)
        if isinstance(action, Bust):
            report = self._report(o, ExecType.TRADE_CANCEL, last_px=ZERO, ref=ref_id)
        else:
            report = self._report(
                o,
                ExecType.TRADE_CORRECT,
                last_qty=new_qty,
                last_px=new_px,
                ref=ref_id,
                label=action.label,
            )
            if action.label is not None:
                self._label(o, action.label, report.exec_id, new_qty, new_px)
        out.append(report)
        if o.closed is None and o.cum >= order.qty:
            self._close(o, _FILLED, out)

    def _reopen(self, o: _Order) -> None:
        o.closed = None
        key = o.script_key
        self._closed.pop(key, None)
        self._working[key] = o
        self._working = dict(sorted(self._working.items(), key=lambda kv: kv[1].seq))

    def _restate(self, o: _Order, action: Restate, out: list[ExecutionReport]) -> None:
        """An unsolicited change by the sell side (FIX E.1.c, E.1.d): new qty and/or price."""
        order = o.order
        qty = order.qty if action.qty is None else max(action.qty, o.cum)
        limit = order.limit_price if action.limit_price is None else action.limit_price
        o.order = replace(order, qty=qty, limit_price=limit)
        if order.order_type is _LIMIT and limit is not None:
            o.default_px = limit
        if o.closed is None and o.cum >= qty:
            self._close(o, _FILLED, out, _X_RESTATED, action.reason)
        else:
            out.append(self._report(o, _X_RESTATED, action.reason))

    def _end_day(self, step: int, out: list[ExecutionReport]) -> None:
        """End of the trading day (see end_trading_day), orders in submission order."""
        for o in list(self._working.values()):  # bounded by the open orders
            if o.cum >= o.order.qty:
                continue
            start = len(out)
            if o.order.effective_time_in_force is _DAY:
                self._close(o, _DONE_FOR_DAY, out, ExecType.DONE_FOR_DAY)
                if o.requests:
                    self._flush_requests(o)
            else:
                o.day_done = True
                o.restate_due = step + 1
                out.append(self._report(o, ExecType.DONE_FOR_DAY))
                self._active.setdefault(o.script_key, o)
                self._active_unordered = True
            if self._in_flight:
                self._delay(o.latency, step, out, start)

    def _restate_next_day(self, o: _Order, out: list[ExecutionReport]) -> None:
        """A GTC order renewed on the next trading day (FIX H.1, J.1.c): RESTATED with its
        leaves as the day's order quantity and nothing filled today yet."""
        o.restate_due = None
        o.day_done = False
        report = self._report(o, _X_RESTATED, "GTC renewal")
        leaves = _DECIMAL.subtract(o.order.qty, o.cum)
        report = replace(report, day_order_qty=leaves, day_cum_qty=ZERO)
        o.last_report = report
        out.append(report)

    def _move_position(self, symbol: str, side: Side, qty: Decimal) -> None:
        signed = qty if side is _BUY else -qty
        self._positions[symbol] = _DECIMAL.add(self._positions.get(symbol, ZERO), signed)

    def _close(
        self,
        o: _Order,
        status: OrderStatus,
        out: list[ExecutionReport],
        exec_type: ExecType | None = None,
        reason: str | None = None,
        *,
        ids: tuple[str, str | None] | None = None,
    ) -> None:
        cancel_was_pending = o.cancel_due is not None
        replace_pending = o.replace_pending
        cancel_ids = o.cancel_ids
        o.cancel_due = None
        o.cancel_ids = None
        o.replace_pending = None
        o.day_done = False
        o.restate_due = None
        o.closed = status
        if exec_type is not None:
            if exec_type is ExecType.CANCELED and cancel_ids is not None:
                ids = cancel_ids  # the cancel that was asked for is the one carried out
                cancel_was_pending = False
            out.append(self._report(o, exec_type, reason, ids=ids))
        if cancel_was_pending or replace_pending is not None:  # text only when one is answered
            too_late = f"too late: order {status.value}"
            if cancel_was_pending:
                out.append(self._report(o, _X_CANCEL_REJECTED, too_late, ids=cancel_ids))
            if replace_pending is not None:
                ids = _ids(replace_pending, o.order.client_order_id)
                out.append(self._report(o, _X_REPLACE_REJECTED, too_late, ids=ids))
        del self._working[o.script_key]
        self._remember_closed(o)

    def _remember_closed(self, o: _Order) -> None:
        self._closed[o.script_key] = o
        if len(self._closed) > self._closed_memory:
            _, gone = self._closed.popitem(last=False)
            if self._aliases and gone.order.client_order_id != gone.script_key:
                self._aliases.pop(gone.order.client_order_id, None)

    def _report(
        self,
        o: _Order,
        exec_type: ExecType,
        reason: str | None = None,
        *,
        last_qty: Decimal = ZERO,
        last_px: Decimal | None = None,
        ids: tuple[str, str | None] | None = None,
        ref: str | None = None,
        label: str | None = None,
    ) -> ExecutionReport:
        order = o.order
        status = o.status
        o.exec_count += 1
        qty, cum = order.qty, o.cum
        cid, orig = (order.client_order_id, None) if ids is None else ids
        closed = o.closed
        report = build_report(  # positional, in field order: see model.build_report
            f"{order.client_order_id}:{o.exec_count if label is None else label}",  # exec_id
            cid,  # client_order_id
            exec_type,
            status,
            order.symbol,
            order.side,
            qty,  # order_qty
            cum,  # cum_qty
            # leaves_qty: 0 once closed (but FILLED: qty - cum, which shows an overfill)
            ZERO if closed is not None and closed is not _FILLED else _DECIMAL.subtract(qty, cum),
            last_qty,
            last_px,
            o.avg_px,  # avg_px
            reason,
            False,  # poss_resend: a resend is a replace() of the report sent before
            order.limit_price if exec_type is _X_REPLACED or exec_type is _X_RESTATED else None,
            ref,  # exec_ref_id
            orig,  # orig_client_order_id
        )
        o.last_report = report
        return report

    def _answer_closed(self, o: _Order, request: _Request) -> ExecutionReport:
        assert o.closed is not None
        ids = _ids(request, o.order.client_order_id)
        return self._report(o, _reject_type(request), f"order already {o.closed.value}", ids=ids)

    def _answer_unknown(self, request: _Request) -> ExecutionReport:
        """A reject (or, to a status request, an ORDER_STATUS) for an order the broker does not
        know. There is no order to describe: status REJECTED, symbol "", side BUY and zero
        quantities. Its exec ids have their own series ("o-9:unknown:1") so that they cannot
        collide with a later order o-9."""
        self._unknown_replies += 1
        cid, orig = _ids(request, request.client_order_id)
        return ExecutionReport(
            exec_id=f"{cid}:unknown:{self._unknown_replies}",
            client_order_id=cid,
            exec_type=_reject_type(request),
            status=OrderStatus.REJECTED,
            symbol="",
            side=Side.BUY,
            order_qty=ZERO,
            cum_qty=ZERO,
            leaves_qty=ZERO,
            reason=UNKNOWN_ORDER,
            orig_client_order_id=orig,
        )

    def _unsolicited(self, planned: UnsolicitedReport, step: int) -> ExecutionReport:
        """A trade report for an order nobody sent: a fully filled order. The broker's positions
        move, and unless the id is already taken it remembers the order as filled."""
        self._unsolicited_sent += 1
        cid, qty, px = planned.client_order_id, planned.qty, planned.price
        self._move_position(planned.symbol, planned.side, qty)
        if self._account is not None:
            self._account.book_fill(planned.symbol, planned.side, qty, px)
        order = NewOrder(client_order_id=cid, symbol=planned.symbol, side=planned.side, qty=qty)
        if cid not in self._working and cid not in self._closed:
            self._seq += 1
            notional = _DECIMAL.multiply(qty, px)
            ghost = _Order(
                order=order,
                script=_EMPTY_SCRIPT,
                seq=self._seq,
                due=step,
                default_px=px,
                actions=_EMPTY_SCRIPT.actions,
                acked=True,
                cum=qty,
                notional=notional,
                avg_px=_DECIMAL.divide(notional, qty),
                closed=OrderStatus.FILLED,
                script_key=cid,
            )
            self._remember_closed(ghost)
        return ExecutionReport(
            exec_id=f"{cid}:unsolicited:{self._unsolicited_sent}",
            client_order_id=cid,
            exec_type=ExecType.TRADE,
            status=OrderStatus.FILLED,
            symbol=planned.symbol,
            side=planned.side,
            order_qty=qty,
            cum_qty=qty,
            leaves_qty=ZERO,
            last_qty=qty,
            last_px=px,
            avg_px=px,
        )

    # ----------------------------------------------------------------------------- views

    def health(self, step: int) -> BrokerHealth:
        for outage in self.spec.health:
            if outage.covers(step):
                return BrokerHealth(ok=False, detail=outage.detail)
        return _HEALTHY

    def snapshot(self, step: int) -> BrokerSnapshot:
        """Open orders as the broker holds them now (current qty, cum, leaves and status, a
        pending replace included) and its positions, with any `position_drift` due at `step`."""
        views: list[BrokerOrderView] = []
        for o in self._working.values():  # bounded by the open orders
            order, cum = o.order, o.cum
            views.append(
                BrokerOrderView(
                    # the id it was submitted with, like a FIX OrderID: stable along a chain of
                    # cancel/replace ids, so reconciliation matches it to the session's order
                    client_order_id=o.script_key,
                    symbol=order.symbol,
                    side=order.side,
                    order_qty=order.qty,
                    cum_qty=cum,
                    leaves_qty=_DECIMAL.subtract(order.qty, cum),
                    status=o.status,
                )
            )
        positions = dict(self._positions)
        for drift in self.spec.position_drift:  # bounded by the spec
            if drift.from_step <= step:
                positions[drift.symbol] = _DECIMAL.add(positions.get(drift.symbol, ZERO), drift.qty)
        account = None
        if self._account is not None:
            account = self._account.statement(self._positions, self.spec.reference_prices)
        return BrokerSnapshot(
            step=step, open_orders=tuple(views), positions=positions, account=account
        )


def _reject_type(request: _Request) -> ExecType:
    if isinstance(request, ReplaceOrder):
        return ExecType.REPLACE_REJECTED
    if isinstance(request, StatusRequest):
        return ExecType.ORDER_STATUS  # FIX G.1.a: the status of an unknown order is REJECTED
    return ExecType.CANCEL_REJECTED


def _replace_problem(order: NewOrder, request: ReplaceOrder) -> str | None:
    """Why the broker refuses an amend it would otherwise accept; None when it is well-formed."""
    qty, price = request.new_qty, request.new_limit_price
    if qty is None and price is None:
        return "replace changes nothing"
    if qty is not None and qty <= ZERO:
        return f"new qty must be positive, got {qty}"
    if price is not None and order.order_type is not OrderType.LIMIT:
        return "a market order has no limit price to amend"
    if price is not None and price <= ZERO:
        return f"new limit price must be positive, got {price}"
    return None
