"""The order lifecycle table and its judge: every (status, exec type) pair, the contradictions
the issue names, the Appendix D paths, and hypothesis over report sequences."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.execution.broker.model import (
    CLOSED_STATUSES,
    ZERO,
    ExecType,
    ExecutionReport,
    OrderStatus,
    Side,
    TimeInForce,
)
from peak_trade.execution.broker.order_lifecycle import (
    DORMANT_ONLY,
    MULTI_DAY,
    QUANTITY_RULES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Refusal,
    allowed_exec_types,
    explain,
    is_closed,
    is_overfill,
    judge,
    mermaid_diagram,
)

D = Decimal
S = OrderStatus
X = ExecType
QTY = D(100)
PX = D(10)


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """The facts the judge reads, and a fold of accepted reports over them (what the book does)."""

    status: OrderStatus
    cum_qty: Decimal = ZERO
    leaves_qty: Decimal = QTY
    order_qty: Decimal = QTY
    symbol: str = "AAPL"
    side: Side = Side.BUY
    time_in_force: TimeInForce = TimeInForce.DAY
    executions: tuple[tuple[str, Decimal, Decimal], ...] = ()

    def after(self, report: ExecutionReport, status: OrderStatus) -> Order:
        executions = self.executions
        x = report.exec_type
        if x is X.TRADE:
            executions = (*executions, (report.exec_id, report.last_qty, report.last_px or PX))
        elif x is X.TRADE_CANCEL:
            executions = tuple(e for e in executions if e[0] != report.exec_ref_id)
        elif x is X.TRADE_CORRECT:
            executions = tuple(
                (report.exec_id, report.last_qty, report.last_px or PX)
                if e[0] == report.exec_ref_id
                else e
                for e in executions
            )
        if x in (X.CANCEL_REJECTED, X.REPLACE_REJECTED):
            return replace(self, status=status)
        return replace(
            self,
            status=status,
            cum_qty=report.cum_qty,
            leaves_qty=report.leaves_qty,
            order_qty=report.order_qty,
            executions=executions,
        )


def rpt(
    exec_type: ExecType,
    status: OrderStatus,
    cum: Decimal | int,
    leaves: Decimal | int,
    *,
    qty: Decimal | int = QTY,
    last: Decimal | int = 0,
    px: Decimal | None = None,
    n: int = 9,
    **kw: object,
) -> ExecutionReport:
    if px is None and exec_type in (X.TRADE, X.TRADE_CORRECT, X.STOPPED) and last:
        px = PX
    return ExecutionReport(
        exec_id=f"o-1:{n}",
        client_order_id="o-1",
        exec_type=exec_type,
        status=status,
        symbol="AAPL",
        side=Side.BUY,
        order_qty=D(qty),
        cum_qty=D(cum),
        leaves_qty=D(leaves),
        last_qty=D(last),
        last_px=px,
        **kw,  # type: ignore[arg-type]
    )


def working(status: OrderStatus, cum: int, execs: tuple[int, ...] = ()) -> Order:
    executions = tuple((f"o-1:e{i}", D(q), PX) for i, q in enumerate(execs))
    return Order(status=status, cum_qty=D(cum), leaves_qty=QTY - cum, executions=executions)


def closed(status: OrderStatus, cum: int, execs: tuple[int, ...] = ()) -> Order:
    return replace(working(status, cum, execs), leaves_qty=D(0))


# ----------------------------------------------------------------------------- every pair
# For each status, the orders the search starts from (different fills and times in force).
BEFORE: dict[OrderStatus, tuple[Order, ...]] = {
    S.PENDING_NEW: (working(S.PENDING_NEW, 0),),
    S.NEW: (working(S.NEW, 0),),
    S.PARTIALLY_FILLED: (
        working(S.PARTIALLY_FILLED, 40, (40,)),
        working(S.PARTIALLY_FILLED, 40, (10, 30)),
    ),
    S.FILLED: (closed(S.FILLED, 100, (40, 60)), closed(S.FILLED, 100, (100,))),
    S.PENDING_CANCEL: (
        working(S.PENDING_CANCEL, 40, (40,)),
        working(S.PENDING_CANCEL, 0),
        working(S.PENDING_CANCEL, 100, (40, 60)),
    ),
    S.PENDING_REPLACE: (
        working(S.PENDING_REPLACE, 40, (40,)),
        working(S.PENDING_REPLACE, 0),
        working(S.PENDING_REPLACE, 100, (40, 60)),
    ),
    S.CANCELED: (closed(S.CANCELED, 40, (40,)), closed(S.CANCELED, 40, (10, 30))),
    S.EXPIRED: (closed(S.EXPIRED, 40, (40,)), closed(S.EXPIRED, 40, (10, 30))),
    S.REJECTED: (closed(S.REJECTED, 0),),
    S.DONE_FOR_DAY: (
        closed(S.DONE_FOR_DAY, 40, (10, 30)),
        replace(working(S.DONE_FOR_DAY, 40, (10, 30)), time_in_force=TimeInForce.GTC),
        replace(working(S.DONE_FOR_DAY, 0), time_in_force=TimeInForce.GTC),
    ),
    S.STOPPED: (working(S.STOPPED, 40, (40,)), working(S.STOPPED, 0)),
    S.SUSPENDED: (working(S.SUSPENDED, 40, (40,)), working(S.SUSPENDED, 0)),
}


def candidates(order: Order, exec_type: ExecType, to: OrderStatus) -> list[ExecutionReport]:
    """Reports of `exec_type` with status `to` on `order`: every plausible combination of
    quantities (sound ones among them when any exists)."""
    cum = order.cum_qty
    moves: list[tuple[Decimal, Decimal, str | None, Decimal | None]] = []  # cum, last, ref, px
    if exec_type is X.TRADE:
        for last in (D(10), QTY - cum, D(5)):
            if last > 0:
                moves.append((cum + last, last, None, PX))
    elif exec_type in (X.TRADE_CANCEL, X.TRADE_CORRECT):
        for ref, q, _ in order.executions:
            if exec_type is X.TRADE_CANCEL:
                moves.append((cum - q, D(0), ref, None))
            else:
                for new in (q - 5, q + 5, q + QTY - cum):
                    if new > 0:
                        moves.append((cum - q + new, new, ref, PX))
    elif exec_type is X.STOPPED:
        moves.extend([(cum, D(0), None, None), (cum, D(10), None, D("10.1"))])
    else:
        moves.append((cum, D(0), None, None))
    quantities = [order.order_qty]
    if exec_type in (X.REPLACED, X.RESTATED):
        quantities += [D(120), D(80), cum] if cum else [D(120), D(80)]
    out = []
    for (new_cum, last, ref, px), qty in itertools.product(moves, quantities):
        if qty <= 0:
            continue
        for leaves in {D(0), qty - new_cum}:
            out.append(
                rpt(exec_type, to, new_cum, leaves, qty=qty, last=last, px=px, exec_ref_id=ref)
            )
    return out


def fix_invariants(order: Order, report: ExecutionReport, status: OrderStatus) -> list[str]:
    """The FIX invariants, written again independently of the judge."""
    problems = []
    cum, qty, leaves = report.cum_qty, report.order_qty, report.leaves_qty
    day_done = status is S.DONE_FOR_DAY and order.time_in_force not in MULTI_DAY
    if status in CLOSED_STATUSES or day_done:
        if leaves != 0:
            problems.append("closed with leaves")
    elif leaves != qty - cum:
        problems.append("working leaves != qty - cum")
    if not 0 <= cum <= qty:
        problems.append("cum out of range")
    if status is S.FILLED and cum != qty:
        problems.append("filled without cum = qty")
    if status in (S.REJECTED, S.NEW, S.PENDING_NEW) and cum != 0:
        problems.append(f"{status.value} with cum")
    if report.exec_type is X.TRADE and report.last_qty <= 0:
        problems.append("trade without last qty")
    if report.exec_type is X.TRADE and cum != order.cum_qty + report.last_qty:
        problems.append("trade moved cum by other than last qty")
    if cum < order.cum_qty and report.exec_type not in (X.TRADE_CANCEL, X.TRADE_CORRECT):
        problems.append("cum decreased without a bust or correct")
    if report.exec_type not in (X.TRADE, X.TRADE_CANCEL, X.TRADE_CORRECT) and cum != order.cum_qty:
        problems.append("non-trade moved cum")
    was_closed = is_closed(order.status, order.leaves_qty)
    if was_closed and status is not order.status:
        bust = report.exec_type in (X.TRADE_CANCEL, X.TRADE_CORRECT)
        if not (order.status is S.FILLED and bust and status in (S.PARTIALLY_FILLED, S.NEW)):
            problems.append(f"closed {order.status.value} became {status.value}")
    return problems


PAIRS = list(itertools.product(OrderStatus, ExecType))


@pytest.mark.parametrize(
    ("before", "exec_type"), PAIRS, ids=[f"{s.value}-{x.value}" for s, x in PAIRS]
)
def test_every_status_and_exec_type_pair(before: OrderStatus, exec_type: ExecType) -> None:
    allowed = TRANSITIONS.get((before, exec_type), ())
    for to in OrderStatus:
        accepted = []
        for order in BEFORE[before]:
            for report in candidates(order, exec_type, to):
                verdict = judge(order, report)
                assert verdict == explain(order, report)  # the fast path agrees with the full one
                unknown_reject = (
                    exec_type in (X.CANCEL_REJECTED, X.REPLACE_REJECTED) and to is S.REJECTED
                )
                if isinstance(verdict, Refusal):
                    assert verdict.rules, verdict
                    assert set(verdict.rules) <= {"transition", *QUANTITY_RULES}
                    if to not in allowed:
                        assert verdict.rules[0] == "transition"
                    continue
                if unknown_reject:
                    assert verdict is before  # the broker does not know it: nothing changes
                    if to in allowed:
                        accepted.append(report)
                    continue
                assert to in allowed, f"{before.value} --{exec_type.value}--> {to.value} accepted"
                assert verdict is to
                if not is_overfill(order, report):
                    assert fix_invariants(order, report, to) == [], report
                accepted.append(report)
        if to in allowed:
            assert accepted, (
                f"no sound report found for {before.value} --{exec_type.value}--> {to.value}"
            )


def test_the_table_covers_every_status_and_marks_the_terminal_ones() -> None:
    assert {s for s, _ in TRANSITIONS} == set(OrderStatus)
    assert TERMINAL_STATUSES == CLOSED_STATUSES
    for status in OrderStatus:
        assert allowed_exec_types(status), status
    for (source, _), targets in TRANSITIONS.items():
        assert targets, source
        assert len(set(targets)) == len(targets)
        if source in TERMINAL_STATUSES:
            # a terminal status goes nowhere else, but for the bust/correct of a filled order
            assert set(targets) <= {source, S.PARTIALLY_FILLED, S.NEW}
    assert {s for s, _ in DORMANT_ONLY} == {S.DONE_FOR_DAY}
    assert set(TRANSITIONS) >= DORMANT_ONLY


def test_mermaid_diagram_has_an_edge_for_every_row() -> None:
    diagram = mermaid_diagram()
    assert diagram.startswith("stateDiagram-v2\n    [*] --> pending_new\n")
    for (source, exec_type), targets in TRANSITIONS.items():
        for target in targets:
            line = next(
                line
                for line in diagram.splitlines()
                if line.startswith(f"    {source.value} --> {target.value}:")
            )
            assert exec_type.value in line.partition(": ")[2].split(", ")
    for status in TERMINAL_STATUSES | {S.DONE_FOR_DAY}:
        assert f"    {status.value} --> [*]" in diagram


# ----------------------------------------------------------------------------- named contradictions

PF = working(S.PARTIALLY_FILLED, 40, (40,))
NEW = working(S.NEW, 0)
CONTRADICTIONS = [
    ("trade_with_status_new", NEW, rpt(X.TRADE, S.NEW, 30, 70, last=30), "transition"),
    (
        "filled_with_cum_40_of_100_leaves_0",
        PF,
        rpt(X.TRADE, S.FILLED, 40, 0, last=0),
        "trade_moves_cum",
    ),
    (
        "filled_cum_40_after_a_trade",
        NEW,
        rpt(X.TRADE, S.FILLED, 40, 0, last=40),
        "status_matches_cum",
    ),
    (
        "canceled_exec_type_with_open_status",
        PF,
        rpt(X.CANCELED, S.PARTIALLY_FILLED, 40, 60),
        "transition",
    ),
    ("pending_new_after_fills", PF, rpt(X.PENDING_NEW, S.PENDING_NEW, 0, 100), "transition"),
    ("new_after_fills_regresses_cum", PF, rpt(X.NEW, S.NEW, 0, 100), "transition"),
    (
        "late_fill_after_canceled",
        closed(S.CANCELED, 40, (40,)),
        rpt(X.TRADE, S.CANCELED, 80, 0, last=40),
        "transition",
    ),
    (
        "filled_rewritten_canceled",
        closed(S.FILLED, 100, (100,)),
        rpt(X.CANCELED, S.CANCELED, 100, 0),
        "transition",
    ),
    (
        "rejected_rewritten_expired",
        closed(S.REJECTED, 0),
        rpt(X.EXPIRED, S.EXPIRED, 0, 0),
        "transition",
    ),
    ("ack_reopens_canceled", closed(S.CANCELED, 0), rpt(X.NEW, S.NEW, 0, 100), "transition"),
    (
        "pending_cancel_reopens_filled",
        closed(S.FILLED, 100, (100,)),
        rpt(X.PENDING_CANCEL, S.PENDING_CANCEL, 100, 0),
        "transition",
    ),
    (
        "replaced_reopens_expired",
        closed(S.EXPIRED, 0),
        rpt(X.REPLACED, S.NEW, 0, 120, qty=120),
        "transition",
    ),
    ("rejected_with_fills", PF, rpt(X.REJECTED, S.REJECTED, 40, 0), "transition"),
    (
        "working_leaves_wrong",
        NEW,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 30, 60, last=30),
        "leaves_while_working",
    ),
    ("closed_with_leaves", PF, rpt(X.CANCELED, S.CANCELED, 40, 60), "leaves_when_closed"),
    ("trade_without_last_qty", PF, rpt(X.TRADE, S.PARTIALLY_FILLED, 40, 60), "trade_moves_cum"),
    (
        "trade_moves_cum_by_other_than_last",
        PF,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 70, 30, last=20),
        "trade_moves_cum",
    ),
    (
        "resent_trade_below_the_books_cum",
        PF,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 20, 80, last=20, poss_resend=True),
        "trade_moves_cum",
    ),
    ("ack_moves_cum", NEW, rpt(X.NEW, S.PARTIALLY_FILLED, 30, 70), "transition"),
    (
        "cancel_reject_reveals_unseen_fill",
        NEW,
        rpt(X.CANCEL_REJECTED, S.FILLED, 100, 0),
        "transition",
    ),
    (
        "status_reply_with_other_cum",
        PF,
        rpt(X.ORDER_STATUS, S.PARTIALLY_FILLED, 50, 50),
        "non_trade_keeps_cum",
    ),
    (
        "bust_of_unknown_execution",
        PF,
        rpt(X.TRADE_CANCEL, S.NEW, 0, 100, exec_ref_id="o-1:zz"),
        "bust_names_execution",
    ),
    ("bust_without_exec_ref", PF, rpt(X.TRADE_CANCEL, S.NEW, 0, 100), "bust_names_execution"),
    (
        "bust_by_the_wrong_amount",
        PF,
        rpt(X.TRADE_CANCEL, S.PARTIALLY_FILLED, 10, 90, exec_ref_id="o-1:e0"),
        "bust_moves_cum",
    ),
    ("other_symbol", NEW, replace(rpt(X.NEW, S.NEW, 0, 100), symbol="MSFT"), "order_identity"),
    ("other_side", NEW, replace(rpt(X.NEW, S.NEW, 0, 100), side=Side.SELL), "order_identity"),
    ("qty_changed_by_an_ack", NEW, rpt(X.NEW, S.NEW, 0, 50, qty=50), "order_identity"),
    (
        "day_order_done_for_day_restated",
        closed(S.DONE_FOR_DAY, 40, (40,)),
        rpt(X.RESTATED, S.PARTIALLY_FILLED, 40, 60),
        "dormant_only",
    ),
    (
        "day_order_done_for_day_keeps_leaves",
        PF,
        rpt(X.DONE_FOR_DAY, S.DONE_FOR_DAY, 40, 60),
        "leaves_when_closed",
    ),
    ("overfill_with_leaves_0", PF, rpt(X.TRADE, S.FILLED, 110, 0, last=70), "cum_within_order_qty"),
    (
        "canceled_complete_order",
        working(S.PENDING_CANCEL, 100, (100,)),
        rpt(X.CANCELED, S.CANCELED, 100, 0),
        "status_matches_cum",
    ),
]


@pytest.mark.parametrize(
    ("order", "report", "rule"), [c[1:] for c in CONTRADICTIONS], ids=[c[0] for c in CONTRADICTIONS]
)
def test_contradictory_reports_are_refused_naming_the_rule(
    order: Order, report: ExecutionReport, rule: str
) -> None:
    verdict = judge(order, report)
    assert isinstance(verdict, Refusal)
    assert rule in verdict.rules
    payload = verdict.to_payload()
    assert payload["from_status"] == order.status.value
    assert payload["to_status"] == report.status.value
    assert payload["exec_type"] == report.exec_type.value
    assert payload["values"]["cum_qty"] == str(report.cum_qty)  # type: ignore[index]
    assert payload["values"]["previous_cum_qty"] == str(order.cum_qty)  # type: ignore[index]
    assert len(verdict.problems) == len(verdict.rules)
    assert verdict.detail.startswith(f"o-1 {report.exec_id}: {report.exec_type.value} ")


def test_an_honest_overfill_is_adopted_and_recognised() -> None:
    report = rpt(X.TRADE, S.FILLED, 120, -20, last=80)
    assert judge(PF, report) is S.FILLED
    assert is_overfill(PF, report)
    assert not is_overfill(
        closed(S.CANCELED, 40, (40,)), rpt(X.TRADE, S.CANCELED, 120, -20, last=80)
    )


def test_a_cancel_reject_for_an_order_the_broker_does_not_know_changes_nothing() -> None:
    unknown = ExecutionReport(
        exec_id="o-1:unknown:1",
        client_order_id="o-1",
        exec_type=X.CANCEL_REJECTED,
        status=S.REJECTED,
        symbol="",
        side=Side.BUY,
        order_qty=D(0),
        cum_qty=D(0),
        leaves_qty=D(0),
    )
    for status, orders in BEFORE.items():
        for order in orders:
            assert judge(order, unknown) is status


# ----------------------------------------------------------------------------- Appendix D paths


def play(order: Order, reports: list[ExecutionReport]) -> Order:
    for report in reports:
        verdict = judge(order, report)
        assert not isinstance(verdict, Refusal), verdict.detail
        assert verdict is report.status or report.exec_type in (
            X.CANCEL_REJECTED,
            X.REPLACE_REJECTED,
        )
        order = order.after(report, verdict)
    return order


def q(n: int) -> Decimal:
    return D(n)


def fix(exec_type, status, qty, cum, leaves, last=0, px=None, n=1, **kw):
    return rpt(exec_type, status, cum, leaves, qty=qty, last=last, px=px, n=n, **kw)


APPENDIX_D = {
    # A.1.b part-filled day order, done for day
    "A.1.b": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 2000, 8000, 2000, n=2),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 3000, 7000, 1000, n=3),
            fix(X.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 3000, 0, n=4),
        ],
    ),
    # B.1.c cancel request for an order that fills before the cancel is accepted
    "B.1.c": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 2000, 8000, 2000, n=2),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 5000, 5000, 3000, n=3),
            fix(X.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 5000, 5000, n=4),
            fix(X.TRADE, S.PENDING_CANCEL, 10000, 10000, 0, 5000, n=5),
            fix(X.CANCEL_REJECTED, S.FILLED, 10000, 10000, 0, n=6),
        ],
    ),
    # C.3.b replace down to exactly cum: filled
    "C.3.b": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 7000, 3000, 7000, n=2),
            fix(X.REPLACED, S.FILLED, 7000, 7000, 0, n=3),
        ],
    ),
    # D.1.a two replaces, fills interleaved
    "D.1.a": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 1000, 9000, 1000, n=2),
            fix(X.PENDING_REPLACE, S.PENDING_REPLACE, 10000, 1000, 9000, n=3),
            fix(X.TRADE, S.PENDING_REPLACE, 10000, 1500, 8500, 500, n=4),
            fix(X.REPLACED, S.PARTIALLY_FILLED, 8000, 1500, 6500, n=5),
            fix(X.TRADE, S.PARTIALLY_FILLED, 8000, 3500, 4500, 2000, n=6),
            fix(X.PENDING_REPLACE, S.PENDING_REPLACE, 8000, 3500, 4500, n=7),
            fix(X.TRADE, S.PENDING_REPLACE, 8000, 4000, 4000, 500, n=8),
            fix(X.REPLACED, S.PARTIALLY_FILLED, 6000, 4000, 2000, n=9),
            fix(X.TRADE, S.FILLED, 6000, 6000, 0, 2000, n=10),
        ],
    ),
    # E.1.d unsolicited reduction of order qty
    "E.1.d": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.RESTATED, S.NEW, 9000, 0, 9000, n=2),
            fix(X.TRADE, S.FILLED, 9000, 9000, 0, 9000, n=3),
        ],
    ),
    # F.1.b PossResend answered with a status report, a duplicate ClOrdID rejected
    "F.1.b": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.ORDER_STATUS, S.NEW, 10000, 0, 10000, n=2),
            fix(X.REJECTED, S.NEW, 10000, 0, 10000, n=3, reason="duplicate order"),
        ],
    ),
    # H.1.c GTC partially filled, done for day, restated, canceled the next day
    "H.1.c": (
        TimeInForce.GTC,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 2000, 8000, 2000, n=2),
            fix(X.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 2000, 8000, n=3),
            fix(X.RESTATED, S.PARTIALLY_FILLED, 10000, 2000, 8000, n=4),
            fix(X.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 2000, 8000, n=5),
            fix(X.CANCELED, S.CANCELED, 10000, 2000, 0, n=6),
        ],
    ),
    # J.1.a filled, then busts and corrections, then a fill again
    "J.1.a": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000, n=2),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 1000, 9000, 1000, D(100), n=3),
            fix(X.TRADE, S.FILLED, 10000, 10000, 0, 9000, D(110), n=4),
            fix(X.TRADE_CANCEL, S.PARTIALLY_FILLED, 10000, 9000, 1000, n=5, exec_ref_id="o-1:3"),
            fix(
                X.TRADE_CORRECT,
                S.PARTIALLY_FILLED,
                10000,
                9000,
                1000,
                9000,
                D(100),
                n=6,
                exec_ref_id="o-1:4",
            ),
            fix(X.TRADE, S.FILLED, 10000, 10000, 0, 1000, D(120), n=7),
            fix(X.TRADE_CORRECT, S.FILLED, 10000, 10000, 0, 9000, D(120), n=8, exec_ref_id="o-1:6"),
        ],
    ),
    # J.1.b canceled, then a bust (the late fill after it is refused: see below)
    "J.1.b": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 5000, 5000, 5000, D(50), n=2),
            fix(X.PENDING_CANCEL, S.PENDING_CANCEL, 10000, 5000, 5000, n=3),
            fix(X.CANCELED, S.CANCELED, 10000, 5000, 0, n=4),
            fix(X.TRADE_CANCEL, S.CANCELED, 10000, 0, 0, n=5, exec_ref_id="o-1:2"),
        ],
    ),
    # J.1.d done for day, then a correction and a bust
    "J.1.d": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.TRADE, S.PARTIALLY_FILLED, 10000, 5000, 5000, 5000, D(50), n=2),
            fix(X.DONE_FOR_DAY, S.DONE_FOR_DAY, 10000, 5000, 0, n=3),
            fix(
                X.TRADE_CORRECT,
                S.DONE_FOR_DAY,
                10000,
                4000,
                0,
                4000,
                D(50),
                n=4,
                exec_ref_id="o-1:2",
            ),
            fix(X.TRADE_CANCEL, S.DONE_FOR_DAY, 10000, 0, 0, n=5, exec_ref_id="o-1:4"),
        ],
    ),
    # L.1.a guaranteed execution (Stopped), then fills
    "L.1.a": (
        TimeInForce.DAY,
        [
            fix(X.NEW, S.NEW, 10000, 0, 10000),
            fix(X.STOPPED, S.STOPPED, 10000, 0, 10000, 1000, D("50.10"), n=2),
            fix(X.TRADE, S.STOPPED, 10000, 1000, 9000, 1000, D(50), n=3),
        ],
    ),
}


@pytest.mark.parametrize("matrix", sorted(APPENDIX_D))
def test_appendix_d_paths_are_accepted_row_by_row(matrix: str) -> None:
    tif, reports = APPENDIX_D[matrix]
    start = Order(status=S.PENDING_NEW, order_qty=q(10000), leaves_qty=q(10000), time_in_force=tif)
    end = play(start, reports)
    assert end.status is reports[-1].status or matrix == "B.1.c"


def test_a_late_fill_after_canceled_is_refused_j1b_row_8() -> None:
    _, reports = APPENDIX_D["J.1.b"]
    start = Order(status=S.PENDING_NEW, order_qty=q(10000), leaves_qty=q(10000))
    order = play(start, reports)
    late = fix(X.TRADE, S.CANCELED, 10000, 4000, 0, 4000, D(51), n=6)
    verdict = judge(order, late)
    assert isinstance(verdict, Refusal)
    assert verdict.rules[0] == "transition"


# ----------------------------------------------------------------------------- hypothesis


@st.composite
def report_for(draw: st.DrawFn, order: Order, n: int) -> ExecutionReport:
    """A report about `order`: mostly one the table could accept, sometimes any."""
    if draw(st.integers(0, 4)) == 0:
        exec_type = draw(st.sampled_from(ExecType))
        to = draw(st.sampled_from(OrderStatus))
    else:
        exec_types = allowed_exec_types(order.status)
        exec_type = draw(st.sampled_from(exec_types))
        to = draw(st.sampled_from(TRANSITIONS[(order.status, exec_type)]))
    options = candidates(order, exec_type, to) if draw(st.booleans()) else []
    if options:
        report = options[draw(st.integers(0, len(options) - 1))]
    else:
        cum = draw(st.sampled_from([D(0), D(10), D(40), D(60), D(100), D(110)]))
        leaves = draw(st.sampled_from([D(0), QTY - cum, D(10)]))
        last = draw(st.sampled_from([D(0), D(10), D(40), D(-5)]))
        refs = [e[0] for e in order.executions] or ["x"]
        ref = draw(st.none() | st.sampled_from(refs))
        report = rpt(exec_type, to, cum, leaves, last=last, exec_ref_id=ref)
    return replace(report, exec_id=f"o-1:{n}")


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from(list(TimeInForce)))
def test_property_accepted_sequences_keep_every_fix_invariant(
    data: st.DataObject, tif: TimeInForce
) -> None:
    order = Order(status=S.PENDING_NEW, time_in_force=tif)
    for n in range(12):  # bounded
        report = data.draw(report_for(order, n), label=f"report {n}")
        verdict = judge(order, report)
        assert verdict == explain(order, report)
        if isinstance(verdict, Refusal):
            continue  # the order is unchanged: the fold below is skipped
        unknown_reject = (
            report.exec_type in (X.CANCEL_REJECTED, X.REPLACE_REJECTED)
            and report.status is S.REJECTED
        )
        if unknown_reject:
            assert verdict is order.status
            continue
        if not is_overfill(order, report):
            assert fix_invariants(order, report, verdict) == []
        else:
            assert verdict in (S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE)
        was_closed = is_closed(order.status, order.leaves_qty)
        new = order.after(report, verdict)
        if was_closed and is_closed(new.status, new.leaves_qty):
            assert new.status is order.status, "a closed status is never rewritten"
        if was_closed and not is_closed(new.status, new.leaves_qty):
            assert order.status is S.FILLED
            assert report.exec_type in (X.TRADE_CANCEL, X.TRADE_CORRECT)
        # the standing executions add up to cum: a bust or correction moves both alike
        assert sum((e[1] for e in new.executions), D(0)) == new.cum_qty
        order = new


# ----------------------------------------------------------------------------- what a refusal says
# The refusal is the audit record of a breach (`execution_reports_sound`): its payload keys, its
# values and its sentences are what an operator and `audit verify` read, so they are pinned whole.


def test_a_refusal_payload_is_the_whole_record_with_every_value_as_text() -> None:
    order = working(S.PARTIALLY_FILLED, 40, (40,))
    bust = rpt(
        X.TRADE_CANCEL, S.PARTIALLY_FILLED, 10, 90, last=5, px=D("9.5"), exec_ref_id="o-1:e0"
    )
    verdict = judge(order, bust)
    assert isinstance(verdict, Refusal)
    assert verdict.to_payload() == {
        "client_order_id": "o-1",
        "exec_id": "o-1:9",
        "exec_type": "trade_cancel",
        "from_status": "partially_filled",
        "to_status": "partially_filled",
        "rules": ["bust_moves_cum"],
        "problems": [
            "trade_cancel of o-1:e0 (40) with last_qty 5: cum_qty 10, expected 0",
        ],
        "values": {
            "order_qty": "100",
            "cum_qty": "10",
            "leaves_qty": "90",
            "last_qty": "5",
            "previous_cum_qty": "40",
            "previous_order_qty": "100",
            "last_px": "9.5",
            "exec_ref_id": "o-1:e0",
        },
    }
    assert verdict.rule == "bust_moves_cum"
    assert verdict.detail == (
        "o-1 o-1:9: trade_cancel partially_filled -> partially_filled refused: "
        "trade_cancel of o-1:e0 (40) with last_qty 5: cum_qty 10, expected 0"
    )


def test_a_refusal_without_price_or_reference_leaves_both_out_of_its_values() -> None:
    verdict = judge(NEW, rpt(X.NEW, S.NEW, 0, 50, qty=50))
    assert isinstance(verdict, Refusal)
    assert verdict.values == {
        "order_qty": "50",
        "cum_qty": "0",
        "leaves_qty": "50",
        "last_qty": "0",
        "previous_cum_qty": "0",
        "previous_order_qty": "100",
    }


def test_transition_problems_name_the_allowed_statuses_or_say_there_is_no_row() -> None:
    wrong_status = judge(NEW, rpt(X.TRADE, S.NEW, 30, 70, last=30))
    assert isinstance(wrong_status, Refusal)
    assert wrong_status.problems[0] == (
        "an order in status new takes a trade report only with status partially_filled or "
        "filled; this one has new"
    )
    no_row = judge(closed(S.REJECTED, 0), rpt(X.TRADE, S.FILLED, 100, 0, last=100))
    assert isinstance(no_row, Refusal)
    assert no_row.problems[0] == "an order in status rejected takes no trade report"


def test_is_overfill_needs_more_than_the_order_qty_a_real_trade_and_an_open_order() -> None:
    honest = rpt(X.TRADE, S.FILLED, 120, -20, last=80)
    assert is_overfill(PF, honest)
    # exactly the order qty is a plain complete fill, not an overfill
    assert not is_overfill(PF, rpt(X.TRADE, S.FILLED, 100, 0, last=60))
    # a trade of nothing, or at no price, executes nothing
    over = working(S.PENDING_CANCEL, 120, (120,))
    assert not is_overfill(over, rpt(X.TRADE, S.PENDING_CANCEL, 120, -20, last=0, px=PX))
    assert not is_overfill(PF, rpt(X.TRADE, S.FILLED, 120, -20, last=80, px=D(0)))
    # a GTC order done for the day keeps its leaves, so it is open: an overfill of it is one
    dormant_gtc = replace(working(S.DONE_FOR_DAY, 40, (40,)), time_in_force=TimeInForce.GTC)
    assert is_overfill(dormant_gtc, honest)
    # a DAY order done for the day is closed: nothing above its qty is an overfill of it
    assert not is_overfill(closed(S.DONE_FOR_DAY, 40, (40,)), honest)


def test_mermaid_diagram_is_the_edges_then_the_final_states_one_per_line() -> None:
    diagram = mermaid_diagram()
    assert diagram.endswith("\n    done_for_day --> [*]\n")
    assert not diagram.endswith("\n\n")
    assert "XX" not in diagram


# ----------------------------------------------------------------------------- edges of each rule
# Each report sits on the boundary of one rule (a zero that must be positive, a cum one past its
# range, leaves of the wrong sign). judge's fast path and explain must both refuse it, naming the
# rule; a fast path that let one through would adopt a contradictory report.
PF40 = working(S.PARTIALLY_FILLED, 40, (40,))
OVERFILLED = working(S.PENDING_CANCEL, 120, (120,))
EDGES = [
    ("trade_of_nothing", PF40, rpt(X.TRADE, S.PARTIALLY_FILLED, 40, 60, px=PX), "trade_moves_cum"),
    (
        "trade_at_price_zero",
        PF40,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 50, 50, last=10, px=D(0)),
        "trade_moves_cum",
    ),
    (
        "trade_without_price",
        PF40,
        replace(rpt(X.TRADE, S.PARTIALLY_FILLED, 50, 50, last=10), last_px=None),
        "trade_moves_cum",
    ),
    (
        "trade_with_leaves_qty_plus_cum",
        PF40,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 50, 150, last=10),
        "leaves_while_working",
    ),
    (
        "complete_trade_reported_partially_filled",
        PF40,
        rpt(X.TRADE, S.PARTIALLY_FILLED, 100, 0, last=60),
        "status_matches_cum",
    ),
    (
        "bust_of_the_only_fill_reported_partially_filled",
        PF40,
        rpt(X.TRADE_CANCEL, S.PARTIALLY_FILLED, 0, 100, exec_ref_id="o-1:e0"),
        "status_matches_cum",
    ),
    (
        "correction_to_nothing",
        PF40,
        rpt(X.TRADE_CORRECT, S.PARTIALLY_FILLED, 0, 100, px=PX, exec_ref_id="o-1:e0"),
        "bust_moves_cum",
    ),
    (
        "correction_at_price_zero",
        PF40,
        rpt(X.TRADE_CORRECT, S.PARTIALLY_FILLED, 30, 70, last=30, px=D(0), exec_ref_id="o-1:e0"),
        "bust_moves_cum",
    ),
    ("ack_with_last_qty", NEW, rpt(X.NEW, S.NEW, 0, 100, last=5, px=PX), "non_trade_keeps_cum"),
    (
        "replace_to_qty_zero",
        working(S.PENDING_REPLACE, 0),
        rpt(X.REPLACED, S.NEW, 0, 0, qty=0),
        "order_identity",
    ),
    (
        "status_reply_on_an_overfilled_order",
        OVERFILLED,
        rpt(X.ORDER_STATUS, S.PENDING_CANCEL, 120, -20),
        "cum_within_order_qty",
    ),
    # facts no session's book holds, but judge is a pure function of them: the fast path must
    # never accept what explain, the reference, refuses
    (
        "pending_new_with_cum_reported_new",
        working(S.PENDING_NEW, 40),
        rpt(X.ORDER_STATUS, S.NEW, 40, 60),
        "status_matches_cum",
    ),
    (
        "partially_filled_without_cum",
        working(S.PARTIALLY_FILLED, 0),
        rpt(X.ORDER_STATUS, S.PARTIALLY_FILLED, 0, 100),
        "status_matches_cum",
    ),
    (
        "order_of_qty_zero",
        replace(working(S.NEW, 0), order_qty=D(0), leaves_qty=D(0)),
        rpt(X.ORDER_STATUS, S.NEW, 0, 0, qty=0),
        "order_identity",
    ),
]


@pytest.mark.parametrize(
    ("order", "report", "rule"), [e[1:] for e in EDGES], ids=[e[0] for e in EDGES]
)
def test_reports_on_the_edge_of_a_rule_are_refused_by_judge_and_explain(
    order: Order, report: ExecutionReport, rule: str
) -> None:
    for verdict in (judge(order, report), explain(order, report)):
        assert isinstance(verdict, Refusal)
        assert rule in verdict.rules


def test_a_non_trade_with_last_qty_names_the_rule_once_and_says_why() -> None:
    verdict = judge(NEW, rpt(X.NEW, S.NEW, 0, 100, last=5, px=PX))
    assert isinstance(verdict, Refusal)
    assert verdict.rules == ("non_trade_keeps_cum",)
    assert verdict.problems == ("new report has last_qty 5 (must be 0)",)
    moved = judge(PF40, rpt(X.NEW, S.PARTIALLY_FILLED, 50, 50))
    assert isinstance(moved, Refusal)
    assert moved.rules == ("non_trade_keeps_cum",)
    assert moved.problems == ("new moves cum_qty from 40 to 50 (missing report?)",)


def test_the_same_reports_one_step_inside_each_edge_are_accepted() -> None:
    assert judge(PF40, rpt(X.TRADE, S.FILLED, 100, 0, last=60)) is S.FILLED
    assert judge(PF40, rpt(X.TRADE_CANCEL, S.NEW, 0, 100, exec_ref_id="o-1:e0")) is S.NEW
    correction = rpt(X.TRADE_CORRECT, S.PARTIALLY_FILLED, 30, 70, last=30, exec_ref_id="o-1:e0")
    assert judge(PF40, correction) is S.PARTIALLY_FILLED
    assert judge(working(S.PENDING_REPLACE, 0), rpt(X.REPLACED, S.NEW, 0, 50, qty=50)) is S.NEW
    assert (
        judge(PF40, rpt(X.TRADE, S.PARTIALLY_FILLED, 50, 50, last=10, px=D("0.01")))
        is S.PARTIALLY_FILLED
    )
