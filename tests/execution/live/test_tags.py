"""Attribution tags: the payload carries only the tags given; a tag names one of three keys."""

from __future__ import annotations

import pytest

from peak_trade.execution.live.tags import NO_TAGS, OrderTags, tag_problem


def test_payload_only_the_tags_given():
    assert NO_TAGS.to_payload() == {}
    assert OrderTags(strategy="alpha", account="acc-1").to_payload() == {
        "strategy": "alpha",
        "account": "acc-1",
    }


def test_value_by_key():
    tags = OrderTags(trader="ann")
    assert (tags.value("trader"), tags.value("strategy"), tags.value("desk")) == ("ann", None, None)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("strategy", "alpha", None),
        ("desk", "alpha", "the tag must be one of strategy, trader, account"),
        ("trader", "", "a trader tag is 1-64"),
        ("account", "a b", "a account tag is 1-64"),
        ("strategy", 5, "a strategy tag is 1-64"),
    ],
)
def test_tag_problem(key, value, problem):
    found = tag_problem(key, value)
    assert (found is None) if problem is None else found.startswith(problem)
