"""The audit's fused pass (AuditTrail._plain_line) against the general path it stands in for.

The oracle is the same trail with the fused pass switched off: every record goes through the
redactor, the float walk and the checked encoder. Same records in, the same lines, hashes,
records and errors out, whatever the payload (flat or nested, floats, secrets, sensitive keys,
lone surrogates, odd envelopes) and whatever the redactor knows.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peak_trade.execution.live.audit_trail.redaction import Redactor
from peak_trade.execution.live.audit_trail.writer import AuditTrail, MemorySink

SECRET = "sk_live_Zq8wAb9x"


class _Side(Enum):
    BUY = "buy"


class GeneralTrail(AuditTrail):
    """The oracle: the fused pass never answers, so every record takes the general path."""

    def _plain_line(self, *args: object) -> str | None:
        return None


_keys = st.sampled_from(
    ["client_order_id", "symbol", "qty", "outcome", "api_key", "password", "note", "x"]
) | st.text(max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**70)  # orjson refuses these, json writes them
    | st.text(max_size=12)
    | st.sampled_from([SECRET, f"id-{SECRET}", "\ud800", "o-1", "buy"])
    | st.decimals(allow_nan=False, places=2)
    | st.just(Decimal("NaN"))
    | st.floats(allow_nan=False)
    | st.just(_Side.BUY)
)
_values = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_keys, kids, max_size=3),
    max_leaves=6,
)
_records = st.lists(
    st.tuples(
        st.one_of(st.integers(min_value=0, max_value=3), st.just(True), st.just(-1)),
        st.sampled_from(["order_submitted", "execution_report", "t\ud800"]),
        st.sampled_from(["DRYRUN_ACTIVE", "STOPPING"]),
        st.dictionaries(_keys, _values, max_size=5),
    ),
    min_size=1,
    max_size=8,
)


def _outcome(
    trail: AuditTrail, step: object, type_: str, state: str, payload: dict, *, seq_only: bool
) -> object:
    try:
        if seq_only:  # the session's call: the sequence number, no AuditRecord
            return ("seq", trail.write(step=step, type=type_, state=state, payload=payload))  # type: ignore[arg-type]
        record = trail.append(step=step, type=type_, state=state, payload=payload)  # type: ignore[arg-type]
    except Exception as exc:  # the same refusal, with the same words, is part of the contract
        return ("raised", type(exc), str(exc))
    return ("seq", record.seq) if seq_only else ("record", record)


@given(records=_records, secret=st.booleans(), seq_only=st.booleans())
def test_the_fused_pass_writes_what_the_general_path_writes(records, secret, seq_only):
    secrets = (SECRET,) if secret else ()
    fast_sink, general_sink = MemorySink(), MemorySink()
    fast = AuditTrail([fast_sink], Redactor(secrets))
    general = GeneralTrail([general_sink], Redactor(secrets))
    fast.open()
    general.open()
    for step, type_, state, payload in records:
        # The oracle first, so the keys it judges are known to the fused pass (its usual case).
        expected = _outcome(general, step, type_, state, payload, seq_only=False)
        if seq_only and expected[0] == "record":
            expected = ("seq", expected[1].seq)
        assert _outcome(fast, step, type_, state, payload, seq_only=seq_only) == expected
        assert (fast.seq, fast.head) == (general.seq, general.head)
    assert fast_sink.lines == general_sink.lines


def _plain_trail() -> AuditTrail:
    trail = AuditTrail([MemorySink()])
    trail.open()
    return trail


def test_the_usual_record_takes_the_fused_pass():
    """Not a test that cannot fail: a fused pass that never answers would pass the differential
    test above, so the usual record (flat, judged keys, no secret) must be answered by it."""
    payload = {"client_order_id": "o-1", "qty": Decimal("100"), "fills": 1, "px": None}
    trail = _plain_trail()
    trail.append(step=1, type="order_submitted", state="DRYRUN_ACTIVE", payload=payload)
    line = trail._plain_line(2, 1, "order_submitted", "DRYRUN_ACTIVE", payload, trail.head)
    assert line is not None
    record = trail.append(step=1, type="order_submitted", state="DRYRUN_ACTIVE", payload=payload)
    assert record.payload is payload  # nothing was copied: redaction had nothing to change
    assert line[9:73] == record.hash


@pytest.mark.parametrize(
    "payload",
    [
        {"client_order_id": "o-1", "px": 1.5},  # a float: the walk names it
        {"client_order_id": "o-1", "nested": {"a": 1}},  # nested: the redactor walks it
        {"api_key": "abcd1234"},  # a sensitive key: redacted
        {"client_order_id": "\ud800"},  # a lone surrogate: escaped and flagged
        {"client_order_id": _Side.BUY},  # an Enum: not among the fused pass's types
    ],
)
def test_anything_unusual_goes_to_the_general_path(payload):
    trail = _plain_trail()
    trail.append(step=1, type="t", state="S", payload=dict.fromkeys(payload, "v"))  # keys judged
    assert trail._plain_line(2, 1, "t", "S", payload, trail.head) is None


def test_a_configured_secret_turns_the_fused_pass_off():
    trail = AuditTrail([MemorySink()], Redactor([SECRET]))
    trail.open()
    payload = {"client_order_id": "o-1"}
    trail.append(step=1, type="t", state="S", payload=payload)
    assert trail._plain_line(2, 1, "t", "S", payload, trail.head) is None
