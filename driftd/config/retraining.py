"""Per-model retraining config: what to train, how to search, when, and the gates.

models:
  credit-risk:
    ...
    retrain:
      estimator: sklearn.ensemble.HistGradientBoostingClassifier
      params: {max_iter: 200}
      search:
        method: halving            # halving | random | optuna
        candidates: 20
        space:
          learning_rate: {low: 0.01, high: 0.3, log: true}
          max_leaf_nodes: [15, 31, 63]
      triggers: ["accuracy-drop", "concept-drift"]   # alert rules (globs)
      schedule: "0 3 * * 0"        # cron, optional
"""

from __future__ import annotations

from typing import Any

import msgspec

from driftd.durations import Duration, parse_duration
from driftd.errors import ConfigError


class _Spec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class Range(_Spec):
    low: float
    high: float
    log: bool = False
    integer: bool = False


class SearchSpec(_Spec):
    method: str = "halving"  # halving | random | optuna (TPE with pruning; pip install optuna)
    candidates: int = 20
    space: dict[str, list[Any] | Range] = {}
    time_budget: Duration = "10m"
    n_jobs: int = 0  # 0: all cores of the machine, never more
    splits: int = 3  # time-ordered validation folds


class DataSpec(_Spec):
    max_rows: int = 50_000  # joined events kept for training, newest first
    max_age: Duration = "30d"
    holdout: float = 0.2  # newest share, never trained on, judges the gates
    use_reference: bool = True  # the reference rows join the training set
    seed: int = 0


class GatesSpec(_Spec):
    metric: str = "accuracy"  # accuracy | balanced_accuracy | f1 | roc_auc | mae | r2
    min_improvement: float = 0.0  # the CI's lower bound must exceed this
    confidence: float = 0.95
    bootstrap: int = 1000
    fairness_tolerance: float = 0.02  # max worsening of any group gap (CI lower bound)
    # Max loss on the reference slice; null disables it (after a concept change the
    # reference's labels no longer hold, and losing on them is the point).
    reference_tolerance: float | None = 0.02
    latency_factor: float = 2.0
    size_factor: float = 3.0


class RollbackSpec(_Spec):
    window: int = 500  # labeled events of the new champion before judging
    margin: float = 0.02  # roll back when it is this much worse than the previous one


class LiveSpec(_Spec):
    """After the offline gates, a trial on live traffic before the challenger serves all
    (retrain/trial.py): ``shadow`` (apps score every request with both models, the
    challenger off the request path, and publish its prediction as a shadow event) or
    ``ab`` (apps route ``share`` of entity keys to the challenger)."""

    mode: str = "off"  # off | shadow | ab
    share: float = 0.1  # ab: the share of entity keys the challenger serves
    min_events: int = 500  # labeled events per arm (pairs in shadow) before a verdict
    deadline: Duration = "7d"  # undecided by then (wall clock): rejected
    confidence: float = 0.95  # of the time-uniform interval; 1 - the error rates' bound


class RetrainSpec(_Spec):
    estimator: str  # import path of an estimator class or a factory function
    params: dict[str, Any] = {}
    preprocess: bool = True  # impute + one-hot in front; off if the estimator does it
    feature_selection: bool = False  # SelectFromModel before the estimator
    search: SearchSpec = msgspec.field(default_factory=SearchSpec)
    data: DataSpec = msgspec.field(default_factory=DataSpec)
    gates: GatesSpec = msgspec.field(default_factory=GatesSpec)
    rollback: RollbackSpec = msgspec.field(default_factory=RollbackSpec)
    live: LiveSpec = msgspec.field(default_factory=LiveSpec)
    triggers: list[str] = []
    schedule: str | None = None
    # Types skops may load besides its defaults (e.g. your own transformer).
    trusted_types: list[str] = []


GATE_METRICS = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "mae", "r2")


def check_retrain(spec: RetrainSpec, at: str, task: str) -> None:
    if "." not in spec.estimator and ":" not in spec.estimator:
        raise ConfigError(f"{at}.estimator", "an import path such as sklearn.linear_model.Ridge")
    if spec.search.method not in ("halving", "random", "optuna"):
        raise ConfigError(f"{at}.search.method", "halving, random or optuna")
    if spec.search.method == "optuna":
        import importlib.util

        if importlib.util.find_spec("optuna") is None:
            raise ConfigError(f"{at}.search.method", "optuna is not installed: pip install "
                              "'driftd[optuna]'")  # fmt: skip
    if spec.search.candidates < 1:
        raise ConfigError(f"{at}.search.candidates", "must be at least 1")
    if spec.search.splits < 2:
        raise ConfigError(f"{at}.search.splits", "must be at least 2")
    if not 0 < spec.data.holdout < 0.9:
        raise ConfigError(f"{at}.data.holdout", "a share in (0, 0.9)")
    if spec.gates.metric not in GATE_METRICS:
        raise ConfigError(f"{at}.gates.metric", f"one of {', '.join(GATE_METRICS)}")
    if (task == "regression") != (spec.gates.metric in ("mae", "r2")):
        raise ConfigError(f"{at}.gates.metric", f"{spec.gates.metric!r} does not fit a {task} task")
    if spec.schedule is not None:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(spec.schedule)
        except ValueError as exc:
            raise ConfigError(f"{at}.schedule", f"not a crontab expression: {exc}") from None
    check_live(spec.live, f"{at}.live", task)
    spec.search.time_budget = parse_duration(spec.search.time_budget, f"{at}.search.time_budget")
    spec.data.max_age = parse_duration(spec.data.max_age, f"{at}.data.max_age")


def check_live(live: LiveSpec, at: str, task: str) -> None:
    if live.mode not in ("off", "shadow", "ab"):
        raise ConfigError(f"{at}.mode", "off, shadow or ab")
    if live.mode != "off" and task == "regression":
        raise ConfigError(f"{at}.mode", "live trials judge accuracy: a classification task only")
    if not 0 < live.share < 1:
        raise ConfigError(f"{at}.share", "a share in (0, 1)")
    if live.min_events < 30:
        raise ConfigError(f"{at}.min_events", "at least 30 labeled events per arm")
    if not 0.5 <= live.confidence < 1:
        raise ConfigError(f"{at}.confidence", "in [0.5, 1)")
    live.deadline = parse_duration(live.deadline, f"{at}.deadline")
