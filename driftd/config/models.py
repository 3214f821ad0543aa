"""What one model's monitoring looks like in the config: features, reference, windows, tests.

Every spec is a msgspec Struct, so the YAML is validated while it is converted and
an error names the key path; defaults make a minimal model a few lines (a task and
the feature kinds). The checks types alone cannot express are in
:mod:`driftd.config.loading`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from driftd.config.retraining import RetrainSpec
from driftd.durations import Duration
from driftd.events import Scalar


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class FeatureSpec(_Spec):
    kind: Literal["numeric", "categorical"]
    # Expected range for data-quality checks; defaults to the reference's min/max.
    min: float | None = None
    max: float | None = None


class ReferenceSpec(_Spec):
    path: str
    prediction_column: str = "prediction"
    label_column: str = "label"
    # Binary: one column of positive-class probability. Multiclass: a prefix,
    # with one column per class named prefix + class (e.g. score_cat, score_dog).
    score_column: str | None = "score"
    # Exact two-sample statistics run on at most this many reference rows
    # (a seeded uniform sample when the file is larger).
    max_rows: int = 10_000
    seed: int = 0


class WindowSpec(_Spec):
    # Performance and fairness over the last `size` labeled predictions...
    size: int = 1000
    # ...and over event-time tumbling windows of this length (0 disables them).
    tumbling: Duration = "1h"


class JoinSpec(_Spec):
    ttl: Duration = "7d"
    max_pending: int = 1_000_000
    # Joined event ids remembered (within the TTL) to recognise duplicates; the oldest
    # are forgotten first. Each is a 64-bit digest: ~20 bytes of memory and of every
    # checkpoint (2 MB a model at the default).
    remember: int = 100_000


class DriftSpec(_Spec):
    window: int = 2000
    # No statistic (and no verdict) until the window holds this many values.
    min_samples: int = 500
    bins: int = 10
    numeric_test: Literal["auto", "ks", "wasserstein", "psi", "jensenshannon"] = "auto"
    categorical_test: Literal["auto", "chisquare", "jensenshannon"] = "auto"
    # Reference size at or below which 'auto' picks a hypothesis test (KS, chi-square)
    # rather than a distance (Wasserstein, Jensen-Shannon): Evidently's rule.
    auto_small_reference: int = 1000
    # Before 0.9 a p-value alone made the verdict with a small reference; unused now
    # (see significance below), kept so that older configs still load.
    ks_pvalue: float = 0.05
    chisquare_pvalue: float = 0.05
    # Drift pages on an effect (the distance, or the KS statistic with a small
    # reference) AND a significant difference at this level, never on either alone.
    # Unset: window / ARL0 per look, from the test's share of the false-alarm budget.
    significance: float | None = None
    ks_statistic: float = 0.1
    wasserstein: float = 0.1
    jensenshannon: float = 0.1
    psi: float = 0.2
    unseen_rate: float = 0.05
    # The sequential shift test on numeric columns (CUSUM on normal scores, see
    # detectors/shift.py): allowance k in standard deviations, alarm threshold h.
    shift_allowance: float = 0.25
    # Unset: calibrated to the model's false-alarm budget (a share of it per column).
    shift_threshold: float | None = None
    # The model's output and the labels are watched like features.
    predictions: bool = True
    labels: bool = True


class ConceptSpec(_Spec):
    method: Literal["adwin", "page_hinkley", "ddm", "hddm_a"] = "adwin"
    params: dict[str, float | int | str] = {}
    # A detection keeps concept.drift at 1 for this many labeled events.
    hold: int = 1000


class FairnessSpec(_Spec):
    min_group_size: int = 30
    demographic_parity_ratio: float = 0.8
    equalized_odds_difference: float = 0.2
    # Equalized odds compares a group's TPR only with this many positive labels in the
    # window, its FPR only with this many negative ones.
    min_cell: int = 30
    # An alert when the selection ratio falls this far below the reference's, for a
    # model already under the four-fifths line (its regression would otherwise hide).
    max_worsening: float = 0.1


class QualitySpec(_Spec):
    window: int = 1000
    missing_rate: float = 0.1
    type_error_rate: float = 0.01
    out_of_range_rate: float = 0.1
    silence_after: Duration = "10m"


class PerformanceSpec(_Spec):
    # Default rule: alert when accuracy (binary/multiclass) falls this far below the
    # reference's, or when MAE (regression) grows by this fraction.
    max_drop: float = 0.05
    min_labeled: int = 100
    # Classification: the sequential test on the error stream takes its baseline error
    # rate from the first `burn_in` labeled predictions (out-of-sample by construction),
    # and an alarm keeps error_test.alarm at 1 for `hold` labeled predictions.
    burn_in: int = 1000
    hold: int = 1000


class RuleSpec(_Spec):
    metric: str
    op: Literal["<", "<=", ">", ">="]
    threshold: float
    for_: Duration = msgspec.field(default=0, name="for")
    severity: Literal["info", "warning", "critical"] = "warning"
    # The value must come back past threshold +/- hysteresis to resolve.
    hysteresis: float | None = None
    name: str | None = None
    description: str | None = None
    # While firing, worsening by this much past the value last notified notifies
    # again, one severity up (None: never).
    escalate_step: float | None = None


class ModelSpec(_Spec):
    task: Literal["binary", "multiclass", "regression"]
    features: dict[str, FeatureSpec | Literal["numeric", "categorical"]]
    classes: list[Scalar] | None = None
    positive_class: Scalar | None = None
    reference: ReferenceSpec | str | None = None
    sensitive_attributes: list[str] = []
    windows: WindowSpec = msgspec.field(default_factory=WindowSpec)
    join: JoinSpec = msgspec.field(default_factory=JoinSpec)
    drift: DriftSpec = msgspec.field(default_factory=DriftSpec)
    concept: ConceptSpec = msgspec.field(default_factory=ConceptSpec)
    fairness: FairnessSpec = msgspec.field(default_factory=FairnessSpec)
    quality: QualitySpec = msgspec.field(default_factory=QualitySpec)
    performance: PerformanceSpec = msgspec.field(default_factory=PerformanceSpec)
    rules: list[RuleSpec] = []
    default_rules: bool = True
    # False alerts allowed, this model's calibrated rules together, e.g. "1 per 1M
    # events"; unset: alerting.false_alarm_budget.
    false_alarm_budget: str | None = None
    # The model's traffic, '50k per day': what turns a budget in time ('1 per 90d')
    # into events, the unit the tests count in.
    traffic: str | None = None
    retrain: RetrainSpec | None = None
    # A model whose traffic is more than one process can take: its events split into
    # this many shards by a hash of their event_id, each a monitor of its own (count
    # windows of 1/N the size), merged into the model's readings at each tick
    # (docs/scaling.md).
    shards: int = 1
