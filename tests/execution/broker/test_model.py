"""report_violations: one row per invariant, sound and broken, with the exact sentences."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecType,
    ExecutionReport,
    NewOrder,
    OrderStatus,
    ReplaceOrder,
    Side,
    StatusRequest,
    TimeInForce,
    report_violations,
)

D = Decimal
E = ExecType
S = OrderStatus


def report(
    exec_type: ExecType, status: OrderStatus, cum: str, leaves: str, **kw
) -> ExecutionReport:
    """A report on an order of 100; `kw` overrides any other field."""
    fields: dict[str, object] = {
        "exec_id": "o-1:1",
        "client_order_id": "o-1",
        "exec_type": exec_type,
        "status": status,
        "symbol": "AAPL",
        "side": Side.BUY,
        "order_qty": D(100),
        "cum_qty": D(cum),
        "leaves_qty": D(leaves),
    }
    fields.update(kw)
    return ExecutionReport(**fields)  # type: ignore[arg-type]


def trade(status: OrderStatus, cum: str, leaves: str, last: str, px: str | None = "10", **kw):
    return report(
        E.TRADE, status, cum, leaves, last_qty=D(last), last_px=None if px is None else D(px), **kw
    )


SOUND = [
    ("pending_new", report(E.NEW, S.PENDING_NEW, "0", "100"), "0"),
    ("ack", report(E.NEW, S.NEW, "0", "100"), "0"),
    ("partial_fill", trade(S.PARTIALLY_FILLED, "30", "70", "30"), "0"),
    ("second_fill", trade(S.FILLED, "100", "0", "70"), "30"),
    ("fill_while_cancel_pending", trade(S.PENDING_CANCEL, "60", "40", "30"), "30"),
    ("complete_fill_while_cancel_pending", trade(S.PENDING_CANCEL, "100", "0", "40"), "60"),
    ("pending_cancel", report(E.PENDING_CANCEL, S.PENDING_CANCEL, "30", "70"), "30"),
    ("canceled_keeps_cum", report(E.CANCELED, S.CANCELED, "30", "0"), "30"),
    ("expired_keeps_cum", report(E.EXPIRED, S.EXPIRED, "30", "0"), "30"),
    ("rejected", report(E.REJECTED, S.REJECTED, "0", "0", reason="no margin"), "0"),
    ("cancel_rejected_filled", report(E.CANCEL_REJECTED, S.FILLED, "100", "0"), "100"),
    ("cancel_rejected_working", report(E.CANCEL_REJECTED, S.PARTIALLY_FILLED, "30", "70"), "30"),
    ("ack_after_fill", report(E.NEW, S.PARTIALLY_FILLED, "30", "70"), "30"),
    ("resent_trade", trade(S.PARTIALLY_FILLED, "30", "70", "30", poss_resend=True), "30"),
    (
        "cancel_rejected_unknown_order",
        report(E.CANCEL_REJECTED, S.REJECTED, "0", "0", order_qty=D(0), symbol=""),
        "0",
    ),
    ("pending_replace", report(E.PENDING_REPLACE, S.PENDING_REPLACE, "30", "70"), "30"),
    ("fill_while_replace_pending", trade(S.PENDING_REPLACE, "60", "40", "30"), "30"),
    (
        "replaced_down_leaves_new_qty",
        report(E.REPLACED, S.PARTIALLY_FILLED, "30", "20", order_qty=D(50)),
        "30",
    ),
    ("replaced_up", report(E.REPLACED, S.PARTIALLY_FILLED, "30", "120", order_qty=D(150)), "30"),
    (
        "replaced_below_cum_filled_at_cum",
        report(E.REPLACED, S.FILLED, "70", "0", order_qty=D(70)),
        "70",
    ),
    ("replace_rejected_filled", report(E.REPLACE_REJECTED, S.FILLED, "100", "0"), "100"),
    (
        "replace_rejected_unknown_order",
        report(E.REPLACE_REJECTED, S.REJECTED, "0", "0", order_qty=D(0), symbol=""),
        "0",
    ),
]


@pytest.mark.parametrize(
    ("report", "previous_cum"), [(r, D(p)) for _, r, p in SOUND], ids=[n for n, _, _ in SOUND]
)
def test_sound_report_has_no_violations(report: ExecutionReport, previous_cum: Decimal) -> None:
    assert report_violations(report, previous_cum) == []


BROKEN = [
    (
        "cum_decreased",
        report(E.NEW, S.PARTIALLY_FILLED, "20", "80"),
        "30",
        ["cum_qty decreased from 30 to 20"],
    ),
    (
        "overfill",
        trade(S.FILLED, "120", "0", "20"),
        "100",
        ["overfill: cum_qty 120 exceeds order_qty 100"],
    ),
    (
        "overfill_honest_leaves",
        trade(S.FILLED, "120", "-20", "50"),
        "70",
        [
            "overfill: cum_qty 120 exceeds order_qty 100",
            "leaves_qty is -20 in closed status filled",
        ],
    ),
    (
        "working_leaves_wrong",
        report(E.NEW, S.NEW, "0", "90"),
        "0",
        ["leaves_qty 90 != order_qty 100 - cum_qty 0"],
    ),
    (
        "pending_cancel_leaves_zero",
        report(E.PENDING_CANCEL, S.PENDING_CANCEL, "30", "0"),
        "30",
        ["leaves_qty 0 != order_qty 100 - cum_qty 30"],
    ),
    (
        "filled_with_leaves",
        trade(S.FILLED, "90", "10", "90"),
        "0",
        ["leaves_qty is 10 in closed status filled"],
    ),
    (
        "canceled_with_leaves",
        report(E.CANCELED, S.CANCELED, "30", "70"),
        "30",
        ["leaves_qty is 70 in closed status canceled"],
    ),
    (
        "expired_with_leaves",
        report(E.EXPIRED, S.EXPIRED, "0", "100"),
        "0",
        ["leaves_qty is 100 in closed status expired"],
    ),
    (
        "rejected_with_leaves",
        report(E.REJECTED, S.REJECTED, "0", "100"),
        "0",
        ["leaves_qty is 100 in closed status rejected"],
    ),
    (
        "rejected_with_cum",
        report(E.REJECTED, S.REJECTED, "30", "0"),
        "30",
        ["rejected order has cum_qty 30"],
    ),
    (
        "trade_zero_last_qty",
        trade(S.PARTIALLY_FILLED, "30", "70", "0"),
        "30",
        ["trade report has last_qty 0"],
    ),
    (
        "trade_negative_last_qty",
        trade(S.PARTIALLY_FILLED, "30", "70", "-5"),
        "30",
        ["trade report has last_qty -5"],
    ),
    (
        "trade_cum_not_previous_plus_last",
        trade(S.PARTIALLY_FILLED, "50", "50", "30"),
        "10",
        ["cum_qty 50 != previous cum_qty 10 + last_qty 30"],
    ),
    (
        "duplicate_trade_without_poss_resend",
        trade(S.PARTIALLY_FILLED, "30", "70", "30"),
        "30",
        ["cum_qty 30 != previous cum_qty 30 + last_qty 30"],
    ),
    (
        "trade_without_last_px",
        trade(S.PARTIALLY_FILLED, "30", "70", "30", px=None),
        "0",
        ["trade report has last_px None"],
    ),
    (
        "trade_zero_last_px",
        trade(S.PARTIALLY_FILLED, "30", "70", "30", px="0"),
        "0",
        ["trade report has last_px 0"],
    ),
    (
        "trade_negative_last_px",
        trade(S.PARTIALLY_FILLED, "30", "70", "30", px="-1"),
        "0",
        ["trade report has last_px -1"],
    ),
    (
        "non_trade_with_last_qty",
        report(E.CANCELED, S.CANCELED, "30", "0", last_qty=D(30)),
        "30",
        ["non-trade report (canceled) has last_qty 30"],
    ),
    (
        "replaced_leaves_against_the_old_qty",
        report(E.REPLACED, S.PARTIALLY_FILLED, "30", "70", order_qty=D(50)),
        "30",
        ["leaves_qty 70 != order_qty 50 - cum_qty 30"],
    ),
    (
        "replaced_below_cum_without_lowering_order_qty",
        report(E.REPLACED, S.PARTIALLY_FILLED, "70", "-20", order_qty=D(50)),
        "70",
        ["overfill: cum_qty 70 exceeds order_qty 50"],
    ),
    (
        "several_at_once",
        report(E.REJECTED, S.REJECTED, "20", "5", last_qty=D(1)),
        "30",
        [
            "cum_qty decreased from 30 to 20",
            "leaves_qty is 5 in closed status rejected",
            "rejected order has cum_qty 20",
            "non-trade report (rejected) has last_qty 1",
        ],
    ),
]


@pytest.mark.parametrize(
    ("report", "previous_cum", "expected"),
    [(r, D(p), e) for _, r, p, e in BROKEN],
    ids=[n for n, _, _, _ in BROKEN],
)
def test_broken_report_names_each_violation(
    report: ExecutionReport, previous_cum: Decimal, expected: list[str]
) -> None:
    assert report_violations(report, previous_cum) == expected


def test_previous_cum_defaults_to_zero() -> None:
    assert report_violations(trade(S.PARTIALLY_FILLED, "30", "70", "30")) == []
    assert report_violations(trade(S.PARTIALLY_FILLED, "60", "40", "30")) == [
        "cum_qty 60 != previous cum_qty 0 + last_qty 30"
    ]


def test_limit_price_is_in_the_payload_only_when_set() -> None:
    plain = report(E.NEW, S.NEW, "0", "100")
    assert "limit_price" not in plain.to_payload()
    replaced = report(E.REPLACED, S.NEW, "0", "50", order_qty=D(50), limit_price=D("99.50"))
    assert replaced.to_payload()["limit_price"] == "99.50"
    assert replaced.to_payload()["order_qty"] == "50"


def test_the_package_exports_the_new_names() -> None:
    import peak_trade.execution.broker as broker

    for name in (
        "ReplaceOrder",
        "ReplaceBehaviour",
        "SilentFill",
        "UnsolicitedReport",
        "PositionDrift",
        "GatewayRestart",
    ):
        assert name in broker.__all__
        assert getattr(broker, name) is not None
    assert broker.ReplaceOrder in broker.BrokerCommand.__args__
    assert hasattr(broker.BrokerAdapter, "replace")


# ----------------------------------------------------------------------------- FIX vocabulary


def test_fix_fields_are_in_the_payload_only_when_set() -> None:
    plain = report(E.TRADE, S.PARTIALLY_FILLED, "30", "70", last_qty=D(30), last_px=D(10))
    payload = plain.to_payload()
    for name in (
        "exec_ref_id",
        "orig_client_order_id",
        "time_in_force",
        "day_order_qty",
        "day_cum_qty",
        "poss_resend",
    ):
        assert name not in payload
    busted = report(
        E.TRADE_CANCEL,
        S.NEW,
        "0",
        "100",
        exec_ref_id="o-1:2",
        orig_client_order_id="o-0",
        time_in_force=TimeInForce.GTC,
        day_order_qty=D(80),
        day_cum_qty=D(0),
        poss_resend=True,
    ).to_payload()
    assert (busted["exec_type"], busted["exec_ref_id"], busted["orig_client_order_id"]) == (
        "trade_cancel",
        "o-1:2",
        "o-0",
    )
    assert (busted["time_in_force"], busted["day_order_qty"], busted["day_cum_qty"]) == (
        "gtc",
        "80",
        "0",
    )
    assert busted["poss_resend"] is True


def test_commands_carry_time_in_force_resend_and_chained_ids_only_when_set() -> None:
    order = NewOrder(client_order_id="o-1", symbol="AAPL", side=Side.BUY, qty=D(5))
    assert order.to_payload() == {
        "client_order_id": "o-1",
        "symbol": "AAPL",
        "side": "buy",
        "qty": "5",
        "order_type": "market",
    }
    assert order.effective_time_in_force is TimeInForce.DAY
    gtc = NewOrder(
        client_order_id="o-1",
        symbol="AAPL",
        side=Side.BUY,
        qty=D(5),
        time_in_force=TimeInForce.GTC,
        poss_resend=True,
    )
    assert gtc.to_payload()["time_in_force"] == "gtc"
    assert gtc.to_payload()["poss_resend"] is True
    assert gtc.effective_time_in_force is TimeInForce.GTC
    assert CancelOrder(client_order_id="o-1").to_payload() == {"client_order_id": "o-1"}
    assert CancelOrder(client_order_id="o-1", new_client_order_id="o-1b").to_payload() == {
        "client_order_id": "o-1",
        "new_client_order_id": "o-1b",
    }
    assert ReplaceOrder(client_order_id="o-1", new_qty=D(3)).to_payload() == {
        "client_order_id": "o-1",
        "new_qty": "3",
    }
    chained = ReplaceOrder(client_order_id="o-1", new_qty=D(3), new_client_order_id="o-1b")
    assert chained.to_payload()["new_client_order_id"] == "o-1b"


def test_the_vocabulary_covers_the_appendix_d_matrices() -> None:
    assert {s.value for s in OrderStatus} >= {
        "pending_new",
        "new",
        "partially_filled",
        "filled",
        "done_for_day",
        "canceled",
        "pending_cancel",
        "pending_replace",
        "rejected",
        "expired",
        "stopped",
        "suspended",
    }
    assert {e.value for e in ExecType} >= {
        "new",
        "pending_new",
        "trade",
        "trade_cancel",
        "trade_correct",
        "done_for_day",
        "stopped",
        "restated",
        "order_status",
        "pending_cancel",
        "canceled",
        "pending_replace",
        "replaced",
        "rejected",
        "expired",
        "suspended",
    }
    # The status alone does not close a DONE_FOR_DAY order (a GTC one keeps its leaves).
    assert not S.DONE_FOR_DAY.is_closed


# ----------------------------------------------------------------------------- payloads, whole
# A payload is what the audit records of a command or a report (and what the scenario snapshots
# and the evidence digest): every key spelled as docs/audit-format.md names it, every quantity as
# its decimal text, each optional field present exactly when set.


def test_a_report_payload_with_every_field_set_is_the_whole_record() -> None:
    full = ExecutionReport(
        exec_id="o-1:7",
        client_order_id="o-1-r",
        exec_type=E.TRADE_CORRECT,
        status=S.PARTIALLY_FILLED,
        symbol="AAPL",
        side=Side.SELL,
        order_qty=D("100"),
        cum_qty=D("30.5"),
        leaves_qty=D("69.5"),
        last_qty=D("30.5"),
        last_px=D("10.25"),
        avg_px=D("10.125"),
        reason="corrected price",
        poss_resend=True,
        limit_price=D("11"),
        exec_ref_id="o-1:2",
        orig_client_order_id="o-1",
        time_in_force=TimeInForce.GTC,
        day_order_qty=D("80"),
        day_cum_qty=D("10"),
    )
    assert full.to_payload() == {
        "exec_id": "o-1:7",
        "client_order_id": "o-1-r",
        "exec_type": "trade_correct",
        "status": "partially_filled",
        "symbol": "AAPL",
        "side": "sell",
        "order_qty": "100",
        "cum_qty": "30.5",
        "leaves_qty": "69.5",
        "last_qty": "30.5",
        "last_px": "10.25",
        "avg_px": "10.125",
        "reason": "corrected price",
        "poss_resend": True,
        "limit_price": "11",
        "exec_ref_id": "o-1:2",
        "orig_client_order_id": "o-1",
        "time_in_force": "gtc",
        "day_order_qty": "80",
        "day_cum_qty": "10",
    }


def test_a_report_payload_with_nothing_optional_set_has_only_the_required_keys() -> None:
    assert report(E.NEW, S.NEW, "0", "100").to_payload() == {
        "exec_id": "o-1:1",
        "client_order_id": "o-1",
        "exec_type": "new",
        "status": "new",
        "symbol": "AAPL",
        "side": "buy",
        "order_qty": "100",
        "cum_qty": "0",
        "leaves_qty": "100",
        "last_qty": "0",
    }


def test_command_payloads_are_the_whole_request() -> None:
    assert ReplaceOrder(
        client_order_id="o-1", new_qty=D(50), new_limit_price=D("99.5"), new_client_order_id="o-2"
    ).to_payload() == {
        "client_order_id": "o-1",
        "new_qty": "50",
        "new_limit_price": "99.5",
        "new_client_order_id": "o-2",
    }
    assert ReplaceOrder(client_order_id="o-1", new_limit_price=D("99.5")).to_payload() == {
        "client_order_id": "o-1",
        "new_limit_price": "99.5",
    }
    assert StatusRequest(client_order_id="o-1").to_payload() == {"client_order_id": "o-1"}
    assert CancelOrder(client_order_id="o-1").to_payload() == {"client_order_id": "o-1"}
