"""The watch-only status snapshot of one session: what `peak-trade session status` shows.

`session_status(facts)` picks from an `AuditFacts` value (observe/facts.py) what an operator
watching a session asks first: its state and step, what is open, what it holds, what went wrong
last, which rails tripped, the kill switch, the reconciler, and how far the audit chain vouches
for all of it. `SessionStatus.to_json()` is the stable machine form (keys documented in
docs/operator.md, "Session status"; `format` changes when a key does), `to_text()` the human
one. Both are pure: reading the trail is `trail_file.read_trail`, printing is the CLI's.

Lists are bounded as the facts are (the first `limit` items and a count), so a trail with a
hundred thousand open orders still gives a short answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peak_trade.observe.facts import DEFAULT_LIMIT, AuditFacts, BreachFact, KillSwitchEvent

__all__ = ["STATUS_FORMAT", "TEXT_ITEMS", "SessionStatus", "session_status"]

STATUS_FORMAT = 1
TEXT_ITEMS = 10  # ids and symbols the text form lists before "and N more"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStatus:
    """One session's status at the end of its (verified) audit trail."""

    session: str | None
    state: str | None
    step: int
    closed: bool  # the trail ends with session_closed
    live_enabled: bool | None
    open_orders: tuple[str, ...]  # the first `limit`, sorted
    open_orders_total: int
    positions: tuple[tuple[str, Decimal], ...] | None  # None: cannot be derived from the trail
    positions_source: str
    cash: tuple[str, Decimal] | None  # (currency, amount) when the session keeps an account
    last_breach: BreachFact | None
    breaches: int
    rails_tripped: tuple[tuple[str, int], ...]  # (rail or rule, trips), as recorded
    kill_switch_engaged: bool
    kill_switch_engagements: int
    kill_switch_last: KillSwitchEvent | None  # the last engage or re-arm
    reconciler_every_steps: int | None
    reconciler_last_ok_step: int | None
    chain_verified: bool
    chain_sealed: bool | None
    chain_records: int
    chain_head: str
    chain_reason: str | None
    chain_first_bad_line: int | None
    chain_summary: str
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/operator.md); Decimals as strings."""
        breach = self.last_breach
        last = self.kill_switch_last
        return {
            "format": STATUS_FORMAT,
            "session": self.session,
            "state": self.state,
            "step": self.step,
            "closed": self.closed,
            "live_enabled": self.live_enabled,
            "open_orders": {
                "count": self.open_orders_total,
                "ids": list(self.open_orders),
                "omitted": self.open_orders_total - len(self.open_orders),
            },
            "positions": None
            if self.positions is None
            else {symbol: str(qty) for symbol, qty in self.positions},
            "positions_source": self.positions_source,
            "cash": None
            if self.cash is None
            else {"currency": self.cash[0], "amount": str(self.cash[1])},
            "last_breach": None
            if breach is None
            else {"step": breach.step, "invariant": breach.invariant, "detail": breach.detail},
            "breaches": self.breaches,
            "rails_tripped": [{"rail": rail, "count": n} for rail, n in self.rails_tripped],
            "kill_switch": {
                "engaged": self.kill_switch_engaged,
                "engagements": self.kill_switch_engagements,
                "last": None
                if last is None
                else {
                    "step": last.step,
                    "event": last.event,
                    "source": last.source,
                    "rail": last.rail,
                    "reason": last.reason,
                },
            },
            "reconciler": {
                "every_steps": self.reconciler_every_steps,
                "last_ok_step": self.reconciler_last_ok_step,
            },
            "chain": {
                "verified": self.chain_verified,
                "sealed": self.chain_sealed,
                "records": self.chain_records,
                "head": self.chain_head,
                "reason": self.chain_reason,
                "first_bad_line": self.chain_first_bad_line,
                "summary": self.chain_summary,
            },
            "problems": list(self.problems),
        }

    def to_text(self) -> list[str]:
        """The human form: one `name: value` line per field an operator reads."""
        ended = "session closed" if self.closed else "session not closed: running, crashed or cut"
        lines = [
            f"session: {self.session or '(unknown)'}",
            f"state: {self.state or '(unknown)'} ({ended})",
            f"step: {self.step}",
            f"live: {_live(self.live_enabled)}",
            f"open orders: {_listed(self.open_orders, self.open_orders_total)}",
            f"positions: {self._positions_text()}",
            f"cash: {'no account' if self.cash is None else f'{self.cash[1]} {self.cash[0]}'}",
            f"last breach: {self._breach_text()}",
            f"rails tripped: {self._rails_text()}",
            f"kill switch: {self._kill_switch_text()}",
            f"reconciler: {self._reconciler_text()}",
            f"audit chain: {self.chain_summary}",
        ]
        lines += [f"problem: {problem}" for problem in self.problems]
        return lines

    def _positions_text(self) -> str:
        if self.positions is None:
            return "cannot be derived from the trail (a bust or correction before its summary)"
        if not self.positions:
            return "none"
        held = [f"{symbol} {qty}" for symbol, qty in self.positions]
        return _listed(tuple(held), len(held))

    def _breach_text(self) -> str:
        breach = self.last_breach
        if breach is None:
            return "none"
        more = f" ({self.breaches} breaches in all)" if self.breaches > 1 else ""
        return f"step {breach.step} {breach.invariant}: {breach.detail}{more}"

    def _rails_text(self) -> str:
        if not self.rails_tripped:
            return "none"
        trips = [f"{rail} ({n})" for rail, n in self.rails_tripped]
        return _listed(tuple(trips), len(trips))

    def _kill_switch_text(self) -> str:
        word = "ENGAGED" if self.kill_switch_engaged else "not engaged"
        n = self.kill_switch_engagements
        text = f"{word}, {n} engagement{'s' if n != 1 else ''}"
        last = self.kill_switch_last
        if last is not None:
            cause = last.rail or last.source or "?"
            text += f"; last {last.event} at step {last.step} ({cause})"
        return text

    def _reconciler_text(self) -> str:
        every = self.reconciler_every_steps
        if every is None:
            return "not configured"
        last = self.reconciler_last_ok_step
        ok = "no pass without differences yet" if last is None else f"last ok at step {last}"
        return f"every {every} step{'s' if every != 1 else ''}, {ok}"


def _live(enabled: bool | None) -> str:
    if enabled is None:
        return "(unknown)"
    return "ENABLED" if enabled else "off"


def _listed(items: tuple[str, ...], total: int) -> str:
    if total == 0:
        return "none"
    shown = ", ".join(items[:TEXT_ITEMS])
    more = total - min(len(items), TEXT_ITEMS)
    return f"{total}: {shown}" + (f" and {more} more" if more else "")


def session_status(facts: AuditFacts, *, limit: int = DEFAULT_LIMIT) -> SessionStatus:
    """The status of the session whose facts these are (at most `limit` open order ids)."""
    chain = facts.chain
    return SessionStatus(
        session=facts.scenario_id,
        state=facts.final_state,
        step=facts.final_step,
        closed=facts.closed,
        live_enabled=facts.live_enabled,
        open_orders=facts.open_orders[:limit],
        open_orders_total=len(facts.open_orders),
        positions=facts.positions,
        positions_source=facts.positions_source,
        cash=None if facts.cash is None else (facts.cash.currency, facts.cash.amount),
        last_breach=facts.last_breach,
        breaches=facts.breaches.total,
        rails_tripped=facts.counts.rail_trips,
        kill_switch_engaged=facts.kill_switch_engaged,
        kill_switch_engagements=facts.counts.kill_switch_engagements,
        kill_switch_last=facts.last_kill_switch,
        reconciler_every_steps=facts.reconciler_every_steps,
        reconciler_last_ok_step=facts.reconciler_last_ok_step,
        chain_verified=chain.verified,
        chain_sealed=chain.sealed,
        chain_records=chain.records,
        chain_head=chain.head,
        chain_reason=chain.reason,
        chain_first_bad_line=chain.first_bad_line,
        chain_summary=chain.summary,
        problems=facts.problems,
    )
