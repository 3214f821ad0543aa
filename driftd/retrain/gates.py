"""The gates a challenger must pass before it may replace the champion. All recorded.

1. better: on the holdout (the newest labeled events), the paired bootstrap confidence
   interval of (challenger - champion) on the gate metric must lie above
   ``min_improvement``; one number from one sample is not enough to replace a model;
2. not less fair: for each sensitive attribute, the spread between groups of accuracy
   (or MAE) and, for binary tasks, of the selection rate (demographic parity
   difference) must not grow by more than ``fairness_tolerance``: judged, like (1),
   on the paired bootstrap (the lower bound of the growth must stay within it), so
   sampling noise in small groups does not block a better model;
3. no loss on the reference slice beyond ``reference_tolerance``, scored on reference
   rows neither model trained on (dataset.py holds one in five out of every run); a
   champion not trained by driftd may have seen them, and is not judged there;
4. not slower and not bigger: per-row inference latency and artifact size within
   ``latency_factor`` and ``size_factor`` of the champion's.

Without a champion (the first version), the comparative gates pass by definition
and say so; the others still apply.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn import metrics as skm

from driftd.config.retraining import GatesSpec
from driftd.retrain.dataset import Frame

HIGHER_IS_BETTER = {"accuracy", "balanced_accuracy", "f1", "roc_auc", "r2"}


def _scores(model: Any, X) -> np.ndarray | None:
    if not hasattr(model, "predict_proba"):
        return None
    proba = model.predict_proba(X)
    return proba[:, 1] if proba.shape[1] == 2 else None


def metric_value(name: str, y: np.ndarray, y_hat: np.ndarray, score: np.ndarray | None) -> float:
    if name == "accuracy":
        return float(np.mean(y == y_hat))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, y_hat))
    if name == "f1":
        return float(skm.f1_score(y, y_hat, average="weighted"))
    if name == "roc_auc":
        if score is None or len(np.unique(y)) < 2:
            return float("nan")
        return float(skm.roc_auc_score(y, score))
    if name == "mae":
        return float(np.mean(np.abs(y.astype(float) - y_hat.astype(float))))
    return float(skm.r2_score(y, y_hat))


def paired_bootstrap(name: str, y, challenger: tuple, champion: tuple, rounds: int,
                     confidence: float, seed: int) -> dict[str, float]:  # fmt: skip
    """CI of (challenger - champion), signed so that positive means better."""
    rng = np.random.default_rng(seed)
    n = len(y)
    sign = 1.0 if name in HIGHER_IS_BETTER else -1.0
    diffs = np.empty(rounds)
    for i in range(rounds):
        idx = rng.integers(0, n, n)
        a = metric_value(name, y[idx], challenger[0][idx],
                         None if challenger[1] is None else challenger[1][idx])  # fmt: skip
        b = metric_value(name, y[idx], champion[0][idx],
                         None if champion[1] is None else champion[1][idx])  # fmt: skip
        diffs[i] = sign * (a - b)
    alpha = (1 - confidence) / 2
    return {
        "mean": float(np.nanmean(diffs)),
        "low": float(np.nanquantile(diffs, alpha)),
        "high": float(np.nanquantile(diffs, 1 - alpha)),
    }


def group_gaps(frame: Frame, y_hat: np.ndarray, task: str, positive: Any) -> dict[str, float]:
    """Per sensitive attribute: the spread between groups of accuracy/MAE and selection rate."""
    groups = {attribute: frame.groups[attribute].to_numpy() for attribute in frame.groups.columns}
    return gaps_of(frame.y, y_hat, groups, task, positive)


def gaps_of(y: np.ndarray, y_hat: np.ndarray, groups: Mapping[str, np.ndarray], task: str,
            positive: Any) -> dict[str, float]:  # fmt: skip
    """:func:`group_gaps` on arrays: ``groups`` maps each attribute to its values as text
    ("" when absent); groups of fewer than 10 events are left out."""
    gaps: dict[str, float] = {}
    for attribute, values in groups.items():
        quality, selection = [], []
        for group in np.unique(values[values != ""]):
            mask = values == group
            if mask.sum() < 10:
                continue
            if task == "regression":
                quality.append(float(np.mean(np.abs(y[mask] - y_hat[mask]))))
            else:
                quality.append(float(np.mean(y[mask] == y_hat[mask])))
                if task == "binary":
                    selection.append(float(np.mean(y_hat[mask] == positive)))
        if len(quality) >= 2:
            name = "mae" if task == "regression" else "accuracy"
            gaps[f"{attribute}.{name}_difference"] = max(quality) - min(quality)
        if len(selection) >= 2:
            gaps[f"{attribute}.demographic_parity_difference"] = max(selection) - min(selection)
    return gaps


def gap_growth(
    frame: Frame,
    new: np.ndarray,
    old: np.ndarray,
    task: str,
    positive: Any,
    rounds: int,
    confidence: float,
    seed: int,
) -> dict[str, dict[str, float]]:
    """Per gap: the bootstrap CI of (challenger's gap - champion's gap), same resamples."""
    groups = {attribute: frame.groups[attribute].to_numpy() for attribute in frame.groups.columns}
    return growth_of((frame.y, new, groups), (frame.y, old, groups), task, positive,
                     min(rounds, 300), confidence, np.random.default_rng(seed + 1))  # fmt: skip


Columns = tuple[np.ndarray, np.ndarray, Mapping[str, np.ndarray]]  # y, y_hat, groups


def growth_of(new: Columns, old: Columns, task: str, positive: Any, rounds: int,
              confidence: float, rng: np.random.Generator,
              paired: bool = True) -> dict[str, dict[str, float]]:  # fmt: skip
    """Per gap: the bootstrap CI of (challenger's gap - champion's gap) on arrays (``y,
    y_hat, groups`` per version). Paired, one resample serves both (the same rows scored
    twice); unpaired, each version's rows are resampled apart (two arms of an A/B)."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        pick_new = rng.integers(0, len(new[0]), len(new[0]))
        pick_old = pick_new if paired else rng.integers(0, len(old[0]), len(old[0]))
        a = gaps_of(*_pick(new, pick_new), task, positive)
        b = gaps_of(*_pick(old, pick_old), task, positive)
        for key in a:
            samples.setdefault(key, []).append(a[key] - b.get(key, 0.0))
    tail = (1 - confidence) / 2
    return {key: {"low": float(np.quantile(v, tail)), "high": float(np.quantile(v, 1 - tail))}
            for key, v in samples.items()}  # fmt: skip


def _pick(columns: Columns, index: np.ndarray) -> Columns:
    y, y_hat, groups = columns
    return y[index], y_hat[index], {a: v[index] for a, v in groups.items()}


def paired_latency(challenger: Any, champion: Any, X, rounds: int = 7) -> tuple[float, float]:
    """Per-row inference cost of both models: CPU time of this process (every thread of
    it, so an estimator's own worker threads count), in turns with the order
    alternating, the cheapest of ``rounds`` turns each. Time spent waiting for a core
    while other processes run is not the model's and does not count, and a burst of
    load slows both models' turns alike, not whichever happened to be measured then."""
    best = [float("inf"), float("inf")]
    models = (challenger, champion)
    for round_ in range(rounds):
        for which in ((0, 1) if round_ % 2 == 0 else (1, 0)):
            started = time.process_time()
            models[which].predict(X)
            best[which] = min(best[which], time.process_time() - started)
    rows = max(len(X), 1)
    return best[0] / rows, best[1] / rows


def artifact_size(model: Any) -> int:
    import skops.io as sio

    buffer = io.BytesIO(sio.dumps(model))
    return len(buffer.getvalue())


def evaluate(model: Any, frame: Frame, metric: str) -> dict[str, Any]:
    y_hat = model.predict(frame.X)
    score = _scores(model, frame.X) if metric == "roc_auc" else None
    return {"y_hat": y_hat, "score": score, "value": metric_value(metric, frame.y, y_hat, score)}


def judge(
    gates: GatesSpec,
    task: str,
    positive: Any,
    holdout: Frame,
    reference: Frame | None,
    challenger: Any,
    champion: Any | None,
    seed: int,
    champion_held_out_reference: bool = True,
) -> dict[str, Any]:
    """Every gate's verdict with its numbers; ``passed`` is their conjunction.
    ``champion_held_out_reference``: the champion's training left out ``reference``."""
    metric = gates.metric
    new = evaluate(challenger, holdout, metric)
    verdicts: dict[str, dict[str, Any]] = {}
    report: dict[str, Any] = {"metric": metric, "challenger": {"holdout": new["value"]}}
    if champion is None:
        for gate in ("better", "fairness", "reference", "latency", "size"):
            verdicts[gate] = {"passed": True, "why": "no champion yet: first version"}
        report["verdicts"] = verdicts
        report["passed"] = True
        return report
    old = evaluate(champion, holdout, metric)
    report["champion"] = {"holdout": old["value"]}
    interval = paired_bootstrap(metric, holdout.y, (new["y_hat"], new["score"]),
                                (old["y_hat"], old["score"]), gates.bootstrap,
                                gates.confidence, seed)  # fmt: skip
    verdicts["better"] = {
        "passed": interval["low"] > gates.min_improvement,
        "interval": interval,
        "why": f"{gates.confidence:.0%} CI of the improvement in {metric}: "
        f"[{interval['low']:+.4f}, {interval['high']:+.4f}], must be above "
        f"{gates.min_improvement:+.4f}",
    }
    new_gaps = group_gaps(holdout, new["y_hat"], task, positive)
    old_gaps = group_gaps(holdout, old["y_hat"], task, positive)
    growth = gap_growth(holdout, new["y_hat"], old["y_hat"], task, positive,
                        gates.bootstrap, gates.confidence, seed)  # fmt: skip
    worse = {k: ci for k, ci in growth.items() if ci["low"] > gates.fairness_tolerance}
    verdicts["fairness"] = {
        "passed": not worse,
        "challenger": new_gaps,
        "champion": old_gaps,
        "growth": growth,
        "why": "no group gap grew beyond the tolerance"
        if not worse
        else "gaps grew: "
        + ", ".join(
            f"{k} {old_gaps.get(k, 0):.3f} -> {new_gaps[k]:.3f} (CI low {ci['low']:+.3f})"
            for k, ci in worse.items()
        ),
    }
    if gates.reference_tolerance is None:
        verdicts["reference"] = {"passed": True, "why": "disabled (reference_tolerance: null)"}
    elif not champion_held_out_reference:
        verdicts["reference"] = {
            "passed": True, "judged": False,
            "why": "not judged: the champion was not trained by driftd and may have trained "
            "on the reference gate's rows (it would be favoured); versions driftd trains "
            "hold them out, so the next comparison is fair",
        }  # fmt: skip
    elif reference is not None and len(reference):
        ref_new = evaluate(challenger, reference, metric)["value"]
        ref_old = evaluate(champion, reference, metric)["value"]
        loss = (ref_old - ref_new) if metric in HIGHER_IS_BETTER else (ref_new - ref_old)
        verdicts["reference"] = {
            "passed": loss <= gates.reference_tolerance,
            "challenger": ref_new,
            "champion": ref_old,
            "why": f"{metric} on the reference slice {ref_old:.4f} -> {ref_new:.4f}",
        }
    else:
        verdicts["reference"] = {"passed": True, "why": "no reference with labels"}
    latency_new, latency_old = paired_latency(challenger, champion, holdout.X)
    verdicts["latency"] = {
        "passed": latency_new <= gates.latency_factor * latency_old,
        "challenger_us": latency_new * 1e6,
        "champion_us": latency_old * 1e6,
        "why": f"{latency_old * 1e6:.1f} -> {latency_new * 1e6:.1f} us per row "
        f"(limit x{gates.latency_factor:g})",
    }
    size_new, size_old = artifact_size(challenger), artifact_size(champion)
    verdicts["size"] = {
        "passed": size_new <= gates.size_factor * size_old,
        "challenger_bytes": size_new,
        "champion_bytes": size_old,
        "why": f"{size_old} -> {size_new} bytes (limit x{gates.size_factor:g})",
    }
    report["verdicts"] = verdicts
    report["passed"] = all(v["passed"] for v in verdicts.values())
    return report
