"""Model performance per event-time window (tumbling windows of ``windows.tumbling``).

A tumbling window can hold any number of events, so it keeps sufficient statistics
instead of rows: a confusion matrix, loss sums, regression moments (all exact) and,
for ROC AUC, score histograms per class, whose error is bounded and reported
alongside (``roc_auc_error_bound``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftd.detectors import metrics
from driftd.detectors import readings as names
from driftd.detectors.base import Detector, OutcomeBatch, PredictionBatch
from driftd.detectors.context import ModelContext
from driftd.detectors.performance import metric_names
from driftd.detectors.readings import Readings
from driftd.detectors.records import Outcome


def binned_auc(positives: np.ndarray, negatives: np.ndarray) -> tuple[float | None, float]:
    """ROC AUC from score histograms, and the most it can differ from the exact value.

    Pairs in different bins are ordered correctly; a pair sharing a bin counts
    one half, while its true contribution is between 0 and 1, so the error is at
    most half the share of same-bin pairs.
    """
    n_pos, n_neg = float(positives.sum()), float(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return None, 0.0
    below = np.cumsum(negatives) - negatives
    same_bin = float(np.sum(positives * negatives))
    auc = (float(np.sum(positives * below)) + 0.5 * same_bin) / (n_pos * n_neg)
    return auc, 0.5 * same_bin / (n_pos * n_neg)


class _WindowStats:
    """Sufficient statistics of one tumbling window."""

    def __init__(self, task: str, k: int, bins: int):
        self.cm = np.zeros((k, k), dtype=np.int64)
        self.n_scored = 0
        self.loss_sum = 0.0
        self.brier_sum = 0.0
        auc_classes = 1 if task == "binary" else k
        self.auc_pos = np.zeros((auc_classes, bins), dtype=np.int64)
        self.auc_neg = np.zeros((auc_classes, bins), dtype=np.int64)
        # regression: count, |e| sum, e^2 sum, Welford mean and M2 of y
        self.reg = [0.0, 0.0, 0.0, 0.0, 0.0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cm": self.cm.tolist(),
            "n_scored": self.n_scored,
            "loss_sum": self.loss_sum,
            "brier_sum": self.brier_sum,
            "auc_pos": self.auc_pos.tolist(),
            "auc_neg": self.auc_neg.tolist(),
            "reg": self.reg,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.cm = np.array(state["cm"], dtype=np.int64)
        self.n_scored = state["n_scored"]
        self.loss_sum = state["loss_sum"]
        self.brier_sum = state["brier_sum"]
        self.auc_pos = np.array(state["auc_pos"], dtype=np.int64)
        self.auc_neg = np.array(state["auc_neg"], dtype=np.int64)
        self.reg = list(state["reg"])

    def add(self, other: _WindowStats) -> None:
        """Count another shard's part of the same window in: sums, and the two Welford
        moments of y combined (Chan et al.'s parallel formula)."""
        self.cm += other.cm
        self.n_scored += other.n_scored
        self.loss_sum += other.loss_sum
        self.brier_sum += other.brier_sum
        self.auc_pos += other.auc_pos
        self.auc_neg += other.auc_neg
        n_a, abs_a, sq_a, mean_a, m2_a = self.reg
        n_b, abs_b, sq_b, mean_b, m2_b = other.reg
        n = n_a + n_b
        delta = mean_b - mean_a
        mean = mean_a + delta * n_b / n if n else 0.0
        m2 = m2_a + m2_b + delta * delta * n_a * n_b / n if n else 0.0
        self.reg = [n, abs_a + abs_b, sq_a + sq_b, mean, m2]


class TumblingPerformance:
    """Metrics per event-time window of ``length`` seconds, by prediction time.

    Labels can arrive long after their window has passed, so the last ``keep``
    windows stay open; readings describe the most recent window that has closed
    (the one before the window of the newest prediction seen).
    """

    def __init__(
        self, task: str, class_names: list[str], length: float, keep: int = 48, bins: int = 200
    ):
        self._task = task
        self._class_names = class_names
        self._length = length
        self._keep = keep
        self._bins = bins
        self._windows: dict[float, _WindowStats] = {}
        self._newest_start = -math.inf

    def _start(self, event_time: float) -> float:
        return math.floor(event_time / self._length) * self._length

    def observe_time(self, event_time: float) -> None:
        """Advance the window clock (called for every prediction, labeled or not)."""
        self._newest_start = max(self._newest_start, self._start(event_time))

    def update(self, outcome: Outcome) -> None:
        self.update_many([outcome])

    def update_many(self, outcomes: list[Outcome]) -> None:
        """Outcomes in join order, counted per window with one numpy call per statistic.
        Windows are taken in the order of their first outcome, and each is opened (the
        oldest kept one closed) or refused as too late as that outcome would be, one at
        a time: the same windows and counts as outcome by outcome, since a window
        closed or refused within a batch never comes back in it (what it lost is older
        than every window kept)."""
        if not outcomes:
            return
        times = np.array([o.event_time for o in outcomes], dtype=float)
        starts = np.floor(times / self._length) * self._length
        values, first, inverse = np.unique(starts, return_index=True, return_inverse=True)
        self._newest_start = max(self._newest_start, float(values[-1]))
        if len(values) == 1:
            groups = [outcomes]
        else:
            order = np.argsort(inverse, kind="stable")
            bounds = np.cumsum(np.bincount(inverse, minlength=len(values)))[:-1]
            groups = [[outcomes[i] for i in part] for part in np.split(order, bounds)]
        for index in np.argsort(first, kind="stable").tolist():
            stats = self._window(float(values[index]))
            if stats is not None:
                self._count(stats, groups[index])

    def _window(self, start: float) -> _WindowStats | None:
        """The window starting at ``start``, opened if need be; None when it is older
        than every window still kept (too late to count)."""
        stats = self._windows.get(start)
        if stats is None:
            if self._windows and start < min(self._windows) and len(self._windows) >= self._keep:
                return None
            stats = self._windows[start] = _WindowStats(
                self._task, len(self._class_names), self._bins
            )
            while len(self._windows) > self._keep:
                del self._windows[min(self._windows)]
        return stats

    def _count(self, stats: _WindowStats, outcomes: list[Outcome]) -> None:
        if self._task == "regression":
            for outcome in outcomes:
                self._add_regression(stats, float(outcome.y), float(outcome.y_hat))
            return
        y = np.array([o.y for o in outcomes], dtype=np.int64)
        y_hat = np.array([o.y_hat for o in outcomes], dtype=np.int64)
        np.add.at(stats.cm, (y, y_hat), 1)
        if self._task == "binary":
            score = np.array([o.score for o in outcomes], dtype=float)
            scored = np.isfinite(score)
            score, y = score[scored], y[scored]
            if not len(score):
                return
            p = np.clip(score, metrics.EPS, 1 - metrics.EPS)
            stats.n_scored += len(score)
            stats.loss_sum += float(-np.log(np.where(y == 1, p, 1 - p)).sum())
            stats.brier_sum += float(((score - y) ** 2).sum())
            self._bin(stats, 0, y == 1, score)
            return
        rows = [o.proba for o in outcomes]
        with_proba = np.array([r is not None for r in rows], dtype=bool)
        if not with_proba.any():
            return
        proba = np.array([r for r in rows if r is not None], dtype=float)
        scored = np.all(np.isfinite(proba), axis=1)
        proba, y = proba[scored], y[with_proba][scored]
        if not len(proba):
            return
        p = metrics.normalised_proba(proba)
        stats.n_scored += len(proba)
        stats.loss_sum += float(-np.log(p[np.arange(len(p)), y]).sum())
        for index in range(len(self._class_names)):
            self._bin(stats, index, y == index, proba[:, index])

    def _bin(self, stats: _WindowStats, row: int, positive: np.ndarray,
             scores: np.ndarray) -> None:  # fmt: skip
        """Count scores into the AUC histograms of ``row`` (positives apart)."""
        columns = np.clip((np.clip(scores, -1.0, 2.0) * self._bins).astype(np.int64), 0,
                          self._bins - 1)  # fmt: skip
        np.add.at(stats.auc_pos[row], columns[positive], 1)
        np.add.at(stats.auc_neg[row], columns[~positive], 1)

    @staticmethod
    def _add_regression(stats: _WindowStats, y: float, y_hat: float) -> None:
        n, abs_sum, sq_sum, mean, m2 = stats.reg
        n += 1
        delta = y - mean
        mean += delta / n
        m2 += delta * (y - mean)
        stats.reg = [n, abs_sum + abs(y - y_hat), sq_sum + (y - y_hat) ** 2, mean, m2]

    def window_readings(self, start: float) -> Readings:
        stats = self._windows[start]
        out: Readings
        if self._task == "regression":
            n, abs_sum, sq_sum, _, m2 = stats.reg
            out = {"labeled": n}
            if n:
                out.update(
                    mae=abs_sum / n,
                    rmse=math.sqrt(sq_sum / n),
                    r2=1.0 - sq_sum / m2 if m2 > 0 else None,
                )
            return out
        binary = self._task == "binary"
        out = metrics.from_confusion(stats.cm, self._class_names, binary)
        if stats.n_scored:
            out["log_loss"] = stats.loss_sum / stats.n_scored
            if binary:
                out["brier"] = stats.brier_sum / stats.n_scored
                out["roc_auc"], out["roc_auc_error_bound"] = binned_auc(
                    stats.auc_pos[0], stats.auc_neg[0]
                )
            else:
                for index, name in enumerate(self._class_names):
                    out[f"roc_auc.{name}"], out[f"roc_auc_error_bound.{name}"] = binned_auc(
                        stats.auc_pos[index], stats.auc_neg[index]
                    )
        return out

    def readings(self) -> Readings:
        closed = [start for start in self._windows if start < self._newest_start]
        if not closed:
            return {}
        start = max(closed)
        out = {names.tumbling(name): value for name, value in self.window_readings(start).items()}
        out[names.tumbling("window_start")] = start
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "newest_start": None if self._newest_start == -math.inf else self._newest_start,
            "windows": [[start, stats.to_dict()] for start, stats in self._windows.items()],
        }

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        """The shards' windows added up by start; the newest ``keep`` of them kept."""
        merged: dict[float, _WindowStats] = {}
        for state in states:
            for start, data in state["windows"]:
                stats = _WindowStats(self._task, len(self._class_names), self._bins)
                stats.load(data)
                if start in merged:
                    merged[start].add(stats)
                else:
                    merged[start] = stats
        newest = [s["newest_start"] for s in states if s["newest_start"] is not None]
        kept = sorted(merged)[-self._keep :]
        return {"newest_start": max(newest) if newest else None,
                "windows": [[start, merged[start].to_dict()] for start in kept]}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        newest = state["newest_start"]
        self._newest_start = -math.inf if newest is None else newest
        self._windows = {}
        for start, data in state["windows"]:
            stats = _WindowStats(self._task, len(self._class_names), self._bins)
            stats.load(data)
            self._windows[start] = stats


class TumblingDetector(Detector):
    """``tumbling.*``: the last closed event-time window's performance."""

    name = "tumbling"
    feeds = ("predictions", "outcomes")

    def __init__(self, context: ModelContext, length: float):
        self._context = context
        self.window = f"event-time window of {length:g}s"
        self.tumbling = TumblingPerformance(context.task, context.class_names, length)

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        length = float(context.spec.windows.tumbling)
        return [cls(context, length)] if length > 0 else []

    def update_predictions(self, batch: PredictionBatch) -> None:
        """Every prediction advances the window clock, labeled or not."""
        self.tumbling.observe_time(batch.last_time)

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        self.tumbling.update_many(batch.outcomes)

    def readings(self, now: float | None) -> Readings:
        return self.tumbling.readings()

    def reading_names(self) -> list[str]:
        context = self._context
        metrics_ = metric_names(context.task, context.class_names, scored=False)
        if context.task == "binary":
            metrics_ += ["log_loss", "brier", "roc_auc", "roc_auc_error_bound"]
        elif context.task == "multiclass":
            metrics_ += ["log_loss"]
            metrics_ += [f"{m}.{c}" for c in context.class_names
                         for m in ("roc_auc", "roc_auc_error_bound")]  # fmt: skip
        return [names.tumbling(m) for m in [*metrics_, "window_start"]]

    def snapshot(self) -> dict[str, Any]:
        return self.tumbling.snapshot()

    def merge(self, states: list[Any]) -> dict[str, Any]:
        return self.tumbling.merge(states)

    def restore(self, state: dict[str, Any]) -> None:
        self.tumbling.restore(state)
