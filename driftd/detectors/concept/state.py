"""What the concept-drift detectors share: their state is a few named fields.

Each detector lists its state fields in ``_state``; a snapshot is those fields as
plain data (numbers, lists), and parameters come from the config, not the snapshot.
"""

from __future__ import annotations

from typing import Any, ClassVar


class StateDetector:
    """Snapshot = the instance's state fields; parameters come from config."""

    _state: ClassVar[tuple[str, ...]] = ()

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._state}

    def restore(self, state: dict[str, Any]) -> None:
        for name in self._state:
            value = state[name]
            setattr(self, name, [list(row) for row in value] if name == "rows" else value)
