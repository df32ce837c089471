"""B6: `peak-trade audit verify` on a 10^6-record file; cold start of `scenario validate`.

The audit file is written once (untimed) by the B1 workload with the file sink, sized to hold at
least the wanted number of records. Verification is timed as the whole CLI command (wall, fresh
process) and, for reference, as `verify_file` alone inside a child.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.b5_harness import cli, scenario_text
from benchmarks.core import Figure, Settings, ratio, repeat, run_child, spread, wall

RECORDS_PER_STEP = 3  # order_submitted, ack, fill


def verify_in_process(path: str) -> dict[str, object]:
    """Child side: verify_file alone (the function `peak-trade audit verify` calls)."""
    try:
        from peak_trade.execution.live.audit_trail.verify import verify_file
    except ImportError:  # an older checkout: before the audit_trail/ package
        try:
            from peak_trade.execution.live.audit_verify import verify_file  # type: ignore[no-redef]
        except ImportError:  # before the verifier moved out of audit.py
            from peak_trade.execution.live.audit import verify_file  # type: ignore[no-redef]

    started = time.perf_counter()
    result = verify_file(Path(path))
    seconds = time.perf_counter() - started
    if not result.ok or not result.sealed:
        raise RuntimeError(f"the benchmark file does not verify: {result.reason}")
    return {"seconds": seconds, "records": result.count}


def run(settings: Settings, records: int, cold_repeats: int) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="peak-b6-") as scratch:
        audit = Path(scratch) / "audit.jsonl"
        steps = -(-records // RECORDS_PER_STEP)
        settings.log(f"  writing a {steps * RECORDS_PER_STEP}+ record audit file (untimed)")
        made = run_child(
            "benchmarks.workload:run_session",
            {"n": steps, "sink": "file", "keep_file": str(audit)},
            timeout=1800,
        )
        count = int(made["records"])
        command = [*cli(), "audit", "verify", str(audit)]
        seconds = [wall(command, cwd=Path(scratch)) for _ in range(settings.repeats)]
        figures.append(
            spread(
                "b6_verify_records_per_s",
                count,
                [count / s for s in seconds],
                "records/s",
                how="cli wall",
            )
        )
        runs = repeat(settings, "benchmarks.b6_verify:verify_in_process", {"path": str(audit)})
        figures.append(
            spread(
                "b6_verify_records_per_s",
                count,
                [count / r["seconds"] for r in runs],
                "records/s",
                how="verify_file in process",
            )
        )
        one = Path(scratch) / "one.yaml"
        one.write_text(scenario_text(0))
        validate = [*cli(), "scenario", "validate", str(one)]
        bare = [sys.executable, "-c", "import yaml, jsonschema"]
        cold: dict[str, list[float]] = {"validate": [], "bare": []}
        for _ in range(cold_repeats):  # interleaved
            cold["validate"].append(wall(validate, cwd=Path(scratch)))
            cold["bare"].append(wall(bare, cwd=Path(scratch)))
    ours = spread("b6_validate_cold_ms", None, [1e3 * s for s in cold["validate"]], "ms")
    base = spread("b6_bare_imports_ms", None, [1e3 * s for s in cold["bare"]], "ms")
    figures += [ours, base, ratio("b6_validate_cold_ratio", None, ours, base)]
    return figures
