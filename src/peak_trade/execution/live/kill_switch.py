"""The kill switch (MiFID II RTS 6 Art. 12): once engaged, the kill_switch rail (rails.py) refuses
every new order until an operator rearms it.

`engage` engages it for the reason its caller gives; `note_rejection` engages it on its own after N
rail rejections within window_steps steps (`RailsConfig.kill_switch_rejections`). The kill switch
state is frozen and changed only by the pure functions `note_rejection`, `engage` and `rearm`.
Time is the logical step: no wall clock is read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from peak_trade.execution.live.rails_config import RailsConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchState:
    engaged: bool = False
    reason: str = ""
    since_step: int | None = None
    rejection_steps: tuple[int, ...] = ()  # recent rail rejections, in-window only: bounded
    rearmed_step: int | None = None  # the last operator rearm, for the audit

    def to_payload(self) -> dict[str, object]:
        return {
            "engaged": self.engaged,
            "reason": self.reason,
            "since_step": self.since_step,
            "rejection_steps": list(self.rejection_steps),
            "rearmed_step": self.rearmed_step,
        }


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
        return KillSwitchState(rejection_steps=recent, rearmed_step=state.rearmed_step), False
    at = ", ".join(str(s) for s in recent)
    engaged = engage(
        KillSwitchState(rejection_steps=recent, rearmed_step=state.rearmed_step),
        step,
        f"{limit} rail rejection(s) within {window} step(s) (at steps {at})",
    )
    return engaged, True


def engage(state: KillSwitchState, step: int, reason: str) -> KillSwitchState:
    """Engage the switch. Never fails (an engage that raised would leave trading on); an already
    engaged switch keeps its first reason and step, which is the cause the audit must show."""
    if state.engaged:
        return state
    text = reason if isinstance(reason, str) and reason.strip() else "no reason given"
    return KillSwitchState(
        engaged=True,
        reason=text,
        since_step=step,
        rejection_steps=state.rejection_steps,
        rearmed_step=state.rearmed_step,
    )


def rearm(state: KillSwitchState, step: int) -> KillSwitchState:
    """Re-enable trading after an operator decision (the caller audits who and why). The
    rejection window is cleared, so old rejections cannot re-engage the switch at once."""
    return KillSwitchState(rearmed_step=step)
