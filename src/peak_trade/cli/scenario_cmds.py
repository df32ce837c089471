"""`peak-trade scenario run|new`: the commands that run the engine or write files.

`list` and `validate` only read scenarios and live in validate_cmds.py, so they never import the
engine this module needs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path

from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context, PathProblem
from peak_trade.cli.json_output import mismatch_json
from peak_trade.cli.output import (
    display_path,
    err,
    keep_digests,
    out,
    plural,
    screened,
    table,
)
from peak_trade.cli.template import id_problem, render_template, schema_location
from peak_trade.cli.validate_cmds import load_all, no_files, print_results, report_problems
from peak_trade.execution.live.session import build_redactor
from peak_trade.harness.audit_lock import AuditPathLock
from peak_trade.harness.evidence import (
    evidence_filename,
    today,
    write_evidence,
    write_text_atomic,
)
from peak_trade.harness.expectations import format_failure
from peak_trade.harness.loader import load_scenario_text
from peak_trade.harness.model import build_scenario
from peak_trade.harness.reproducibility import GitLookup
from peak_trade.harness.snapshot import snapshot_path
from peak_trade.harness.validate import load_schema, validate_document
from peak_trade.harness.verdict import Verdict, evaluate

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "Context",
    "PathProblem",
    "cmd_new",
    "cmd_run",
]


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load_all(args.paths, check_duplicates=True)
    if not loaded.files:
        return no_files(args.paths)
    if loaded.invalid:
        if args.json:  # one object per file, none of them run
            print_results(loaded, **dict.fromkeys(NOT_RUN), mismatches=[])
        else:
            report_problems(loaded.problems)
        total = len(loaded.files)
        err(f"{loaded.invalid} of {total} scenario file(s) invalid; nothing was run")
        return EXIT_BAD_INPUT
    # Every scenario's secrets are on the output screen already (load_all): one scenario's
    # output may quote another's secret.
    audit_dir: Path | None = args.audit_dir
    # Every output location is checked before anything runs: a bad one is found now, not after
    # the first scenario ran and wrote.
    writable_folder(args.evidence_dir, "write evidence into", may_create=True)
    if audit_dir is not None:
        try:
            audit_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PathProblem.wrap("create the audit folder", audit_dir, exc) from None
        writable_folder(audit_dir, "write audit files into")
        for scenario in loaded.scenarios:  # one run at a time per audit file (audit_lock.py)
            with AuditPathLock(audit_dir / f"{scenario.id}.jsonl"):
                pass
    total = len(loaded.scenarios)
    id_width = max(len(s.id) for s in loaded.scenarios)
    summary: list[tuple[str, str, str, int, int]] = []
    git = GitLookup()  # each folder's repository asked once for the whole run
    for number, scenario in enumerate(loaded.scenarios, start=1):
        audit_file = None if audit_dir is None else audit_dir / f"{scenario.id}.jsonl"
        verdict = evaluate(scenario, snapshot_dir=args.snapshot_dir, audit_file=audit_file)
        metrics_file = None
        if audit_file is not None:
            metrics_file = write_metrics_beside(audit_file, verdict.result.head)
        evidence, removed = _settle_evidence(verdict, args, git)
        redact = build_redactor(scenario.config).redact_text
        result = verdict.result
        keep_digests(result.head, result.head[:12])
        word = "PASS" if verdict.passed else "FAIL"
        summary.append((scenario.id, word, result.final_state, result.steps_run, result.count))
        if args.json:
            record = {
                "id": scenario.id,
                "path": scenario.path,
                "valid": True,
                "errors": [],
                "passed": verdict.passed,
                "final_state": result.final_state,
                "steps_run": result.steps_run,
                "audit_records": result.count,
                "audit_head": result.head,
                "evidence": None if evidence is None else display_path(evidence),
                "audit_file": None if audit_file is None else display_path(audit_file),
                "metrics_file": None if metrics_file is None else display_path(metrics_file),
            }
            # Values redacted before JSON escapes them; out() screens the escaped line again.
            record = {k: screened(v) if isinstance(v, str) else v for k, v in record.items()}
            record["mismatches"] = [
                mismatch_json(m, lambda text, r=redact: screened(r(text)))
                for m in verdict.mismatches
            ]
            out(json.dumps(record, ensure_ascii=False))
            if removed is not None:
                err(f"{scenario.id}: {_removed_text(removed)}")
            continue
        out(
            f"[{number:>{len(str(total))}}/{total}] {word} {scenario.id:<{id_width}}  "
            f"{result.final_state}  {plural(result.steps_run, 'step')}  "
            f"{plural(result.count, 'record')}  head {result.head[:12]}"
        )
        if not verdict.passed:
            for line in redact(format_failure(scenario.id, verdict.mismatches)).splitlines():
                out(f"    {line}")
        if audit_file is not None:
            out(f"    audit: {display_path(audit_file)}")
        if metrics_file is not None:
            out(f"    metrics: {display_path(metrics_file)}")
        if evidence is not None:
            out(f"    evidence: {display_path(evidence)}")
        if removed is not None:
            out(f"    {_removed_text(removed)}")
    failed = sum(1 for row in summary if row[1] == "FAIL")
    if not args.json:
        out()
        for line in table(("ID", "VERDICT", "FINAL STATE", "STEPS", "RECORDS"), summary):
            out(line)
        out(f"{len(summary) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


# The fields of a run record that only a run fills (null in the records of a batch not run).
NOT_RUN = (
    "passed",
    "final_state",
    "steps_run",
    "audit_records",
    "audit_head",
    "evidence",
    "audit_file",
    "metrics_file",
)


def write_metrics_beside(audit_file: Path, head: str) -> Path | None:
    """Write the trail's metrics to `<id>.prom` beside `<id>.jsonl`, in the text format that
    node-exporter's textfile collector reads (observe/metrics.py), derived from the file as
    written: `peak-trade metrics <id>.jsonl --output <id>.prom` writes the same bytes.

    Only while the file is still this run's trail (its chain ends in `head`): once the run has
    released the audit path, another run may already be replacing it, and that run writes the
    metrics of its own trail. None when nothing was written."""
    from peak_trade.observe.facts import read_facts
    from peak_trade.observe.metrics import TEXT, render, write_textfile

    path = audit_file.with_suffix(".prom")
    try:
        facts = read_facts(audit_file)
        if facts.chain.head != head:
            return None
        write_textfile(path, screened(render(facts, TEXT).decode("utf-8")).encode("utf-8"))
    except OSError as exc:
        raise PathProblem.wrap("write the metrics file", path, exc) from None
    return path


def writable_folder(path: Path, what: str, *, may_create: bool = False) -> None:
    """PathProblem unless `path` is a folder this process can write into (or, `may_create`,
    one it can create: its nearest existing ancestor is such a folder)."""
    here = Path(path)
    for _ in range(len(here.absolute().parts)):  # bounded: one round per ancestor
        if here.is_dir():
            if not os.access(here, os.W_OK | os.X_OK):
                raise PathProblem(f"cannot {what} {display_path(path)}: permission denied")
            return
        if os.path.lexists(here) or not may_create:
            kind = "is not a folder" if os.path.lexists(here) else "does not exist"
            raise PathProblem(f"cannot {what} {display_path(path)}: {display_path(here)} {kind}")
        here = here.absolute().parent
    raise PathProblem(f"cannot {what} {display_path(path)}: no folder to create it in")


def _settle_evidence(
    verdict: Verdict, args: argparse.Namespace, git: GitLookup
) -> tuple[Path | None, Path | None]:
    """(evidence written, stale evidence removed): a pass writes evidence; a failure removes
    today's PASS evidence for the scenario, which would now be misleading."""
    scenario = verdict.scenario
    evidence_dir: Path = args.evidence_dir
    if verdict.passed:
        command = f"peak-trade scenario run {shlex.quote(scenario.path)}"
        snapshot = display_path(snapshot_path(args.snapshot_dir, scenario.id))
        try:
            path = write_evidence(
                verdict,
                evidence_dir,
                operator=args.operator,
                command=command,
                snapshot_name=snapshot,
                git=git,
            )
        except OSError as exc:
            raise PathProblem.wrap("write evidence into", evidence_dir, exc) from None
        return path, None
    stale = evidence_dir / evidence_filename(scenario.id, today())
    if stale.is_file():
        try:
            stale.unlink()
        except OSError as exc:
            raise PathProblem.wrap("remove the stale evidence", stale, exc) from None
        return None, stale
    return None, None


def _removed_text(path: Path) -> str:
    return (
        f"removed {display_path(path)}: today's PASS evidence for this scenario "
        "would now be misleading"
    )


def cmd_new(args: argparse.Namespace, ctx: Context) -> int:
    scenario_id: str = args.id
    problem = id_problem(scenario_id)
    if problem is not None:
        err(f"peak-trade: {problem}")
        return EXIT_BAD_INPUT
    target_dir: Path = args.dir
    schema = schema_location(target_dir, args.config.root)
    text = render_template(scenario_id, target_dir=target_dir, schema=schema)
    _check_template(text, scenario_id)
    if args.stdout:
        out(text.rstrip("\n"))
        return EXIT_OK
    path = target_dir / f"{scenario_id}.yaml"
    shown = display_path(path)
    try:
        write_text_atomic(path, text, overwrite=False)
    except FileExistsError:
        err(f"peak-trade: {shown} already exists; not overwriting it (pick another id or --dir)")
        return EXIT_BAD_INPUT
    except OSError as exc:
        raise PathProblem.wrap("write", path, exc) from None
    out(f"wrote {shown}")
    out(f"  check it: peak-trade scenario validate {shlex.quote(shown)}")
    out(
        "  it has no snapshot yet: run `pytest --snapshot-update` to record it, review it, "
        "and commit both"
    )
    if not schema.is_file():  # the modeline names a file the project does not have yet
        shown_schema = shlex.quote(display_path(schema))
        out(
            f"  its editor modeline names {display_path(schema)}, which does not exist yet: "
            f"write it with `peak-trade schema --output {shown_schema}`"
        )
    return EXIT_OK


def _check_template(text: str, scenario_id: str) -> None:
    """The template must validate; a failure here is a bug, reported as an internal error."""
    doc = load_scenario_text(text, path=f"<template {scenario_id}>")
    problems = validate_document(doc, load_schema())
    if problems:
        raise RuntimeError(f"the scenario template does not validate: {problems[0].format()}")
    build_scenario(doc)
