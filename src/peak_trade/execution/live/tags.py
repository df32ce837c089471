"""Attribution: the tags every order carries (MiFID II RTS 6 Art. 12(2)-(3), 15(5)).

`strategy` names the algorithm that sent the order; `trader` and `account` are optional. The kill
switch can be engaged for one tag value (every order carrying it) or for all, and rails may hold
per-strategy limits. Tags are recorded with the order (`order_submitted`) and kept for as long as
the order is known, so a fill is attributed to the strategy that sent it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG_KEYS = ("strategy", "trader", "account")
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTags:
    strategy: str | None = None
    trader: str | None = None
    account: str | None = None

    def value(self, key: str) -> str | None:
        return getattr(self, key) if key in TAG_KEYS else None

    def to_payload(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in TAG_KEYS if getattr(self, k) is not None}


NO_TAGS = OrderTags()


def tag_problem(key: object, value: object) -> str | None:
    """Why (key, value) cannot name a tag; None when it can."""
    if key not in TAG_KEYS:
        return f"the tag must be one of {', '.join(TAG_KEYS)}, got {key!r}"
    if not (isinstance(value, str) and TAG_PATTERN.fullmatch(value)):
        return f"a {key} tag is 1-64 letters, digits or . _ : -, got {value!r}"
    return None
