"""Running a campaign's batches on an existing Dask distributed cluster (`--scheduler`).

The optional extra `cluster` installs `distributed`. The batches are the same as for local
workers (campaign.plan) and each runs `runner.run_batch` on a Dask worker, so the outcomes, and
the campaign folded from them, are identical to a local run: only where the work happens
differs. The workers need peak_trade installed at the same version (the function is shipped by
reference, as Dask does for any importable function). At most `2 x workers` batches are in
flight at once, so the scheduler's memory stays flat however large the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from peak_trade.explore.runner import Batch, Outcome, run_batch

__all__ = ["ClusterUnavailable", "run_on_cluster"]

CONNECT_TIMEOUT = "10s"  # a scheduler that answers none within this is unreachable


class ClusterUnavailable(Exception):
    """`distributed` is not installed, or the scheduler cannot be reached: one sentence."""


def connect_timeout() -> str:
    return CONNECT_TIMEOUT


def _client(address: str) -> object:
    try:
        from distributed import Client
    except ImportError:
        raise ClusterUnavailable(
            "--scheduler needs the optional extra `cluster` (pip install 'peak-trade[cluster]')"
        ) from None
    try:
        return Client(address, timeout=connect_timeout(), set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run_on_cluster(
    address: str, batches: Sequence[Batch], done: Callable[[int], None]
) -> Iterator[list[Outcome]]:
    """Each batch's outcomes, in completion order, computed on the cluster at `address`."""

    client = _client(address)
    try:
        yield from _run(client, batches, done)
    finally:
        client.close()  # type: ignore[attr-defined]


def _run(
    client: object, batches: Sequence[Batch], done: Callable[[int], None]
) -> Iterator[list[Outcome]]:
    from distributed import as_completed

    with client.as_current():  # type: ignore[attr-defined]  # as_completed finds the client
        workers = max(len(client.scheduler_info().get("workers", {})), 1)  # type: ignore[attr-defined]
        window = None
        for batch in batches:  # bounded: the campaign's batches, 2 x workers in flight
            future = client.submit(run_batch, batch.base, batch.seed, batch.indices, pure=False)  # type: ignore[attr-defined]
            if window is None:
                window = as_completed([future])
            else:
                window.add(future)
            if window.count() >= 2 * workers:
                outcomes = next(window).result()
                done(len(outcomes))
                yield outcomes
        for future in window or ():  # bounded: what is still in flight
            outcomes = future.result()
            done(len(outcomes))
            yield outcomes
