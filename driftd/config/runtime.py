"""Process-wide settings: where state lives, logging, batching, the dead-letter guard,
and the alert log (``notifiers``: every alert transition, ungrouped)."""

from __future__ import annotations

from typing import Literal

import msgspec

from driftd.durations import Duration


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class NotifierSpec(_Spec):
    type: Literal["console", "jsonl"]
    path: str | None = None


class RuntimeSpec(_Spec):
    state_dir: str = ".driftd"
    # Model versions, their artifacts and retraining reports (shared storage when the
    # worker and the apps run on several machines). Relative to state_dir.
    registry_dir: str = "registry"
    # For the long-lived commands (run, serve, retrain-worker); overrides --log-level
    # and --log-format when set.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    log_format: Literal["text", "json"] | None = None
    max_event_bytes: int = 1 << 20
    # Detectors are cheap per event; statistics and rules run every N events per model.
    evaluate_every: int = 500
    # A model's detectors take events in batches of at most this many; its sequential
    # tests decide per batch, and a new alarm is evaluated at once, so an alarm waits
    # at most this many events for its alert. Smaller: faster alarms, lower throughput.
    decide_every: int = 128
    batch_size: int = 2000
    # A prediction further than this ahead of the stream clock does not move it alone
    # (one broken clock must not expire every waiting join): its time is taken as the
    # clock's, and it is counted. Eight such predictions in a row are a real jump.
    max_clock_jump: Duration = "1d"
    # Above this fraction of dead letters among the last `dead_letter_window` messages
    # the Kafka runtime pauses consumption for `dead_letter_pause` and raises an alert.
    max_dead_letter_ratio: float = 0.5
    dead_letter_window: int = 1000
    dead_letter_pause: Duration = "60s"
    # The Kafka runtime writes state and offsets to Redis at most this often (and when idle).
    checkpoint_interval: Duration = "1s"
