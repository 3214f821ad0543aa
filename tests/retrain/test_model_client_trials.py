"""ModelClient during a live trial: the shadow score never holds up a request, a full
shadow queue skips rather than waits, and A/B routing follows the trial's share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from driftd_sdk import ModelClient
from driftd_sdk.model_client import SHADOW_QUEUE
from retrain import gated_model
from sklearn.linear_model import LogisticRegression

from driftd.retrain.registry import Registry

pytestmark = pytest.mark.slow


def registry_with_trial(tmp_path, mode: str, share: float = 1.0) -> Registry:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200)})
    y = (X["x"] > 0).astype(int)
    registry = Registry(tmp_path / "registry")
    registry.promote("m", registry.register("m", LogisticRegression().fit(X, y), {}))
    challenger = registry.register("m", gated_model.GatedModel().fit(X, y), {})
    digest = registry.sha256("m", challenger)
    registry.set_trial("m", {"status": "running", "version": challenger, "mode": mode,
                             "share": share, "sha256": digest})  # fmt: skip
    return registry


def test_the_shadow_score_is_off_the_request_path_and_a_full_queue_skips(tmp_path):
    registry = registry_with_trial(tmp_path, "shadow")
    client = ModelClient(registry.root, "m", trusted_types=["retrain.gated_model.GatedModel"])
    assert client.trial is not None and client.trial.version == 2
    X = pd.DataFrame({"x": [1.0]})
    got: list[tuple[int, int]] = []

    def sink(version: int, y) -> None:
        got.append((version, int(y[0])))

    gated_model.GATE.clear()
    served = client.serve(X, shadow=sink)
    # Answered by the champion while the challenger's predict has not returned.
    assert served.version == 1 and int(served.prediction[0]) == 1
    assert gated_model.ENTERED.wait(30) and got == []
    # The scorer is busy: the queue fills, then requests skip their shadow score.
    for _ in range(SHADOW_QUEUE + 5):
        assert client.serve(X, shadow=sink).version == 1
    assert client.shadow_stats["skipped"] == 5
    gated_model.GATE.set()
    assert client.drain_shadow()
    assert len(got) == SHADOW_QUEUE + 1 and set(got) == {(2, 0)}
    assert client.shadow_stats["scored"] == SHADOW_QUEUE + 1
    client.close()


def test_ab_routing_follows_the_share_and_ends_with_the_trial(tmp_path):
    registry = registry_with_trial(tmp_path, "ab", share=0.5)
    gated_model.GATE.set()
    client = ModelClient(registry.root, "m", trusted_types=["retrain.gated_model.GatedModel"])
    X = pd.DataFrame({"x": [1.0]})
    versions = [client.serve(X, key=f"user-{i}").version for i in range(400)]
    assert 150 < versions.count(2) < 250  # 0.5 of 400: far outside 5 standard deviations
    assert [client.serve(X, key=f"user-{i}").version for i in range(400)] == versions
    assert client.serve(X).version == 1  # no key: the champion
    record = registry.trial("m")
    registry.set_trial("m", {**record, "status": "rejected"})
    client.sync_trial()
    assert client.trial is None and {client.serve(X, key=f"user-{i}").version
                                     for i in range(50)} == {1}  # fmt: skip
    client.close()


def test_an_ab_challenger_that_fails_a_request_leaves_it_to_the_champion(tmp_path):
    """A challenger trained on other columns raises on the app's input (scikit-learn's
    feature-name check): the champion answers, and the failure is counted."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200)})
    y = (X["x"] > 0).astype(int)
    registry = Registry(tmp_path / "registry")
    registry.promote("m", registry.register("m", LogisticRegression().fit(X, y), {}))
    other = LogisticRegression().fit(X.assign(z=rng.normal(size=200)), y)
    two = registry.register("m", other, {})
    registry.set_trial("m", {"status": "running", "version": two, "mode": "ab", "share": 0.99,
                             "sha256": registry.sha256("m", two)})  # fmt: skip
    client = ModelClient(registry.root, "m")
    assert client.trial is not None
    answers = [client.serve(X.iloc[[i]], key=f"user-{i}") for i in range(20)]
    assert {a.version for a in answers} == {1} and client.shadow_stats["failed"] >= 15
    client.close()
