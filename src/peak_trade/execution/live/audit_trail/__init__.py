"""The audit trail's parts: the writer (canonical JSON, hash chain, sinks, seal), its verifier,
the redaction of secrets before anything is hashed, the text rules of a record, where a scenario's
audit file may go, and how strong a secret must be to be redactable.

Callers use the facade `peak_trade.execution.live.audit`; the parts import nothing above them.
"""
