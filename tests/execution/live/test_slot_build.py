"""slot_builder builds the very instance the dataclass's own __init__ builds, and refuses a class
it would build wrongly."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.book import ReportResult
from peak_trade.execution.live.checks import StepFacts
from peak_trade.execution.live.rails.rules import RailContext
from peak_trade.execution.live.slot_build import slot_builder

_values = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.decimals(places=2)


@pytest.mark.parametrize("cls", [RailContext, StepFacts, ReportResult])
@given(data=st.data())
def test_the_builder_builds_what_the_constructor_builds(cls, data):
    names = [f.name for f in fields(cls)]
    values = [data.draw(_values, label=name) for name in names]
    built = slot_builder(cls)(*values)
    expected = cls(**dict(zip(names, values, strict=True)))
    assert type(built) is cls
    assert built == expected
    assert repr(built) == repr(expected)
    with pytest.raises(AttributeError):  # still frozen
        setattr(built, names[0], 1)


def test_a_missing_field_is_a_type_error_not_a_half_built_record():
    with pytest.raises(TypeError):
        slot_builder(StepFacts)(None, 0)


@dataclass(frozen=True, slots=True)
class _Checked:
    qty: Decimal

    def __post_init__(self) -> None:
        if self.qty < 0:
            raise ValueError("negative")


@dataclass(frozen=True, slots=True)
class _Derived:
    qty: Decimal
    total: Decimal = field(init=False, default=Decimal(0))


@dataclass(frozen=True)
class _Unslotted:
    qty: Decimal


@dataclass(frozen=True, slots=True)
class _Reserved:
    obj: int


@pytest.mark.parametrize("cls", [_Checked, _Derived, _Unslotted, _Reserved, int])
def test_a_class_the_builder_would_build_wrongly_is_refused(cls):
    with pytest.raises(TypeError):
        slot_builder(cls)
