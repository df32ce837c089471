"""Typed errors of a session. Each one is audited before it reaches the caller."""

from __future__ import annotations


class SessionError(Exception):
    """Base of every error a session raises to its caller."""


class StepBoundExceeded(SessionError):
    """run_n_steps(n) was asked for more steps than the configured bound."""


class SessionNotRunning(SessionError):
    """step() was called in a state where the session does not advance."""


class LiveBrokerRefused(SessionError):
    """An order path would have reached a broker adapter that is not the mock."""


class IllegalOperation(SessionError):
    """An operation that the session's current situation does not allow (not a transition)."""


class SessionClosed(SessionError):
    """The session's audit trail is closed; nothing more can happen in it."""


class AuditSealFailed(SessionError):
    """Closing the audit trail failed: a file sink could not be closed and sealed."""
