"""The dead-letter ratio guard's window, trip and resume, in isolation."""

from __future__ import annotations

from driftd.consumers.guard import DeadLetterGuard


def test_trips_only_on_a_full_window_above_the_ratio():
    guard = DeadLetterGuard(max_ratio=0.5, window=100, pause_seconds=30)
    guard.record(60, 60)
    assert not guard.should_trip()  # 60 messages < window, however bad
    guard.record(40, 0)
    assert guard.ratio == 0.6 and guard.should_trip()
    guard.record(100, 10)  # the bad batch slides out of the window
    assert not guard.should_trip()
    assert guard.ratio == 0.1  # only the newest 100 messages remain


def test_pause_expires_and_starts_a_fresh_window():
    guard = DeadLetterGuard(max_ratio=0.5, window=10, pause_seconds=30)
    guard.record(10, 9)
    assert guard.should_trip()
    guard.trip(now=100.0)
    assert guard.paused(110.0) and guard.paused(129.9)
    assert not guard.paused(130.0)
    assert guard.ratio == 0.0 and not guard.should_trip() and guard.trips == 1


def test_exactly_at_the_ratio_does_not_trip():
    guard = DeadLetterGuard(max_ratio=0.5, window=10, pause_seconds=1)
    guard.record(10, 5)
    assert not guard.should_trip()
