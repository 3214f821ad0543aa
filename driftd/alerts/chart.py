"""A small PNG chart of a metric's recent history with its threshold, for emails.

A chart is a nicety: text from the stream (a metric named after a group, ``$x^{$``)
is drawn literally, never as matplotlib mathtext, and a chart that cannot be drawn is
left out of the message rather than holding it back.
"""

from __future__ import annotations

import io
import logging
import math
from datetime import UTC, datetime

log = logging.getLogger("driftd.alerts")


def _literal(text: str) -> str:
    """Text drawn as written: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def metric_chart(
    history: list[tuple[float, float | None]], metric: str, threshold: float, op: str
) -> bytes | None:
    """The PNG, or None when there is nothing to draw or drawing failed (logged)."""
    try:
        return _draw(history, metric, threshold, op)
    except Exception as exc:  # the notice must go, chart or not
        log.warning("no chart for %s: %s", metric[:200], exc)
        return None


def _draw(
    history: list[tuple[float, float | None]], metric: str, threshold: float, op: str
) -> bytes | None:
    points = [(t, v) for t, v in history
              if v is not None and math.isfinite(t) and math.isfinite(v)]  # fmt: skip
    if len(points) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global state, thread-safe

    figure = Figure(figsize=(6, 2.4), dpi=100)
    axes = figure.subplots()
    times = [datetime.fromtimestamp(t, UTC) for t, _ in points]
    axes.plot(times, [v for _, v in points], color="#1f4e9c", linewidth=1.6,
              label=_literal(metric))  # fmt: skip
    axes.axhline(threshold, color="#b42318", linestyle="--", linewidth=1.2,
                 label=f"threshold ({op} {threshold:g})")  # fmt: skip
    axes.set_title(metric, fontsize=10, loc="left", parse_math=False)
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
