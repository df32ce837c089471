"""The kill switch (MiFID II RTS 6 Art. 12): once engaged, the kill_switch rail (rules.py) refuses
every new order until an operator rearms it.

Scope and mode. The switch is engaged for all orders, or for one tag value (`KillScope`: every
order whose strategy, trader or account tag carries it; RTS 6 Art. 12(2)-(3)). Each engagement has
a mode: `block` refuses every order; `reduce_only` (FIA 1.5) still lets an order through when, even
with every resting order on its side filled, it only brings an open position towards zero. A
re-arm of all lifts every engagement; a re-arm of one tag lifts that one.

`engage` engages it for the reason its caller gives; `note_rejection` engages it on its own after N
rail rejections within window_steps steps (`RailsConfig.kill_switch_rejections`). The kill switch
state is frozen and changed only by the pure functions `note_rejection`, `engage` and `rearm`.
Time is the logical step: no wall clock is read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from peak_trade.execution.live.rails.config import RailsConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class KillScope:
    """The kill switch engaged for the orders carrying one tag value."""

    tag: str  # strategy, trader or account
    value: str
    mode: str = "block"
    reason: str = ""
    since_step: int = 0

    def to_payload(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "value": self.value,
            "mode": self.mode,
            "reason": self.reason,
            "since_step": self.since_step,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchState:
    engaged: bool = False
    reason: str = ""
    since_step: int | None = None
    rejection_steps: tuple[int, ...] = ()  # recent rail rejections, in-window only: bounded
    rearmed_step: int | None = None  # the last operator rearm, for the audit
    mode: str = "block"  # of the engagement for all: block or reduce_only
    scopes: tuple[KillScope, ...] = ()  # engagements for one tag value each (bounded by tags)

    @property
    def any_engaged(self) -> bool:
        return self.engaged or bool(self.scopes)

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "engaged": self.engaged,
            "reason": self.reason,
            "since_step": self.since_step,
            "rejection_steps": list(self.rejection_steps),
            "rearmed_step": self.rearmed_step,
        }
        if self.mode != "block":
            payload["mode"] = self.mode
        if self.scopes:
            payload["scopes"] = [s.to_payload() for s in self.scopes]
        return payload


def note_rejection(
    state: KillSwitchState, step: int, config: RailsConfig
) -> tuple[KillSwitchState, bool]:
    """Record one rail rejection at `step`; the bool says whether the switch engaged just now.

    N rejections within window_steps consecutive steps (the current one included) engage it.
    Only in-window steps are kept, at most N of them, so the state stays small however long the
    session runs. Unconfigured or already engaged: nothing to count. Steps never go backwards;
    a step before the last recorded one is a caller bug and raises ValueError.
    """
    if config.kill_switch_rejections is None or state.engaged:
        return state, False
    if state.rejection_steps and step < state.rejection_steps[-1]:
        raise ValueError(
            f"rejection at step {step} is before the last recorded one at step "
            f"{state.rejection_steps[-1]}: steps never go backwards"
        )
    limit, window = config.kill_switch_rejections
    first = step - window + 1
    recent = tuple(s for s in (*state.rejection_steps, step) if s >= first)[-limit:]
    if len(recent) < limit:
        return replace(state, rejection_steps=recent), False
    at = ", ".join(str(s) for s in recent)
    engaged = engage(
        replace(state, rejection_steps=recent),
        step,
        f"{limit} rail rejection(s) within {window} step(s) (at steps {at})",
        config.kill_switch_mode,
    )
    return engaged, True


def engage(state: KillSwitchState, step: int, reason: str, mode: str = "block") -> KillSwitchState:
    """Engage the switch for all. Never fails (an engage that raised would leave trading on); an
    already engaged switch keeps its first reason and step, which is the cause the audit must
    show, but a block engagement tightens a reduce-only one."""
    text = reason if isinstance(reason, str) and reason.strip() else "no reason given"
    if state.engaged:
        if state.mode == "reduce_only" and mode != "reduce_only":
            return replace(state, mode="block")
        return state
    return replace(
        state,
        engaged=True,
        reason=text,
        since_step=step,
        mode="reduce_only" if mode == "reduce_only" else "block",
    )


def engage_scope(
    state: KillSwitchState, step: int, reason: str, tag: str, value: str, mode: str = "block"
) -> KillSwitchState:
    """Engage the switch for the orders carrying `tag` = `value` (kept once per tag value)."""
    text = reason if isinstance(reason, str) and reason.strip() else "no reason given"
    kept = [s for s in state.scopes if (s.tag, s.value) != (tag, value)]
    old = next((s for s in state.scopes if (s.tag, s.value) == (tag, value)), None)
    if old is not None and (old.mode == "block" or mode != "block"):
        return state  # the first engagement's reason stands; only a tightening changes it
    scope = KillScope(
        tag=tag,
        value=value,
        mode="reduce_only" if mode == "reduce_only" else "block",
        reason=text if old is None else old.reason,
        since_step=step if old is None else old.since_step,
    )
    return replace(state, scopes=(*kept, scope))


def rearm(state: KillSwitchState, step: int) -> KillSwitchState:
    """Re-enable trading after an operator decision (the caller audits who and why). The
    rejection window is cleared, so old rejections cannot re-engage the switch at once. Every
    engagement, for all and for each tag, is lifted."""
    return KillSwitchState(rearmed_step=step)


def rearm_scope(state: KillSwitchState, step: int, tag: str, value: str) -> KillSwitchState:
    """Lift the engagement for one tag value; the rest stays engaged."""
    kept = tuple(s for s in state.scopes if (s.tag, s.value) != (tag, value))
    return replace(state, scopes=kept, rearmed_step=step)
