"""A challenger whose predict waits at a gate the test opens: proof, without timing, that
a request is answered while its shadow score has not even finished."""

from __future__ import annotations

import threading

from sklearn.linear_model import LogisticRegression

GATE = threading.Event()  # predict waits for it
ENTERED = threading.Event()  # set when a predict is waiting


class GatedModel(LogisticRegression):
    def predict(self, X):
        ENTERED.set()
        GATE.wait(60)
        return 1 - super().predict(X)  # distinguishable from the champion's answers
