"""Where the browser test finds its Chromium, and the line `make test` prints about it.

The browser is the operating system's own (Debian's `chromium` package, /usr/bin/chromium, or
the executable named by PEAK_TRADE_CHROMIUM), driven by Playwright's Python API: nothing is ever
downloaded. `.ci/run` installs the package when it is missing, so CI always runs the test; on a
developer's machine without it, the test is skipped and `make test` says so in plain words
(`python -m tests.report.chromium`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

ENV = "PEAK_TRADE_CHROMIUM"
DEFAULT = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get install chromium"


def find_chromium() -> Path | None:
    named = os.environ.get(ENV)
    if named:
        return Path(named) if os.access(named, os.X_OK) else None
    if os.access(DEFAULT, os.X_OK):
        return DEFAULT
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


def why_skipped() -> str | None:
    """None when the browser test can run; otherwise one sentence why not and what to do."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if find_chromium() is None:
        where = os.environ.get(ENV) or DEFAULT
        return f"no Chromium at {where} ({INSTALL_HINT}, or set {ENV})"
    return None


def main() -> int:
    reason = why_skipped()
    if reason is None:
        print(f"browser test: runs with {find_chromium()}")
    else:
        print(f"browser test: SKIPPED: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
