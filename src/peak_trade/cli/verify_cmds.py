"""`peak-trade audit verify` and `peak-trade evidence verify`."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from peak_trade import __version__
from peak_trade.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Context
from peak_trade.cli.output import err, out
from peak_trade.execution.live.audit_verify import verify_file
from peak_trade.execution.live.redaction import Redactor
from peak_trade.execution.live.session import build_redactor
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.evidence import (
    MAX_EVIDENCE_BYTES,
    EvidenceFormatError,
    differing_digests,
    digests,
    parse_digests,
)
from peak_trade.harness.expectations import format_failure
from peak_trade.harness.model import load_scenario
from peak_trade.harness.verdict import evaluate


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def cmd_audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Verify an audit file's hash chain and, when present, its seal. Harness-independent."""
    shown = str(args.file)
    try:
        result = verify_file(Path(args.file))
    except OSError as exc:
        err(f"peak-trade: cannot read the audit file {shown}: {_reason(exc)}")
        return EXIT_BAD_INPUT
    if result.ok:
        seal = (
            "(sealed)"
            if result.sealed
            else "(no seal: a clean cut at a record boundary would not be detected)"
        )
        out(f"{shown}: ok: {result.count} records, head {result.head} {seal}")
        return EXIT_OK
    line = result.first_bad_line or result.count or None  # a seal problem: the last line
    where = f"{shown}:{line}" if line else shown
    err(f"{where}: error: {result.reason}")
    if result.first_bad_line and result.count and not result.torn_tail:
        err(f"{shown}: note: the {result.count} record(s) before it verify, head {result.head}")
    return EXIT_FAILED


def cmd_evidence_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Re-run the scenario an evidence file names and check that it reproduces the digests."""
    shown = str(args.file)
    try:
        with open(args.file, "rb") as stream:
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
        recorded = parse_digests(text)
    except EvidenceFormatError as exc:
        err(f"{shown}: error: {exc}")
        return EXIT_BAD_INPUT

    scenario_path = str(recorded["scenario_path"])
    try:
        actual_sha = hashlib.sha256(Path(scenario_path).read_bytes()).hexdigest()
    except OSError as exc:
        err(
            f"{shown}: error: scenario_sha256 cannot be checked: the scenario file "
            f"{scenario_path} cannot be read ({_reason(exc)})"
        )
        return EXIT_FAILED
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as error:
        if actual_sha != recorded["scenario_sha256"]:
            _differs(shown, "scenario_sha256", recorded["scenario_sha256"], actual_sha)
        err(f"{shown}: error: the scenario {scenario_path} no longer loads:")
        for problem in error.problems:
            err(f"    {problem.format()}")
        return EXIT_FAILED
    redactor = build_redactor(scenario.config)
    ctx.redactor = redactor
    verdict = evaluate(scenario, snapshot_dir=args.snapshot_dir)
    actual = digests(verdict, version=str(recorded["peak_trade_version"]))
    actual["scenario_sha256"] = actual_sha  # the bytes on disk now, as read above
    differences = differing_digests(recorded, actual)
    for key, expected, got in differences:
        _differs(shown, key, expected, got, redactor)
    if not verdict.passed:
        err(f"{shown}: error: the scenario no longer passes:")
        failure = redactor.redact_text(format_failure(scenario.id, verdict.mismatches))
        for line in failure.splitlines():
            err(f"    {line}")
    if differences or not verdict.passed:
        return EXIT_FAILED

    out(
        f"{shown}: ok: scenario {scenario.id} ({scenario_path}) passes again and reproduces "
        f"scenario_sha256, audit_records ({verdict.result.count}), audit_head "
        f"({verdict.result.head}) and snapshot_sha256"
    )
    if recorded["peak_trade_version"] != __version__:
        out(
            f"{shown}: note: the evidence was made with peak_trade "
            f"{recorded['peak_trade_version']}, verified with {__version__}"
        )
    return EXIT_OK


def _differs(
    shown: str, key: str, expected: object, actual: object, redactor: Redactor | None = None
) -> None:
    text = f"{shown}: error: {key} differs: expected {expected}, actual {actual}"
    err(redactor.redact_text(text) if redactor is not None else text)
