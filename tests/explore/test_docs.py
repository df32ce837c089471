"""docs/explore.md lists exactly the properties and fault kinds the code has, in its order."""

from __future__ import annotations

import re
from pathlib import Path

from peak_trade.explore.faults import KINDS
from peak_trade.explore.properties import PROPERTIES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "explore.md").read_text(encoding="utf-8")


def _section(name: str) -> list[str]:
    body = re.search(rf"<!-- {name} -->\n(.*?)<!-- /{name} -->", DOC, re.S)
    assert body is not None, f"docs/explore.md lacks the {name} table"
    return body.group(1).splitlines()[2:]


def test_the_properties_table_is_the_code() -> None:
    assert _section("properties") == [f"| `{p.name}` | {p.says} |" for p in PROPERTIES]


def test_the_fault_vocabulary_table_is_the_code() -> None:
    assert _section("fault-kinds") == [f"| `{k.name}` | {k.scope} | {k.says} |" for k in KINDS]


def test_the_issue_s_properties_are_all_there() -> None:
    says = " ".join(p.says for p in PROPERTIES)
    for words in (
        "never fails open",
        "no new order after STOPPING",
        "no order a rail refuses ever reaches the broker",
        "never two live orders for one client order id",
        "at STOPPED the book agrees with the broker",
        "every position change is explained by reports",
        "the audit chain verifies and is sealed",
        "nothing secret in any output",
        "the run terminates within its bounds",
        "a re-run gives identical bytes (sampled)",
    ):
        assert words in says
