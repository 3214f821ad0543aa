"""Garbage-collector settings for driftd's long-running loops.

The hot path allocates many short-lived objects (decoded events, encoded payloads)
while holding large long-lived state (waiting joins, remembered ids, windows).
With CPython's default thresholds (700, 10, 10) the collections that walk that
state run often: on bench/throughput.py they took ~15% of the pipeline's time.
Larger young generations and rarer full collections still collect the few cycles
driftd makes, at a fraction of the cost; ``gc.freeze()`` moves what exists at
start (modules, config, reference data) out of the collector's sight for good.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Call once, after start-up and before the main loop."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
