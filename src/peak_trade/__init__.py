"""peak_trade: rehearse a live trading session as a deterministic, audited, mock-only process."""

__version__ = "0.1.0"
