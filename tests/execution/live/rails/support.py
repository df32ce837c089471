"""The full `config.rails` example, shared by the rails and the rails-config tests."""

from __future__ import annotations

FULL_EXAMPLE: dict[str, object] = {
    "restricted": ["GME"],
    "max_order_qty": "1000",
    "max_order_notional": "250000",
    "price_collar_pct": "5",
    "max_reference_age_steps": 10,
    "max_position": "5000",
    "max_gross_exposure": "1000000",
    "max_orders_per_step": 5,
    "max_orders_per_window": {"count": 20, "steps": 10},
    "max_open_orders": 10,
    "self_trade_prevention": True,
    "kill_switch": {"rejections": 3, "window_steps": 5},
    "reference_prices": {"AAPL": "190.10"},
}
