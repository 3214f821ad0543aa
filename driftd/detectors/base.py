"""The detector contract: what a detector is fed, what it says, what it keeps.

A detector is a small class watching one thing of one model. It declares:

- ``name``: unique within the model; its state's key in every snapshot;
- ``feeds``: which batches it is fed, out of

  ``"predictions"``  every prediction as it arrives (:class:`PredictionBatch`),
  ``"outcomes"``     predictions joined with their labels, in join order
                     (:class:`OutcomeBatch`),
  ``"labels"``       every label as it arrives, joined or not (:class:`LabelBatch`),
  ``"expired"``      predictions that left the join unlabeled (:class:`ExpiredBatch`);

- a batch update per feed (``update_predictions`` ...). Per event the monitor only
  encodes, joins and queues; batches reach the detectors in arrival order, always
  before anything reads them, so the result equals feeding each event as it came,
  at one numpy operation per column instead of a Python call per value;
- ``readings(now)``: its values by reading name (:mod:`driftd.detectors.readings`
  builds every name), computed per evaluation tick, where the heavy statistics go;
- ``reading_names()``: the names it can produce (``{...}`` marks a part known only
  at run time, such as a group), so a rule watching nothing is caught at start;
- ``rule_templates()``: the default alert rules it proposes, as data;
- ``window``: over what its readings are computed, in words (alerts show it);
- ``decisions()`` / ``calibrate(arl0)``: how many calibrated sequential tests it runs,
  and the run length between false alarms each gets from the model's budget;
- ``snapshot()`` / ``restore()``: its state as plain data msgspec encodes to JSON,
  never pickle, so it lives in SQLite or Redis.

``build(context)`` makes a detector class's instances for one model (none, one, or one
per feature or attribute). Registering a class in :mod:`driftd.detectors.registry` is
all it takes for every model to get it; ``docs/extending.md`` walks through one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from typing import Any, ClassVar, Literal

import msgspec
import numpy as np

from driftd.detectors.columns import categorical_column, columns, numeric_columns
from driftd.detectors.context import ModelContext
from driftd.detectors.merging import merge_states, sequential
from driftd.detectors.readings import Readings
from driftd.detectors.records import Outcome, WaitingPrediction
from driftd.events import Prediction

Feed = Literal["predictions", "outcomes", "labels", "expired"]
FEEDS: tuple[Feed, ...] = ("predictions", "outcomes", "labels", "expired")


class RuleTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A default alert rule a detector proposes: data the alerts layer turns into a rule.

    ``metric`` is a reading name or a glob over them; templates of one model with the
    same ``name`` are one rule (e.g. every numeric feature proposes ``feature-shift``).
    """

    name: str
    metric: str
    op: Literal["<", "<=", ">", ">="]
    threshold: float
    severity: Literal["info", "warning", "critical"] = "warning"
    hysteresis: float | None = None
    description: str = ""
    # Evaluate only once another reading reaches a minimum (e.g. labeled >= 100).
    guard_metric: str | None = None
    guard_minimum: float = 0.0
    # A 0/1 reading of a calibrated sequential test ("{metric}": the watched metric's
    # name): the rule fires only while it is 1, and resolves when it is back to 0.
    evidence_metric: str | None = None
    # While firing, worsening by this much past the value last notified notifies again,
    # one severity up (a regression behind an alert already firing). With bounds: the
    # bad-side bound now (``escalate_on``, default the metric) must be a step worse than
    # the good-side bound (``escalate_from``) was at the last notice.
    escalate_step: float | None = None
    escalate_on: str | None = None
    escalate_from: str | None = None


class PredictionBatch:
    """Predictions in arrival order: the events, their encoded records, whether each
    met a label already waiting (``joined``), and the configured features as columns
    (computed once, shared by every detector)."""

    def __init__(
        self,
        events: list[Prediction],
        records: list[WaitingPrediction],
        joined: list[bool],
        context: ModelContext,
    ):
        self.events = events
        self.records = records
        self.joined = joined
        self._context = context

    def __len__(self) -> int:
        return len(self.events)

    @cached_property
    def feature_columns(self) -> dict[str, tuple[np.ndarray, Any]]:
        """Per feature: (quality codes, values). Numeric values are floats (NaN unless
        finite); categorical values are the present categories as text."""
        features = self._context.spec.features
        names = list(features)
        raw = dict(zip(names, columns([e.features for e in self.events], names), strict=True))
        numeric = [name for name in names if features[name].kind == "numeric"]
        ranges = self._context.ranges
        matrix = numeric_columns([raw[n] for n in numeric], [ranges[n] for n in numeric])
        coded = dict(zip(numeric, matrix, strict=True))
        return {name: coded[name] if name in coded else categorical_column(raw[name])
                for name in names}  # fmt: skip

    @cached_property
    def last_time(self) -> float:
        """The newest event time in the batch."""
        return max(e.timestamp for e in self.events)  # type: ignore[type-var]


class OutcomeBatch:
    """Joined outcomes in join order, with the columns most detectors read."""

    def __init__(self, outcomes: list[Outcome]):
        self.outcomes = outcomes
        self.y = np.array([o.y for o in outcomes], dtype=float)
        self.y_hat = np.array([o.y_hat for o in outcomes], dtype=float)

    def __len__(self) -> int:
        return len(self.outcomes)

    def scores(self, width: int | None) -> np.ndarray:
        """Binary scores (NaN when absent), or multiclass probability rows of ``width``."""
        if width is None:
            return np.array([o.score for o in self.outcomes], dtype=float)
        missing = [np.nan] * width
        return np.array([o.proba if o.proba is not None else missing for o in self.outcomes],
                        dtype=float)  # fmt: skip

    def groups(self, attribute: str) -> list[str | None]:
        return [o.groups.get(attribute) for o in self.outcomes]


class LabelBatch:
    """Every label in arrival order, encoded (class index or value), joined or not,
    with its event time."""

    def __init__(self, y: list[float], times: list[float]):
        self.y = y
        self.times = times

    def __len__(self) -> int:
        return len(self.y)


class ExpiredBatch:
    """Predictions that waited past the join's TTL (or its size bound) unlabeled."""

    def __init__(self, records: list[WaitingPrediction]):
        self.records = records

    def __len__(self) -> int:
        return len(self.records)


class Detector(ABC):
    """One thing watched for one model. See the module docstring for the contract."""

    feeds: ClassVar[tuple[Feed, ...]] = ()
    name: str
    window: str = ""
    # How the shards' snapshots of this detector merge (detectors/merging.py); None:
    # they do not (its readings are its sequential tests', combined by name).
    merge_plan: ClassVar[dict[str, Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for feed in cls.feeds:
            if feed not in FEEDS:
                raise TypeError(f"{cls.__name__}.feeds: {feed!r} is not one of {FEEDS}")
            if getattr(cls, f"update_{feed}") is getattr(Detector, f"update_{feed}"):
                raise TypeError(f"{cls.__name__} is fed {feed} but has no update_{feed}()")

    @classmethod
    @abstractmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        """This class's detectors for one model (often one; none when it does not apply)."""

    def update_predictions(self, batch: PredictionBatch) -> None:
        raise NotImplementedError

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        raise NotImplementedError

    def update_labels(self, batch: LabelBatch) -> None:
        raise NotImplementedError

    def update_expired(self, batch: ExpiredBatch) -> None:
        raise NotImplementedError

    @abstractmethod
    def readings(self, now: float | None) -> Readings:
        """Current values by reading name; ``now`` is the stream clock (None before any event)."""

    def sequential_readings(self, now: float | None) -> Readings:
        """Its sequential tests' readings (what a shard's summary carries: the merge
        computes every other reading again, on the whole model's state); override
        where the others cost a tick's work to compute and throw away."""
        return sequential(self.readings(now))

    @abstractmethod
    def reading_names(self) -> list[str]:
        """Every name ``readings`` can return; ``{...}`` parts are known only at run time."""

    def rule_templates(self) -> list[RuleTemplate]:
        return []

    def decisions(self) -> int:
        """How many calibrated sequential tests this detector runs: its share of the
        model's false-alarm budget (see :mod:`driftd.budgets`)."""
        return 0

    def onsets(self) -> int:
        """Alarms of its sequential tests that began a held alarm, so far: a new one
        asks for an evaluation at once rather than at the next tick."""
        return 0

    def calibrate(self, arl0: float) -> None:
        """Set each of its tests' in-control run length (events between false alarms);
        called once after ``build`` when ``decisions()`` is not 0."""
        if self.decisions():
            raise NotImplementedError(f"{type(self).__name__} runs tests but cannot calibrate")

    @abstractmethod
    def snapshot(self) -> Any:
        """The state as plain data (lists, numbers, strings, dicts, msgspec records)."""

    @abstractmethod
    def restore(self, state: Any) -> None: ...

    def shard_state(self) -> Any:
        """What a shard publishes of this detector for the merge: the parts of its
        snapshot the merge uses (its sequential tests' state stays home: their readings
        travel instead), plus whatever saves the merge work; restored like a snapshot."""
        state = self.snapshot()
        if self.merge_plan is not None and isinstance(state, dict):
            return {key: value for key, value in state.items() if key in self.merge_plan}
        return state

    def merges(self) -> bool:
        """Whether its shards' states merge (:meth:`merge` does not return None)."""
        return self.merge_plan is not None or type(self).merge is not Detector.merge

    def merge(self, states: list[Any]) -> Any | None:
        """This detector's state over the shards of a model (``shards: N``), from each
        shard's snapshot, for :meth:`restore` at the configured window sizes; None when
        it does not merge. Override when a plan cannot say it."""
        if self.merge_plan is None or not states:
            return None
        return merge_states(states, self.merge_plan)
