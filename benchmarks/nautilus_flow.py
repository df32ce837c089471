"""The B1 order flow as a NautilusTrader backtest, in its best case (child side, B2 and B5).

- a simulated venue, OMS HEDGING, a margin account; one quote tick per step;
- one order per tick, alternating buy/sell; each sell names its buy's position, so it closes it;
- market variant: market orders fill on their own tick; limit variant: the quotes alternate
  between two levels so that each passive limit order rests one tick and fills on the next;
- logging bypassed, the risk engine on with its submit throttle lifted, post-run analysis off,
  and the per-closed-position PnL bookkeeping of `PortfolioAnalyzer` (a pandas write per trade,
  the quadratic part in the stock configuration) replaced by a no-op;
- only `engine.run()` is timed (building the engine and the ticks is not).
"""

from __future__ import annotations

import resource
import time

from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, RiskEngineConfig, StrategyConfig
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

VENUE = Venue("SIM")
SECOND_NS = 1_000_000_000
# market: a constant quote. limit: the quotes alternate between HIGH and LOW; a buy limit placed
# on a HIGH tick at MID rests (ask > MID) and fills on the next LOW tick (ask < MID), and a sell
# limit placed on a LOW tick at MID fills on the next HIGH tick (bid > MID).
HIGH = ("1.00010", "1.00012")
LOW = ("0.99994", "0.99996")
MID = "1.00003"


def _disable_trade_recording() -> None:
    """The stock analyzer writes each closed position's PnL into a pandas Series (quadratic)."""
    for name in ("record_trade", "add_trade", "add_return"):
        if hasattr(PortfolioAnalyzer, name):
            setattr(PortfolioAnalyzer, name, lambda self, *args, **kwargs: None)


class FlowConfig(StrategyConfig, frozen=True):
    instrument_id: str
    variant: str = "market"


class AlternatingFlow(Strategy):
    def __init__(self, config: FlowConfig) -> None:
        super().__init__(config)
        self.variant = config.variant
        self.count = 0
        self.open_buy_positions: list = []
        self.unpaired_sells = 0

    def on_start(self) -> None:
        from nautilus_trader.model.identifiers import InstrumentId

        self.instrument_id = InstrumentId.from_str(self.config.instrument_id)
        self.qty = Quantity.from_int(100_000)
        self.mid = Price.from_str(MID)
        self.subscribe_quote_ticks(self.instrument_id)

    def on_position_opened(self, event) -> None:
        if event.entry == OrderSide.BUY:
            self.open_buy_positions.append(event.position_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.count += 1
        buy = self.count % 2 == 1
        side = OrderSide.BUY if buy else OrderSide.SELL
        if self.variant == "market":
            order = self.order_factory.market(self.instrument_id, side, self.qty)
        else:
            order = self.order_factory.limit(self.instrument_id, side, self.qty, self.mid)
        position_id = None
        if not buy:
            if self.open_buy_positions:
                position_id = self.open_buy_positions.pop(0)
            else:
                self.unpaired_sells += 1
        self.submit_order(order, position_id=position_id)


def build_engine(n: int, variant: str) -> tuple[BacktestEngine, AlternatingFlow]:
    _disable_trade_recording()
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(bypass_logging=True),
            risk_engine=RiskEngineConfig(
                bypass=False,
                max_order_submit_rate="100000000/00:00:01",
                max_order_modify_rate="100000000/00:00:01",
            ),
            run_analysis=False,
        )
    )
    engine.add_venue(
        venue=VENUE,
        oms_type=OmsType.HEDGING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(10_000_000_000, USD)],
    )
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD", VENUE)
    engine.add_instrument(instrument)
    engine.add_data(_ticks(instrument.id, n, variant))
    strategy = AlternatingFlow(FlowConfig(instrument_id=str(instrument.id), variant=variant))
    engine.add_strategy(strategy)
    return engine, strategy


def _ticks(instrument_id, n: int, variant: str) -> list[QuoteTick]:
    size = Quantity.from_int(1_000_000_000)
    levels = [tuple(Price.from_str(p) for p in level) for level in (HIGH, LOW)]
    ticks = []
    for i in range(n):
        bid, ask = levels[i % 2 if variant == "limit" else 0]
        ts = (i + 1) * SECOND_NS
        ticks.append(QuoteTick(instrument_id, bid, ask, size, size, ts, ts))
    return ticks


def run_flow(n: int, variant: str = "market") -> dict[str, object]:
    """One timed backtest of n orders (child side)."""
    import nautilus_trader

    engine, strategy = build_engine(n, variant)
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    cache = engine.cache
    orders = len(cache.orders())
    filled = len(cache.orders_closed())
    positions = len(cache.positions())
    closed = len(cache.positions_closed())
    unpaired = strategy.unpaired_sells
    engine.dispose()
    if orders != n:
        raise RuntimeError(f"expected {n} orders, the engine has {orders}")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "orders": orders,
        "filled": filled,
        "positions": positions,
        "positions_closed": closed,
        "unpaired_sells": unpaired,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": nautilus_trader.__version__,
    }


def small_case(orders: int, loops: int) -> dict[str, object]:
    """B5: build the engine, venue, instrument and strategy, run `orders` ticks, dispose; the
    median of `loops` such cases in one process (after one warm-up)."""
    import statistics

    times = []
    for index in range(loops + 1):
        started = time.perf_counter()
        engine, _ = build_engine(orders, "market")
        engine.run()
        engine.dispose()
        if index:
            times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
