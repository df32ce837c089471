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
- `cancel(request, step)` records the command; the next poll answers it, before that step's
  script action for the order (the request arrived first). ACCEPT: CANCELED, or with
  `cancel_delay` k: PENDING_CANCEL, then CANCELED k steps later while the script keeps playing
  (its fills report status PENDING_CANCEL). REJECT: CANCEL_REJECTED. IGNORE: silence. A cancel
  still pending when the order closes otherwise is rejected at once: "too late: order filled".
- A poll answers cancels of unknown or closed orders first (in the order received), then plays
  each order with work left in submission order. An order whose script is exhausted rests,
  silent, until canceled.
- Reports follow model.py: cum/leaves/last qty, last_px, avg_px (volume-weighted, computed in a
  fixed decimal context), status with FIX precedence (a cancel pending outranks filled). Exec ids
  count per order: "o-1:1", "o-1:2", ...; after `restart()` they repeat, as a real replay would.
- Faults a script asks for are reported, never hidden: a fill above leaves is an honest overfill
  (cum > order_qty, leaves = order_qty - cum, status FILLED); `Reject` after a fill keeps cum.
- Entry rejects, played as the order's only action: order qty not positive, or a fill that has
  no price to use (a market order without an explicit fill price and without a reference price:
  "no reference price for SYMBOL").
- Memory does not grow with the number of orders: a closed order leaves the working structures;
  the last `closed_memory` closed orders are kept to answer a late cancel ("order already
  filled"); older ones are "unknown order". Positions (per symbol ever traded, flat included)
  and, unless `record_commands=False`, the command log are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal
from operator import attrgetter

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
    Side,
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
_NO_LEAVES = frozenset({OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_by_seq = attrgetter("seq")


@dataclass(slots=True, eq=False)
class _Order:
    """The mock's working state for one order."""

    order: NewOrder
    script: OrderScript
    seq: int
    due: int  # the step at which the next script action may run
    default_px: Decimal | None  # fill price when the action names none
    cursor: int = 0
    acked: bool = False
    cum: Decimal = ZERO
    notional: Decimal = ZERO
    avg_px: Decimal | None = None
    exec_count: int = 0
    last_report: ExecutionReport | None = None
    cancel_requests: int = 0  # received, not yet answered
    cancel_due: int | None = None  # a cancel is pending; CANCELED at this step
    closed: OrderStatus | None = None

    @property
    def status(self) -> OrderStatus:
        if self.closed is not None:
            return self.closed
        if self.cancel_due is not None:
            return OrderStatus.PENDING_CANCEL
        if self.cum >= self.order.qty:
            return OrderStatus.FILLED
        if self.cum > ZERO:
            return OrderStatus.PARTIALLY_FILLED
        return OrderStatus.NEW if self.acked else OrderStatus.PENDING_NEW

    @property
    def has_work(self) -> bool:
        return self.closed is None and (
            self.cursor < len(self.script.actions)
            or self.cancel_requests > 0
            or self.cancel_due is not None
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
        self._forget_everything()

    def _forget_everything(self) -> None:
        self._seq = 0
        self._last_poll: int | None = None
        self._working: dict[str, _Order] = {}  # open orders, in submission order
        self._active: dict[str, _Order] = {}  # the open orders with work left
        self._closed: OrderedDict[str, _Order] = OrderedDict()  # the latest closed orders
        self._replies: list[tuple[str, _Order | None]] = []  # cancels of unknown/closed orders
        self._unknown_replies = 0
        self._positions: dict[str, Decimal] = {}

    def restart(self) -> None:
        """Simulate a restart of the broker process: orders, positions and exec-id history are
        gone, so replaying the same commands repeats the same exec ids. The spec and the command
        log stay."""
        self._forget_everything()

    @property
    def kind(self) -> BrokerKind:
        return BrokerKind.MOCK

    # ----------------------------------------------------------------------------- commands

    def submit(self, order: NewOrder, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, order))
        cid = order.client_order_id
        if cid in self._working or cid in self._closed:
            raise BrokerError(f"duplicate client_order_id {cid!r}")
        script = self.spec.script_for(order)
        if script.fail_submit is not None:
            raise BrokerError(script.fail_submit)
        default_px = order.limit_price
        if order.order_type is not OrderType.LIMIT or default_px is None:
            default_px = self.spec.reference_prices.get(order.symbol)
        entry_reject = None
        if order.qty <= ZERO:
            entry_reject = f"order qty must be positive, got {order.qty}"
        elif default_px is None and any(
            isinstance(a, Fill) and a.price is None for a in script.actions
        ):
            entry_reject = f"no reference price for {order.symbol}"
        if entry_reject is not None:
            script = replace(script, actions=(Reject(reason=entry_reject),))
        self._seq += 1
        o = _Order(order=order, script=script, seq=self._seq, due=step, default_px=default_px)
        self._working[cid] = o
        if o.has_work:
            self._active[cid] = o

    def cancel(self, request: CancelOrder, step: int) -> None:
        if self._record_commands:
            self.commands.append((step, request))
        cid = request.client_order_id
        o = self._working.get(cid)
        if o is None:
            self._replies.append((cid, self._closed.get(cid)))
        else:
            o.cancel_requests += 1
            self._active[cid] = o

    # ----------------------------------------------------------------------------- reports

    def poll(self, step: int) -> list[ExecutionReport]:
        if self._last_poll is not None and step < self._last_poll:
            raise ValueError(f"poll step {step} is before the last polled step {self._last_poll}")
        self._last_poll = step
        out: list[ExecutionReport] = []
        if self._replies:
            for cid, closed in self._replies:
                out.append(self._answer_closed(closed) if closed else self._answer_unknown(cid))
            self._replies.clear()
        if self._active:
            for o in sorted(self._active.values(), key=_by_seq):
                self._play(o, step, out)
                if not o.has_work:
                    del self._active[o.order.client_order_id]
        return out

    def _play(self, o: _Order, step: int, out: list[ExecutionReport]) -> None:
        while o.cancel_requests:
            o.cancel_requests -= 1
            if o.closed is not None:
                out.append(self._answer_closed(o))
            elif o.cancel_due is not None:
                out.append(self._report(o, ExecType.CANCEL_REJECTED, "cancel already pending"))
            else:
                self._answer_cancel(o, step, out)
        if o.closed is None and o.cancel_due is not None and step >= o.cancel_due:
            o.cancel_due = None
            self._close(o, OrderStatus.CANCELED, out, ExecType.CANCELED)
        actions = o.script.actions
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

    def _run(self, o: _Order, action: Action, step: int, out: list[ExecutionReport]) -> None:
        if isinstance(action, Fill):
            self._fill(o, action, out)
        elif isinstance(action, Ack):
            o.acked = True
            out.append(self._report(o, ExecType.NEW))
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

    def _fill(self, o: _Order, action: Fill, out: list[ExecutionReport]) -> None:
        order = o.order
        qty = action.qty
        if qty is None:
            qty = _DECIMAL.subtract(order.qty, o.cum)
        px = action.price if action.price is not None else o.default_px
        assert px is not None  # submit() turned a fill without a price into an entry reject
        o.cum = _DECIMAL.add(o.cum, qty)
        o.notional = _DECIMAL.add(o.notional, _DECIMAL.multiply(qty, px))
        o.avg_px = _DECIMAL.divide(o.notional, o.cum)
        signed = qty if order.side is Side.BUY else -qty
        self._positions[order.symbol] = _DECIMAL.add(
            self._positions.get(order.symbol, ZERO), signed
        )
        out.append(self._report(o, ExecType.TRADE, last_qty=qty, last_px=px))
        if o.cum >= order.qty:
            self._close(o, OrderStatus.FILLED, out)  # the trade report already said FILLED

    def _close(
        self,
        o: _Order,
        status: OrderStatus,
        out: list[ExecutionReport],
        exec_type: ExecType | None = None,
        reason: str | None = None,
    ) -> None:
        cancel_was_pending = o.cancel_due is not None
        o.cancel_due = None
        o.closed = status
        if exec_type is not None:
            out.append(self._report(o, exec_type, reason))
        if cancel_was_pending:
            out.append(self._report(o, ExecType.CANCEL_REJECTED, f"too late: order {status.value}"))
        cid = o.order.client_order_id
        del self._working[cid]
        self._closed[cid] = o
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
        report = ExecutionReport(
            exec_id=f"{order.client_order_id}:{o.exec_count}",
            client_order_id=order.client_order_id,
            exec_type=exec_type,
            status=status,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=o.cum,
            leaves_qty=ZERO if status in _NO_LEAVES else _DECIMAL.subtract(order.qty, o.cum),
            last_qty=last_qty,
            last_px=last_px,
            avg_px=o.avg_px,
            reason=reason,
        )
        o.last_report = report
        return report

    def _answer_closed(self, o: _Order) -> ExecutionReport:
        assert o.closed is not None
        return self._report(o, ExecType.CANCEL_REJECTED, f"order already {o.closed.value}")

    def _answer_unknown(self, client_order_id: str) -> ExecutionReport:
        """A cancel reject for an order the broker does not know. There is no order to describe:
        status REJECTED, symbol "", side BUY and zero quantities. Its exec ids have their own
        series ("o-9:unknown:1") so that they cannot collide with a later order o-9."""
        self._unknown_replies += 1
        return ExecutionReport(
            exec_id=f"{client_order_id}:unknown:{self._unknown_replies}",
            client_order_id=client_order_id,
            exec_type=ExecType.CANCEL_REJECTED,
            status=OrderStatus.REJECTED,
            symbol="",
            side=Side.BUY,
            order_qty=ZERO,
            cum_qty=ZERO,
            leaves_qty=ZERO,
            reason="unknown order",
        )

    # ----------------------------------------------------------------------------- views

    def health(self, step: int) -> BrokerHealth:
        for outage in self.spec.health:
            if outage.covers(step):
                return BrokerHealth(ok=False, detail=outage.detail)
        return _HEALTHY

    def snapshot(self, step: int) -> BrokerSnapshot:
        views = tuple(
            BrokerOrderView(
                client_order_id=o.order.client_order_id,
                symbol=o.order.symbol,
                side=o.order.side,
                order_qty=o.order.qty,
                cum_qty=o.cum,
                leaves_qty=_DECIMAL.subtract(o.order.qty, o.cum),
                status=o.status,
            )
            for o in self._working.values()
        )
        return BrokerSnapshot(step=step, open_orders=views, positions=dict(self._positions))
