"""river online models behind the scikit-learn interface the worker uses.

``estimator: river.linear_model.LogisticRegression`` in a model's retrain config
gives a :class:`RiverModel`: features go in as river dicts (numbers scaled online
by river's StandardScaler, categories one-hot as ``name=value``). The first run
learns every training row in event-time order; later runs continue from the
champion and learn only the labeled events that arrived after its data window,
one at a time (``learn_one``) instead of a batch refit.

Artifacts are skops files like any other; river's classes are not among skops'
trusted types, so they must be listed in ``retrain.trusted_types`` (the error
names them).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class RiverModel(ClassifierMixin, BaseEstimator):
    def __init__(self, model_path: str = "river.linear_model.LogisticRegression",
                 params: dict[str, Any] | None = None):  # fmt: skip
        self.model_path = model_path
        self.params = params

    def _new(self) -> Any:
        from river import preprocessing

        module, _, name = self.model_path.rpartition(".")
        estimator = getattr(importlib.import_module(module), name)(**(self.params or {}))
        return preprocessing.StandardScaler() | estimator

    @staticmethod
    def _rows(X: Any) -> list[dict[str, float]]:
        rows = []
        for record in X.to_dict("records"):
            row: dict[str, float] = {}
            for key, value in record.items():
                if isinstance(value, int | float | np.floating | np.integer):
                    if not math.isnan(float(value)):
                        row[key] = float(value)
                elif value not in (None, ""):
                    row[f"{key}={value}"] = 1.0
            rows.append(row)
        return rows

    def fit(self, X: Any, y: Any) -> RiverModel:
        self.model_ = self._new()
        self.classes_ = np.unique(y)
        self.learned_ = 0
        return self.partial_fit(X, y)

    def partial_fit(self, X: Any, y: Any) -> RiverModel:
        for row, target in zip(self._rows(X), list(y), strict=True):
            self.model_.learn_one(row, target.item() if hasattr(target, "item") else target)
            self.learned_ += 1
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        out = np.zeros((len(X), len(self.classes_)))
        for i, row in enumerate(self._rows(X)):
            proba = self.model_.predict_proba_one(row)
            for j, cls in enumerate(self.classes_):
                out[i, j] = proba.get(cls.item() if hasattr(cls, "item") else cls, 0.0)
        return out

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
