"""Building a frozen slotted dataclass through its slots, for the records built on every order.

A frozen dataclass's generated __init__ stores each field with object.__setattr__ (its own
__setattr__ refuses), about 0.1 us a field: ~2 us for the 18 fields of a RailContext, on every
order. `slot_builder(cls)` returns a function that takes every field positionally, in declaration
order, and stores them through the slots' own descriptors: the result is an ordinary instance of
`cls` (frozen, equal, hashed and printed the same), built in about half the time. The builder is
generated once per class, like the dataclass's own __init__, and refuses a class it would build
wrongly (a __post_init__ it would skip, a field it could not set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def slot_builder(cls: type[T]) -> Callable[..., T]:
    """A positional builder of `cls` (every field given, in declaration order)."""
    if not is_dataclass(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__") or any(not f.init for f in fields(cls)):
        raise TypeError(f"{cls.__name__} has a __post_init__ or a field __init__ skips")
    names = tuple(f.name for f in fields(cls))
    if any(name.startswith("_") or name == "obj" for name in names):
        raise TypeError(f"{cls.__name__} has a field name the builder reserves")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = vars(cls)[name].__set__
    stores = "".join(f"    _set{i}(obj, {name})\n" for i, name in enumerate(names))
    source = f"def build({', '.join(names)}):\n    obj = _new(_cls)\n{stores}    return obj\n"
    exec(source, namespace)  # generated once per class from its own field names
    build = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    build.__doc__ = f"{cls.__name__}({', '.join(names)}), built through its slots."
    return build
