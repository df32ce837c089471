"""B3 floor: only the unavoidable work per order, in one plain loop.

Per order the engine must write three audit records (order_submitted, the ack, the fill) with the
same payload fields it writes today; each record is built, encoded as canonical JSON (sorted keys,
compact), SHA-256 chained, and handed to the sink: a list append (memory) or one os.write of the
line (file). No state machine, no book, no broker, no checks: peak_trade / floor is how close to
this limit the engine gets.
"""

from __future__ import annotations

import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.core import Figure, Settings, ratio, repeat, spread


def _encode(obj: object) -> str:
    # The encoder the engine uses for canonical JSON (audit._encode_json): orjson, sorted keys.
    # The floor uses the fastest encoder too, so the ratio measures the engine, not the encoder.
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def floor_loop(n: int, sink: str) -> dict[str, object]:
    """Child side: n orders' worth of records through encode + hash chain + sink."""
    with tempfile.TemporaryDirectory(prefix="peak-floor-") as scratch:
        lines: list[str] = []
        fd = None
        if sink == "file":
            fd = os.open(Path(scratch) / "floor.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        sha256, encode, prev, seq = hashlib.sha256, _encode, "0" * 64, 0
        started, cpu = time.perf_counter(), time.process_time()
        for step in range(1, n + 1):
            cid = f"o-{step}"
            side = "buy" if step % 2 else "sell"
            ack = {
                "exec_id": f"{cid}:1",
                "client_order_id": cid,
                "exec_type": "new",
                "status": "new",
                "symbol": "AAPL",
                "side": side,
                "order_qty": "100",
                "cum_qty": "0",
                "leaves_qty": "100",
                "last_qty": "0",
                "outcome": "applied",
            }
            fill = {
                "exec_id": f"{cid}:2",
                "client_order_id": cid,
                "exec_type": "trade",
                "status": "filled",
                "symbol": "AAPL",
                "side": side,
                "order_qty": "100",
                "cum_qty": "100",
                "leaves_qty": "0",
                "last_qty": "100",
                "last_px": "190.10",
                "avg_px": "190.10",
                "outcome": "applied",
            }
            submitted = {
                "client_order_id": cid,
                "symbol": "AAPL",
                "side": side,
                "qty": "100",
                "order_type": "market",
            }
            for kind, payload in (
                ("order_submitted", submitted),
                ("execution_report", ack),
                ("execution_report", fill),
            ):
                seq += 1
                body = encode(
                    {
                        "payload": payload,
                        "prev": prev,
                        "seq": seq,
                        "state": "DRYRUN_ACTIVE",
                        "step": step,
                        "type": kind,
                    }
                )
                prev = sha256(body.encode()).hexdigest()
                line = f'{{"hash":"{prev}",{body[1:]}'
                if fd is None:
                    lines.append(line)
                else:
                    os.write(fd, (line + "\n").encode())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if fd is not None:
            os.close(fd)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "records": seq,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(settings: Settings, ns: list[int], b1: dict[tuple[str, str, int], Figure]) -> list[Figure]:
    figures = []
    for sink in ("memory", "file"):
        if sink not in settings.sinks:
            continue
        for n in ns:
            runs = repeat(settings, "benchmarks.b3_floor:floor_loop", {"n": n, "sink": sink})
            floor = spread("b3_floor_orders_per_s", n, [n / r["seconds"] for r in runs], "orders/s")
            floor.labels["sink"] = sink
            figures.append(floor)
            engine = b1.get(("market", sink, n))
            if engine is not None and engine.value is not None:
                figures.append(ratio("b3_ratio_to_floor", n, engine, floor, sink=sink))
    return figures
