"""Request faults: the mock broker answers a request with a rate limit or a transient failure.

A real gateway can refuse a request before it looks at it: "429, retry after 2 s", "gateway
busy", or no answer at all (a timeout, after which the caller cannot tell whether the request
was carried out). These are answers to the *call* (the adapter method raises), not execution
reports, and they are scripted as data like every other fault (a scenario's `broker:` key):

    request_faults:
      - requests: [submit]           # submit | cancel | replace | status; default: all four
        order: o-1                   # only requests about this order (optional)
        answers: [rate_limited, {rate_limited: {retry_after: 2}}]   # one per matching request
      - symbol: MSFT                 # only requests about orders in this symbol (optional)
        from_step: 3                 # only requests sent in steps 3 .. 3 + steps - 1 (optional)
        steps: 2
        answer: gateway_busy         # every matching request in the window
      - requests: [submit]
        order: o-2
        answers: [{timeout: {reached: true}}]   # carried out, but the caller sees a timeout

Answers (a bare name, or a one-key mapping with its fields):
- `rate_limited` / `{rate_limited: {retry_after: k}}`: refused before it is looked at; the
  caller may try again k steps later (default 1). Raises `BrokerRateLimited`.
- `timeout` / `{timeout: {reached: true}}`: no answer. With `reached: false` (the default) the
  request never arrived; with `reached: true` the broker carried it out (an order placed, a
  cancel taken) and only the answer was lost. Raises `BrokerTimeout` either way: the caller
  cannot tell the two apart, and must not resend an order as if it were new.
- `gateway_busy`: refused before it is looked at. Raises `BrokerBusy`.
- `{refused: reason}`: a permanent refusal of the request (an account suspended, a request the
  gateway will never take); retrying cannot help. Raises `BrokerRequestRefused`.
- `ok`: the request goes through (so a list can say [rate_limited, ok, rate_limited]).

Which rule answers: the first rule in list order that matches the request (its kind, its order
id, the symbol of the order it is about, the step it was sent in) and has an answer left. A rule
with `answers` gives one per matching request, in the order received, then it is spent; a rule
with `answer` gives that answer to every matching request (bounded by its window, if it has
one). A status request or a cancel of an order the broker does not know matches only rules
without a symbol. Nothing here reads a clock: the same requests get the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from peak_trade.execution.broker.protocol import (
    BrokerBusy,
    BrokerError,
    BrokerRateLimited,
    BrokerRequestRefused,
    BrokerTimeout,
)

REQUEST_KINDS = ("submit", "cancel", "replace", "status")
MAX_RETRY_AFTER = 100_000  # steps; a scripted retry-after beyond this is a typo
MAX_ANSWERS = 1_000  # answers per rule (bounds the spec like every other list)


class RequestFaultError(ValueError):
    """A malformed request fault; the message starts with the JSON pointer of the value."""


class AnswerKind(Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    GATEWAY_BUSY = "gateway_busy"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestAnswer:
    """How the gateway answers one request (see the module docstring)."""

    kind: AnswerKind
    retry_after: int = 1  # rate_limited only
    reached: bool = False  # timeout only: the broker carried the request out
    reason: str = ""  # refused only

    def error(self, what: str) -> BrokerError:
        """The exception the adapter raises for `what` ("submit o-1")."""
        kind = self.kind
        if kind is AnswerKind.RATE_LIMITED:
            return BrokerRateLimited(
                f"{what}: rate limited, retry after {self.retry_after} step(s)", self.retry_after
            )
        if kind is AnswerKind.TIMEOUT:
            return BrokerTimeout(f"{what}: timed out, no answer from the gateway")
        if kind is AnswerKind.GATEWAY_BUSY:
            return BrokerBusy(f"{what}: gateway busy")
        return BrokerRequestRefused(f"{what}: refused: {self.reason}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFault:
    """One rule: which requests it answers and with what."""

    requests: frozenset[str] = frozenset(REQUEST_KINDS)
    order: str | None = None
    symbol: str | None = None
    from_step: int | None = None
    steps: int | None = None  # with from_step: the window's length; None: open-ended
    answers: tuple[RequestAnswer, ...] = ()  # one per matching request, then spent
    answer: RequestAnswer | None = None  # for every matching request

    def matches(self, kind: str, client_order_id: str, symbol: str | None, step: int) -> bool:
        if kind not in self.requests:
            return False
        if self.order is not None and self.order != client_order_id:
            return False
        if self.symbol is not None and self.symbol != symbol:
            return False
        if self.from_step is not None:
            if step < self.from_step:
                return False
            if self.steps is not None and step >= self.from_step + self.steps:
                return False
        return True


class RequestFaultPlayer:
    """The mock's running state of its request faults: how many answers each rule has given."""

    __slots__ = ("_faults", "_used")

    def __init__(self, faults: Sequence[RequestFault]) -> None:
        self._faults = tuple(faults)
        self._used = [0] * len(self._faults)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def answer(
        self, kind: str, client_order_id: str, symbol: str | None, step: int
    ) -> RequestAnswer | None:
        """The answer to this request, or None when no rule has one left (it goes through)."""
        for i, fault in enumerate(self._faults):  # bounded by the spec's rules
            if not fault.matches(kind, client_order_id, symbol, step):
                continue
            if fault.answer is not None:
                return fault.answer
            used = self._used[i]
            if used < len(fault.answers):
                self._used[i] = used + 1
                return fault.answers[used]
        return None

    def reset(self) -> None:
        self._used = [0] * len(self._faults)


# ----------------------------------------------------------------------------- parsing

_RULE_KEYS = ("requests", "order", "symbol", "from_step", "steps", "answers", "answer")
_ANSWER_NAMES = tuple(kind.value for kind in AnswerKind)


def _fail(path: str, problem: str) -> RequestFaultError:
    return RequestFaultError(f"{path or '/'}: {problem}")


def _at(path: str, key: str | int) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _whole(value: object, path: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(path, f"must be an integer from {minimum} to {maximum}, got {value!r}")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"must be a non-empty string, got {value!r}")
    return value


def parse_request_faults(data: object, path: str = "/request_faults") -> tuple[RequestFault, ...]:
    """The rules from plain data (the module docstring gives the shape)."""
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        raise _fail(path, f"must be a list of rules, got {data!r}")
    return tuple(_rule(item, _at(path, i)) for i, item in enumerate(data))


def _rule(data: object, path: str) -> RequestFault:
    if not isinstance(data, Mapping):
        raise _fail(path, f"a rule must be a mapping, got {data!r}")
    for key in data:
        if key not in _RULE_KEYS:
            expected = ", ".join(_RULE_KEYS)
            raise _fail(_at(path, str(key)), f"unknown key (expected one of {expected})")
    requests = frozenset(REQUEST_KINDS)
    if "requests" in data:
        requests = _requests(data["requests"], _at(path, "requests"))
    order = _text(data["order"], _at(path, "order")) if "order" in data else None
    symbol = _text(data["symbol"], _at(path, "symbol")) if "symbol" in data else None
    from_step = None
    if "from_step" in data:
        from_step = _whole(data["from_step"], _at(path, "from_step"), 0, 10_000_000)
    steps = None
    if "steps" in data:
        if from_step is None:
            raise _fail(_at(path, "steps"), "only applies with from_step")
        steps = _whole(data["steps"], _at(path, "steps"), 1, 10_000_000)
    if ("answers" in data) == ("answer" in data):
        raise _fail(path, "needs exactly one of answers (one per request) or answer (every one)")
    if "answer" in data:
        return RequestFault(
            requests=requests,
            order=order,
            symbol=symbol,
            from_step=from_step,
            steps=steps,
            answer=_answer(data["answer"], _at(path, "answer")),
        )
    listed = data["answers"]
    where = _at(path, "answers")
    if isinstance(listed, str | bytes) or not isinstance(listed, Sequence) or not listed:
        raise _fail(where, f"must be a non-empty list of answers, got {listed!r}")
    if len(listed) > MAX_ANSWERS:
        raise _fail(where, f"must have at most {MAX_ANSWERS} answers, got {len(listed)}")
    return RequestFault(
        requests=requests,
        order=order,
        symbol=symbol,
        from_step=from_step,
        steps=steps,
        answers=tuple(_answer(a, _at(where, i)) for i, a in enumerate(listed)),
    )


def _requests(value: object, path: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, bytes) or not isinstance(items, Sequence) or not items:
        raise _fail(path, f"must be one of {', '.join(REQUEST_KINDS)} or a list of them")
    for i, item in enumerate(items):
        if item not in REQUEST_KINDS:
            where = path if isinstance(value, str) else _at(path, i)
            raise _fail(where, f"must be one of {', '.join(REQUEST_KINDS)}, got {item!r}")
    return frozenset(items)


_FIELDS: dict[str, tuple[str, ...]] = {
    "ok": (),
    "rate_limited": ("retry_after",),
    "timeout": ("reached",),
    "gateway_busy": (),
    "refused": ("reason",),
}


def _answer(value: object, path: str) -> RequestAnswer:
    names = ", ".join(_ANSWER_NAMES)
    if isinstance(value, str):
        if value == "refused":
            raise _fail(path, "refused needs a reason, e.g. {refused: account suspended}")
        if value not in _FIELDS:
            raise _fail(path, f"unknown answer {value!r} (expected one of {names})")
        return RequestAnswer(kind=AnswerKind(value))
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _fail(path, f"an answer is a name or a one-key mapping, got {value!r}")
    ((name, body),) = value.items()
    where = _at(path, str(name))
    if name not in _FIELDS:
        raise _fail(where, f"unknown answer (expected one of {names})")
    fields = _FIELDS[name]
    if body is None:
        body = {}
    elif not isinstance(body, Mapping) and len(fields) == 1:
        body = {fields[0]: body}  # {refused: reason} stands for {refused: {reason: ...}}
    if not isinstance(body, Mapping):
        raise _fail(where, f"must be a mapping of {', '.join(fields) or 'no fields'}, got {body!r}")
    for key in body:
        if key not in fields:
            expected = ", ".join(fields) or "none"
            raise _fail(_at(where, str(key)), f"unknown key (expected {expected})")
    kind = AnswerKind(name)
    if kind is AnswerKind.RATE_LIMITED:
        after = _whole(body.get("retry_after", 1), _at(where, "retry_after"), 1, MAX_RETRY_AFTER)
        return RequestAnswer(kind=kind, retry_after=after)
    if kind is AnswerKind.TIMEOUT:
        reached = body.get("reached", False)
        if not isinstance(reached, bool):
            raise _fail(_at(where, "reached"), f"must be true or false, got {reached!r}")
        return RequestAnswer(kind=kind, reached=reached)
    if kind is AnswerKind.REFUSED:
        if "reason" not in body:
            raise _fail(_at(where, "reason"), "is required")
        return RequestAnswer(kind=kind, reason=_text(body["reason"], _at(where, "reason")))
    return RequestAnswer(kind=kind)
