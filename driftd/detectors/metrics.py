"""Performance metrics in vectorised numpy, shared by count and tumbling windows.

Each function is tested equal to its scikit-learn counterpart (1e-9) on the same
rows, including sklearn's conventions at the edges: precision/recall/F1 are 0.0
when undefined (``zero_division`` default), probabilities are clipped to machine
epsilon in log loss, and ROC AUC is None (sklearn raises) with a single class.
Classes are integer indices; in a binary model index 1 is the positive class.

Threshold metrics come from a confusion matrix, so a tumbling window can keep
just the matrix (O(classes^2) memory) and still be exact.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

EPS = float(np.finfo(np.float64).eps)

Readings = dict[str, float | None]


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def confusion_matrix(y: np.ndarray, y_hat: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes (sklearn's layout)."""
    flat = np.bincount(y * n_classes + y_hat, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def _class_scores(cm: np.ndarray, index: int) -> tuple[float, float, float]:
    tp = float(cm[index, index])
    fp = float(cm[:, index].sum()) - tp
    fn = float(cm[index, :].sum()) - tp
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)


def from_confusion(cm: np.ndarray, class_names: list[str], binary: bool) -> Readings:
    """accuracy, error_rate and precision/recall/F1: of the positive class (binary),
    or macro averages plus one per class (multiclass)."""
    n = float(cm.sum())
    out: Readings = {"labeled": n}
    if n == 0:
        return out
    out["accuracy"] = float(np.trace(cm)) / n
    out["error_rate"] = 1.0 - out["accuracy"]
    if binary:
        out["precision"], out["recall"], out["f1"] = _class_scores(cm, 1)
        return out
    per_class = [_class_scores(cm, i) for i in range(len(class_names))]
    for name, (precision, recall, f1) in zip(class_names, per_class, strict=True):
        out[f"precision.{name}"], out[f"recall.{name}"], out[f"f1.{name}"] = precision, recall, f1
    out["precision"], out["recall"], out["f1"] = (
        float(np.mean([scores[i] for scores in per_class])) for i in range(3)
    )
    return out


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve via the Mann-Whitney rank sum (ties count half)."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(rankdata(score)[y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def binary_log_loss_terms(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    clipped = np.clip(score, EPS, 1 - EPS)
    return -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))


def binary_score_metrics(y: np.ndarray, score: np.ndarray) -> Readings:
    """roc_auc, log_loss and brier over the rows that carry a finite score."""
    scored = np.isfinite(score)
    if not scored.any():
        return {}
    ys, ps = y[scored].astype(float), score[scored]
    return {
        "roc_auc": roc_auc(ys, ps),
        "log_loss": float(np.mean(binary_log_loss_terms(ys, ps))),
        "brier": float(np.mean((ps - ys) ** 2)),
    }


def normalised_proba(proba: np.ndarray) -> np.ndarray:
    """Rows rescaled to sum to one (apps' rounding) and clipped like sklearn."""
    return np.clip(proba / proba.sum(axis=1, keepdims=True), EPS, 1 - EPS)


def multiclass_score_metrics(y: np.ndarray, proba: np.ndarray, class_names: list[str]) -> Readings:
    """Multiclass log loss and one-vs-rest ROC AUC per class over scored rows."""
    if proba.size == 0:
        return {}
    scored = np.all(np.isfinite(proba), axis=1)
    if not scored.any():
        return {}
    ys, ps = y[scored], proba[scored]
    out: Readings = {
        "log_loss": float(-np.mean(np.log(normalised_proba(ps)[np.arange(len(ys)), ys])))
    }
    for index, name in enumerate(class_names):
        out[f"roc_auc.{name}"] = roc_auc((ys == index).astype(float), ps[:, index])
    return out


def regression_metrics(y: np.ndarray, y_hat: np.ndarray) -> Readings:
    """MAE, RMSE and R^2 (None when the labels are constant: sklearn's default
    ``force_finite`` would print 0.0 or 1.0 there and hide the problem)."""
    n = len(y)
    out: Readings = {"labeled": float(n)}
    if n == 0:
        return out
    errors = y - y_hat
    out["mae"] = float(np.mean(np.abs(errors)))
    out["rmse"] = float(np.sqrt(np.mean(errors**2)))
    total = float(np.sum((y - y.mean()) ** 2))
    out["r2"] = 1.0 - float(np.sum(errors**2)) / total if total > 0 else None
    return out
