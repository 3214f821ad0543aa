"""The registry: skops artifacts with hash checks, atomic versions and aliases."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from driftd.retrain.registry import ArtifactRefused, Registry


def _model(seed: int = 0) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    return LogisticRegression().fit(X, X[:, 0] > 0)


def test_register_load_promote_rollback(tmp_path):
    registry = Registry(tmp_path)
    one = registry.register("m", _model(0), {"params": {"C": 1}})
    two = registry.register("m", _model(1), {"params": {"C": 2}})
    assert (one, two) == (1, 2) and registry.versions("m") == [1, 2]
    assert registry.champion("m") is None
    registry.promote("m", one)
    registry.promote("m", two)
    assert registry.aliases("m") == {"champion": 2, "previous": 1}
    loaded = registry.load("m", 2)
    X = np.random.default_rng(5).normal(size=(20, 3))
    assert (loaded.predict(X) == _model(1).predict(X)).all()
    meta = registry.meta("m", 2)
    assert meta["params"] == {"C": 2} and len(meta["sha256"]) == 64
    registry.rollback("m")
    assert registry.aliases("m") == {"champion": 1, "previous": 2}
    with pytest.raises(ValueError):
        registry.promote("m", 7)


def test_a_tampered_artifact_is_refused(tmp_path):
    registry = Registry(tmp_path)
    version = registry.register("m", _model(), {})
    artifact = tmp_path / "m" / "versions" / str(version) / "model.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(ArtifactRefused, match="does not match"):
        registry.load("m", version)


class _Payload:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_payload_is_never_unpickled_even_with_a_matching_hash(tmp_path):
    registry = Registry(tmp_path)
    version = registry.register("m", _model(), {})
    directory = tmp_path / "m" / "versions" / str(version)
    victim = tmp_path / "created-by-pickle"
    payload = pickle.dumps(_Payload(str(victim)))
    assert not victim.exists()
    (directory / "model.skops").write_bytes(payload)
    meta = json.loads((directory / "meta.json").read_text())
    meta["sha256"] = hashlib.sha256(payload).hexdigest()  # the attacker rewrote both
    (directory / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactRefused, match="not a skops artifact"):
        registry.load("m", version)
    assert not victim.exists()


def test_untrusted_types_are_refused_unless_allowed(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    registry = Registry(tmp_path)
    version = registry.register("m", FunctionTransformer(math.log1p), {})
    with pytest.raises(ArtifactRefused, match="untrusted types"):
        registry.load("m", version)
    trusted = Registry(tmp_path, trusted_types=["math.log1p"])
    assert trusted.load("m", version).func is math.log1p


CHURN = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from driftd.retrain.registry import Registry
    registry = Registry(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    hold = sys.argv[3] == "hold"
    while True:  # register a version, then move the alias to it, forever
        X = rng.normal(size=(300, 4))
        version = registry.register("m", LogisticRegression().fit(X, X[:, 0] > 0), {})
        print(f"registered {version}", flush=True)  # inside the critical section
        if hold:
            sys.stdin.readline()  # stay there until killed
        registry.promote("m", version)
        print(f"promoted {version}", flush=True)
    """
)


@pytest.mark.slow
def test_killing_the_process_between_register_and_promote_leaves_a_valid_champion(tmp_path):
    """Half the kills land where the child says it is between register and promote;
    the others at a random point of its loop, once it has said it is churning."""
    registry = Registry(tmp_path)
    registry.promote("m", registry.register("m", _model(), {}))
    rng = random.Random(3)
    for round_ in range(6):
        hold = round_ % 2 == 0
        child = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(tmp_path), str(round_), "hold" if hold else "go"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        said = child.stdout.readline()  # blocks until the child has registered a version
        assert said.startswith("registered "), said
        if not hold:
            time.sleep(rng.uniform(0.0, 0.5))  # somewhere in the loop; any moment is valid
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        champion = registry.champion("m")
        assert champion in registry.versions("m")
        registry.load("m", champion)  # complete, and its hash matches
        for version in registry.versions("m"):  # every visible version is whole
            assert (tmp_path / "m" / "versions" / str(version) / "meta.json").exists()
        if hold:  # killed between the two: the new version is there, and not the champion
            registered = int(said.split()[1])
            assert registered in registry.versions("m") and champion < registered
    assert len(registry.versions("m")) >= 7  # every round registered at least one
