"""Concept-drift detectors flag the same indices as river's on the same streams."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from river import drift

from driftd.detectors import concept

PAIRS = [
    (concept.ADWIN, drift.ADWIN),
    (concept.PageHinkley, drift.PageHinkley),
    (concept.DDM, drift.binary.DDM),
    (concept.HDDM_A, drift.binary.HDDMA),
]


def _river_detections(detector, stream):
    hits = []
    for i, x in enumerate(stream):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return hits


def _streams(seed):
    rng = np.random.default_rng(seed)
    errors = np.r_[rng.random(3000) < 0.1, rng.random(3000) < 0.3, rng.random(2000) < 0.05].astype(
        int
    )
    gauss = np.r_[rng.normal(0, 1, 2000), rng.normal(1.5, 1, 2000)]
    return errors.tolist(), gauss.tolist()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_same_detection_indices_as_river(seed, ours, theirs):
    errors, gauss = _streams(seed)
    streams = [errors] + ([gauss] if ours in (concept.ADWIN, concept.PageHinkley) else [])
    for stream in streams:
        mine = ours()
        got = [i for i, x in enumerate(stream) if mine.update(x)]
        assert got == _river_detections(theirs(), stream)
        assert got, "the stream has a change; a detector that never fires proves nothing"


@pytest.mark.parametrize("cls", [p[0] for p in PAIRS])
def test_snapshot_mid_stream_resumes_identically(cls):
    errors, _ = _streams(11)
    whole = cls()
    expected = [i for i, x in enumerate(errors) if whole.update(x)]
    first = cls()
    got = [i for i, x in enumerate(errors[:3100]) if first.update(x)]
    state = msgspec.json.decode(msgspec.json.encode(first.snapshot()))
    second = cls()
    second.restore(state)
    got += [i + 3100 for i, x in enumerate(errors[3100:]) if second.update(x)]
    assert got == expected


def test_concept_drift_holds_verdict_for_hold_events():
    detector = concept.ConceptDrift("ddm", {}, hold=100)
    rng = np.random.default_rng(0)
    for x in rng.random(2000) < 0.05:
        detector.update(float(x))
    assert detector.readings()["concept.drift"] == 0.0
    fired_at = None
    for i, x in enumerate(rng.random(2000) < 0.5):
        detector.update(float(x))
        if fired_at is None and detector.readings()["concept.drift"] == 1.0:
            fired_at = i
    assert fired_at is not None and fired_at < 200
