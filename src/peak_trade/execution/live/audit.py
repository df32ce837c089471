"""The audit trail, as its callers use it: an append-only, redacted, hash-chained JSON Lines log
of a session, and its verification. The parts live in audit_trail/ (writer.py, verify.py,
redaction.py, ...); docs/audit-format.md is the byte-level specification.
"""

from peak_trade.execution.live.audit_trail.verify import VerifyResult, verify_file, verify_lines
from peak_trade.execution.live.audit_trail.writer import (
    ESCAPED_FLAG,
    FORMAT,
    GENESIS_HASH,
    AuditError,
    AuditRecord,
    AuditSink,
    AuditSinkError,
    AuditTrail,
    FsyncPolicy,
    JsonlFileSink,
    MemorySink,
    NotUnicodeText,
    Payload,
    canonical_json,
    encode_record,
)

__all__ = [
    "ESCAPED_FLAG",
    "FORMAT",
    "GENESIS_HASH",
    "AuditError",
    "AuditRecord",
    "AuditSink",
    "AuditSinkError",
    "AuditTrail",
    "FsyncPolicy",
    "JsonlFileSink",
    "MemorySink",
    "NotUnicodeText",
    "Payload",
    "VerifyResult",
    "canonical_json",
    "encode_record",
    "verify_file",
    "verify_lines",
]
