"""Evidence of a passing rehearsal: a Markdown file an operator can read and sign, and a machine
can re-check.

`render_evidence` is pure: every fact (date, version, commit, whether the scenario file is
committed there, platform) is passed in, so identical inputs give identical text. It shows what
is signed off: the scenario's description, the expectations checked, the state timeline and the
session <-> broker messages (mermaid, bounded), every refusal (rail, limit, observed value),
breach, operator action, kill switch event and reconciliation finding (from the audit trail,
through observe.facts), preflight, orders, positions, the audit chain, and a blank sign-off
block (signoff.py). `write_evidence` is the thin imperative edge that gathers those facts and
replaces the file atomically. The text ends with a fenced JSON block of digests (canonical JSON,
format `peak_trade.evidence/3`) that also records every input of the rendering (date, operator,
command, environment), so `peak-trade evidence verify` can run the scenario again, render the
evidence anew from that run and those inputs, and compare the two texts byte for byte: an edit
anywhere in the file but the sign-off fields, not only in the digests, fails verification at its
line (evidence_check.py). Format 2 files still verify, against their own frozen renderer
(evidence_v2.py). Nothing secret: every value is redacted before it is escaped, and the whole
text goes through the scenario's redactor as the last step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform as platform_module
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peak_trade import __version__
from peak_trade.execution.live.audit import canonical_json
from peak_trade.execution.live.regular_files import read_regular
from peak_trade.execution.live.session import build_redactor
from peak_trade.harness.loader import scenario_digest
from peak_trade.harness.model import Scenario
from peak_trade.harness.reproducibility import (
    STATUSES,
    GitFacts,
    GitLookup,
    reproducibility_line,
)
from peak_trade.harness.signoff import signoff_lines
from peak_trade.harness.snapshot import SNAPSHOT_SUFFIX
from peak_trade.harness.verdict import Verdict

EVIDENCE_FORMAT = "peak_trade.evidence/3"
FORMAT_2 = "peak_trade.evidence/2"  # still verified, with its own frozen renderer (evidence_v2)
# Format 1 bound only its digests block, not the text around it: it is refused, not verified.
OLD_EVIDENCE_FORMATS = ("peak_trade.evidence/1",)
DIGESTS_HEADING = "## Digests"
INPUTS_KEY = "inputs"
TEXT_KEY = "text_sha256"
DIGEST_KEYS = (
    "audit_head",
    "audit_records",
    "format",
    INPUTS_KEY,
    "peak_trade_version",
    "scenario_id",
    "scenario_path",
    "scenario_sha256",
    "snapshot_sha256",
    TEXT_KEY,
)
# What the rendering takes besides the run itself, recorded so a verifier can render it again:
# key -> whether it may be null (an unknown operator or git commit is left out of the text).
INPUT_KEYS = {
    "command": False,
    "date": False,
    "git_commit": True,
    "operator": True,
    "platform": False,
    "python": False,
    "scenario_in_git": False,
    "snapshot": False,
}
# The digests `evidence verify` requires to match a fresh run (the version is only reported).
VERIFIED_DIGESTS = (
    "scenario_id",
    "scenario_sha256",
    "audit_records",
    "audit_head",
    "snapshot_sha256",
)
MAX_EVIDENCE_BYTES = 4 * 1024 * 1024
MAX_DRAWN_MESSAGES = 40  # arrows of the sequence diagram; the rest are counted
MAX_SCENARIO_BYTES = 1_048_576  # the loader's bound: a larger file is no scenario


class EvidenceFormatError(ValueError):
    """The file is not peak_trade evidence, or its digests block is malformed (bad input).

    `line` (1-based) is where the problem is, when it has one place."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class EvidenceAltered(EvidenceFormatError):
    """The file is peak_trade evidence that was edited in a way no rendering produces (a second
    digests block): a failed check, not bad input."""


def evidence_filename(scenario_id: str, date: dt.date) -> str:
    """`EV-YYYYMMDD-<ID>-PASS.md`, the id upper-cased."""
    return f"EV-{date:%Y%m%d}-{scenario_id.upper()}-PASS.md"


def today() -> dt.date:
    """The evidence date: the UTC calendar day, so a file's name does not depend on a time zone."""
    return dt.datetime.now(dt.UTC).date()  # wallclock: evidence date


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digests(
    verdict: Verdict,
    *,
    version: str,
    inputs: Mapping[str, object] | None = None,
    text: str | None = None,
    evidence_format: str = EVIDENCE_FORMAT,
) -> dict[str, object]:
    """The machine-readable facts `evidence verify` re-checks; with `inputs` and `text` (the
    evidence above its digests), what the rendering took and the SHA-256 of what it wrote."""
    scenario, result = verdict.scenario, verdict.result
    extra: dict[str, object] = {}
    if inputs is not None:
        extra[INPUTS_KEY] = dict(inputs)
    if text is not None:
        extra[TEXT_KEY] = sha256_text(text)
    return {
        **extra,
        "format": evidence_format,
        "scenario_id": scenario.id,
        "scenario_path": scenario.path,
        "scenario_sha256": scenario.sha256,
        "audit_records": result.count,
        "audit_head": result.head,
        "snapshot_sha256": verdict.snapshot_sha256,
        "peak_trade_version": version,
    }


def render_evidence(
    verdict: Verdict,
    *,
    operator: str | None,
    date: dt.date,
    command: str,
    version: str,
    git_commit: str | None,
    scenario_in_git: str,
    python: str,
    platform: str,
    snapshot_name: str | None = None,
) -> str:
    """The evidence Markdown for `verdict`; pure, and redacted with the scenario's secrets.

    `scenario_in_git` (reproducibility.STATUSES) says whether the scenario file that was run is
    committed unchanged at `git_commit`. Redaction sees every value before Markdown or mermaid
    escapes, folds or replaces it (a secret split by an escape would no longer be recognised)
    and the final text again; the digests it prints are kept intact.
    """
    from peak_trade.harness import evidence_sections as sections
    from peak_trade.observe.facts import run_facts

    scenario, result = verdict.scenario, verdict.result
    redactor = build_redactor(scenario.config)
    redact = redactor.redact_text
    facts = run_facts(result, limit=max(sections.MAX_ROWS, MAX_DRAWN_MESSAGES))

    def inline(text: object) -> str:
        return sections.cell(redact(str(text)))

    snapshot = snapshot_name or f"{scenario.id}{SNAPSHOT_SUFFIX}"
    inputs = {
        "command": command,
        "date": date.isoformat(),
        "git_commit": git_commit,
        "operator": operator,
        "platform": platform,
        "python": python,
        "scenario_in_git": scenario_in_git,
        "snapshot": snapshot,
    }
    verdict_text = (
        "**PASS**: no expectation or snapshot mismatch"
        if verdict.passed
        else f"**FAIL**: {len(verdict.mismatches)} expectation(s) not met"
    )
    path = _code(redact(scenario.path))
    out: list[str] = [f"# Evidence: {inline(scenario.id)}: {inline(scenario.title)}", ""]
    out += sections.description(scenario.description, redact)
    facts_list = [
        ("Verdict", verdict_text),
        ("Operator", inline(operator) if operator else None),
        ("Date", f"{date.isoformat()} (UTC)"),
        ("Scenario", f"`{path}`"),
        ("Scenario SHA-256", f"`{scenario.sha256}`"),
        ("peak_trade", inline(version)),
        ("Git commit", f"`{git_commit}`" if git_commit else None),
        ("Reproducible", reproducibility_line(scenario_in_git, git_commit, path)),
        ("Final state", f"`{result.final_state}` after {result.steps_run} step(s)"),
    ]
    out += [f"- **{name}:** {value}" for name, value in facts_list if value is not None]
    out += sections.summary(facts)
    out += ["", "To reproduce:", "", "```sh", redact(command), "```", ""]
    if not verdict.passed:
        out += ["## Expectations not met", ""]
        out += [f"- {inline(m.format().splitlines()[0])}" for m in verdict.mismatches]
        out.append("")

    out += ["## Expectations checked", ""]
    out += sections.expectations(scenario.expect, verdict.mismatches, redact)
    out += ["## State timeline", ""]
    out += sections.timeline(facts, redact)
    out += ["## Messages between session and broker", ""]
    orders = sorted(result.orders.values(), key=lambda o: (o.number, o.client_order_id))
    details = {o.client_order_id: f"{o.side.value} {o.order_qty} {o.symbol}" for o in orders}
    out += sections.messages(facts, details, redact, limit=MAX_DRAWN_MESSAGES)
    out += ["## Refused orders and requests", ""]
    out += sections.refusals(facts, redact)
    out += ["## Breaches", ""]
    out += sections.breaches(facts, redact)
    out += ["## Operator actions", ""]
    out += sections.operator_actions(facts, redact)
    out += ["## Kill switch", ""]
    out += sections.kill_switch(facts, redact)
    out += ["## Reconciliation", ""]
    out += sections.reconciliation(facts, redact)

    out += ["## Preflight", ""]
    checks = [(c.name, "yes" if c.ok else "**no**", c.detail) for c in result.preflight]
    out += _table(
        ("Check", "OK", "Detail"),
        [(cell_name, ok, inline(detail)) for cell_name, ok, detail in checks],
        empty="preflight did not run",
        redact=redact,
        escape=_as_is,
    )

    out += ["## Orders and fills", ""]
    rows = []
    for order in orders:
        avg = order.avg_px
        rows.append(
            (
                order.client_order_id,
                order.symbol,
                order.side.value,
                str(order.order_qty),
                order.status.value,
                str(order.cum_qty),
                str(order.leaves_qty),
                "" if avg is None else str(avg),
                str(order.fills),
            )
        )
    header = ("Id", "Symbol", "Side", "Qty", "Status", "Cum", "Leaves", "Avg px", "Fills")
    out += _table(header, rows, empty="no orders", redact=redact, escape=sections.cell)

    out += ["## Positions", ""]
    positions = [(symbol, str(qty)) for symbol, qty in sorted(result.positions.items())]
    out += _table(
        ("Symbol", "Net qty"), positions, empty="no positions", redact=redact, escape=sections.cell
    )

    out += ["## Audit trail", ""]
    out += [
        f"- **Audit records:** {result.count}",
        f"- **Chain head:** `{result.head}`",
        f"- **Snapshot:** `{_code(redact(snapshot))}` (SHA-256 `{verdict.snapshot_sha256}`)",
        "",
        "## Environment",
        "",
        f"- **Python:** {inline(python)}",
        f"- **Platform:** {inline(platform)}",
        "",
        *signoff_lines(),
        "",
    ]
    # Raw first: each recorded input is redacted before JSON escapes it; then the final bytes.
    inputs = {key: redact(v) if isinstance(v, str) else v for key, v in inputs.items()}
    kept = _digest_values(scenario.sha256, result.head, verdict.snapshot_sha256)
    kept += _digest_values(git_commit)
    # The text above the digests is hashed as written (redacted), so an edit made consistently
    # in the text and in `inputs` (an operator renamed in both) still fails verification.
    text = redactor.redact_text("\n".join(out), keep=kept)
    block = digests(verdict, version=version, inputs=inputs, text=text)
    kept += _digest_values(*block.values())
    return text + redactor.redact_text(
        "\n".join((DIGESTS_HEADING, "", "```json", canonical_json(block), "```", "")), keep=kept
    )


def _as_is(text: str) -> str:
    return text


_DIGEST = re.compile(r"[0-9a-f]{40,128}")


def _digest_values(*values: object) -> list[str]:
    """The values that are hex digests: kept intact by redaction (a secret is never all hex)."""
    return [v for v in values if isinstance(v, str) and _DIGEST.fullmatch(v)]


def parse_digests(text: str) -> dict[str, object]:
    """The digests block of an evidence text; raises EvidenceFormatError naming what is wrong."""
    return parse_evidence(text).digests


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedEvidence:
    digests: dict[str, object]
    line: int  # 1-based line of the digests' JSON


def parse_evidence(text: str) -> ParsedEvidence:
    """The one digests block of an evidence text, checked for shape and types.

    Lines are split on "\n" only (JSON writes U+2028 raw). Exactly one line may be the
    `## Digests` heading (no rendered line can be: every other line starts with text of its own):
    none is not evidence (EvidenceFormatError); two or more is evidence someone edited
    (EvidenceAltered), whichever of them comes first."""
    lines = text.split("\n")
    headings = [n for n, line in enumerate(lines, start=1) if line == DIGESTS_HEADING]
    if not headings:
        fences = [n for n, line in enumerate(lines, start=1) if line == "```json"]
        near = f" (line {fences[-1] - 2} is where it belongs)" if fences and fences[-1] > 2 else ""
        raise EvidenceFormatError(
            f"no '{DIGESTS_HEADING}' section with a ```json block{near}: not peak_trade evidence",
            line=fences[-1] - 2 if near else None,
        )
    if len(headings) > 1:
        where = ", ".join(str(n) for n in headings)
        raise EvidenceAltered(
            f"{len(headings)} '{DIGESTS_HEADING}' sections (lines {where}): evidence has exactly "
            "one, so the file was edited; a second digests block is never trusted",
            line=headings[0],
        )
    body, line = _digests_body(lines, headings[0])
    if body is None:
        raise EvidenceFormatError(
            f"the '{DIGESTS_HEADING}' section at line {headings[0]} has no ```json block, closed "
            f"by a ``` line (line {line} is not as expected)",
            line=line,
        )
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise EvidenceFormatError(
            f"the digests block is not valid JSON ({exc})", line=line
        ) from None
    except RecursionError:  # a digests block is flat; deep nesting is an attack, not evidence
        raise EvidenceFormatError("the digests block is nested too deeply", line=line) from None
    if not isinstance(data, dict):
        raise EvidenceFormatError("the digests block is not a JSON object", line=line)
    try:  # a \ud800 escape decodes to a lone surrogate, which no output can carry
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError):
        raise EvidenceFormatError(
            "the digests block holds text that is not valid Unicode (a lone surrogate escape) "
            "or is nested too deeply",
            line=line,
        ) from None
    found = data.get("format")
    if found in OLD_EVIDENCE_FORMATS:
        path = data.get("scenario_path")
        again = f"`peak-trade scenario run {path}`" if isinstance(path, str) else "the scenario"
        raise EvidenceFormatError(
            f"this evidence is in the old format {found}, which bound only its digests block and "
            f"not the text around it, so it cannot be verified; run {again} again to write "
            f"evidence in format {EVIDENCE_FORMAT}",
            line=line,
        )
    if found not in (EVIDENCE_FORMAT, FORMAT_2):
        raise EvidenceFormatError(
            f"the digests block has format {found!r}, expected {EVIDENCE_FORMAT!r} (or the "
            f"older {FORMAT_2!r})",
            line=line,
        )
    missing = [key for key in DIGEST_KEYS if key not in data]
    if missing:
        raise EvidenceFormatError(f"the digests block lacks {', '.join(missing)}", line=line)
    for key in DIGEST_KEYS:
        value = data[key]
        if key == INPUTS_KEY:
            _check_inputs(value, line, _input_keys(found))
        elif key == "audit_records":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise EvidenceFormatError(
                    f"the digest {key} is not a non-negative integer", line=line
                )
        elif not isinstance(value, str) or not value:
            raise EvidenceFormatError(f"the digest {key} is not a non-empty string", line=line)
    return ParsedEvidence(digests=data, line=line)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _input_keys(evidence_format: object) -> Mapping[str, bool]:
    if evidence_format == FORMAT_2:
        from peak_trade.harness import evidence_v2

        return evidence_v2.INPUT_KEYS
    return INPUT_KEYS


def _check_inputs(value: object, line: int, keys: Mapping[str, bool]) -> None:
    if not isinstance(value, dict):
        raise EvidenceFormatError(f"the digest {INPUTS_KEY} is not a JSON object", line=line)
    if set(value) != set(keys):
        raise EvidenceFormatError(
            f"the digest {INPUTS_KEY} must hold exactly {', '.join(keys)}", line=line
        )
    for key, nullable in keys.items():
        item = value[key]
        if not (isinstance(item, str) or (nullable and item is None)):
            kind = "a string or null" if nullable else "a string"
            raise EvidenceFormatError(f"the input {key} is not {kind}", line=line)
    date = value["date"]
    try:
        ok = bool(_ISO_DATE.fullmatch(date)) and dt.date.fromisoformat(date).isoformat() == date
    except ValueError:
        ok = False
    if not ok:
        raise EvidenceFormatError(f"the input date {date!r} is not a YYYY-MM-DD date", line=line)
    where = value.get("scenario_in_git", STATUSES[0])
    if where not in STATUSES:
        raise EvidenceFormatError(
            f"the input scenario_in_git {where!r} is not one of {', '.join(STATUSES)}", line=line
        )


def recorded_date(recorded: Mapping[str, object]) -> dt.date:
    """The evidence date of digests that parse_evidence accepted."""
    return dt.date.fromisoformat(_inputs(recorded)["date"])  # type: ignore[arg-type]


def render_again(verdict: Verdict, recorded: Mapping[str, object]) -> str:
    """The evidence text that `verdict` gives with the inputs `recorded` (parse_evidence's
    digests): byte for byte the file, if neither the file nor the run has changed."""
    inputs = _inputs(recorded)
    if recorded.get("format") == FORMAT_2:
        from peak_trade.harness.evidence_v2 import render_evidence_v2

        return render_evidence_v2(
            verdict,
            operator=inputs["operator"],  # type: ignore[arg-type]
            date=recorded_date(recorded),
            command=str(inputs["command"]),
            version=str(recorded["peak_trade_version"]),
            git_commit=inputs["git_commit"],  # type: ignore[arg-type]
            python=str(inputs["python"]),
            platform=str(inputs["platform"]),
            snapshot_name=str(inputs["snapshot"]),
        )
    return render_evidence(
        verdict,
        scenario_in_git=str(inputs["scenario_in_git"]),
        operator=inputs["operator"],  # type: ignore[arg-type]
        date=recorded_date(recorded),
        command=str(inputs["command"]),
        version=str(recorded["peak_trade_version"]),
        git_commit=inputs["git_commit"],  # type: ignore[arg-type]
        python=str(inputs["python"]),
        platform=str(inputs["platform"]),
        snapshot_name=str(inputs["snapshot"]),
    )


def _inputs(recorded: Mapping[str, object]) -> Mapping[str, object]:
    inputs = recorded[INPUTS_KEY]
    if not isinstance(inputs, Mapping):
        raise EvidenceFormatError(f"the digest {INPUTS_KEY} is not a JSON object")
    return inputs


def _digests_body(lines: list[str], heading: int) -> tuple[str | None, int]:
    """(the text of the ```json block after the heading on 1-based line `heading`, or None; the
    1-based line where that text starts, or where the block is broken). Blank lines between the
    heading and the block are allowed here (the byte comparison judges the layout)."""
    index = heading  # 0-based: the line after the heading
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or lines[index].rstrip() != "```json":
        return None, min(index, len(lines) - 1) + 1
    body: list[str] = []
    for line in lines[index + 1 :]:
        if line.rstrip() == "```":
            return "\n".join(body), index + 2
        body.append(line)
    return None, len(lines)  # the block is never closed


def differing_digests(
    recorded: Mapping[str, object], actual: Mapping[str, object]
) -> list[tuple[str, object, object]]:
    """(key, recorded, actual) for every verified digest that differs."""
    return [
        (key, recorded.get(key), actual.get(key))
        for key in VERIFIED_DIGESTS
        if recorded.get(key) != actual.get(key)
    ]


def scenario_git(scenario: Scenario, lookup: GitLookup | None = None) -> GitFacts:
    """Where the scenario file that was run stands in its git repository (asked through
    `lookup`, shared by a run of many scenarios). Its bytes are read again (bounded, a regular
    file only) and taken for the bytes run only when they hash to the digest the run recorded:
    a file changed since is not the file that was run."""
    secrets = [v for v in scenario.config.secrets.values() if isinstance(v, str)]
    try:
        raw: bytes | None = read_regular(scenario.path, MAX_SCENARIO_BYTES)
    except OSError:
        raw = None
    if raw is not None and scenario_digest(raw, secrets) != scenario.sha256:
        raw = None
    return (lookup or GitLookup()).scenario_in_git(Path(scenario.path), raw)


def platform_name() -> str:
    return f"{platform_module.system() or 'unknown'} {platform_module.machine() or ''}".strip()


def write_evidence(
    verdict: Verdict,
    evidence_dir: Path,
    *,
    operator: str | None,
    command: str,
    snapshot_name: str | None = None,
    git: GitLookup | None = None,
) -> Path:
    """Render and atomically write the evidence of a passing verdict; returns its path. `git`
    is the lookup a run of many scenarios shares (one is made when none is given)."""
    if not verdict.passed:
        raise ValueError("Evidence is written for a passing verdict only.")
    date = today()
    where = scenario_git(verdict.scenario, git)
    text = render_evidence(
        verdict,
        operator=operator,
        date=date,
        command=command,
        version=__version__,
        git_commit=where.commit,
        scenario_in_git=where.status,
        python=platform_module.python_version(),
        platform=platform_name(),
        snapshot_name=snapshot_name,
    )
    path = Path(evidence_dir) / evidence_filename(verdict.scenario.id, date)
    write_text_atomic(path, text)
    return path


def write_text_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write `text` to `path` so a reader sees the old file or the whole new one, never half.

    A temp file in the same folder is written, flushed and fsynced, then renamed over `path`
    (`os.replace`), or, with `overwrite=False`, hard-linked to `path` so an existing file is never
    replaced (FileExistsError); then the folder is fsynced so the rename itself is durable.
    """
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            _link_exclusive(temp, path, text)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(directory)


def _link_exclusive(temp: Path, path: Path, text: str) -> None:
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: exclusive create instead
        with open(path, "x", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a folder; the rename is as durable as it gets
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- Markdown helpers --------------------------------------------------------------------------


def _inline(text: object) -> str:
    """One line of Markdown text: newlines folded, pipes escaped (safe in a table cell too)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return _inline(text).replace("`", "'")


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    empty: str,
    redact: Callable[[str], str] = str,
    escape: Callable[[str], str] = _inline,
) -> list[str]:
    rows = list(rows)
    if not rows:
        return [f"_{empty}_", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(escape(redact(cell)) for cell in row) + " |" for row in rows]
    return [*lines, ""]
