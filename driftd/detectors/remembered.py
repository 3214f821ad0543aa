"""Recently joined event ids, as 64-bit hashes in numpy arrays, oldest forgotten first.

The join remembers up to ``join.remember`` joined ids (100k by default) so that a
duplicate prediction or label is recognised rather than counted twice. Kept as Python
strings in a dict, those ids were ~120 bytes each (the string, its time as a float
object, the dict slot, the order deque): 12 MB per model at the default, and two
million long-lived small objects for ten models, which pin the allocator's arenas
between the stream's short-lived ones (RSS grew ~3x what tracemalloc saw).

Here an id is its 64-bit BLAKE2b digest, stable across processes so a checkpoint
can store digests instead of ids. The newest ids sit in a small set; every
``block`` insertions they are merged into the sorted digests (with each one's
position in arrival order) and their times appended in arrival order. An id is
remembered while its arrival sequence number is at or past ``front``; forgetting (by
count or by the TTL) only moves ``front``, so lookups stay exact without touching
the arrays. 20 bytes an id (digest, position, time: the arrival order of the digests
is not kept, it is the positions' inverse); two distinct ids collide with
probability ~n / 2**64 per lookup (5e-15 at 100k).

The newest ids are a set of digests (Python ints: ~65 bytes an id) beside two
preallocated arrays of their digests and times in arrival order, so the block is
kept small (4,096 ids); merging it is linear, not a sort of every digest: the
remembered digests are one sorted run and numpy's stable sort (timsort) merges the
block's run into it.

Most lookups are of new ids (every event asks once). Before the binary search, a
bitmap of the arrays' digests (one bit per value of a digest's top 20 bits: 128 KB,
rebuilt with the index) answers most of them: a clear bit means absent for sure; a
set one (~10% of new ids at 100k remembered) goes on to the exact search.
"""

from __future__ import annotations

import base64
from hashlib import blake2b
from typing import Any

import numpy as np

FILTER_BITS = 20  # the bitmap's index: a digest's top bits
_EMPTY_U64 = np.zeros(0, dtype=np.uint64)
_EMPTY_F64 = np.zeros(0, dtype=np.float64)


def digest(event_id: str) -> int:
    """The id's stable 64-bit digest (Python's own hash is salted per process)."""
    return int.from_bytes(blake2b(event_id.encode(), digest_size=8).digest(), "little")


class RememberedIds:
    """A bounded FIFO set of event-id digests with their join times."""

    def __init__(self, limit: int, block: int | None = None):
        self.limit = limit
        # A merge is linear in the remembered ids (~1 ms at 100k): once per `block`
        # insertions, well under 1 us an insertion.
        self.block = block or min(4096, max(1024, limit // 8))
        self.front = 0  # sequence number of the oldest remembered id
        self._next = 0  # sequence number of the next insertion
        self._recent: set[int] = set()  # the newest digests, for lookups
        self._recent_hashes = np.empty(self.block, dtype=np.uint64)  # ...in arrival order
        self._recent_times = np.empty(self.block, dtype=np.float64)
        self._filled = 0  # how many of them
        self._base = 0  # sequence number of _times[0]
        self._times = _EMPTY_F64  # arrival order
        self._sorted = _EMPTY_U64  # the digests, sorted
        self._positions = np.zeros(0, dtype=np.int32)  # their indexes in _times
        self._filter = bytes(1 << (FILTER_BITS - 3))  # bit i: some digest's top bits are i

    def __len__(self) -> int:
        return self._next - self.front

    def __contains__(self, key: int) -> bool:
        if key in self._recent:
            start = self._next - self._filled  # sequence number of the first recent id
            if self.front <= start:
                return True  # nothing recent forgotten: the usual case
            # Forgotten ids stay in the set until the merge; the newest entry decides.
            at = np.flatnonzero(self._recent_hashes[: self._filled] == np.uint64(key))
            return start + int(at[-1]) >= self.front
        top = key >> (64 - FILTER_BITS)
        if not self._filter[top >> 3] >> (top & 7) & 1:
            return False
        index = self._sorted
        at = int(index.searchsorted(np.uint64(key), side="right")) - 1
        if at < 0 or int(index[at]) != key:
            return False
        return self._base + int(self._positions[at]) >= self.front

    def add(self, key: int, time: float) -> None:
        """Remember a digest (not already remembered); the oldest beyond the limit go."""
        self._recent.add(key)
        filled = self._filled
        self._recent_hashes[filled] = key
        self._recent_times[filled] = time
        self._filled = filled + 1
        self._next += 1
        self.front = max(self.front, self._next - self.limit)
        if self._filled >= self.block:
            self._compact()

    def forget_before(self, cutoff: float) -> None:
        """Forget from the oldest while their time is before cutoff (arrival order)."""
        older = self._times[self.front - self._base :]  # empty once front is in recent
        if older.size and older[0] >= cutoff:
            return  # the usual case (the TTL is days): nothing to forget, no scan
        live = np.flatnonzero(older >= cutoff)
        if live.size:
            self.front += int(live[0])
            return
        recent_start = self._next - self._filled
        self.front = max(self.front, recent_start)
        recent = self._recent_times[self.front - recent_start : self._filled]
        live = np.flatnonzero(recent >= cutoff)
        self.front += int(live[0]) if live.size else len(recent)

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        """The remembered (digests, times), oldest first."""
        cut = self.front - self._base
        hashes = np.empty(len(self._sorted), dtype=np.uint64)
        hashes[self._positions] = self._sorted  # back in arrival order
        recent = self._recent_hashes[: self._filled]
        times = np.concatenate([self._times, self._recent_times[: self._filled]])
        return np.concatenate([hashes, recent])[cut:], times[cut:]

    def _compact(self) -> None:
        """Merge the recent ids into the arrays and drop the forgotten ones."""
        cut = self.front - self._base
        recent = self._recent_hashes[: self._filled]
        offsets = np.arange(len(self._times), len(self._times) + len(recent), dtype=np.int32)
        # The kept digests are distinct (the join adds no remembered id, and a forgotten
        # one is dropped here, before its new entry joins): no ties to order.
        digests = np.concatenate([self._sorted, recent])
        positions = np.concatenate([self._positions, offsets])
        kept = positions >= cut
        digests, positions = digests[kept], positions[kept] - cut
        times = np.concatenate([self._times, self._recent_times[: self._filled]])
        order = np.argsort(digests, kind="stable")
        self._sorted, self._positions = digests[order], positions[order]
        self._times, self._base = times[cut:], self.front
        self._recent, self._filled = set(), 0
        self._refilter()

    def _index(self, hashes: np.ndarray, times: np.ndarray) -> None:
        """The arrays from (digests, times) in arrival order, the first at ``_base``."""
        self._positions = np.argsort(hashes, kind="stable").astype(np.int32)
        self._sorted, self._times = hashes[self._positions], times
        self._refilter()

    def _refilter(self) -> None:
        seen = np.zeros(1 << FILTER_BITS, dtype=bool)
        seen[(self._sorted >> np.uint64(64 - FILTER_BITS)).astype(np.int64)] = True
        self._filter = np.packbits(seen, bitorder="little").tobytes()

    def snapshot(self) -> dict[str, Any]:
        hashes, times = self.live()
        return {
            "digests": base64.b64encode(hashes.astype("<u8").tobytes()).decode(),
            "times": base64.b64encode(times.astype("<f8").tobytes()).decode(),
        }

    @classmethod
    def restored(cls, limit: int, state: dict[str, Any]) -> RememberedIds:
        ids = cls(limit)
        hashes = np.frombuffer(base64.b64decode(state["digests"]), dtype="<u8")
        times = np.frombuffer(base64.b64decode(state["times"]), dtype="<f8")
        ids._load(hashes.astype(np.uint64), times.astype(np.float64))
        return ids

    @classmethod
    def of_ids(cls, limit: int, ids: list[str], times: list[float]) -> RememberedIds:
        """From a checkpoint written before digests (0.8 and earlier: the ids)."""
        out = cls(limit)
        hashes = np.fromiter((digest(i) for i in ids), dtype=np.uint64, count=len(ids))
        out._load(hashes, np.asarray(times, dtype=np.float64))
        return out

    def _load(self, hashes: np.ndarray, times: np.ndarray) -> None:
        keep = min(len(hashes), self.limit)
        self._base, self.front, self._next = 0, 0, keep
        self._index(hashes[len(hashes) - keep :], times[len(times) - keep :])
