"""The readiness pack (runbook C5): a checklist run over the whole project, every item proven.

`runs.py` runs every scenario twice (the imperative part); `items.py` judges the runs and the
repository, one pure function per item; `credentials.py` scans the tracked files; `pack.py`
puts the items together and renders them. The pack is necessary, not sufficient, for going live.
"""
