"""Memory settings for driftd's long-running loops: the garbage collector, the C heap.

The hot path allocates many short-lived objects (decoded events, encoded payloads)
while holding large long-lived state (waiting joins, remembered ids, windows).
With CPython's default thresholds (700, 10, 10) the collections that walk that
state run often: on bench/throughput.py they took ~15% of the pipeline's time.
Larger young generations and rarer full collections still collect the few cycles
driftd makes, at a fraction of the cost; ``gc.freeze()`` moves what exists at
start (modules, config, reference data) out of the collector's sight for good.

The evaluation ticks and batches allocate numpy temporaries of a few hundred KB
between long-lived arrays (windows, remembered ids). glibc's malloc keeps the freed
pages between them resident: bench/memory.py measured ~27 MB of free heap in a
~125 MB heap after 1M events (10 models x 50 features). It returns free pages at the
top of the heap by itself, not those in the middle; ``malloc_trim`` does (the remedy
Dask documents for the same symptom), so the loops call it after each checkpoint.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable

THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Call once, after start-up and before the main loop."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; absent from musl and macOS
    except (AttributeError, OSError):
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the C heap's free pages to the OS; False where the C library cannot
    (RSS then keeps what the heap once held). A few ms on a 100 MB heap."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
