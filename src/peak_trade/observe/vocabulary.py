"""The closed label vocabularies of the metrics: every label value is one of these, or `other`.

A label value that came from a record's text could carry anything the record does (an account
id, a note, a secret someone pasted), and every distinct value is a new time series on the
scraper. So no label value is ever copied from a record: `label(vocabulary, value)` returns the
value only when it is a member of a closed set built here from the tables that define the names
(the session states, the order statuses, the rails, the runtime invariants, the reconciler's
difference kinds), and OTHER for anything else. The one exception is the `session` label, which
tells the files of one audit folder apart for a textfile collector: it is the session id only
when it is spelled like a scenario id (lower-case letters, digits, `_` and `-`, at most 64
characters), and OTHER otherwise.
"""

from __future__ import annotations

import re

from peak_trade.execution.broker.model import OrderStatus
from peak_trade.execution.live.checks import RUNTIME_INVARIANTS
from peak_trade.execution.live.rails.rules import RAIL_NAMES
from peak_trade.execution.live.reconcile.compare import DifferenceKind
from peak_trade.execution.live.state import SessionState

__all__ = [
    "INVARIANTS",
    "MISMATCH_KINDS",
    "ORDER_STATUSES",
    "OTHER",
    "RAILS",
    "SESSION_STATES",
    "label",
    "session_label",
]

OTHER = "other"

SESSION_STATES: tuple[str, ...] = tuple(s.value for s in SessionState)
ORDER_STATUSES: tuple[str, ...] = tuple(s.value for s in OrderStatus)
INVARIANTS: tuple[str, ...] = tuple(RUNTIME_INVARIANTS)
MISMATCH_KINDS: tuple[str, ...] = tuple(k.value for k in DifferenceKind)

# The rules a refusal or an automatic kill-switch engagement names (orchestrator.py): the
# pre-trade rails in check order, then the session's own refusals (an audit that cannot record
# the order, an amend of an order in the wrong state), then the controls whose breach engages
# the kill switch (loss limits, the fill throttle). tests/observe/test_vocabulary.py reads every
# rule the orchestrator writes and requires it here.
SESSION_RULES: tuple[str, ...] = ("audit_sink_failed", "order_state")
KILL_SWITCH_RAILS: tuple[str, ...] = ("max_realised_loss", "max_drawdown", "max_fills_per_window")
RAILS: tuple[str, ...] = (*RAIL_NAMES, *SESSION_RULES, *KILL_SWITCH_RAILS)

_SESSION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def label(vocabulary: tuple[str, ...] | frozenset[str], value: object) -> str:
    """`value` when it is a member of `vocabulary`, else OTHER."""
    return value if isinstance(value, str) and value in vocabulary else OTHER


def session_label(session_id: object) -> str:
    """The session id when it is spelled like a scenario id, else OTHER."""
    if isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id):
        return session_id
    return OTHER
