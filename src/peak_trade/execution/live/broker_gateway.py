"""BrokerGateway: the one door between a session and its broker adapter, shut for good on a breach.

NO-LIVE, enforced where the session touches the adapter: every call (submit, cancel, replace,
poll, health, snapshot) asks the adapter's `kind` first and again once the call returns. An
answer other than `BrokerKind.MOCK` (or a `kind` that raises) severs the gateway: that call's
result is discarded, and from then on the adapter is never called again, not even for its kind.
So an adapter that turns live at any point receives nothing more, and nothing it returned while
or after turning is applied. The gateway only decides; the orchestrator records the refusal and
breaches (BrokerSevered carries what it needs to say).
"""

from __future__ import annotations

from peak_trade.execution.broker.model import (
    CancelOrder,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from peak_trade.execution.broker.protocol import (
    BrokerAdapter,
    BrokerHealth,
    BrokerKind,
    BrokerSnapshot,
)

_MOCK = BrokerKind.MOCK


class BrokerSevered(Exception):
    """The gateway refused a call: the adapter is not (or no longer) the mock.

    `sent` says whether the call reached the adapter (it turned during the call) or not."""

    def __init__(self, operation: str, detail: str, *, sent: bool) -> None:
        super().__init__(detail)
        self.operation = operation
        self.detail = detail
        self.sent = sent


class BrokerGateway:
    """Wraps a BrokerAdapter; see the module docstring."""

    __slots__ = ("_adapter", "_kind", "_severed")

    def __init__(self, adapter: BrokerAdapter) -> None:
        self._adapter = adapter
        self._severed: str | None = None  # why, once severed; never cleared
        self._kind: object = _MOCK  # the kind seen when severed

    @property
    def severed(self) -> str | None:
        """Why the gateway is shut, or None while the adapter has only ever been the mock."""
        return self._severed

    def kind(self) -> object:
        """The adapter's kind now, for the checks; once severed, the kind that severed it."""
        if self._severed is None:
            kind = self._read_kind()
            if kind is not _MOCK:
                self._sever(kind, "was asked its kind")
        return self._kind if self._severed is not None else _MOCK

    def admit(self, operation: str, subject: str = "") -> None:
        """Raise BrokerSevered unless a call `operation` (about `subject`) may go out now; for
        callers that record a command before sending it."""
        if self._severed is not None:
            raise BrokerSevered(operation, self._refusal(operation, subject), sent=False)
        kind = self._read_kind()
        if kind is not _MOCK:  # (the common case returns here, having built nothing)
            shown = getattr(kind, "value", kind)
            what = f"{operation} {subject}".strip()
            self._sever(kind, f"said it is of kind {shown!r} before {operation}")
            raise BrokerSevered(
                operation, f"{what} would reach a broker of kind {shown!r}: refused", sent=False
            )

    # --- the calls: each admitted, made, then confirmed (written out: this is the hot path) ---

    def submit(self, order: NewOrder, step: int) -> None:
        cid = order.client_order_id
        self.admit("submit", cid)
        try:
            self._adapter.submit(order, step)
        finally:  # also after the call raised: a turn during it outranks its error
            self._confirm("submit", cid)

    def cancel(self, request: CancelOrder, step: int) -> None:
        cid = request.client_order_id
        self.admit("cancel", cid)
        try:
            self._adapter.cancel(request, step)
        finally:
            self._confirm("cancel", cid)

    def replace(self, request: ReplaceOrder, step: int) -> None:
        cid = request.client_order_id
        self.admit("replace", cid)
        try:
            self._adapter.replace(request, step)
        finally:
            self._confirm("replace", cid)

    def request_status(self, request: StatusRequest, step: int) -> None:
        cid = request.client_order_id
        self.admit("status request", cid)
        try:
            self._adapter.request_status(request, step)
        finally:
            self._confirm("status request", cid)

    def poll(self, step: int) -> tuple[ExecutionReport, ...]:
        self.admit("poll")
        try:
            # Materialised inside the call: a lazy batch could still be talking to the adapter.
            reports = tuple(self._adapter.poll(step))
        finally:
            self._confirm("poll")
        return reports

    def health(self, step: int) -> BrokerHealth:
        self.admit("health")
        try:
            health = self._adapter.health(step)
        finally:
            self._confirm("health")
        return health

    def snapshot(self, step: int) -> BrokerSnapshot:
        self.admit("snapshot")
        try:
            snapshot = self._adapter.snapshot(step)
        finally:
            self._confirm("snapshot")
        return snapshot

    # --- helpers ---------------------------------------------------------------------------

    def _confirm(self, operation: str, subject: str = "") -> None:
        """After a call: raise BrokerSevered (sent=True) if the adapter turned during it."""
        kind = self._read_kind()
        if kind is _MOCK:
            return
        shown = getattr(kind, "value", kind)
        what = f"{operation} {subject}".strip()
        self._sever(kind, f"turned to kind {shown!r} during {what}")
        raise BrokerSevered(
            operation,
            f"the broker turned to kind {shown!r} during {what}: its answer is discarded and it "
            "is sent nothing more",
            sent=True,
        )

    def _read_kind(self) -> object:
        try:
            return self._adapter.kind
        except Exception as exc:  # an adapter that cannot say what it is, is not the mock
            return f"unknown ({type(exc).__name__})"

    def _sever(self, kind: object, how: str) -> None:
        self._kind = kind
        self._severed = f"the broker adapter {how}"

    def _refusal(self, operation: str, subject: str) -> str:
        what = f"{operation} {subject}".strip()
        return (
            f"{what} refused: {self._severed}, so the session sends it nothing and applies "
            "nothing from it"
        )
