"""Retries of broker requests: which failures are retried and when (`policy`, `config`), the
budget of retries per window (`budget`), the desk of pending retries and fate queries (`desk`),
and what a given-up request's status reply means (`fate_query`). Decisions only: the
orchestrator's retry_shell.py carries them out.
"""
