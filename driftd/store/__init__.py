"""Where driftd keeps state between runs: detector checkpoints, readings, alerts.

``Store`` is the interface; :class:`driftd.store.sqlite.SqliteStore` is the
embedded default (one file, no server). Writes come in batches from the runtime,
never per event.
"""

from __future__ import annotations

from typing import Any, Protocol


class Store(Protocol):
    def save_state(self, items: dict[str, Any]) -> None:
        """Write several named JSON-able states in one transaction."""

    def load_state(self, name: str) -> Any | None: ...

    def append_readings(
        self, model: str, event_time: float, readings: dict[str, float | None]
    ) -> None: ...

    def latest_readings(self, model: str) -> tuple[float, dict[str, float | None]] | None: ...

    def history(
        self, model: str, metric: str, limit: int = 500
    ) -> list[tuple[float, float | None]]: ...

    def close(self) -> None: ...
