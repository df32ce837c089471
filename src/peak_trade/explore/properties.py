"""The session's safety properties, stated once: each a pure check over one finished run.

Every variant the explorer runs is checked against all of `PROPERTIES`, in this order; a
scenario's `expect.properties` names some of them and `peak-trade scenario run` checks those
(harness/expectations.py). docs/explore.md lists the same names and sentences
(tests/explore/test_docs.py keeps them equal).

A check reads an `Observation`: the run's result and audit records, what the mock broker
received and holds at the end (`BrokerWatch`), and, for a sampled variant, a second run of it.
It returns the problems it found as sentences (empty: the property holds). Checks never run the
engine and never look at the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from peak_trade.execution.broker.mock import MockBroker
from peak_trade.execution.broker.model import NewOrder
from peak_trade.execution.broker.protocol import BrokerSnapshot
from peak_trade.execution.live.audit import verify_lines
from peak_trade.harness.runner import RunResult
from peak_trade.harness.work_model import estimate_work
from peak_trade.observe.facts import AuditFacts, run_facts

__all__ = ["PROPERTIES", "BrokerWatch", "Observation", "Property", "check", "property_names"]

ZERO = Decimal(0)
FACTS_LIMIT = 100_000  # the facts keep every item of a variant's trail (variants are small)
_ENDED = ("STOPPING", "STOPPED")
_OPERATOR = "ERROR_REQUIRES_OPERATOR"


class BrokerWatch(MockBroker):
    """The scenario's mock broker, watched: every new order it receives while an order with
    the same client order id is still working there is remembered (the mock itself refuses the
    second one, so only this watch sees that it was sent)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.second_live: list[tuple[int, str]] = []  # (step, client order id)

    def submit(self, order: NewOrder, step: int) -> None:
        if not order.poss_resend:
            working = {v.client_order_id for v in super().snapshot(step).open_orders}
            if order.client_order_id in working:
                self.second_live.append((step, order.client_order_id))
        super().submit(order, step)


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    result: RunResult
    records: Sequence[Mapping[str, object]]
    broker: BrokerWatch
    final: BrokerSnapshot  # the broker's snapshot at the run's last step
    secrets: tuple[str, ...] = ()
    rerun_head: str | None = None  # the chain head of a second run (sampled variants only)
    rerun_sealed: bool | None = None  # that run's audit file verified and sealed
    max_records: int | None = None  # the work model's bound on this scenario's records
    lines: tuple[str, ...] = field(default=())
    facts: AuditFacts | None = None  # the trail folded by observe.facts (refusals, chain, ...)


def _payloads(obs: Observation, kind: str) -> list[Mapping[str, object]]:
    return [r["payload"] for r in obs.records if r["type"] == kind]  # type: ignore[misc]


def _book_vs_broker(obs: Observation) -> list[str]:
    """Where the session's book and the broker's final snapshot disagree."""
    result, final = obs.result, obs.final
    problems = []
    ours = {result.resolve(cid): o for cid, o in result.orders.items() if not o.is_closed}
    theirs = {result.resolve(v.client_order_id): v for v in final.open_orders}
    for cid in sorted(ours.keys() | theirs.keys()):
        mine, broker = ours.get(cid), theirs.get(cid)
        if mine is None:
            problems.append(f"{cid} works at the broker, the book has it closed or unknown")
        elif broker is None:
            problems.append(f"{cid} is open in the book, the broker has no working order")
        elif mine.cum_qty != broker.cum_qty:
            problems.append(
                f"{cid} cum_qty {mine.cum_qty} in the book, {broker.cum_qty} at the broker"
            )
    positions = {s: q for s, q in result.positions.items() if q != ZERO}
    broker_positions = {s: q for s, q in final.positions.items() if q != ZERO}
    for symbol in sorted(positions.keys() | broker_positions.keys()):
        mine_qty, broker_qty = positions.get(symbol, ZERO), broker_positions.get(symbol, ZERO)
        if mine_qty != broker_qty:
            problems.append(f"position {symbol} {mine_qty} in the book, {broker_qty} at the broker")
    return problems


def fails_closed(obs: Observation) -> list[str]:
    problems = []
    breached_at = None
    for record in obs.records:  # bounded by the run's records
        kind = record["type"]
        if kind == "invariant_breach" and breached_at is None:
            breached_at = record["seq"]
        elif kind == "transition" and record["payload"]["from"] == _OPERATOR:  # type: ignore[index]
            breached_at = None  # an operator looked at it
        elif kind == "order_submitted" and breached_at is not None:
            cid = record["payload"]["client_order_id"]  # type: ignore[index]
            problems.append(
                f"order {cid} submitted (seq {record['seq']}) after invariant breach seq "
                f"{breached_at}, with no operator acknowledgement between"
            )
    breaches = _payloads(obs, "invariant_breach")
    if obs.result.final_state != _OPERATOR and not breaches:
        differences = _book_vs_broker(obs)
        if differences:
            problems.append(
                f"the run ends in {obs.result.final_state} with no breach recorded while the "
                f"book and the broker disagree: {'; '.join(differences)}"
            )
    return problems


def no_order_after_stopping(obs: Observation) -> list[str]:
    problems = []
    stopping_step = None
    for record in obs.records:  # bounded by the run's records
        if record["type"] == "transition" and record["payload"]["to"] == "STOPPING":  # type: ignore[index]
            stopping_step = record["step"] if stopping_step is None else stopping_step
        if record["type"] == "order_submitted" and record["state"] in _ENDED:
            cid = record["payload"]["client_order_id"]  # type: ignore[index]
            problems.append(f"order {cid} submitted in state {record['state']}")
    if stopping_step is not None:
        seen: set[str] = set()
        for step, command in obs.broker.commands:  # bounded by the commands received
            if not isinstance(command, NewOrder):
                continue
            new = command.client_order_id not in seen and not command.poss_resend
            seen.add(command.client_order_id)
            if new and step > stopping_step:  # type: ignore[operator]
                problems.append(
                    f"the broker received new order {command.client_order_id} at step {step}, "
                    f"after STOPPING at step {stopping_step}"
                )
    return problems


def refused_never_reach_broker(obs: Observation) -> list[str]:
    """No order a rail refused is among the broker's new orders, and every new order the broker
    received passes the rails any order must pass whatever the session's state: the symbol
    allowlist and the session-wide max_order_qty (a rail skipped refuses nothing, so only the
    orders themselves show it)."""
    refused = {
        str(f.client_order_id): str(f.rule)
        for f in obs.facts.refusals.items
        if f.record == "order_refused"
    }
    config = obs.result.scenario.config
    allowed = set(config.allowlist) if isinstance(config.allowlist, list | tuple) else None
    rails = config.rails if isinstance(config.rails, Mapping) else {}
    limit = rails.get("max_order_qty")
    max_qty = None if limit is None or isinstance(limit, bool) else _decimal_or_none(limit)
    problems = []
    for _, command in obs.broker.commands:  # bounded by the commands received
        if not isinstance(command, NewOrder) or command.poss_resend:
            continue
        cid = command.client_order_id
        if cid in refused:
            problems.append(
                f"order {cid} was refused ({refused[cid]}) and still reached the broker"
            )
        if allowed is not None and command.symbol not in allowed:
            problems.append(
                f"order {cid} for {command.symbol}, outside the allowlist, reached the broker"
            )
        if max_qty is not None and command.qty > max_qty:
            problems.append(
                f"order {cid} of qty {command.qty} (max_order_qty {max_qty}) reached the broker"
            )
    return problems


def _decimal_or_none(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def one_live_order_per_id(obs: Observation) -> list[str]:
    return [
        f"a second new order {cid} reached the broker at step {step} while one was working"
        for step, cid in obs.broker.second_live
    ]


def _acknowledged(obs: Observation) -> bool:
    """An operator took over a breach: the trail leaves ERROR_REQUIRES_OPERATOR."""
    return any(
        r["type"] == "transition" and r["payload"]["from"] == _OPERATOR  # type: ignore[index]
        for r in obs.records
    )


def book_agrees_at_stopped(obs: Observation) -> list[str]:
    """A difference an operator acknowledged (the session breached, stopped trading, and was
    acknowledged) is the operator's to explain: the landed FIX scenarios E.1.a and J.1.b end so."""
    if obs.result.final_state != "STOPPED":
        return []
    working = sorted(v.client_order_id for v in obs.final.open_orders)
    problems = (
        [f"at STOPPED the broker still works order(s) {', '.join(working)}"] if working else []
    )
    if not _acknowledged(obs):
        problems += [f"at STOPPED: {d}" for d in _book_vs_broker(obs)]
    return problems


def positions_explained(obs: Observation) -> list[str]:
    """The book's positions against a fresh count of the reports it received: each execution
    once (by exec id), a trade adds, a bust takes its execution away, a correction restates it;
    reports the session refused or could not place are left out (their own properties and
    breaches speak for them)."""
    result = obs.result
    submitted = {str(p["client_order_id"]) for p in _payloads(obs, "order_submitted")}
    executions: dict[tuple[str, str], tuple[str, str, Decimal]] = {}  # (order, exec) -> trade
    seen: set[tuple[str, str]] = set()
    for p in _payloads(obs, "execution_report"):  # bounded by the run's records
        if p.get("outcome") in ("refused", "unknown_order"):
            continue
        order = result.resolve(str(p.get("client_order_id")))
        if order not in submitted:
            order = result.resolve(str(p.get("orig_client_order_id")))
        if order not in submitted:
            continue
        key = (order, str(p["exec_id"]))
        if key in seen:
            continue
        seen.add(key)
        kind, qty = p.get("exec_type"), Decimal(str(p.get("last_qty") or 0))
        trade = (str(p["symbol"]), str(p["side"]), qty)
        if kind == "trade":
            executions[key] = trade
        elif kind in ("trade_cancel", "trade_correct"):
            executions.pop((order, str(p.get("exec_ref_id"))), None)
            if kind == "trade_correct":
                executions[key] = trade
    counted: dict[str, Decimal] = {}
    for symbol, side, qty in executions.values():
        counted[symbol] = counted.get(symbol, ZERO) + (qty if side == "buy" else -qty)
    problems = []
    for symbol in sorted(counted.keys() | result.positions.keys()):
        book, reports = result.positions.get(symbol, ZERO), counted.get(symbol, ZERO)
        if book != reports:
            problems.append(
                f"position {symbol} is {book} in the book, the reports add up to {reports}"
            )
    return problems


def audit_chain_sealed(obs: Observation) -> list[str]:
    result = obs.result
    problems = [f"audit sink failure: {f}" for f in result.audit_failures]
    checked = verify_lines(obs.lines)
    if not checked.ok:
        problems.append(f"the chain breaks at line {checked.first_bad_line}: {checked.reason}")
    elif checked.head != result.head or checked.count != result.count:
        problems.append("the verified chain's head or count differs from the session's")
    facts = obs.facts
    if facts is not None and not facts.chain.verified:
        problems.append(f"the audit facts find the chain not verified: {facts.chain.reason}")
    if facts is not None and not facts.closed:
        problems.append("the trail does not end with session_closed")
    if obs.rerun_sealed is False:
        problems.append("the audit file of the re-run does not verify with its seal")
    return problems


def no_secret_in_output(obs: Observation) -> list[str]:
    found = []
    for secret in obs.secrets:  # bounded by the scenario's secrets
        for number, line in enumerate(obs.lines, start=1):
            if secret in line:
                found.append(f"a secret appears in audit record {number}")
                break
    return found


def terminates_in_bounds(obs: Observation) -> list[str]:
    """The session trades at most max_steps steps and drains at most drain_steps (+1: the step
    that finds the drain over), writes no more records than the work model allows, and, given
    steps enough for both (the variant's tail), ends in a final or operator state."""
    result, config = obs.result, obs.result.scenario.config
    problems = []
    bound, drain = config.max_steps, config.drain_steps
    entered: dict[str, int] = {}
    left: dict[str, int] = {}
    for record in obs.records:  # bounded by the run's records
        if record["type"] == "transition":
            payload = record["payload"]
            entered.setdefault(str(payload["to"]), int(record["step"]))  # type: ignore[index, call-overload]
            left.setdefault(str(payload["from"]), int(record["step"]))  # type: ignore[index, call-overload]
    if type(bound) is int and "DRYRUN_ACTIVE" in entered:
        traded = left.get("DRYRUN_ACTIVE", result.steps_run)
        if traded > bound:
            problems.append(f"traded until step {traded}, over max_steps {bound}")
    if type(drain) is int and "STOPPING" in entered:
        drained = left.get("STOPPING", result.steps_run) - entered["STOPPING"]
        if drained > drain + 1:
            problems.append(f"drained for {drained} steps, over drain_steps {drain}")
    if obs.max_records is not None and result.count > obs.max_records:
        problems.append(f"{result.count} audit records, over the work model's {obs.max_records}")
    covered = (
        type(bound) is int
        and type(drain) is int
        and (result.scenario.declared_steps >= bound + drain)
    )
    if covered and result.final_state in ("DRYRUN_ACTIVE", "STOPPING"):
        problems.append(
            f"the run ended still in {result.final_state} after {result.steps_run} steps "
            f"(max_steps {bound}, drain_steps {drain})"
        )
    return problems


def rerun_identical(obs: Observation) -> list[str]:
    if obs.rerun_head is None or obs.rerun_head == obs.result.head:
        return []
    return [f"a second run gave chain head {obs.rerun_head[:12]}, the first {obs.result.head[:12]}"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    name: str
    says: str  # the sentence docs/explore.md shows
    check: Callable[[Observation], list[str]]


PROPERTIES: tuple[Property, ...] = (
    Property(
        name="fails_closed",
        says=(
            "it never fails open: an unexplained broker state ends in ERROR_REQUIRES_OPERATOR "
            "or a stop, never in trading on"
        ),
        check=fails_closed,
    ),
    Property(
        name="no_order_after_stopping",
        says="no new order after STOPPING",
        check=no_order_after_stopping,
    ),
    Property(
        name="refused_never_reach_broker",
        says="no order a rail refuses ever reaches the broker",
        check=refused_never_reach_broker,
    ),
    Property(
        name="one_live_order_per_id",
        says="never two live orders for one client order id",
        check=one_live_order_per_id,
    ),
    Property(
        name="book_agrees_at_stopped",
        says="at STOPPED the book agrees with the broker",
        check=book_agrees_at_stopped,
    ),
    Property(
        name="positions_explained",
        says="every position change is explained by reports",
        check=positions_explained,
    ),
    Property(
        name="audit_chain_sealed",
        says="the audit chain verifies and is sealed",
        check=audit_chain_sealed,
    ),
    Property(
        name="no_secret_in_output", says="nothing secret in any output", check=no_secret_in_output
    ),
    Property(
        name="terminates_in_bounds",
        says="the run terminates within its bounds",
        check=terminates_in_bounds,
    ),
    Property(
        name="rerun_identical",
        says="a re-run gives identical bytes (sampled)",
        check=rerun_identical,
    ),
)
BY_NAME: Mapping[str, Property] = {p.name: p for p in PROPERTIES}


def property_names() -> tuple[str, ...]:
    return tuple(p.name for p in PROPERTIES)


def check(obs: Observation, names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The properties (all, or those named) that `obs` violates, each with its problems."""
    chosen = PROPERTIES if names is None else [BY_NAME[n] for n in names]
    found = {}
    for prop in chosen:  # bounded: the ten properties
        problems = prop.check(obs)
        if problems:
            found[prop.name] = problems
    return found


def max_records(result: RunResult) -> int:
    return estimate_work(result.scenario).records


def observation(result: RunResult, broker: BrokerWatch, *, rerun: bool = False) -> Observation:
    """What the properties read about a finished run; `rerun` runs the scenario a second time
    with a sealed audit file (for rerun_identical and the seal)."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from peak_trade.execution.live.audit import verify_file
    from peak_trade.harness.runner import run_scenario
    from peak_trade.harness.secret_screen import secrets_in_data

    scenario = result.scenario
    rerun_head = rerun_sealed = None
    if rerun:
        with TemporaryDirectory(prefix="peak-trade-explore-") as scratch:
            audit = Path(scratch) / "rerun.jsonl"
            again = run_scenario(scenario, broker=BrokerWatch(scenario.broker), audit_file=audit)
            verified = verify_file(audit)
            rerun_head = again.head
            rerun_sealed = verified.ok and verified.sealed and verified.head == again.head
    known = {v for v in scenario.config.secrets.values() if isinstance(v, str) and v}
    known.update(secrets_in_data({"config": {"secrets": dict(scenario.config.secrets)}}))
    return Observation(
        result=result,
        records=result.records,
        broker=broker,
        final=broker.snapshot(result.steps_run),
        secrets=tuple(sorted(known)),
        rerun_head=rerun_head,
        rerun_sealed=rerun_sealed,
        max_records=max_records(result),
        lines=result.audit_lines,
        facts=run_facts(result, limit=FACTS_LIMIT),
    )


def property_mismatches(
    result: RunResult, broker: BrokerWatch, names: Sequence[str]
) -> list[object]:
    """expect.properties: one mismatch per named property the run violates."""
    from peak_trade.harness.expectations import Mismatch

    obs = observation(result, broker, rerun="rerun_identical" in names)
    found = check(obs, names)
    return [
        Mismatch(
            key=f"properties.{name}",
            expected="holds",
            actual="violated",
            detail="\n".join(f"  {problem}" for problem in problems),
        )
        for name, problems in found.items()
    ]
