"""A five-record audit trail, in memory or in a file with its seal, shared by the audit and the
audit-verification tests."""

from decimal import Decimal
from enum import Enum
from pathlib import Path

from peak_trade.execution.live.audit import GENESIS_HASH, AuditTrail, JsonlFileSink

DOC = Path(__file__).resolve().parents[4] / "docs" / "audit-format.md"


class Side(Enum):
    BUY = "buy"


PAYLOADS = [
    {"scenario": "demo", "broker": "mock"},
    {"client_order_id": "c-1", "side": Side.BUY, "qty": Decimal("0.50"), "px": Decimal("43210.1")},
    {"client_order_id": "c-1", "note": 'café "quoted" ✓', "fills": [{"qty": Decimal("0.2")}]},
    # Look-alikes of the record's own tail, nested and inside a string, must not fool the verifier.
    {"nested": {"prev": GENESIS_HASH, "seq": 1}, "text": f',"prev":"{GENESIS_HASH}","seq":1,'},
    {"reason": "session closed", "open_orders": None, "count": 0},
]
STATES = ["INIT", "DRYRUN_ACTIVE", "DRYRUN_ACTIVE", "DRYRUN_ACTIVE", "STOPPED"]


def run_trail(*sinks, redactor=None, payloads=PAYLOADS):
    trail = AuditTrail(list(sinks), redactor)
    assert trail.open() == []
    records = [
        trail.append(step=index, type="event", state=STATES[index % 5], payload=payload)
        for index, payload in enumerate(payloads)
    ]
    trail.close()
    return trail, records


def write_file(directory, name="session.jsonl"):
    path = directory / name
    run_trail(JsonlFileSink(path))
    return path


def seal_of(path):
    return path.with_name(path.name + ".seal")
