"""The bad-input corpus: every file in tests/data/bad_scenarios/ is refused cleanly.

For each file, `peak-trade scenario validate FILE` and `peak-trade scenario run FILE` must:
exit 2; print every problem as one located line `FILE:LINE:COL: error: ...` on stderr (`run`
adds its one summary line); name the specific problem (FRAGMENTS below: each file proves its own
error, not just "some error"); never print a traceback; and write nothing at all (no audit, no
evidence, no file a YAML tag might have tried to create). The commands run in process (fast); the
inputs that attack time and memory (the alias bomb, an oversized file, a node flood just under the
size limit) run in a subprocess under RLIMIT_AS and a timeout, through the real entry point.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peak_trade.cli.main import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_scenarios"
MAX_BYTES = 1_048_576  # the loader's size limit
MEMORY_LIMIT = 512 * 1024 * 1024  # RLIMIT_AS for the subprocess cases
TIME_LIMIT = 300.0  # seconds per subprocess case: a hang guard, not a speed goal (load varies)
RUN_SUMMARY = re.compile(r"^\d+ of \d+ scenario file\(s\) invalid; nothing was run$")

# file -> a fragment its message must contain: the file proves this specific problem.
FRAGMENTS = {
    # YAML syntax
    "yaml_syntax_unclosed_flow_list.yaml": "expected ',' or ']'",
    "yaml_syntax_bad_indentation.yaml": "mapping values are not allowed here",
    "yaml_syntax_unclosed_quote.yaml": "while scanning a quoted scalar",
    "tab_indentation.yaml": "YAML does not allow tabs for indentation",
    "two_documents.yaml": "found a second YAML document",
    "control_character.yaml": "the control character U+0007 is not allowed",
    # duplicate keys
    "duplicate_key_top_level.yaml": "duplicate key 'steps' (first defined at line 6)",
    "duplicate_key_nested.yaml": "duplicate key 'qty' (first defined at line 11)",
    # aliases, tags, merge keys, nesting
    "alias_bomb.yaml": "alias expansion exceeds 100000 nodes (alias bomb?)",
    "alias_recursive.yaml": "(recursive alias)",
    "merge_key.yaml": "merge keys (`<<`) are not allowed",
    "nesting_too_deep.yaml": "nesting deeper than 64 levels",
    "python_tag_object_apply.yaml": "tags are not allowed (found !!python/object/apply:os.system)",
    "python_tag_name.yaml": "tags are not allowed (found !!python/name:os.system)",
    "custom_local_tag.yaml": "tags are not allowed (found !decimal)",
    # encoding and file-level shape
    "non_utf8_latin1.yaml": "not valid UTF-8: cannot decode byte 0xe9",
    "non_utf8_utf16.yaml": "not valid UTF-8: cannot decode byte 0xff",
    "empty_file.yaml": "the file is empty",
    "only_comments.yaml": "the file is empty",
    "root_is_a_list.yaml": "the top level must be a mapping, found a list",
    "root_is_a_scalar.yaml": "the top level must be a mapping, found a string",
    "missing_required_keys.yaml": "missing required key 'steps'",
    # unknown keys and typos (a typo'd safety switch must never be ignored)
    "unknown_top_level_key.yaml": "unknown key 'expectations' (did you mean 'expect'?)",
    "typo_config_enabeld.yaml": "unknown key 'enabeld'",
    "typo_live_enabeld.yaml": "unknown key 'enabeld' (did you mean 'enabled'?)",
    "typo_order_qyt.yaml": "unknown key 'qyt' (did you mean 'qty'?)",
    "typo_rails_max_order_qyt.yaml": "unknown key 'max_order_qyt' (did you mean 'max_order_qty'?)",
    # wrong types
    "wrong_type_steps_mapping.yaml": "'steps' must be a list, found a mapping",
    "wrong_type_max_steps_string.yaml": "'max_steps' must be an integer or null",
    "wrong_type_live_enabled_string.yaml": "'enabled' must be true or false",
    "wrong_type_title_null.yaml": "'title' must be a string, found an empty value",
    "key_not_a_string.yaml": "keys must be strings, found a number `1`",
    "id_not_lower_case.yaml": "'id' must be a lower-case id",
    # YAML 1.1 surprises
    "yaml11_boolean_no_as_title.yaml": "`no` is read by YAML 1.1 as a boolean",
    "yaml11_boolean_on_as_symbol.yaml": "`ON` is read by YAML 1.1 as a boolean",
    "octal_leading_zero_qty.yaml": "`010` has a leading zero",
    "octal_0o_prefix_steps.yaml": "`0o17` is an octal number",
    "hex_max_steps.yaml": "`0x10` is a hexadecimal number",
    "sexagesimal_1_30_run.yaml": "`1:30` is read by YAML 1.1 as a base-60 number (90)",
    "digit_separators_qty.yaml": "`1_000` uses digit separators",
    "number_too_long.yaml": "is too long a number to read",
    # prices: floats, NaN, infinity, 1e999, zero
    "price_exponent_1e999_string.yaml": "YAML reads `1e999` as a string, not a number",
    "price_exponent_float.yaml": "`1.0e+999` uses an exponent",
    "price_nan.yaml": "`.nan` is not a finite number",
    "price_infinity.yaml": "`-.inf` is not a finite number",
    "price_quoted_nan.yaml": "'max_order_notional' must be a positive decimal",
    "price_zero_reference.yaml": "'AAPL' must be a positive decimal",
    # quantities
    "qty_negative.yaml": "'qty' must be a positive decimal",
    "qty_zero.yaml": '\'qty\' must be a positive decimal such as "100" or "0.5", found the '
    "number 0",
    "qty_zero_fill_in_script.yaml": "found the string '0' [at /broker/default/1/fill/qty]",
    # step counts
    "steps_huge_run.yaml": "'run' must be at most 10000000",
    "steps_huge_wait.yaml": "'wait' must be at most 100000",
    "steps_huge_max_steps.yaml": "'max_steps' must be at most 10000000",
    # cross-field rules
    "limit_order_without_price.yaml": "a limit order needs limit_price",
    "duplicate_order_id.yaml": "order id 'o-1' is already submitted",
    # worst-case work past the bounds (test_bounds.py tries each bound near and past it)
    "bounds_ten_million_steps.yaml": "up to 10,000,000 steps the runner can play, over the bound",
    "bounds_alias_restart_replays.yaml": "execution reports the mock broker can send, over the",
    # text that is not Unicode
    "surrogate_escape_in_note.yaml": "lone surrogate escape (such as \\ud800)",
}

# Files that expose a real bug (reported to the lead); strict, so a fix turns them into failures
# that ask for the mark to go.
KNOWN_BUGS: dict[str, str] = {
    # Found by this corpus and fixed since (d8072ef): steps_huge_max_steps.yaml validated (exit 0)
    # and failed only at preflight; surrogate_escape_in_note.yaml validated and then crashed
    # `run` with an internal error.
}


def corpus_params() -> list[object]:
    return [
        pytest.param(
            name,
            id=name.removesuffix(".yaml"),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])]
            if name in KNOWN_BUGS
            else [],
        )
        for name in sorted(FRAGMENTS)
    ]


def test_the_corpus_and_its_table_agree() -> None:
    files = sorted(p.name for p in CORPUS.iterdir())
    assert files == sorted(FRAGMENTS), "every corpus file needs its fragment, and vice versa"
    assert len(files) >= 30
    for path in CORPUS.iterdir():
        assert path.stat().st_size < 16_384, f"{path.name}: keep corpus files small"


def run_cli(command: str, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    argv = ["scenario", command, str(path)]
    if command == "run":
        argv += ["--audit-dir", "audit", "--evidence-dir", "evidence"]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(path: Path, command: str, code: int, out: str, err: str) -> None:
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    assert "internal error" not in err
    located = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: error: .+")
    lines = err.splitlines()
    if command == "run":
        assert lines, "no output"
        assert RUN_SUMMARY.match(lines[-1]), lines
        lines = lines[:-1]
    assert lines, "no located problem"
    bad = [line for line in lines if not located.match(line)]
    assert not bad, f"lines that are not one located problem: {bad}"
    assert len(set(lines)) == len(lines), "a problem reported twice"
    assert FRAGMENTS[path.name] in err, err


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", corpus_params())
def test_a_bad_file_is_refused_located_and_writes_nothing(
    name: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # audit/, evidence/ and anything a tag might create land here
    path = CORPUS / name
    code, out, err = run_cli(command, path, capsys)
    assert_refused(path, command, code, out, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "something was written"


# --- time and memory: through the real entry point, under limits ------------------------------


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(argv: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "peak_trade", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
        check=False,
    )
    return done, time.perf_counter() - started


def oversized(directory: Path) -> Path:
    """A well-formed scenario padded with comments to one byte over the loader's limit."""
    head = (
        b"id: oversized\ntitle: One byte over the limit\n"
        b"config: {allowlist: [AAPL], max_steps: 5}\nsteps: [{}]\nexpect: {final_state: STOPPED}\n"
    )
    line = b"# " + b"x" * 77 + b"\n"
    body = head + line * ((MAX_BYTES - len(head)) // len(line) + 1)
    path = directory / "oversized.yaml"
    path.write_bytes(body[: MAX_BYTES + 1])
    assert path.stat().st_size == MAX_BYTES + 1
    return path


def node_flood(directory: Path) -> Path:
    """Just under the size limit, but a quarter of a million nodes: the node budget must stop it
    before it is composed (a YAML file cannot be judged by its size alone)."""
    head = "id: node_flood\ntitle: Many nodes\nconfig: {allowlist: [AAPL], max_steps: 5}\nsteps: ["
    tail = "]\nexpect: {final_state: STOPPED}\n"
    count = (MAX_BYTES - len(head) - len(tail)) // 4
    path = directory / "node_flood.yaml"
    path.write_text(head + "{}, " * count + tail, encoding="ascii")
    assert path.stat().st_size <= MAX_BYTES
    return path


RESOURCE_CASES = {
    "alias_bomb": (lambda d: CORPUS / "alias_bomb.yaml", FRAGMENTS["alias_bomb.yaml"]),
    "oversized": (oversized, f"is {MAX_BYTES + 1} bytes, over the limit of {MAX_BYTES} bytes"),
    "node_flood": (node_flood, "the document has more than 100000 nodes"),
}


# The node flood is the slowest input (PyYAML composes 100,000 nodes before the budget stops
# it), so it runs once; `run` loads files exactly as `validate` does.
RESOURCE_RUNS = [
    ("alias_bomb", "validate"),
    ("alias_bomb", "run"),
    ("oversized", "validate"),
    ("oversized", "run"),
    ("node_flood", "validate"),
]


@pytest.mark.parametrize(("case", "command"), RESOURCE_RUNS)
def test_hostile_inputs_stay_within_time_and_memory(case: str, command: str, tmp_path: Path):
    make, fragment = RESOURCE_CASES[case]
    path = make(tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    argv = ["scenario", command, str(path)]
    if command == "run":
        argv += ["--audit-dir", "audit", "--evidence-dir", "evidence"]
    done, seconds = run_limited(argv, workdir)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert "MemoryError" not in done.stderr
    assert fragment in done.stderr
    located = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: error: .+")
    problems = [line for line in done.stderr.splitlines() if not RUN_SUMMARY.match(line)]
    assert problems, done.stderr
    assert all(located.match(line) for line in problems), problems
    assert list(workdir.iterdir()) == [], "something was written"
    assert seconds < TIME_LIMIT


def test_the_entry_point_reports_a_bad_file_like_the_in_process_cli(tmp_path: Path) -> None:
    """One ordinary corpus file through `python -m peak_trade`: same exit and located lines."""
    path = CORPUS / "typo_live_enabeld.yaml"
    done, _ = run_limited(["scenario", "validate", str(path)], tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"{path}:4:10: error: unknown key 'enabeld' (did you mean 'enabled'?) "
        "[at /config/live/enabeld]\n"
    )
    assert done.stdout == "1 of 1 scenario file(s) invalid\n"
