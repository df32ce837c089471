"""What `evidence verify` compares, as pure functions: texts, a file name, an audit file's result.

The evidence is checked as a whole: the scenario is run again and the evidence rendered anew
from that run and the inputs the digests block records (evidence.render_again); the file must be
exactly that text, except for the sign-off fields an operator fills in by hand (signoff.py),
which are put back to blank first. `first_difference` names the first line that is not. An audit
file given with `--audit` must be the sealed trail of the same run: its chain verifies, its seal
is present and agrees with it, and its record count and head are the ones the evidence records.
The head is what binds them: a forger can recompute a chain and its seal, but not make a
different trail hash to the head that the scenario reproduces on every run. Evidence that says
its scenario file is committed unchanged at a commit is held to it where that commit is known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from peak_trade.execution.live.audit import VerifyResult
from peak_trade.harness.errors import ScenarioError
from peak_trade.harness.evidence import (
    DIGESTS_HEADING,
    EVIDENCE_FORMAT,
    INPUTS_KEY,
    TEXT_KEY,
    differing_digests,
    digests,
    evidence_filename,
    recorded_date,
    render_again,
    sha256_text,
)
from peak_trade.harness.expectations import format_failure
from peak_trade.harness.loader import load_scenario_text
from peak_trade.harness.reproducibility import (
    COMMITTED,
    NO_COMMIT,
    NO_GIT,
    NO_REPOSITORY,
    UNTRACKED,
    CommittedFile,
)
from peak_trade.harness.signoff import restore_blanks
from peak_trade.harness.verdict import Verdict

MAX_SHOWN = 160  # characters of a differing line shown in a message
_EVIDENCE_NAME = re.compile(r"EV-[0-9]{8}-.+-PASS\.md")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One reason an evidence file does not verify; `line` (1-based) where it has one place."""

    message: str
    line: int | None = None
    detail: str = ""  # further lines, e.g. the expectations a re-run no longer meets


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceCheck:
    findings: list[Finding]  # empty: the file verifies
    signed: tuple[tuple[str, str], ...]  # the sign-off fields filled in by hand: (name, text)


def evidence_findings(
    text: str,
    recorded: Mapping[str, object],
    verdict: Verdict,
    *,
    scenario_sha256: str,
    name: str,
) -> list[Finding]:
    """Every way `text`, whose digests parse_evidence read as `recorded`, is not the evidence
    of the fresh run `verdict` (of a scenario file whose bytes hash to `scenario_sha256`) in a
    file called `name`. Empty: the file is, byte for byte, what that run renders, apart from
    the sign-off fields filled in by hand (signoff.py)."""
    return check_evidence(
        text, recorded, verdict, scenario_sha256=scenario_sha256, name=name
    ).findings


def check_evidence(
    text: str,
    recorded: Mapping[str, object],
    verdict: Verdict,
    *,
    scenario_sha256: str,
    name: str,
) -> EvidenceCheck:
    """`evidence_findings`, and what the sign-off block says."""
    rendered = render_again(verdict, recorded)
    signed: tuple[tuple[str, str], ...] = ()
    if recorded.get("format") == EVIDENCE_FORMAT:  # older formats have no sign-off block
        restored = restore_blanks(rendered, text, block_end=DIGESTS_HEADING)
        text, signed = restored.text, restored.filled
    actual = digests(verdict, version=str(recorded["peak_trade_version"]))
    actual["scenario_sha256"] = scenario_sha256  # the bytes on disk now
    findings = [
        Finding(message=f"{key} differs: expected {expected}, actual {got}")
        for key, expected, got in differing_digests(recorded, actual)
    ]
    if not verdict.passed:
        detail = format_failure(verdict.scenario.id, verdict.mismatches)
        findings.append(Finding(message="the scenario no longer passes:", detail=detail))
    difference = first_difference(rendered, text)
    if difference is not None:
        # A run that changed explains a changed text; only a run that did not can show that the
        # edit is in the digests' inputs.
        findings.append(_text_finding(text, recorded, difference, run_changed=bool(findings)))
    problem = filename_problem(name, recorded)
    if problem is not None:
        findings.append(Finding(message=problem))
    return EvidenceCheck(findings=findings, signed=signed if not findings else ())


def _text_finding(
    text: str, recorded: Mapping[str, object], difference: TextDifference, *, run_changed: bool
) -> Finding:
    """The finding for a text that is not the rendering; when the text above the digests still
    hashes to the recorded text_sha256, the edit is in the digests' inputs: named there."""
    said = "the evidence text differs from what the re-run renders: " + difference.describe()
    heading = f"\n{DIGESTS_HEADING}\n"
    cut = text.find(heading)
    if run_changed or cut < 0 or sha256_text(text[: cut + 1]) != recorded.get(TEXT_KEY):
        return Finding(message=said, line=difference.line)
    digests_line = text.count("\n", 0, cut) + 5  # heading, blank, ```json, then the JSON
    if difference.line >= digests_line:
        return Finding(message=said, line=difference.line)
    # An edit of the block's inputs and a renderer that changed since the file was written look
    # alike from here (the block cannot hash itself), so the finding names both causes.
    return Finding(
        message=f"the digests block was edited, or the evidence was written by a peak_trade that "
        f"renders it otherwise (it records version {recorded.get('peak_trade_version')}; write "
        f"fresh evidence with this one and compare): the text above it is intact (it hashes to "
        f"the recorded {TEXT_KEY}), but the inputs the block records render it otherwise: "
        + difference.describe(),
        line=digests_line,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TextDifference:
    line: int  # 1-based
    expected: str | None  # None: the rendering ends before this line
    found: str | None  # None: the file ends before this line

    def describe(self) -> str:
        if self.found is None:
            return (
                f"the file ends before line {self.line}; the re-run renders "
                f"{_shown(self.expected or '')} there"
            )
        if self.expected is None:
            return (
                f"line {self.line} is extra: the re-run renders {self.line - 1} line(s), the file "
                f"goes on with {_shown(self.found)}"
            )
        hint = ""
        if self.found == self.expected + "\r":
            hint = " (a CRLF line ending: evidence is written with LF only)"
        keys = _differing_keys(self.expected, self.found)
        if keys:
            return f"the digests block differs at {', '.join(keys)}{hint}"
        column = next(
            (i for i, (a, b) in enumerate(zip(self.expected, self.found, strict=False)) if a != b),
            min(len(self.expected), len(self.found)),
        )
        return (
            f"line {self.line} reads {_excerpt(self.found, column)}, the re-run renders "
            f"{_excerpt(self.expected, column)} (column {column + 1}){hint}"
        )


def first_difference(expected: str, found: str) -> TextDifference | None:
    """The first line where `found` is not `expected`, split on "\\n" only; None if equal."""
    if expected == found:
        return None
    want, got = expected.split("\n"), found.split("\n")
    for index in range(max(len(want), len(got))):  # bounded: the longer text's lines
        a = want[index] if index < len(want) else None
        b = got[index] if index < len(got) else None
        if a != b:
            return TextDifference(line=index + 1, expected=a, found=b)
    raise AssertionError("unequal texts with equal lines")  # split() is lossless


def filename_problem(name: str, recorded: Mapping[str, object]) -> str | None:
    """A file named like evidence (`EV-YYYYMMDD-<ID>-PASS.md`) must carry the date and scenario
    id it records; any other name (a copy, a ticket attachment) is not judged."""
    if not _EVIDENCE_NAME.fullmatch(name):
        return None
    wanted = evidence_filename(str(recorded["scenario_id"]), recorded_date(recorded))
    if name == wanted:
        return None
    return (
        f"the file name {name} does not match the evidence it holds, which would be named "
        f"{wanted}: its date or scenario id was changed"
    )


def audit_problems(result: VerifyResult, recorded: Mapping[str, object]) -> list[str]:
    """Why an audit file's verification `result` does not bind it to the evidence `recorded`;
    empty when the file is the sealed trail whose count and head the evidence records."""
    if not result.ok:
        return []  # the file's own finding is reported first, and is enough
    problems = []
    if not result.sealed:
        problems.append(
            "unsealed: no seal lies beside the file, and the evidence is only ever written for a "
            "session that closed cleanly and sealed its trail"
        )
    count, head = recorded["audit_records"], recorded["audit_head"]
    if result.count != count:
        problems.append(
            f"audit_records differs: the evidence records {count} records, the file holds "
            f"{result.count}"
        )
    if result.head != head:
        problems.append(
            f"audit_head differs: the evidence records head {head}, the file's is {result.head}"
        )
    return problems


def _differing_keys(expected: str, found: str) -> list[str]:
    """For two JSON object lines (the digests), each key whose value differs, with what the file
    records and what the re-run renders; empty if either line is not such an object."""
    try:
        want, got = json.loads(expected), json.loads(found)
    except ValueError:
        return []
    if not (isinstance(want, dict) and isinstance(got, dict)):
        return []
    keys = []
    for key in sorted(set(want) | set(got)):  # bounded: the digests' keys
        a, b = want.get(key), got.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            keys += [
                f"{key}.{k} (the file records {_json(b.get(k))}, the re-run renders "
                f"{_json(a.get(k))})"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        else:
            keys.append(f"{key} (the file records {_json(b)}, the re-run renders {_json(a)})")
    if keys and all(k.startswith(f"{TEXT_KEY} ") for k in keys):
        keys[0] += ": the text above the digests block was changed"
    return keys


def _json(value: object) -> str:
    text = json.dumps(value)  # ASCII, control characters escaped
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... (+{len(text) - MAX_SHOWN})"


def _excerpt(text: str, column: int) -> str:
    """`text` around `column` where it is long: the differing part is what matters."""
    if len(text) <= MAX_SHOWN:
        return _shown(text)
    start = max(0, column - MAX_SHOWN // 2)
    part = text[start : start + MAX_SHOWN]
    before = f"{start} characters, then " if start else ""
    after = len(text) - start - len(part)
    return f"{before}{part!r}" + (f" (+{after} characters)" if after else "")


def _shown(text: str) -> str:
    # repr: one line, control characters escaped, so a hostile line cannot steer the terminal
    if len(text) > MAX_SHOWN:
        return repr(text[:MAX_SHOWN]) + f" (+{len(text) - MAX_SHOWN} characters)"
    return repr(text)


def reproducibility_recheck(
    recorded: Mapping[str, object], committed: CommittedFile | None, ran: bytes
) -> tuple[Finding | None, str | None]:
    """(a finding, a note) about the evidence's claim that the scenario file is committed
    unchanged at its git commit, re-checked against `committed` (the file as that commit holds
    it, None when the claim is not made) and `ran` (the file's bytes now, which hash to the
    recorded scenario_sha256). A version at the commit that differs only in its secrets' values
    still holds: the evidence never bound those."""
    inputs = recorded.get(INPUTS_KEY)
    if committed is None or not isinstance(inputs, Mapping):
        return None, None
    commit = inputs.get("git_commit")
    path = recorded.get("scenario_path")
    if committed.status in (NO_COMMIT, NO_REPOSITORY, NO_GIT):
        why = {
            NO_COMMIT: f"this repository has no commit {commit}",
            NO_REPOSITORY: f"{path} is not in a git repository here",
            NO_GIT: "git could not be run",
        }[committed.status]
        return None, f"that {path} is committed unchanged at {commit} is not re-checked: {why}"
    content = committed.content
    if (
        committed.status == COMMITTED
        and content is not None
        and (content == ran or _digest_of(content, path) == recorded.get("scenario_sha256"))
    ):
        return None, None
    said = "is not there" if committed.status == UNTRACKED else "is another version of the file"
    return (
        Finding(
            message=f"the evidence says {path} is committed unchanged at {commit}, but what that "
            f"commit holds at {path} {said}: the reproducibility line is not true"
        ),
        None,
    )


def _digest_of(content: bytes, path: object) -> str | None:
    """The scenario digest of a committed version (its own secrets redacted); None if it does
    not even load as a scenario document."""
    try:
        return load_scenario_text(content, path=str(path)).sha256
    except ScenarioError:
        return None
