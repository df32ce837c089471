"""Every client order id a session has sent, remembered in about 8 bytes each.

The duplicate-id rail must see every id of the session, not only the book's bounded window of
closed orders: an id reused after its order left the window would otherwise reach the broker a
second time. A set of a day's ids (10^6 strings) would cost ~90 MB; this keeps a 64-bit BLAKE2b
digest of each id in sorted arrays instead (~8.5 bytes per id), bucketed by the digest's top bits
so that an insertion moves only a short bucket.

A digest can collide: two different ids then read as one. The odds for 10^6 ids are about
n^2 / 2^65, below 1 in 10^7, and the error is on the safe side: a fresh id refused as a
duplicate, never a duplicate sent. Digests are keyed by nothing and hashed from UTF-8, so
membership is the same in every process (no PYTHONHASHSEED dependence).
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left

_BUCKET_BITS = 12  # 4,096 buckets: ~250 digests each at 10^6 ids, ~2,500 at the 10^7 step bound
_SHIFT = 64 - _BUCKET_BITS


def id_digest(client_order_id: str) -> int:
    # surrogatepass: an id that is not valid Unicode still has one fixed digest (the rails refuse
    # it later; this membership test must not raise first).
    data = client_order_id.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class UsedIds:
    """A grow-only set of client order ids; `in` is exact up to a 64-bit digest collision."""

    __slots__ = ("_buckets", "_count", "_last_digest", "_last_id")

    def __init__(self) -> None:
        self._buckets: list[array[int] | None] = [None] * (1 << _BUCKET_BITS)
        self._count = 0
        # The id digested last and its digest: the duplicate-id rail asks about an id just before
        # the book adds it, so one digest serves both (one per used id, not two).
        self._last_id: str | None = None
        self._last_digest = 0

    def _digest(self, client_order_id: str) -> int:
        if type(client_order_id) is str and client_order_id == self._last_id:
            return self._last_digest
        digest = id_digest(client_order_id)
        if type(client_order_id) is str:  # a str subclass may compare equal to other text
            self._last_id, self._last_digest = client_order_id, digest
        return digest

    def add(self, client_order_id: str) -> None:
        digest = self._digest(client_order_id)
        index = digest >> _SHIFT
        bucket = self._buckets[index]
        if bucket is None:
            self._buckets[index] = array("Q", (digest,))
            self._count += 1
            return
        position = bisect_left(bucket, digest)
        if position < len(bucket) and bucket[position] == digest:
            return  # already there: a set, not a multiset
        bucket.insert(position, digest)  # keeps the bucket sorted; moves ~250 entries at 10^6
        self._count += 1

    def __contains__(self, client_order_id: object) -> bool:
        if not isinstance(client_order_id, str):
            return False
        digest = self._digest(client_order_id)
        bucket = self._buckets[digest >> _SHIFT]
        if bucket is None:
            return False
        position = bisect_left(bucket, digest)
        return position < len(bucket) and bucket[position] == digest

    def __len__(self) -> int:
        return self._count
