"""docs/controls.md against the code: every rail and every config.rails key is named, every
linked scenario exists, and the two things deliberately not modelled are said."""

from __future__ import annotations

import re
from pathlib import Path

from peak_trade.execution.live.rails.config import _CONFIG_KEYS
from peak_trade.execution.live.rails.rules import RAIL_NAMES

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "controls.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(\.\./(scenarios/[a-z_]+/[a-z0-9_]+\.yaml)\)")


def test_every_rail_is_named():
    assert [name for name in RAIL_NAMES if f"`{name}`" not in DOC] == []


def test_every_rails_config_key_is_named():
    keys = [k for k in _CONFIG_KEYS if k not in ("reference_prices",)]
    assert [k for k in keys if f"`{k}" not in DOC] == []


def test_every_linked_scenario_exists():
    links = LINK.findall(DOC)
    assert links
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_every_rails_scenario_is_linked():
    linked = set(LINK.findall(DOC))
    rails = {f"scenarios/rails/{p.name}" for p in (ROOT / "scenarios" / "rails").glob("*.yaml")}
    assert sorted(rails - linked) == []


def test_what_is_not_modelled_is_said():
    assert "Market-abuse surveillance" in DOC
    assert "Staff access control" in DOC
