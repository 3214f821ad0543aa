"""RememberedIds (the join's joined ids as digests) against the plain dict + deque it
replaced: the same membership after any sequence of joins, forgets and restarts."""

from collections import deque
from hashlib import blake2b

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftd.detectors.join import LabelJoin
from driftd.detectors.remembered import RememberedIds, digest


class PlainIds:
    """The previous implementation: ids in a dict, their order in a deque."""

    def __init__(self, limit: int):
        self.limit, self.times, self.order = limit, {}, deque()

    def add(self, key: int, time: float) -> None:
        self.times[key] = time
        self.order.append(key)
        if len(self.times) > self.limit:
            del self.times[self.order.popleft()]

    def forget_before(self, cutoff: float) -> None:
        while self.order and self.times[self.order[0]] < cutoff:
            del self.times[self.order.popleft()]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), st.floats(0, 100)),
        st.tuples(st.just("forget"), st.integers(0, 40), st.floats(0, 100)),
        st.tuples(st.just("restart"), st.integers(0, 0), st.floats(0, 0)),
    ),
    max_size=120,
)


def big(key: int) -> int:
    """A small key spread over 64 bits (digests above 2**63 included)."""
    return key * 0x9E3779B97F4A7C15 % 2**64


@settings(max_examples=400, deadline=None)
@given(steps, st.integers(1, 12), st.integers(1, 8))
def test_membership_equals_the_dict_and_deque(ops, limit, block):
    ids, plain = RememberedIds(limit, block=block), PlainIds(limit)
    for op, key, time in ops:
        if op == "add":
            if key in plain.times:  # the join never adds a remembered id again
                assert big(key) in ids
                continue
            ids.add(big(key), time)
            plain.add(key, time)
        elif op == "forget":
            ids.forget_before(time)
            plain.forget_before(time)
        else:
            ids = RememberedIds.restored(limit, ids.snapshot())
        assert len(ids) == len(plain.times)
        assert [k for k in range(41) if big(k) in ids] == sorted(plain.times)
        live, times = ids.live()
        assert list(live) == [big(k) for k in plain.order]
        assert list(times) == [plain.times[k] for k in plain.order]


def test_digests_are_blake2b_64_bits_not_the_salted_hash_and_distinct():
    expected = int.from_bytes(blake2b(b"pred-000001", digest_size=8).digest(), "little")
    assert digest("pred-000001") == expected
    keys = np.array([digest(f"e{i}") for i in range(100_000)], dtype=np.uint64)
    assert len(np.unique(keys)) == len(keys)


def test_join_restores_checkpoints_written_with_ids():
    join = LabelJoin(ttl=100, max_pending=1000)
    join.add_prediction("a", 1.0, "pa")
    join.add_label("a", 2.0, 1)
    state = join.snapshot()
    for legacy_ids in ({"joined_ids": ["a"], "joined_times": [2.0]}, {"joined": [["a", 2.0]]}):
        old = {k: v for k, v in state.items() if k != "joined"} | legacy_ids | {"format": 2}
        again = LabelJoin(ttl=100, max_pending=1000)
        again.restore(old)
        assert again.snapshot() == state


def test_membership_of_real_digests_equals_a_set_past_the_bitmap():
    """Ids as the join sees them: most lookups are of new ids, which the bitmap in front
    of the binary search turns away; a set bit must still be checked exactly."""
    rng = np.random.default_rng(5)
    ids = RememberedIds(20_000, block=1024)
    plain = PlainIds(20_000)
    for time in range(60_000):
        key = digest(f"event-{time}")
        ids.add(key, float(time))
        plain.add(key, float(time))
    asked = [digest(f"event-{i}") for i in rng.integers(0, 120_000, 30_000)]
    assert [k in ids for k in asked] == [k in plain.times for k in asked]
    assert sum(k in plain.times for k in asked) > 4_000  # both answers were asked for
