"""Reconciliation: the session's book against the broker's snapshot, as findings (`compare`), its
config and cadence (`config`), requests the broker never answered (`in_flight`), and one pass from
both books to the effects the orchestrator carries out (`one_pass`). Pure functions only.
"""
