"""The operator's view of a session, derived from its audit trail and nothing else.

This package owns what an operator reads about a run: `facts` folds an audit trail (a file, or a
run's own capture) into one frozen `AuditFacts` value, in one streaming pass with bounded memory;
the metrics, the watch-only status report, the readiness pack and the incident bundle are built
from that value. Everything here only reads: no command in this package changes a session, a
broker or an audit file. Because every answer comes from the trail, any audit file gives the same
answer on any machine.

The evidence files, the HTML report and the fault explorer read audit facts through `facts` too:
there is one reader of the trail's records, not one per consumer.
"""
