"""A small PNG chart of a metric's recent history with its threshold, for emails."""

from __future__ import annotations

import io
from datetime import UTC, datetime


def metric_chart(
    history: list[tuple[float, float | None]], metric: str, threshold: float, op: str
) -> bytes | None:
    points = [(t, v) for t, v in history if v is not None]
    if len(points) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global state, thread-safe

    figure = Figure(figsize=(6, 2.4), dpi=100)
    axes = figure.subplots()
    times = [datetime.fromtimestamp(t, UTC) for t, _ in points]
    axes.plot(times, [v for _, v in points], color="#1f4e9c", linewidth=1.6, label=metric)
    axes.axhline(threshold, color="#b42318", linestyle="--", linewidth=1.2,
                 label=f"threshold ({op} {threshold:g})")  # fmt: skip
    axes.set_title(metric, fontsize=10, loc="left")
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
