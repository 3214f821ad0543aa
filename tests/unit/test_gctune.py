"""The C heap's free pages go back to the OS after a checkpoint (glibc's malloc_trim)."""

import os

import numpy as np
import pytest

from driftd.daemon.gctune import release_free_memory


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_release_free_memory_returns_the_free_pages_between_live_blocks():
    if not release_free_memory():
        pytest.skip("the C library has no malloc_trim (not glibc)")
    # 600 arrays of 100 KB (below glibc's mmap threshold: in the heap), every tenth
    # kept: ~54 MB of free chunks between live ones, which glibc alone keeps resident.
    blocks = [np.ones(12_500) for _ in range(600)]
    kept = blocks[::10]
    del blocks
    before = rss_mb()
    release_free_memory()
    after = rss_mb()
    assert before - after > 25, (before, after)
    assert all(float(block.sum()) == 12_500 for block in kept)  # the live ones intact
