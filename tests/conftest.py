"""Settings for the whole suite that only apply under `make mutate`.

mutmut runs the targeted tests in its own process with every mutated function traced, on a
machine shared with the mutants it runs: hypothesis's timing health checks and deadlines would
then fail a sound property test for being slow, which mutmut would read as a broken test run.
Under mutmut (it sets MUTANT_UNDER_TEST) they are off; in `make test` nothing changes.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

if "MUTANT_UNDER_TEST" in os.environ:
    settings.register_profile(
        "mutation",
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    settings.load_profile("mutation")
