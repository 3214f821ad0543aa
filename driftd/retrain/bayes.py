"""Model-based hyperparameter search: Optuna's TPE sampler with pruning (``method: optuna``).

For an expensive estimator, a sampler that learns from the candidates tried so far (TPE:
a density of good and of bad parameters, the next candidate where their ratio is best)
reaches a better model than random or halving search in the same time budget
(BENCHMARKS.md, "retrain"). Each candidate is scored on the same time-ordered folds as
the other methods, fold by fold; after each fold its running mean is reported and
Optuna's median pruner stops a candidate that is already worse than the median of the
earlier ones at that fold, so a bad candidate costs one or two folds, not all. Seeded:
the same seed, data and budget (in candidates) give the same search.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import get_scorer

from driftd.config.retraining import Range, RetrainSpec
from driftd.retrain.dataset import Frame


def _suggest(trial: Any, name: str, values: Any) -> Any:
    if isinstance(values, Range):
        if values.integer:
            return trial.suggest_int(name, int(values.low), int(values.high), log=values.log)
        return trial.suggest_float(name, values.low, values.high, log=values.log)
    return trial.suggest_categorical(name, list(values))


def optuna_search(
    base: Any,
    retrain: RetrainSpec,
    prefix: str,
    train: Frame,
    folds: Any,
    scoring: str,
    seed: int,
    on_candidate: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the best parameters, every candidate with its score and the folds it ran)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scorer = get_scorer(scoring)
    splits = list(folds.split(train.X))
    candidates: list[dict[str, Any]] = []
    budget = float(retrain.search.time_budget)
    started = time.perf_counter()

    def objective(trial: Any) -> float:
        params = {prefix + name: _suggest(trial, prefix + name, values)
                  for name, values in retrain.search.space.items()}  # fmt: skip
        scores: list[float] = []
        try:
            for step, (fit_rows, score_rows) in enumerate(splits):
                model = clone(base).set_params(**params)
                model.fit(train.X.iloc[fit_rows], train.y[fit_rows])
                scores.append(float(scorer(model, train.X.iloc[score_rows],
                                           train.y[score_rows])))  # fmt: skip
                trial.report(float(np.mean(scores)), step)
                if trial.should_prune():
                    candidates.append({"params": params, "score": float(np.mean(scores)),
                                       "folds": len(scores), "pruned": True})  # fmt: skip
                    raise optuna.TrialPruned()
        except optuna.TrialPruned:
            raise
        except Exception:  # a candidate that cannot fit: a failed trial, the search goes on
            candidates.append({"params": params, "score": float("nan"), "folds": len(scores)})
            return float("nan")
        finally:
            if on_candidate is not None:
                on_candidate(trial.number + 1, retrain.search.candidates)
        candidates.append({"params": params, "score": float(np.mean(scores)),
                           "folds": len(scores), "pruned": False})  # fmt: skip
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="maximize",  # scikit-learn scorers: greater is better
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    study.optimize(objective, n_trials=retrain.search.candidates,
                   timeout=max(budget - (time.perf_counter() - started), 1.0))  # fmt: skip
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
                and np.isfinite(t.value)]  # fmt: skip
    if not complete:
        raise RuntimeError("every candidate failed to fit or was pruned")
    best = max(complete, key=lambda t: t.value)
    return dict(best.params), candidates
