"""Where a firing alert stands: its current value first, then the value at firing and
the worst since.

A notice written when an alert fired goes stale as the metric moves on: a model
already under the four-fifths line can lose half its positive decisions for a group
and still show the value it fired at. Everywhere an alert is shown (notifications,
``driftd status``, the API, the dashboard, run summaries) shows these three, the
current value first, so a regression behind an alert already firing is seen.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class Standing(msgspec.Struct, array_like=True, frozen=True):
    current: float | None  # None: no reading yet (e.g. the window emptied)
    at_firing: float
    worst: float

    def text(self) -> str:
        """``0.097 now (0.217 at firing, worst 0.09)``; the current value first."""
        now = "-" if self.current is None else f"{self.current:.4g}"
        return f"{now} now ({self.at_firing:.4g} at firing, worst {self.worst:.4g})"


def worse(op: str, value: float, than: float) -> bool:
    """Whether ``value`` is further on the breaching side of a rule with ``op`` than ``than``."""
    return value < than if op in ("<", "<=") else value > than


def standing(
    op: str,
    at_firing: float,
    since: float,
    history: Iterable[tuple[float, float | None]],
    current: float | None,
) -> Standing:
    """From the metric's history (event time, value) since the episode began (``since``)."""
    worst = at_firing
    values = [v for t, v in history if t >= since and v is not None]
    if current is not None:
        values.append(current)
    for value in values:
        if worse(op, value, worst):
            worst = value
    return Standing(current=current, at_firing=at_firing, worst=worst)
