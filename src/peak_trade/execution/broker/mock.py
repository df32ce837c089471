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
    Ack,
    Action,
    CancelBehaviour,
    CancelUnsolicited,
    Duplicate,
    Expire,
    Fill,
    MockBrokerSpec,
    OrderScript,
    Reject,
    ReplaceBehaviour,
    SilentFill,
    UnsolicitedReport,
    Wait,
)
from peak_trade.execution.broker.model import (
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
    build_report,
)
from peak_trade.execution.broker.protocol import (
    BrokerError,
    BrokerHealth,
    BrokerKind,
    BrokerOrderView,
    BrokerSnapshot,
)

_DECIMAL = Context(prec=28, rounding=ROUND_HALF_EVEN)  # fixed, whatever the caller's context
_HEALTHY = BrokerHealth(ok=True)
# Statuses whose report carries leaves 0, by value: a set of str hashes in C, one of members runs
# Enum.__hash__ in Python, and this is asked for every report.
_NO_LEAVES = frozenset(
    s.value for s in (OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
)
_EMPTY_SCRIPT = OrderScript(actions=())
_by_seq = attrgetter("seq")
_FILLS = (Fill, SilentFill)  # a tuple: isinstance with a tuple of classes is the cheapest form
# Members as module constants for the per-poll paths: `OrderStatus.NEW` goes through the Enum
# metaclass's attribute hook (about 0.1 us a read), a global read does not.
_PENDING_NEW, _NEW, _PARTIALLY_FILLED, _FILLED = (
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
)
_PENDING_CANCEL, _PENDING_REPLACE = OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE
_X_NEW, _X_TRADE, _X_REPLACED = ExecType.NEW, ExecType.TRADE, ExecType.REPLACED
_X_CANCEL_REJECTED, _X_REPLACE_REJECTED = ExecType.CANCEL_REJECTED, ExecType.REPLACE_REJECTED
_LIMIT = OrderType.LIMIT
_MOCK_KIND = BrokerKind.MOCK
_BUY = Side.BUY
# The most scripts whose facts `submit` remembers (see MockBroker._script_needs_price). A spec's
# scripts are few; the bound only matters for a spec whose script_for invents a script per order.
_SCRIPT_MEMORY = 256

_Request = CancelOrder | ReplaceOrder


@dataclass(slots=True, eq=False)
class _Order:
    """The mock's working state for one order. `order` holds the current qty and limit price
    (a REPLACED swaps it for the amended order)."""

    order: NewOrder
    script: OrderScript
    seq: int
    due: int  # the step at which the next script action may run
    default_px: Decimal | None  # fill price when the action names none
    actions: tuple[Action, ...]  # script.actions, held here: read on every poll (no default:
    # an order built without them would silently never play)
    cursor: int = 0
    acked: bool = False
    cum: Decimal = ZERO
    notional: Decimal = ZERO
    avg_px: Decimal | None = None
    exec_count: int = 0
    last_report: ExecutionReport | None = None
    requests: list[_Request] = field(default_factory=list)  # received, not yet answered
    cancel_due: int | None = None  # a cancel is pending; CANCELED at this step
    replace_pending: ReplaceOrder | None = None  # an accepted amend waiting for replace_due
    replace_due: int = 0
    closed: OrderStatus | None = None

    @property
    def status(self) -> OrderStatus:
        if self.closed is not None:
            return self.closed
        if self.cancel_due is not None:
            return _PENDING_CANCEL
        if self.replace_pending is not None:
            return _PENDING_REPLACE
        if self.cum >= self.order.qty:
            return _FILLED
        if self.cum > ZERO:
            return _PARTIALLY_FILLED
        return _NEW if self.acked else _PENDING_NEW

    @property
    def has_work(self) -> bool:
        return self.closed is None and (
            self.cursor < len(self.actions)
            or bool(self.requests)
            or self.cancel_due is not None
            or self.replace_pending is not None
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
        self._replies: list[tuple[_Request, _Order | None]] = []  # requests for unknown/closed
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

    def submit(self, order: NewOrder, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, order))
        cid = order.client_order_id
        if cid in self._working or cid in self._closed:
            raise BrokerError(f"duplicate client_order_id {cid!r}")
        spec = self.spec
        script = spec.script_for(order)
        if script.fail_submit is not None:
            raise BrokerError(script.fail_submit)
        default_px = order.limit_price
        if order.order_type is not _LIMIT or default_px is None:
            default_px = spec.reference_prices.get(order.symbol)
        entry_reject = None
        if order.qty <= ZERO:
            entry_reject = f"order qty must be positive, got {order.qty}"
        elif default_px is None and self._script_needs_price(script):
            entry_reject = f"no reference price for {order.symbol}"
        if entry_reject is not None:
            script = replace(script, actions=(Reject(reason=entry_reject),))
        self._seq += 1
        o = _Order(
            order=order,
            script=script,
            seq=self._seq,
            due=step,
            default_px=default_px,
            actions=script.actions,
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
            isinstance(a, _FILLS) and a.price is None for a in script.actions
        )
        if len(self._script_facts) < _SCRIPT_MEMORY:
            self._script_facts[id(script)] = (script, needs)
        return needs

    def cancel(self, request: CancelOrder, step: int) -> None:
        self._request(request, step)

    def replace(self, request: ReplaceOrder, step: int) -> None:
        """Amend a working order (see the module docstring for the answers)."""
        self._request(request, step)

    def _request(self, request: _Request, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, request))
        cid = request.client_order_id
        o = self._working.get(cid)
        if o is None:
            self._replies.append((request, self._closed.get(cid)))
        else:
            o.requests.append(request)
            active = self._active
            if cid not in active:
                # An idle order comes back after newer ones: poll must sort by seq again.
                self._active_unordered = self._active_unordered or bool(active)
                active[cid] = o

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
            for request, closed in self._replies:
                out.append(
                    self._answer_closed(closed, request)
                    if closed
                    else self._answer_unknown(request)
                )
            self._replies.clear()
        active = self._active
        if active:
            if self._active_unordered:
                ordered = sorted(active.values(), key=_by_seq)
                active.clear()
                active.update((o.order.client_order_id, o) for o in ordered)
                self._active_unordered = False
            else:
                ordered = list(active.values())  # already in seq order (see _active_unordered)
            for o in ordered:  # bounded by the open orders with work left
                self._play(o, step, out)
                if not o.has_work:
                    del active[o.order.client_order_id]
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
        return out

    def _play(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        requests = o.requests
        while requests:  # bounded by the requests received since the last poll
            request = requests.pop(0)
            if o.closed is not None:
                out.append(self._answer_closed(o, request))
            elif isinstance(request, ReplaceOrder):
                self._answer_replace(o, request, step, out)
            elif o.cancel_due is not None:
                out.append(self._report(o, _X_CANCEL_REJECTED, "cancel already pending"))
            else:
                self._answer_cancel(o, step, out)
        if o.closed is None and o.cancel_due is not None and step >= o.cancel_due:
            o.cancel_due = None
            self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED)
        if o.closed is None and o.replace_pending is not None and step >= o.replace_due:
            self._complete_replace(o, o.replace_pending, out)
        actions = o.actions
        if o.closed is None and o.cursor < len(actions) and step >= o.due:
            action = actions[o.cursor]
            o.cursor += 1
            o.due = step + 1
            self._run(o, action, step, out)

    def _answer_cancel(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        behaviour = o.script.on_cancel
        if behaviour is CancelBehaviour.ACCEPT:
            if o.script.cancel_delay:
                o.cancel_due = step + o.script.cancel_delay
                out.append(self._report(o, ExecType.PENDING_CANCEL))
            else:
                self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED)
        elif behaviour is CancelBehaviour.REJECT:
            out.append(self._report(o, ExecType.CANCEL_REJECTED, "cancel rejected by script"))

    def _answer_replace(
        self, o: _Order, request: ReplaceOrder, step: int, out: list[ExecutionReport]
    ) -> None:
        problem = None
        if o.cancel_due is not None:
            problem = "cancel pending"
        elif o.replace_pending is not None:
            problem = "replace already pending"
        elif o.script.on_replace is ReplaceBehaviour.IGNORE:
            return
        elif o.script.on_replace is ReplaceBehaviour.REJECT:
            problem = "replace rejected by script"
        else:
            problem = _replace_problem(o.order, request)
        if problem is not None:
            out.append(self._report(o, ExecType.REPLACE_REJECTED, problem))
        elif o.script.replace_delay:
            o.replace_pending = request
            o.replace_due = step + o.script.replace_delay
            out.append(self._report(o, ExecType.PENDING_REPLACE))
        else:
            self._complete_replace(o, request, out)

    def _complete_replace(
        self, o: _Order, request: ReplaceOrder, out: list[ExecutionReport]
    ) -> None:
        """REPLACED: the order takes the new qty (never below cum) and limit price."""
        o.replace_pending = None
        order = o.order
        qty = order.qty if request.new_qty is None else max(request.new_qty, o.cum)
        limit = order.limit_price if request.new_limit_price is None else request.new_limit_price
        o.order = replace(order, qty=qty, limit_price=limit)
        if order.order_type is _LIMIT and limit is not None:
            o.default_px = limit
        if o.cum >= qty:  # amended to at or below the filled quantity: done at cum
            self._close(o, OrderStatus.FILLED, out, ExecType.REPLACED)
        else:
            out.append(self._report(o, ExecType.REPLACED))

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

    def _fill(self, o: _Order, action: Fill | SilentFill, out: list[ExecutionReport]) -> None:
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
        report = self._report(o, _X_TRADE, last_qty=qty, last_px=px)
        out.append(report)
        if isinstance(action, SilentFill):
            self._lost.append(report)  # sent as far as the broker knows; poll() drops it
        if cum >= order.qty:
            self._close(o, _FILLED, out)  # the trade report already said FILLED

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
    ) -> None:
        cancel_was_pending = o.cancel_due is not None
        replace_was_pending = o.replace_pending is not None
        o.cancel_due = None
        o.replace_pending = None
        o.closed = status
        if exec_type is not None:
            out.append(self._report(o, exec_type, reason))
        if cancel_was_pending or replace_was_pending:  # the text only when a request is answered
            too_late = f"too late: order {status.value}"
            if cancel_was_pending:
                out.append(self._report(o, _X_CANCEL_REJECTED, too_late))
            if replace_was_pending:
                out.append(self._report(o, _X_REPLACE_REJECTED, too_late))
        cid = o.order.client_order_id
        del self._working[cid]
        self._remember_closed(o)

    def _remember_closed(self, o: _Order) -> None:
        self._closed[o.order.client_order_id] = o
        if len(self._closed) > self._closed_memory:
            self._closed.popitem(last=False)

    def _report(
        self,
        o: _Order,
        exec_type: ExecType,
        reason: str | None = None,
        *,
        last_qty: Decimal = ZERO,
        last_px: Decimal | None = None,
    ) -> ExecutionReport:
        order = o.order
        status = o.status
        o.exec_count += 1
        cid, qty, cum = order.client_order_id, order.qty, o.cum
        report = build_report(  # positional, in field order: see model.build_report
            f"{cid}:{o.exec_count}",  # exec_id
            cid,  # client_order_id
            exec_type,
            status,
            order.symbol,
            order.side,
            qty,  # order_qty
            cum,  # cum_qty
            ZERO if status._value_ in _NO_LEAVES else _DECIMAL.subtract(qty, cum),  # leaves_qty
            last_qty,
            last_px,
            o.avg_px,  # avg_px
            reason,
            False,  # poss_resend: a resend is a replace() of the report sent before
            order.limit_price if exec_type is _X_REPLACED else None,  # limit_price
        )
        o.last_report = report
        return report

    def _answer_closed(self, o: _Order, request: _Request) -> ExecutionReport:
        assert o.closed is not None
        return self._report(o, _reject_type(request), f"order already {o.closed.value}")

    def _answer_unknown(self, request: _Request) -> ExecutionReport:
        """A cancel or replace reject for an order the broker does not know. There is no order
        to describe: status REJECTED, symbol "", side BUY and zero quantities. Its exec ids have
        their own series ("o-9:unknown:1") so that they cannot collide with a later order o-9."""
        self._unknown_replies += 1
        client_order_id = request.client_order_id
        return ExecutionReport(
            exec_id=f"{client_order_id}:unknown:{self._unknown_replies}",
            client_order_id=client_order_id,
            exec_type=_reject_type(request),
            status=OrderStatus.REJECTED,
            symbol="",
            side=Side.BUY,
            order_qty=ZERO,
            cum_qty=ZERO,
            leaves_qty=ZERO,
            reason="unknown order",
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
                    client_order_id=order.client_order_id,
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
