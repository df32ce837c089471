"""Secrets read from a document as early as it can be read, and the screen messages pass."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.harness.errors import Problem, ScenarioLoadError
from peak_trade.harness.loader import load_scenario_text
from peak_trade.harness.secret_screen import SecretScreen, secrets_in_data, secrets_in_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "config:\n  secrets:\n    a: plain-Value-1\n    b: 'single Quoted-2'\n",
            ["plain-Value-1", "single Quoted-2"],
        ),
        ('config:\n  secrets:\n    a: "dq \\"Quoted\\" 3"  # note\n', ['dq "Quoted" 3']),
        (
            "config:\n  secrets: {a: flow-One-11, b: 'flow Two-22'}\n",
            ["flow-One-11", "flow Two-22"],
        ),
        ("config:\n  secrets:\n    pin: 48151623\nsteps: [\n", ["48151623"]),
        ("secrets:\n  - listed-Value-5\nother: x\n", ["listed-Value-5"]),
        ("config:\n  allowlist: [AAPL]\n", []),
    ],
)
def test_secrets_are_read_from_the_lines_of_a_document_yaml_cannot_parse(text, expected):
    assert secrets_in_text(text) == expected


def test_secrets_are_read_from_loaded_data_whatever_their_type():
    data = {
        "config": {
            "secrets": {
                "a": "s-One-1",
                "n": 48151623,
                "d": Decimal("1.50"),
                "l": ["x-Two-2"],
                "b": True,
            }
        }
    }
    assert sorted(secrets_in_data(data)) == sorted(["s-One-1", "48151623", "1.50", "x-Two-2"])
    assert secrets_in_data({"config": "not a mapping"}) == []


def test_a_load_error_is_redacted_with_the_secrets_of_its_document():
    text = (
        'id: x\nconfig:\n  secrets:\n    api_key: "Very-Secret-99x"\n'
        "title: Very-Secret-99x\n\tbad: [\n"
    )
    with pytest.raises(ScenarioLoadError) as caught:
        load_scenario_text(text, path="Very-Secret-99x.yaml")
    assert "Very-Secret-99x" in caught.value.secrets
    assert "Very-Secret-99x" not in str(caught.value)
    assert "[REDACTED].yaml:" in str(caught.value)


def test_the_screen_hides_equal_values_of_any_length_and_redacts_long_ones():
    screen = SecretScreen(["4815", "Long-Secret-77x"])
    assert screen.hides(4815)
    assert screen.hides("4815")
    assert screen.hides(Decimal("4815"))
    assert screen.hides("xx LONG-SECRET-77X yy")
    assert not screen.hides("line 4815 of a file")
    problem = Problem(file="f.yaml", line=4815, col=1, message="Long-Secret-77x at line 4815")
    assert screen.problem(problem).format() == "f.yaml:4815:1: error: [REDACTED] at line 4815"
