"""Per-version accuracy during an A/B trial: which version made each joined prediction.

In an A/B trial (``retrain.live.mode: ab``, retrain/trial.py) the champion and the
challenger answer different requests of one model, so the model's own readings mix
them. This detector keeps, for the last ``windows.size`` joined predictions that name a
version (the event's ``model_version``), that version and whether it was right, and
reads per version ``version.<v>.accuracy`` and ``version.<v>.events``: what the
dashboard charts while the trial runs. The trial itself is decided by the worker on
the joined rows, with a time-uniform interval (a window's accuracy checked again and
again would be a peeking test).
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any, ClassVar

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, OutcomeBatch
from driftd.detectors.context import ModelContext
from driftd.detectors.merging import CONCAT, Plan
from driftd.detectors.readings import Readings


class VersionDetector(Detector):
    feeds = ("outcomes",)
    name = "versions"
    merge_plan: ClassVar[Plan] = {"ring": CONCAT}

    def __init__(self, size: int):
        self.size = size
        self.ring: deque[tuple[str, bool]] = deque(maxlen=size)  # (version, right)
        self.window = f"last {size} labeled events with a model_version"

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        spec = context.spec
        if spec.retrain is None or spec.retrain.live.mode != "ab" or spec.task == "regression":
            return []
        return [cls(spec.windows.size)]

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        for outcome in batch.outcomes:
            version = outcome.training.v if outcome.training is not None else None
            if version is not None:
                self.ring.append((version, outcome.y == outcome.y_hat))

    def readings(self, now: float | None) -> Readings:
        events, right = Counter[str](), Counter[str]()
        for version, correct in self.ring:
            events[version] += 1
            right[version] += correct
        out: Readings = {}
        for version, n in events.items():
            out[names.version(version, "accuracy")] = right[version] / n
            out[names.version(version, "events")] = float(n)
        return out

    def reading_names(self) -> list[str]:
        return [names.version("{version}", "accuracy"), names.version("{version}", "events")]

    def snapshot(self) -> Any:
        return {"ring": [[version, right] for version, right in self.ring]}

    def restore(self, state: Any) -> None:
        self.ring = deque(((v, bool(r)) for v, r in state["ring"]), maxlen=self.size)
