"""The reconciler config: defaults, strict parsing that names every problem, and a JSON Schema
that agrees with the parser."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from peak_trade.execution.live.reconcile.config import (
    CONFIG_SCHEMA,
    ReconcilerConfig,
    ReconcilerConfigError,
)

D = Decimal


def test_config_defaults_and_full_mapping():
    assert ReconcilerConfig.from_mapping({}) == ReconcilerConfig()
    assert ReconcilerConfig().to_payload() == {
        "every_steps": 1,
        "grace_steps": 2,
        "ack_timeout_steps": None,
        "cancel_timeout_steps": None,
    }
    data = {"every_steps": 5, "grace_steps": 0, "ack_timeout_steps": 3, "cancel_timeout_steps": 4}
    config = ReconcilerConfig.from_mapping(data)
    assert config.to_payload() == data
    assert [s for s in range(1, 16) if config.is_due(s)] == [5, 10, 15]
    assert ReconcilerConfig.from_mapping({"ack_timeout_steps": None}).ack_timeout_steps is None


CONFIG_ERRORS = {
    "negative grace": (
        {"grace_steps": -1},
        ["/grace_steps: must be a whole number >= 0 (at most 10000000), found -1"],
    ),
    "every zero": (
        {"every_steps": 0},
        ["/every_steps: must be a whole number >= 1 (at most 10000000), found 0"],
    ),
    "every null": (
        {"every_steps": None},
        ["/every_steps: must be a whole number >= 1 (at most 10000000), found null"],
    ),
    "bool": (
        {"grace_steps": True},
        ["/grace_steps: must be a whole number >= 0 (at most 10000000), found true"],
    ),
    "float that looks whole": (
        {"grace_steps": 2.0},
        ["/grace_steps: must be a whole number >= 0 (at most 10000000), found 2.0 (a float)"],
    ),
    "decimal from YAML": (
        {"grace_steps": D("2")},
        ["/grace_steps: must be a whole number >= 0 (at most 10000000), found 2 (a decimal)"],
    ),
    "string": (
        {"ack_timeout_steps": "3"},
        ['/ack_timeout_steps: must be a whole number >= 1 or null (at most 10000000), found "3"'],
    ),
    "timeout zero": (
        {"cancel_timeout_steps": 0},
        ["/cancel_timeout_steps: must be a whole number >= 1 or null (at most 10000000), found 0"],
    ),
    "above the hard bound": (
        {"grace_steps": 10_000_001},
        ["/grace_steps: must be a whole number >= 0 (at most 10000000), found 10000001"],
    ),
    "typo": ({"grace_step": 2}, ["/grace_step: unknown key (did you mean grace_steps?)"]),
    "unknown, escaped": (
        {"a/b~c": 1},
        [
            "/a~1b~0c: unknown key (known: every_steps, grace_steps, ack_timeout_steps, "
            "cancel_timeout_steps)"
        ],
    ),
    "several, all named": (
        {"zzz": 1, "every_steps": -2, "grace_steps": "x"},
        [
            "/every_steps: must be a whole number >= 1 (at most 10000000), found -2",
            '/grace_steps: must be a whole number >= 0 (at most 10000000), found "x"',
            "/zzz: unknown key (known: every_steps, grace_steps, ack_timeout_steps, "
            "cancel_timeout_steps)",
        ],
    ),
}


@pytest.mark.parametrize(("data", "problems"), CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
def test_config_errors(data, problems):
    with pytest.raises(ReconcilerConfigError) as caught:
        ReconcilerConfig.from_mapping(data)
    assert list(caught.value.problems) == problems
    assert str(caught.value).startswith(problems[0])


def test_config_pointer_prefix_and_non_mappings():
    with pytest.raises(ReconcilerConfigError, match=r"^/reconciler/grace_steps: "):
        ReconcilerConfig.from_mapping({"grace_steps": -1}, pointer="/reconciler")
    with pytest.raises(ReconcilerConfigError, match=r"^/reconciler: must be a mapping, found list"):
        ReconcilerConfig.from_mapping([], pointer="/reconciler")
    with pytest.raises(ReconcilerConfigError, match=r"^\(root\): keys must be strings"):
        ReconcilerConfig.from_mapping({1: 2})


def test_config_constructed_directly_is_checked_too():
    with pytest.raises(ReconcilerConfigError, match=r"^/grace_steps: "):
        ReconcilerConfig(grace_steps=-1)


def test_config_schema_is_valid_and_described():
    Draft202012Validator.check_schema(CONFIG_SCHEMA)
    assert CONFIG_SCHEMA["additionalProperties"] is False
    properties = CONFIG_SCHEMA["properties"]
    assert set(properties) == set(ReconcilerConfig().to_payload())
    assert all(p.get("description") for p in properties.values())
    defaults = {name: p["default"] for name, p in properties.items()}
    assert defaults == ReconcilerConfig().to_payload()


# (data, accepted by both schema and from_mapping). 2.0 is the one known divergence: jsonschema
# counts it as an integer; from_mapping refuses it.
SCHEMA_AGREEMENT = [
    {},
    {"every_steps": 1, "grace_steps": 0, "ack_timeout_steps": None, "cancel_timeout_steps": 9},
    {"every_steps": 0},
    {"grace_steps": -1},
    {"grace_steps": True},
    {"grace_steps": "2"},
    {"ack_timeout_steps": 0},
    {"cancel_timeout_steps": None},
    {"every_steps": None},
    {"grace_steps": 10_000_001},
    {"extra": 1},
]


@pytest.mark.parametrize("data", SCHEMA_AGREEMENT, ids=str)
def test_schema_and_from_mapping_agree(data):
    schema_ok = Draft202012Validator(CONFIG_SCHEMA).is_valid(data)
    try:
        ReconcilerConfig.from_mapping(data)
        mapping_ok = True
    except ReconcilerConfigError:
        mapping_ok = False
    assert schema_ok == mapping_ok


def test_known_divergence_whole_floats():
    assert Draft202012Validator(CONFIG_SCHEMA).is_valid({"grace_steps": 2.0})
    with pytest.raises(ReconcilerConfigError):
        ReconcilerConfig.from_mapping({"grace_steps": 2.0})
