"""No credentials in the repository's tracked files: detect-secrets, in-process, bounded.

The files are those `git ls-files` names (at most MAX_FILES), each read only when it is a regular
file of at most MAX_FILE_BYTES and UTF-8 text (binary files are counted as skipped). Every line
goes through detect-secrets' line scanner with the plugins and filters the committed baseline
(`.secrets.baseline`) lists. The scanner's file transformers are not used: they parse YAML with
a loader that expands aliases, and the repository keeps an alias bomb among its bad inputs.
The default filter `is_indirect_reference` is left out of the baseline on purpose: it costs most
of the scan's time, and what it would hide is audited in the baseline instead.

A finding passes when the baseline holds it (same file, same secret type and hash) audited as a
false positive (`is_secret: false`, as `detect-secrets audit .secrets.baseline` records it). A
finding not in the baseline, or one the baseline has not audited or marks as a real secret, fails
the item. Only file names, line numbers and secret types are reported, never a value.

`python -m peak_trade.readiness.credentials --update-baseline` rewrites the baseline from a scan,
keeping the audit verdicts it already holds; new entries are unaudited until someone audits them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

BASELINE_NAME = ".secrets.baseline"
MAX_FILES = 20_000
MAX_FILE_BYTES = 1_048_576
MAX_BASELINE_BYTES = 4_194_304
GIT_TIMEOUT_SECONDS = 30
# The detectors of credential formats a trading desk's repository could leak (cloud, forge and
# package tokens, private keys, JWTs, URLs with a password) and the keyword detector (`password =
# "..."`). The high-entropy detectors are left out: this repository is full of SHA-256 digests
# (chain heads), each of which they report; a scan of every file with them takes twice as long.
PLUGINS = (
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SlackDetector",
    "StripeDetector",
)
FILTERS = (
    "detect_secrets.filters.allowlist.is_line_allowlisted",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_templated_secret",
)


class ScanInputError(ValueError):
    """The scan cannot run (no git repository, an unreadable baseline): one sentence."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    file: str
    line: int
    kind: str  # the detector's secret type, e.g. "AWS Access Key"
    hashed: str  # detect-secrets' SHA-1 of the value: the baseline's key, never the value


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    files_scanned: int
    files_skipped: tuple[str, ...]  # binary, too large, not a regular file
    findings: tuple[Finding, ...]  # everything the detectors reported
    audited: int  # findings the baseline holds as audited false positives
    unexpected: tuple[Finding, ...]  # not in the baseline, or not audited false there
    baseline: str | None  # the baseline's path relative to the root; None: none committed


def tracked_files(root: Path) -> list[str]:
    """The files git tracks under `root`, relative to it (at most MAX_FILES)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanInputError(f"cannot list the tracked files of {root}: {exc}") from None
    if done.returncode != 0:
        raise ScanInputError(
            f"cannot list the tracked files of {root}: it is not a git repository "
            "(the credential scan reads `git ls-files`)"
        )
    names = [n for n in done.stdout.decode("utf-8", "replace").split("\0") if n]
    if len(names) > MAX_FILES:
        raise ScanInputError(f"{root} tracks {len(names)} files, more than the scan's {MAX_FILES}")
    return names


def _text(path: Path) -> str | None:
    """The file's text when it is a regular UTF-8 file within the bound, else None."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        return None if len(raw) > MAX_FILE_BYTES else raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def load_baseline(root: Path) -> dict[str, object] | None:
    path = root / BASELINE_NAME
    text = _text(path) if path.exists() else None
    if text is None:
        if path.exists():
            raise ScanInputError(f"cannot read {BASELINE_NAME}: not a regular UTF-8 file")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanInputError(f"{BASELINE_NAME}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("results", {}), dict):
        raise ScanInputError(f"{BASELINE_NAME}: not a detect-secrets baseline (no results)")
    return data


def _settings(baseline: dict[str, object] | None) -> dict[str, object]:
    if baseline is not None and "plugins_used" in baseline:
        return {
            "plugins_used": baseline["plugins_used"],
            "filters_used": baseline.get("filters_used", []),
        }
    return {
        "plugins_used": [{"name": name} for name in PLUGINS],
        "filters_used": [{"path": path} for path in FILTERS],
    }


def _scan(
    root: Path, names: Sequence[str], settings: dict[str, object]
) -> tuple[list[Finding], list[str], int]:
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.settings import transient_settings

    findings: list[Finding] = []
    skipped: list[str] = []
    scanned = 0
    with transient_settings(settings):
        for name in names:  # bounded: MAX_FILES
            if name == BASELINE_NAME:
                continue
            text = _text(root / name)
            if text is None:
                skipped.append(name)
                continue
            scanned += 1
            lines = list(enumerate(text.splitlines(), start=1))
            for secret in _process_line_based_plugins(lines, filename=name):
                findings.append(
                    Finding(
                        file=name,
                        line=int(secret.line_number),
                        kind=str(secret.type),
                        hashed=str(secret.secret_hash),
                    )
                )
    return findings, skipped, scanned


def _audited(baseline: dict[str, object] | None) -> dict[tuple[str, str, str], bool | None]:
    """(file, type, hash) -> the baseline's verdict (False: a false positive; None: unaudited)."""
    known: dict[tuple[str, str, str], bool | None] = {}
    results = (baseline or {}).get("results", {})
    for name, entries in results.items():  # type: ignore[union-attr]
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                key = (str(name), str(entry.get("type")), str(entry.get("hashed_secret")))
                known[key] = entry.get("is_secret")  # type: ignore[assignment]
    return known


def scan_repository(root: Path) -> ScanResult:
    baseline = load_baseline(root)
    names = tracked_files(root)
    findings, skipped, scanned = _scan(root, names, _settings(baseline))
    known = _audited(baseline)
    unexpected = tuple(
        f for f in findings if known.get((f.file, f.kind, f.hashed), True) is not False
    )
    return ScanResult(
        files_scanned=scanned,
        files_skipped=tuple(skipped),
        findings=tuple(findings),
        audited=len(findings) - len(unexpected),
        unexpected=unexpected,
        baseline=None if baseline is None else BASELINE_NAME,
    )


def baseline_document(root: Path) -> dict[str, object]:
    """A baseline of the current scan, keeping the verdicts the committed one holds."""
    from detect_secrets.__version__ import VERSION as version

    old = load_baseline(root)
    settings = _settings(old)
    findings, _, _ = _scan(root, tracked_files(root), settings)
    known = _audited(old)
    results: dict[str, list[dict[str, object]]] = {}
    for f in sorted(findings, key=lambda f: (f.file, f.line, f.kind)):
        entry: dict[str, object] = {"type": f.kind, "filename": f.file, "hashed_secret": f.hashed}
        verdict = known.get((f.file, f.kind, f.hashed))
        if verdict is not None:
            entry["is_secret"] = verdict
        entry["is_verified"] = False
        entry["line_number"] = f.line
        results.setdefault(f.file, []).append(entry)
    return {"version": version, **settings, "results": results}


def _entries(document: dict[str, object]) -> Iterator[dict[str, object]]:
    for entries in document["results"].values():  # type: ignore[union-attr]
        yield from entries


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args != ["--update-baseline"]:
        print(
            "usage: python -m peak_trade.readiness.credentials --update-baseline", file=sys.stderr
        )
        return 2
    root = Path.cwd()
    document = baseline_document(root)
    (root / BASELINE_NAME).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    open_ = sum(1 for e in _entries(document) if "is_secret" not in e)
    print(f"wrote {BASELINE_NAME}: {sum(1 for _ in _entries(document))} entries, {open_} unaudited")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
