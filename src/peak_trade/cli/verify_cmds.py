"""`peak-trade audit verify` and `peak-trade evidence verify`."""

from __future__ import annotations

import argparse
from pathlib import Path

from peak_trade import __version__
from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context
from peak_trade.cli.output import err, keep_digests, out, screen_secrets
from peak_trade.execution.live.audit import VerifyResult, verify_file
from peak_trade.execution.live.audit_trail.redaction import Redactor
from peak_trade.execution.live.regular_files import open_regular, read_regular
from peak_trade.execution.live.session import build_redactor
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.evidence import (
    EVIDENCE_FORMAT,
    MAX_EVIDENCE_BYTES,
    EvidenceAltered,
    EvidenceFormatError,
    parse_evidence,
)
from peak_trade.harness.evidence_check import (
    audit_problems,
    check_evidence,
    reproducibility_recheck,
)
from peak_trade.harness.loader import scenario_digest
from peak_trade.harness.model import load_scenario
from peak_trade.harness.reproducibility import COMMITTED, CommittedFile, file_at_commit
from peak_trade.harness.secret_screen import secrets_in_text
from peak_trade.harness.signoff import describe_filled
from peak_trade.harness.verdict import evaluate

MAX_SCENARIO_BYTES = 1_048_576  # the loader's bound: a larger file is no scenario


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def cmd_audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Verify an audit file's hash chain and its seal. Harness-independent.

    An unsealed file (its session crashed, is running, or its seal was deleted) fails, exit 1,
    unless `--allow-unsealed`: without a seal a cut at a record boundary goes unnoticed."""
    shown = str(args.file)
    try:
        result = verify_file(Path(args.file))
    except OSError as exc:
        err(f"peak-trade: cannot read the audit file {shown}: {_reason(exc)}")
        return EXIT_BAD_INPUT
    if not result.ok:
        _audit_failure(shown, result)
        return EXIT_FAILED
    verified = f"{result.count} records, head {result.head}"
    if result.sealed:
        out(f"{shown}: ok: {verified} (sealed)")
        return EXIT_OK
    if getattr(args, "allow_unsealed", False):
        out(f"{shown}: ok: {verified} ({UNSEALED_NOTE}; allowed by --allow-unsealed)")
        return EXIT_OK
    err(
        f"{shown}:{result.count}: error: unsealed: the {verified} verify, but no seal lies "
        f"beside the file ({UNSEALED_NOTE}); a trail of a session that crashed or is still "
        "running is checked with --allow-unsealed"
    )
    return EXIT_FAILED


UNSEALED_NOTE = "no seal: a clean cut at a record boundary would not be detected"


def _audit_failure(shown: str, result: VerifyResult) -> None:
    line = result.first_bad_line or result.count or None  # a seal problem: the last line
    where = f"{shown}:{line}" if line else shown
    err(f"{where}: error: {result.reason}")
    if result.first_bad_line and result.count and not result.torn_tail:
        err(f"{shown}: note: the {result.count} record(s) before it verify, head {result.head}")


def cmd_evidence_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Re-run the scenario an evidence file names, render its evidence again from that run and
    the inputs the file records, and require the file to be exactly that text; with --audit,
    also require the audit file to be the sealed trail of that run."""
    shown = str(args.file)
    try:
        with open_regular(args.file) as stream:  # a FIFO or a device is refused, never read
            raw = stream.read(MAX_EVIDENCE_BYTES + 1)
    except OSError as exc:
        err(f"peak-trade: cannot read the evidence file {shown}: {_reason(exc)}")
        return EXIT_BAD_INPUT
    try:
        if len(raw) > MAX_EVIDENCE_BYTES:
            raise EvidenceFormatError(f"larger than {MAX_EVIDENCE_BYTES} bytes: not evidence")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise EvidenceFormatError("not UTF-8 text: not peak_trade evidence") from None
        recorded = parse_evidence(text).digests
    except EvidenceFormatError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        err(f"{where}: error: {exc}")
        return EXIT_FAILED if isinstance(exc, EvidenceAltered) else EXIT_BAD_INPUT
    audit_result = None
    if args.audit is not None:
        try:
            audit_result = verify_file(Path(args.audit))
        except OSError as exc:
            err(f"peak-trade: cannot read the audit file {args.audit}: {_reason(exc)}")
            return EXIT_BAD_INPUT

    scenario_path = str(recorded["scenario_path"])
    try:
        raw_scenario = read_regular(scenario_path, MAX_SCENARIO_BYTES)
    except OSError as exc:
        err(
            f"{shown}: error: scenario_sha256 cannot be checked: the scenario file "
            f"{scenario_path} cannot be read ({_reason(exc)})"
        )
        return EXIT_FAILED
    # The scenario's secrets are on the output screen before anything about it is printed.
    screen_secrets(secrets_in_text(raw_scenario.decode("utf-8", "replace")))
    keep_digests(*(value for value in recorded.values() if isinstance(value, str)))
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as error:
        screen_secrets(error.secrets)
        actual_sha = scenario_digest(raw_scenario, error.secrets)
        if actual_sha != recorded["scenario_sha256"]:
            keep_digests(actual_sha)
            _differs(shown, "scenario_sha256", recorded["scenario_sha256"], actual_sha)
        err(f"{shown}: error: the scenario {scenario_path} no longer loads:")
        for problem in error.problems:
            err(f"    {problem.format()}")
        return EXIT_FAILED
    screen_secrets(scenario.config.secrets.values())
    actual_sha = scenario.sha256  # of the file as it loaded just now, secrets redacted
    redactor = build_redactor(scenario.config)
    say = redactor.redact_text
    verdict = evaluate(scenario, snapshot_dir=args.snapshot_dir)
    keep_digests(actual_sha, verdict.result.head, verdict.snapshot_sha256)
    checked = check_evidence(
        text, recorded, verdict, scenario_sha256=actual_sha, name=Path(shown).name
    )
    findings = checked.findings
    finding, git_note = reproducibility_recheck(
        recorded, _committed_file(recorded, scenario_path), raw_scenario
    )
    if finding is not None:
        findings = [*findings, finding]
    for finding in findings:
        where = f"{shown}:{finding.line}" if finding.line else shown
        err(say(f"{where}: error: {finding.message}"))
        for line in say(finding.detail).splitlines():
            err(f"    {line}")
    audit_ok = True
    if audit_result is not None:
        audit_ok = _audit_bound(str(args.audit), audit_result, recorded)
    if findings or not audit_ok:
        return EXIT_FAILED

    out(
        f"{shown}: ok: scenario {scenario.id} ({scenario_path}) passes again and reproduces "
        f"scenario_sha256, audit_records ({verdict.result.count}), audit_head "
        f"({verdict.result.head}) and snapshot_sha256, and the whole evidence text"
    )
    if audit_result is not None:
        out(
            f"{args.audit}: ok: the sealed trail of this run: {audit_result.count} records, "
            f"head {audit_result.head}, as the evidence records"
        )
    if git_note is not None:
        out(say(f"{shown}: note: {git_note}"))
    if checked.signed:
        out(say(f"{shown}: signed off by hand: {describe_filled(checked.signed)}"))
    elif recorded.get("format") == EVIDENCE_FORMAT:
        out(f"{shown}: note: the sign-off block is not filled in yet")
    if recorded["peak_trade_version"] != __version__:
        out(
            f"{shown}: note: the evidence was made with peak_trade "
            f"{recorded['peak_trade_version']}, verified with {__version__}"
        )
    return EXIT_OK


def _committed_file(recorded: dict[str, object], scenario_path: str) -> CommittedFile | None:
    """The scenario file at the commit the evidence names, when the evidence says it is
    committed unchanged there; None when it says nothing of the kind."""
    inputs = recorded.get("inputs")
    if recorded.get("format") != EVIDENCE_FORMAT or not isinstance(inputs, dict):
        return None
    commit = inputs.get("git_commit")
    if inputs.get("scenario_in_git") != COMMITTED or not isinstance(commit, str):
        return None
    return file_at_commit(Path(scenario_path), commit, max_bytes=MAX_SCENARIO_BYTES)


def _audit_bound(shown: str, result: VerifyResult, recorded: dict[str, object]) -> bool:
    """Report why the audit file is not the sealed trail the evidence records; True if it is."""
    if not result.ok:
        _audit_failure(shown, result)
        return False
    problems = audit_problems(result, recorded)
    for problem in problems:
        err(f"{shown}:{result.count}: error: {problem}")
    return not problems


def _differs(
    shown: str, key: str, expected: object, actual: object, redactor: Redactor | None = None
) -> None:
    text = f"{shown}: error: {key} differs: expected {expected}, actual {actual}"
    err(redactor.redact_text(text) if redactor is not None else text)
