"""Hypothesis profiles for the reliability suite.

`ci` (the default) keeps `make test` fast; `soak` runs thousands of examples and is selected with
HYPOTHESIS_PROFILE=soak (`make soak`). The profile is bound to the reliability state machine
explicitly (`active_profile()`), not loaded globally, so other suites keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_ENV = "HYPOTHESIS_PROFILE"

settings.register_profile(
    "ci",
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    report_multiple_bugs=False,  # a red CI run reports its first bug quickly
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=5000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


def active_profile() -> str:
    """The profile named by HYPOTHESIS_PROFILE, `ci` when unset."""
    return os.environ.get(PROFILE_ENV) or "ci"
