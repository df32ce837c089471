"""The line `make test` prints about the browser test: it says plainly when it is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report import chromium


def test_a_missing_browser_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv(chromium.ENV, str(tmp_path / "no-chromium"))
    assert chromium.find_chromium() is None
    assert chromium.main() == 0
    assert capsys.readouterr().out == (
        f"browser test: SKIPPED: no Chromium at {tmp_path / 'no-chromium'} "
        f"(apt-get install chromium, or set {chromium.ENV})\n"
    )


def test_a_named_executable_is_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    browser.chmod(0o755)
    monkeypatch.setenv(chromium.ENV, str(browser))
    assert chromium.find_chromium() == browser
    chromium.main()
    assert capsys.readouterr().out == f"browser test: runs with {browser}\n"
