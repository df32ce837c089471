"""The B1 workload: one order per step, alternating buy/sell, acked and filled by the mock broker.

Driven only through the engine's public entry points: SessionConfig.from_mapping, build_session,
MockBroker, parse_broker_spec and the orchestrator's preflight/start/run_n_steps/close.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from peak_trade.execution.broker.fill_script import parse_broker_spec
from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder, OrderType, Side
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.intents import SubmitIntent
from peak_trade.execution.live.session import build_session

SYMBOL = "AAPL"
REFERENCE_PRICE = "190.10"
# Passive limits that never cross each other: a buy at 190.00 and a sell at 190.20.
LIMIT_PRICES = {Side.BUY: Decimal("190.00"), Side.SELL: Decimal("190.20")}
QTY = Decimal(100)
DRAIN_STEPS = 5
# market: ack in the submit step, fill on the next. limit: the order rests one step longer.
SCRIPTS = {"market": ["ack", "fill"], "limit": ["ack", {"wait": 1}, "fill"]}
# Rails stay at their defaults, except self-trade prevention for market orders: a market sell
# always crosses the market buy still resting from the step before (the mock fills one step after
# the ack), so the rail would refuse every sell. Passive limits pass it, so it stays on there.
# Declared unbounded: the benchmark measures the engine with only the always-on rails.
RAILS = {
    "market": {"self_trade_prevention": False, "unbounded": True},
    "limit": {"unbounded": True},
}
AUDIT = {
    "memory": {"sink": "memory"},
    "file": {"sink": "file", "fsync": "never"},
    "file_fsync": {"sink": "file", "fsync": "per_record"},
}


class AlternatingOrders:
    """An IntentSource that builds one order per step when asked: odd steps buy, even steps sell.
    Nothing is precomputed, so the source itself holds no per-order memory."""

    __slots__ = ("_limit",)

    def __init__(self, variant: str) -> None:
        self._limit = variant == "limit"

    def intents_for(self, step: int) -> Sequence[SubmitIntent]:
        side = Side.BUY if step % 2 else Side.SELL
        order = NewOrder(
            client_order_id=f"o-{step}",
            symbol=SYMBOL,
            side=side,
            qty=QTY,
            order_type=OrderType.LIMIT if self._limit else OrderType.MARKET,
            limit_price=LIMIT_PRICES[side] if self._limit else None,
        )
        return (SubmitIntent(order=order),)


def build(n: int, sink: str, variant: str, audit_path: Path | None):
    audit = dict(AUDIT[sink])
    if audit["sink"] == "file":
        audit["path"] = str(audit_path)
    config = SessionConfig.from_mapping(
        {
            "session_id": f"bench-{variant}-{sink}-{n}",
            "allowlist": [SYMBOL],
            "max_steps": n,
            "drain_steps": DRAIN_STEPS,
            "audit": audit,
            "rails": RAILS[variant],
        }
    )
    spec = parse_broker_spec(
        {"reference_prices": {SYMBOL: REFERENCE_PRICE}, "default": SCRIPTS[variant]}
    )
    broker = MockBroker(spec, record_commands=False)
    return build_session(config, broker, AlternatingOrders(variant))


def drive(session, n: int) -> None:
    """The whole session: preflight, start, n steps (the step bound then starts the graceful
    stop), the drain steps, close (which seals a file sink)."""
    session.preflight()
    session.start()
    session.run_n_steps(n)
    session.run_n_steps(DRAIN_STEPS + 1)  # ends early once drained
    session.close()


def run_session(
    n: int, sink: str, variant: str = "market", keep_file: str | None = None
) -> dict[str, object]:
    """One timed session (child side). Times preflight through close; building is excluded."""
    with tempfile.TemporaryDirectory(prefix="peak-bench-") as scratch:
        path = Path(keep_file) if keep_file else Path(scratch) / "audit.jsonl"
        session = build(n, sink, variant, path)
        started, cpu = time.perf_counter(), time.process_time()
        drive(session, n)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        status = session.status()
        file_bytes = path.stat().st_size if sink != "memory" else 0
    state = status.state.value
    if state != "STOPPED" or status.orders_submitted != n or status.fills < n - 2:
        raise RuntimeError(
            f"unexpected session outcome: {state}, {status.orders_submitted} orders, "
            f"{status.fills} fills"
        )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "orders": status.orders_submitted,
        "fills": status.fills,
        "records": status.audit_records,
        "file_bytes": file_bytes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vm_hwm_mb": vm_hwm_mb(),
    }


def vm_hwm_mb() -> float | None:
    """The kernel's peak RSS of this process image (VmHWM), a cross-check of getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
