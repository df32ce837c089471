"""The readiness checklist (runbook C5): one function per item, over the runs and the repository.

Each item returns an `Item`: PASS or FAIL, the command that proves it, and what it found (counts,
and the scenario or file that fails, by name). An item with nothing to judge fails: a checklist
that proves nothing must not read as green.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peak_trade.execution.live.checks import check_allowlist, check_live_disabled
from peak_trade.execution.live.config import SessionConfig
from peak_trade.readiness.runs import ScenarioRuns

SHOWN = 10  # names listed per failing item before "and N more"
PREFLIGHT_FAILED = "PREFLIGHT_FAILED"
TRIP_STATES = frozenset({"STOPPING", "ERROR_REQUIRES_OPERATOR"})
LIVE_SWITCH_TAG = "live-switch"  # the scenarios that exist to prove the live switch
IDEMPOTENCY_TAGS = ("idempotency", "duplicate")
RETRY_TAGS = ("retry",)
# The entry points the package installs; each builds its sessions through build_session, whose
# preflight refuses live (docs/readiness.md). A new one must be judged and added here.
KNOWN_ENTRY_POINTS = {
    ("console_scripts", "peak-trade"): "peak_trade.cli.main:main",
    ("pytest11", "peak_trade"): "peak_trade.harness.pytest_plugin",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    key: str
    title: str
    passed: bool
    command: str  # what proves it, to run by hand
    found: str  # one sentence: counts, and what fails
    failures: tuple[str, ...] = field(default=())  # one line per failing scenario or file

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "verdict": "PASS" if self.passed else "FAIL",
            "command": self.command,
            "found": self.found,
            "failures": list(self.failures),
        }


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown if len(items) <= SHOWN else f"{shown} and {len(items) - SHOWN} more"


def _item(key: str, title: str, command: str, ok: str, failures: list[str], bad: str) -> Item:
    if failures:
        return Item(
            key=key,
            title=title,
            passed=False,
            command=command,
            found=f"{bad}: {_names(failures)}",
            failures=tuple(failures),
        )
    return Item(key=key, title=title, passed=True, command=command, found=ok)


# ------------------------------------------------------------------------ the scenarios pass


def scenarios_pass(runs: Sequence[ScenarioRuns]) -> Item:
    failing = [
        f"{r.scenario.id} ({r.scenario.path}): "
        + "; ".join(m.key for m in r.first.verdict.mismatches)
        for r in runs
        if not r.passed
    ]
    if not runs:
        failing = ["no scenario found"]
    return _item(
        "scenarios_pass",
        "Every scenario passes its expectations and its snapshot",
        "peak-trade scenario run",
        f"{len(runs)} of {len(runs)} scenarios pass",
        failing,
        f"{len(failing)} of {len(runs)} scenario(s) fail",
    )


# ------------------------------------------------------------------------------- NO-LIVE


def no_live(runs: Sequence[ScenarioRuns], entry_points: Sequence[tuple[str, str, str]]) -> Item:
    """Live off by default and in every scenario; a scenario that turns it on exists to prove
    the switch (tag live-switch) and either fails preflight or ran under the audited override."""
    failures = []
    default = SessionConfig.from_mapping({})
    if default.live.enabled is not False or default.broker_kind != "mock":
        failures.append(
            "the session config's defaults: live.enabled or broker_kind is not off/mock"
        )
    for group, name, value in entry_points:
        known = KNOWN_ENTRY_POINTS.get((group, name))
        if known != value:
            failures.append(f"entry point {group}:{name} = {value} is not a known, judged one")
    switched = 0
    for r in runs:
        s, facts = r.scenario, r.facts
        enabled = s.config.live.enabled
        if enabled is False and facts.live_enabled is False:
            continue
        switched += 1
        ended = facts.final_state
        overridden = any(k == "live_override_used" for k, _ in facts.counts.record_types)
        if LIVE_SWITCH_TAG not in s.tags:
            failures.append(
                f"{s.id} ({s.path}): config.live.enabled is {enabled!r}; only a scenario tagged "
                f"{LIVE_SWITCH_TAG} may turn the live switch"
            )
        elif ended != PREFLIGHT_FAILED and not overridden:
            failures.append(f"{s.id}: live on, ended {ended} without an audited override")
        elif ended != PREFLIGHT_FAILED and facts.broker_kind != "mock":
            failures.append(f"{s.id}: live under the override with broker {facts.broker_kind}")
    for r in runs:
        if r.facts.broker_kind not in ("mock", None) and r.facts.final_state != PREFLIGHT_FAILED:
            failures.append(f"{r.scenario.id}: broker {r.facts.broker_kind} got past preflight")
    return _item(
        "no_live",
        "Default NO-LIVE in every scenario config and entry point",
        "peak-trade scenario run scenarios/preflight",
        f"live off by default and in {len(runs) - switched} of {len(runs)} scenarios; the "
        f"{switched} that turn the switch are tagged {LIVE_SWITCH_TAG} and end in "
        f"{PREFLIGHT_FAILED} or under the audited test override with the mock broker; "
        f"{len(entry_points)} entry point(s), each a known one",
        failures,
        "live is not off everywhere",
    )


# ------------------------------------------------------------------- enable-flag semantics

ENABLE_FLAG_HEADING = "## The live switch"
# Each statement the doc must make (whitespace and case aside), and what it says.
ENABLE_FLAG_STATEMENTS = (
    "`live.enabled` defaults to `false`",
    "`live.enabled: true` without `live.test_override: true` fails preflight (`live_disabled`)",
    "with `live.test_override: true` the session records `live_override_used`",
    "only the mock broker runs",
    "there is no live broker adapter",
)


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def enable_flag_documented(doc: Path, doc_text: str | None) -> Item:
    """The doc exists, has the section, makes every statement, and the code agrees with it."""
    failures = []
    shown = doc.as_posix()
    if doc_text is None:
        failures.append(f"{shown} does not exist or cannot be read")
    else:
        start = doc_text.find(ENABLE_FLAG_HEADING + "\n")
        if start < 0:
            failures.append(f"{shown} has no section '{ENABLE_FLAG_HEADING}'")
        else:
            rest = doc_text[start + len(ENABLE_FLAG_HEADING) :]
            end = rest.find("\n## ")
            section = _normal(rest if end < 0 else rest[:end])
            failures += [
                f"{shown} '{ENABLE_FLAG_HEADING}' does not state: {statement}"
                for statement in ENABLE_FLAG_STATEMENTS
                if _normal(statement) not in section
            ]
    live_only = SessionConfig.from_mapping({"live": {"enabled": True}})
    overridden = SessionConfig.from_mapping({"live": {"enabled": True, "test_override": True}})
    if SessionConfig.from_mapping({}).live.enabled is not False:
        failures.append("the code: live.enabled does not default to false")
    if check_live_disabled(live_only)[0]:
        failures.append("the code: live.enabled without the override passes live_disabled")
    if not check_live_disabled(overridden)[0]:
        failures.append("the code: live.enabled with the override fails live_disabled")
    return _item(
        "enable_flag_documented",
        "Enable-flag semantics documented (and the code does what the doc says)",
        f"grep -A12 '{ENABLE_FLAG_HEADING}' {shown}",
        f"{shown} states all {len(ENABLE_FLAG_STATEMENTS)} statements of "
        f"'{ENABLE_FLAG_HEADING}', and preflight's live_disabled check agrees",
        failures,
        "the enable flag is not documented as it works",
    )


# ------------------------------------------------------------------------------ allowlists


def allowlists_valid(runs: Sequence[ScenarioRuns]) -> Item:
    """Every allowlist is valid by preflight's own check; an invalid one exists on purpose only
    when its scenario ends PREFLIGHT_FAILED with allowlist_valid failed (nothing traded)."""
    failures, refused = [], []
    for r in runs:
        ok, why = check_allowlist(r.scenario.config)
        if ok:
            continue
        if (
            r.facts.final_state == PREFLIGHT_FAILED
            and "allowlist_valid" in r.facts.preflight_failed
        ):
            refused.append(r.scenario.id)
        else:
            failures.append(f"{r.scenario.id} ({r.scenario.path}): {why}")
    return _item(
        "allowlists_valid",
        "Every allowlist valid",
        "peak-trade scenario run scenarios/preflight",
        f"{len(runs) - len(refused)} allowlist(s) valid; {len(refused)} invalid on purpose and "
        f"refused at preflight ({_names(refused) or 'none'})",
        failures,
        "invalid allowlist(s) not refused",
    )


# ----------------------------------------------------------------------------- credentials


def no_credentials(scan: object, problem: str | None) -> Item:
    from peak_trade.readiness.credentials import BASELINE_NAME, ScanResult

    command = "python -m peak_trade.readiness.credentials --update-baseline (then audit it)"
    if problem is not None or not isinstance(scan, ScanResult):
        return _item("no_credentials", _CRED_TITLE, command, "", [problem or "no scan"], "no scan")
    failures = [
        f"{f.file}:{f.line}: {f.kind} (not an audited false positive)" for f in scan.unexpected
    ]
    if scan.baseline is None:
        failures.append(f"no {BASELINE_NAME} committed: nothing records which findings are audited")
    return _item(
        "no_credentials",
        _CRED_TITLE,
        f"detect-secrets-hook --baseline {BASELINE_NAME} $(git ls-files)",
        f"{scan.files_scanned} tracked file(s) scanned with detect-secrets "
        f"({len(scan.files_skipped)} binary or over the size bound skipped); "
        f"{len(scan.findings)} finding(s), all audited false positives in {BASELINE_NAME}",
        failures,
        "possible credential(s) in tracked files",
    )


_CRED_TITLE = "No credentials in the repository's tracked files (detect-secrets)"


# ------------------------------------------------------------- idempotency, bounded retries


def _tagged(runs: Sequence[ScenarioRuns], tags: Sequence[str]) -> list[ScenarioRuns]:
    return [r for r in runs if any(t in r.scenario.tags for t in tags)]


def idempotency(runs: Sequence[ScenarioRuns]) -> Item:
    chosen = _tagged(runs, IDEMPOTENCY_TAGS)
    failures = [f"{r.scenario.id}: fails" for r in chosen if not r.passed]
    if not chosen:
        failures.append(f"no scenario tagged {' or '.join(IDEMPOTENCY_TAGS)}: nothing proves it")
    for r in runs:  # every run, not only the chosen: the watched broker saw every order
        for step, cid in r.first.second_live:
            failures.append(f"{r.scenario.id}: a second live order {cid} at step {step}")
    return _item(
        "idempotency",
        "Idempotency: no duplicate placement",
        f"peak-trade scenario list | grep -E '{'|'.join(IDEMPOTENCY_TAGS)}'",
        f"{len(chosen)} scenario(s) tagged {' or '.join(IDEMPOTENCY_TAGS)} pass; no run sent "
        f"a second live order for one client order id ({len(runs)} runs watched)",
        failures,
        "duplicate placement not excluded",
    )


def bounded_retries(runs: Sequence[ScenarioRuns]) -> Item:
    chosen = _tagged(runs, RETRY_TAGS)
    failures = [f"{r.scenario.id}: fails" for r in chosen if not r.passed]
    if not chosen:
        failures.append(f"no scenario tagged {RETRY_TAGS[0]}: nothing proves it")
    attempts = sum(r.facts.counts.retry_attempts for r in chosen)
    given_up = sum(
        n for r in chosen for kind, n in r.facts.counts.record_types if kind == "request_given_up"
    )
    if chosen and not given_up:
        failures.append("no retry scenario gives up: the bound is never shown to hold")
    return _item(
        "bounded_retries",
        "Bounded retries",
        f"peak-trade scenario list | grep {RETRY_TAGS[0]}",
        f"{len(chosen)} scenario(s) tagged {RETRY_TAGS[0]} pass: {attempts} retry attempt(s), "
        f"{given_up} request(s) given up at their bound",
        failures,
        "retries not shown bounded",
    )


# ------------------------------------------------------------------ determinism, the audit


def deterministic(runs: Sequence[ScenarioRuns]) -> Item:
    failures = [
        f"{r.scenario.id} ({r.scenario.path}): run 1 and run 2 differ "
        f"(audit sha256 {r.first.audit_sha256[:12]} vs {r.second.audit_sha256[:12]})"
        for r in runs
        if not r.identical
    ]
    if not runs:
        failures.append("no scenario run")
    return _item(
        "deterministic",
        "Every scenario deterministic (two runs, identical bytes)",
        "peak-trade scenario run --audit-dir A; again with --audit-dir B; diff -r A B",
        f"{len(runs)} scenario(s) run twice: audit trails and seals byte-identical",
        failures,
        "nondeterministic scenario(s)",
    )


def audit_sealed(runs: Sequence[ScenarioRuns], audit_dir: str) -> Item:
    failures = []
    for r in runs:
        v = r.verified
        if not v.ok:
            failures.append(f"{r.scenario.id}: {v.reason}")
        elif not v.sealed:
            failures.append(f"{r.scenario.id}: the trail verifies but has no seal")
    records = sum(r.verified.count for r in runs)
    return _item(
        "audit_sealed",
        "Every audit trail verifies and is sealed",
        f"for f in {audit_dir}/*.jsonl; do peak-trade audit verify $f; done",
        f"{len(runs)} trail(s), {records} records: every chain verifies and every seal matches",
        failures,
        "audit trail(s) not verified and sealed",
    )


# -------------------------------------------------------------------------- failure matrix

_ROW_LINK = re.compile(r"\[`(?P<id>[a-z0-9][a-z0-9_-]*)`\]\([^)\s]+\)\s*\|\s*$")


def matrix_rows(doc_text: str) -> list[tuple[str, str]]:
    """(scenario id, documented final state) per row of the doc's "Cases" table."""
    start = doc_text.find("## Cases")
    if start < 0:
        return []
    section = doc_text[start:]
    end = section.find("\n## ", 1)
    rows = []
    for line in (section if end < 0 else section[:end]).splitlines():
        link = _ROW_LINK.search(line)
        if not line.startswith("|") or link is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((link["id"], cells[-2].strip("`") if len(cells) >= 2 else ""))
    return rows


def failure_matrix_green(runs: Sequence[ScenarioRuns], doc: Path, doc_text: str | None) -> Item:
    shown = doc.as_posix()
    failures = []
    rows = matrix_rows(doc_text) if doc_text is not None else []
    if doc_text is None:
        failures.append(f"{shown} does not exist or cannot be read")
    elif not rows:
        failures.append(f"{shown} has no rows in its 'Cases' table")
    by_id = {r.scenario.id: r for r in runs}
    for scenario_id, state in rows:
        r = by_id.get(scenario_id)
        if r is None:
            failures.append(f"{scenario_id}: documented in {shown}, but no such scenario")
        elif not r.passed:
            failures.append(f"{scenario_id} ({r.scenario.path}): fails")
        elif r.facts.final_state != state:
            failures.append(f"{scenario_id}: ends {r.facts.final_state}, {shown} says {state}")
    listed = {scenario_id for scenario_id, _ in rows}
    for r in runs:
        if "failure-matrix" in r.scenario.tags and r.scenario.id not in listed:
            failures.append(f"{r.scenario.id}: tagged failure-matrix, in no row of {shown}")
    return _item(
        "failure_matrix_green",
        "The failure matrix green",
        "peak-trade scenario run scenarios/failure_matrix",
        f"{len(rows)} row(s) of {shown}: each scenario exists, passes and ends in the "
        "documented state",
        failures,
        "the failure matrix is not green",
    )


# -------------------------------------------------------------------------------- tripwires


def trip_problems(records: Sequence[tuple[int, str, str, str | None]]) -> list[str]:
    """Where a breach did not lead to STOPPING or ERROR_REQUIRES_OPERATOR, from (step, state,
    type, to-state of a transition) per record: after a breach, every later record of the same
    step and every record of a later step is in one of those states (or STOPPED, reached from
    them), until an operator's acknowledge moves the session on."""
    problems: list[str] = []
    tripped: tuple[int, int] | None = None  # (record index, step) of the breach not yet settled
    for index, (step, state, kind, to_state) in enumerate(records, start=1):
        if kind == "invariant_breach":
            if state in TRIP_STATES:
                continue  # already stopping or waiting for the operator
            tripped = tripped or (index, step)
            continue
        if tripped is None:
            continue
        if kind == "transition":
            if to_state in TRIP_STATES:
                tripped = None
                continue
            problems.append(
                f"breach at record {tripped[0]} (step {tripped[1]}) followed by a transition "
                f"to {to_state}"
            )
            tripped = None
        elif step > tripped[1] or kind == "session_closed":
            problems.append(
                f"breach at record {tripped[0]} (step {tripped[1]}) left the session in {state}"
            )
            tripped = None
    if tripped is not None:
        problems.append(f"breach at record {tripped[0]} (step {tripped[1]}) never settled")
    return problems


def tripwires_stop(runs: Sequence[ScenarioRuns], records_of) -> Item:
    failures, breaches, scenarios = [], 0, 0
    for r in runs:
        rows = records_of(r)
        n = sum(1 for row in rows if row[2] == "invariant_breach")
        breaches += n
        scenarios += 1 if n else 0
        failures += [f"{r.scenario.id}: {p}" for p in trip_problems(rows)]
    if not breaches:
        failures.append("no scenario trips a wire: nothing shows where a breach leads")
    return _item(
        "tripwires_stop",
        "Tripwires lead to STOPPING or ERROR_REQUIRES_OPERATOR",
        "peak-trade session status AUDIT.jsonl (state after each breach)",
        f"{breaches} breach(es) in {scenarios} scenario(s), each followed at once by STOPPING "
        "or ERROR_REQUIRES_OPERATOR",
        failures,
        "a tripwire did not stop the session",
    )


# -------------------------------------------------------------------- health and counters

LIFECYCLE_COUNTERS = (
    "peak_trade_orders_place",
    "peak_trade_orders_cancel",
    "peak_trade_orders_replace",
    "peak_trade_orders_query",
    "peak_trade_order_state_transitions",
)


def health_and_counters(runs: Sequence[ScenarioRuns], audit_dir: str) -> Item:
    """The watch-only status and the order-lifecycle counters exist for every run, from the
    observe API (session_status, metrics.render), and the counters agree with the trail."""
    from prometheus_client.parser import text_string_to_metric_families

    from peak_trade.observe.metrics import TEXT, render
    from peak_trade.observe.status import session_status

    failures = []
    for r in runs:
        status = session_status(r.facts)
        if status.state is None or not status.chain_verified:
            failures.append(f"{r.scenario.id}: no health snapshot ({status.chain_summary})")
        text = render(r.facts, TEXT).decode("utf-8")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        missing = [name for name in LIFECYCLE_COUNTERS if name not in families]
        if missing:
            failures.append(f"{r.scenario.id}: no counter {', '.join(missing)}")
            continue
        placed = sum(
            s.value
            for s in families["peak_trade_orders_place"].samples
            if s.name.endswith("_total")
        )
        if placed != r.facts.counts.orders_place:
            failures.append(
                f"{r.scenario.id}: orders_place_total {placed} but the trail has "
                f"{r.facts.counts.orders_place} order_submitted"
            )
    if not runs:
        failures.append("no run")
    return _item(
        "health_and_counters",
        "A health snapshot and the order-lifecycle counters exist for every run",
        f"peak-trade session status {audit_dir}/<id>.jsonl; peak-trade metrics "
        f"{audit_dir}/<id>.jsonl",
        f"{len(runs)} run(s): each has a status snapshot and the {len(LIFECYCLE_COUNTERS)} "
        f"order-lifecycle counter families ({audit_dir}/<id>.prom), placements agreeing with "
        "the trail",
        failures,
        "health or counters missing",
    )
