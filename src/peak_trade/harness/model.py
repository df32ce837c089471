"""A scenario as typed data: built from a loaded, schema-valid document.

The schema judges shapes; this module adds the few rules a schema cannot state (order ids unique
across the run, a limit price exactly for limit orders, a sound fill script) and reports them as
located problems like every other spec error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from peak_trade.execution.broker.fill_script import (
    FillScriptError,
    MockBrokerSpec,
    parse_broker_spec,
)
from peak_trade.execution.broker.model import NewOrder, OrderType, Side, TimeInForce
from peak_trade.execution.live.audit_trail.path import audit_path_problem
from peak_trade.execution.live.config import SessionConfig
from peak_trade.execution.live.intents import (
    CancelIntent,
    OrderIntent,
    ReplaceIntent,
    ResendIntent,
    StatusIntent,
    SubmitIntent,
)
from peak_trade.execution.live.tags import TAG_KEYS, OrderTags
from peak_trade.harness.errors import (
    Problem,
    ScenarioError,
    ScenarioLoadError,
    ScenarioValidationError,
)
from peak_trade.harness.loader import LoadedDocument, json_pointer, load_scenario_file
from peak_trade.harness.secret_screen import secret_strength_problems, secrets_in_data
from peak_trade.harness.validate import load_schema, validate_document
from peak_trade.harness.work_model import work_problems


@dataclass(frozen=True, slots=True, kw_only=True)
class StopSpec:
    reason: str
    mode: str = "graceful"  # graceful: request_stop(); cancel: the safe stop cancel()


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeSpec:
    operator: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSpec:
    """An operator kill: for all, or for one tag (key, value); block or reduce_only."""

    reason: str
    tag: tuple[str, str] | None = None
    mode: str = "block"


@dataclass(frozen=True, slots=True, kw_only=True)
class RearmSpec:
    operator: str
    note: str = ""
    tag: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSpec:
    """One entry of `steps`: its intents go into its first step; operator actions follow it."""

    index: int
    intents: tuple[OrderIntent, ...] = ()
    run: int | None = None  # None: one step(); N: run_n_steps(N)
    reference_prices: Mapping[str, Decimal] = field(default_factory=dict)
    kill: KillSpec | None = None  # an operator engages the kill switch
    rearm: RearmSpec | None = None  # an operator re-arms the kill switch
    stop: StopSpec | None = None
    acknowledge: AcknowledgeSpec | None = None
    end_of_day: bool = False  # the trading day ends after this entry's first step


# The columns of one expected execution report (expect.reports), in the order they are shown.
REPORT_COLUMNS = (
    "exec_type",
    "status",
    "order_qty",
    "cum_qty",
    "leaves_qty",
    "last_qty",
    "last_px",
    "avg_px",
    "client_order_id",
    "orig_client_order_id",
    "exec_ref_id",
)
DECIMAL_COLUMNS = frozenset({"order_qty", "cum_qty", "leaves_qty", "last_qty", "last_px", "avg_px"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedReport:
    """One row of expect.reports: the fields given (the quantities always), where it is written."""

    fields: Mapping[str, object]
    where: str = ""  # "file:line" of the row, for the mismatch message


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    final_state: str | None = None
    states: tuple[str, ...] | None = None
    steps_run: int | None = None
    audit_types: tuple[str, ...] | None = None
    audit_in_order: tuple[str, ...] | None = None
    audit_absent: tuple[str, ...] | None = None
    audit_count: int | None = None
    orders: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    failed_checks: tuple[str, ...] | None = None
    breaches: tuple[str, ...] | None = None
    errors: tuple[str, ...] | None = None
    refused_orders: Mapping[str, str] | None = None
    account: Mapping[str, object] | None = None  # against the summary's account
    # order id (any id of its chain) -> the exact sequence of reports the session received
    reports: Mapping[str, tuple[ExpectedReport, ...]] = field(default_factory=dict)
    # safety properties that must hold (explore/properties.py), e.g. in an explorer reproducer
    properties: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    id: str
    title: str
    description: str
    tags: tuple[str, ...]
    path: str  # as given by the user (display form)
    sha256: str  # of the file's bytes with its secrets redacted (loader.scenario_digest)
    config: SessionConfig
    broker: MockBrokerSpec
    steps: tuple[StepSpec, ...]
    expect: Expectations

    @property
    def declared_steps(self) -> int:
        return sum(1 if s.run is None else s.run for s in self.steps)


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and build a scenario; raises a ScenarioError naming every problem."""
    # A YAML-level refusal that keeps the document's shape (a duplicate key, `no`) is reported
    # together with the schema's problems of the same file, so one pass fixes them all.
    doc = load_scenario_file(path, keep_going=True)  # errors redacted with the loader's secrets
    secrets = secrets_in_data(doc.data)  # known before any message about the document is made
    problems = validate_document(doc, load_schema(), secrets=secrets)
    problems += secret_strength_problems(doc)
    if doc.problems:  # the schema's view of a refused value (now null) would only repeat it
        problems = [p for p in problems if not _under_any(p.json_path, doc.placeholders)]
        problems += doc.problems
        problems.sort(key=lambda p: (p.line, p.col, p.json_path, p.message))
        raise ScenarioLoadError(problems, secrets=secrets)
    if problems:
        problems.sort(key=lambda p: (p.line, p.col, p.json_path, p.message))
        raise ScenarioValidationError(problems, secrets=secrets)
    try:
        return build_scenario(doc, sha256=doc.sha256)
    except ScenarioError as error:
        raise error.with_secrets(secrets) from None


def _under_any(pointer: str, roots: Sequence[str]) -> bool:
    return any(pointer == root or pointer.startswith(root.rstrip("/") + "/") for root in roots)


def build_scenario(doc: LoadedDocument, *, sha256: str = "") -> Scenario:
    data = doc.data
    problems: list[Problem] = []

    def problem(path: Sequence[str | int], message: str, *, key: bool = False) -> None:
        line, col = doc.locate(path, key=key)
        problems.append(
            Problem(
                file=doc.path, line=line, col=col, message=message, json_path=json_pointer(path)
            )
        )

    scenario_id = str(data["id"])
    config_data: dict[str, Any] = dict(data.get("config") or {})
    config_data.setdefault("session_id", scenario_id)
    broker = MockBrokerSpec(reference_prices={})
    try:
        broker = parse_broker_spec(data.get("broker") or {}, path="/broker")
    except FillScriptError as exc:
        pointer, _, message = str(exc).partition(": ")
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in pointer.split("/")[1:]]
        problem(parts, message)

    audit = config_data.get("audit")
    audit_path = audit.get("path") if isinstance(audit, Mapping) else None
    if isinstance(audit_path, str):
        refused = audit_path_problem(audit_path)
        if refused is not None:  # the message never quotes the path (it may hold anything)
            problem(["config", "audit", "path"], refused)

    steps: list[StepSpec] = []
    seen_ids: dict[str, int] = {}
    for index, entry in enumerate(data.get("steps") or ()):
        entry = entry or {}
        intents: list[OrderIntent] = []
        submits = entry.get("submit")
        submit_list = [submits] if isinstance(submits, Mapping) else list(submits or ())
        for position, spec in enumerate(submit_list):
            where: list[str | int] = ["steps", index, "submit"]
            if not isinstance(submits, Mapping):
                where.append(position)
            intent = _submit_intent(spec, where, problem)
            cid = intent.order.client_order_id
            if cid in seen_ids:
                problem(
                    [*where, "id"],
                    f"order id {cid!r} is already submitted in step entry {seen_ids[cid]}; "
                    "client order ids are unique within a scenario",
                )
            seen_ids.setdefault(cid, index)
            intents.append(intent)
        cancels = entry.get("cancel")
        cancel_list = [cancels] if isinstance(cancels, str | Mapping) else list(cancels or ())
        for position, cancel in enumerate(cancel_list):
            if isinstance(cancel, Mapping):
                where = ["steps", index, "cancel"]
                if not isinstance(cancels, Mapping):
                    where.append(position)
                new_id = _new_id(cancel, [*where, "new_id"], seen_ids, index, problem)
                intents.append(
                    CancelIntent(client_order_id=cancel["id"], new_client_order_id=new_id)
                )
            else:
                intents.append(CancelIntent(client_order_id=cancel))
        amends = entry.get("replace")
        amend_list = [amends] if isinstance(amends, Mapping) else list(amends or ())
        for position, amend in enumerate(amend_list):
            where = ["steps", index, "replace"]
            if not isinstance(amends, Mapping):
                where.append(position)
            intents.append(
                ReplaceIntent(
                    client_order_id=amend["id"],
                    new_qty=None if "qty" not in amend else _decimal(amend["qty"]),
                    new_limit_price=None
                    if "limit_price" not in amend
                    else _decimal(amend["limit_price"]),
                    new_client_order_id=_new_id(
                        amend, [*where, "new_id"], seen_ids, index, problem
                    ),
                )
            )
        for key in ("kill", "rearm"):
            given = entry.get(key)
            if isinstance(given, Mapping) and sum(tag in given for tag in TAG_KEYS) > 1:
                problem(
                    ["steps", index, key],
                    f"name one tag at most ({', '.join(TAG_KEYS)}); engage or re-arm one scope "
                    "per entry",
                )
        for key, intent_type in (("status_request", StatusIntent), ("resend", ResendIntent)):
            named = entry.get(key)
            for cid in [named] if isinstance(named, str) else list(named or ()):
                intents.append(intent_type(client_order_id=cid))
        stop = entry.get("stop")
        if isinstance(stop, str):
            stop_spec: StopSpec | None = StopSpec(reason=stop)
        elif isinstance(stop, Mapping):
            stop_spec = StopSpec(reason=stop["reason"], mode=stop.get("mode", "graceful"))
        else:
            stop_spec = None
        ack = entry.get("acknowledge")
        rearm = entry.get("rearm")
        steps.append(
            StepSpec(
                index=index,
                intents=tuple(intents),
                run=entry.get("run"),
                reference_prices={
                    s: _decimal(p) for s, p in (entry.get("reference_prices") or {}).items()
                },
                kill=_kill(entry.get("kill")),
                rearm=RearmSpec(
                    operator=rearm["operator"], note=rearm.get("note", ""), tag=_tag(rearm)
                )
                if rearm
                else None,
                stop=stop_spec,
                acknowledge=AcknowledgeSpec(operator=ack["operator"], note=ack.get("note", ""))
                if ack
                else None,
                end_of_day=bool(entry.get("end_of_day", False)),
            )
        )
    if problems:
        raise ScenarioValidationError(problems)
    scenario = Scenario(
        id=scenario_id,
        title=str(data["title"]),
        description=str(data.get("description", "")),
        tags=tuple(data.get("tags") or ()),
        path=doc.path,
        sha256=sha256,
        config=SessionConfig.from_mapping(config_data),
        broker=broker,
        steps=tuple(steps),
        expect=_expectations(data.get("expect") or {}, doc),
    )
    # Last: the worst-case work multiplies what the checks above proved well formed.
    bounded = work_problems(doc, scenario, doc.size)
    if bounded:
        raise ScenarioValidationError(bounded)
    return scenario


def _tag(spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """The one tag (strategy, trader or account) a kill or re-arm names, if any."""
    named = [(key, spec[key]) for key in TAG_KEYS if key in spec]
    return named[0] if named else None


def _kill(value: object) -> KillSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return KillSpec(reason=value)
    assert isinstance(value, Mapping)  # schema-valid: a reason string or a kill_scope mapping
    return KillSpec(reason=value["reason"], tag=_tag(value), mode=value.get("mode", "block"))


def _submit_intent(spec: Mapping[str, Any], where: list[str | int], problem: Any) -> SubmitIntent:
    order_type = OrderType(spec.get("type", "market"))
    limit_price = spec.get("limit_price")
    if order_type is OrderType.LIMIT and limit_price is None:
        problem(where, "a limit order needs limit_price")
    if order_type is OrderType.MARKET and limit_price is not None:
        problem([*where, "limit_price"], "a market order takes no limit_price; add type: limit")
    tif = spec.get("time_in_force")
    order = NewOrder(
        client_order_id=spec["id"],
        symbol=spec["symbol"],
        side=Side(spec["side"]),
        qty=_decimal(spec["qty"]),
        order_type=order_type,
        limit_price=None if limit_price is None else _decimal(limit_price),
        time_in_force=None if tif is None else TimeInForce(tif),
        poss_resend=bool(spec.get("poss_resend", False)),
    )
    tags = None
    if any(key in spec for key in TAG_KEYS):
        tags = OrderTags(**{key: spec[key] for key in TAG_KEYS if key in spec})
    return SubmitIntent(order=order, note=spec.get("note"), tags=tags)


def _new_id(
    spec: Mapping[str, Any],
    where: list[str | int],
    seen_ids: dict[str, int],
    index: int,
    problem: Any,
) -> str | None:
    """The request's own ClOrdID (`new_id`), unique among every id the scenario uses."""
    new_id = spec.get("new_id")
    if new_id is None:
        return None
    if new_id in seen_ids:
        problem(
            where,
            f"id {new_id!r} is already used in step entry {seen_ids[new_id]}; "
            "client order ids (new_id included) are unique within a scenario",
        )
    seen_ids.setdefault(new_id, index)
    return str(new_id)


def _decimal(value: object) -> Decimal:
    # Schema-valid: a decimal string, an int, or a Decimal the loader read from a YAML float's text.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _tuple(value: object) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _expected_reports(
    data: Mapping[str, Any], doc: LoadedDocument | None
) -> dict[str, tuple[ExpectedReport, ...]]:
    reports: dict[str, tuple[ExpectedReport, ...]] = {}
    for cid, rows in (data.get("reports") or {}).items():
        expected = []
        for i, row in enumerate(rows or ()):
            where = ""
            if doc is not None:
                line, _ = doc.locate(["expect", "reports", cid, i])
                where = f"{doc.path}:{line}"
            fields = {
                name: _decimal(row[name]) if name in DECIMAL_COLUMNS else str(row[name])
                for name in REPORT_COLUMNS
                if name in row
            }
            expected.append(ExpectedReport(fields=fields, where=where))
        reports[str(cid)] = tuple(expected)
    return reports


def _expectations(data: Mapping[str, Any], doc: LoadedDocument | None = None) -> Expectations:
    audit = data.get("audit") or {}
    return Expectations(
        final_state=data.get("final_state"),
        states=_tuple(data.get("states")),
        steps_run=data.get("steps_run"),
        audit_types=_tuple(audit.get("types")),
        audit_in_order=_tuple(audit.get("in_order")),
        audit_absent=_tuple(audit.get("absent")),
        audit_count=audit.get("count"),
        orders={cid: dict(fields) for cid, fields in (data.get("orders") or {}).items()},
        positions={s: _decimal(q) for s, q in (data.get("positions") or {}).items()},
        failed_checks=_tuple(data.get("failed_checks")),
        breaches=_tuple(data.get("breaches")),
        errors=_tuple(data.get("errors")),
        refused_orders=data.get("refused_orders"),
        account=data.get("account"),
        reports=_expected_reports(data, doc),
        properties=_tuple(data.get("properties")),
    )
