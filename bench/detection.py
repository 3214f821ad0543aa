"""Detection quality on streams with known drift points, driftd's detectors against river's.

    .venv/bin/python -m bench.detection --seeds 10

Streams (50k stable events, the drift, 10k after (60k for the weak drift); for
gradual drifts the drift point is the middle of a 2,000-event transition, and the
stable part ends where the transition begins):

- gauss-0.5sd / gauss-1sd: N(0, 1) then the mean moves by 0.5 / 1 sd. driftd's
  detector is its default feature drift against a 5,000-value reference: the
  sequential shift test (CUSUM on normal scores, alarms at the value) and the
  2,000-value window test (the default rule, at ticks every 250 values); river's
  real-valued detectors read the values.
- sea / sea-gradual: river's SEA generator, concept 0 -> 2 (threshold 8 -> 7), 10% noise;
  agrawal / agrawal-gradual: river's Agrawal, function 0 -> 2. A model fitted on the
  first concept (the exact rule for SEA, a decision tree for Agrawal) predicts, and the
  detectors read its 0/1 error stream (driftd: the default concept detector, ADWIN).
- sea-weak: SEA-style points, 12% label noise, threshold 8 -> 8.163: the error rate of
  the concept-0 rule goes from 12% to 13%.

For every stream and seed, each detector runs over the same values: detected = an
alarm at or after the drift point; delay = events from the drift point to the first
such alarm; false alarms = alarms before it, per 100k stable events. KSWIN (~150 us
per update) reads only the last 10k stable events. "oracle CUSUM" is not a product
detector: a Bernoulli CUSUM told the true rates before and after the drift, with its
threshold set for one false alarm per ~100k events; it is the best any detector can
do on that information, and shows what a goal asks of the data; a second one has
the threshold at which its expected delay is 2,000 events (h = 2,000 x KL).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
from collections.abc import Callable, Iterable

import numpy as np

STABLE, AFTER, WIDTH, KSWIN_STABLE = 50_000, 10_000, 2_000, 10_000


# -- streams ---------------------------------------------------------------------------


Stream = Callable[[int, int, int], tuple[np.ndarray, int, str]]


def gauss(shift: float) -> Stream:
    def make(seed: int, stable: int, after: int) -> tuple[np.ndarray, int, str]:
        rng = np.random.default_rng(seed)
        return np.r_[rng.normal(0, 1, stable), rng.normal(shift, 1, after)], stable, "values"

    return make


def _drifting(before, then, gradual: bool, stable: int, after: int, seed: int) -> list:
    """Rows of ``before`` then of ``then``: abruptly, or through river's sigmoid mix."""
    from itertools import islice

    from river.datasets import synth

    if not gradual:  # (river's width=1 overflows math.exp far from the drift point)
        return [*islice(before, stable), *islice(then, after)]
    mixed = synth.ConceptDriftStream(before, then, position=stable, width=WIDTH, seed=seed)
    return list(islice(mixed, stable + after))


def _river_errors(rows: list, fit, stable: int) -> np.ndarray:
    import pandas as pd

    X = pd.DataFrame([x for x, _ in rows])
    y = np.array([y for _, y in rows])
    model = fit(X.iloc[: stable // 2], y[: stable // 2])
    return (model.predict(X) != y).astype(float)


def sea(gradual: bool) -> Stream:
    def make(seed: int, stable: int, after: int) -> tuple[np.ndarray, int, str]:
        from river.datasets import synth

        rows = _drifting(synth.SEA(variant=0, noise=0.1, seed=seed),
                         synth.SEA(variant=2, noise=0.1, seed=seed + 1000),
                         gradual, stable, after, seed)  # fmt: skip

        class Rule:  # the concept-0 rule: a perfectly trained model
            def predict(self, X):
                return (X[0] + X[1] > 8).to_numpy()

        return _river_errors(rows, lambda X, y: Rule(), stable), stable, "errors"

    return make


def agrawal(gradual: bool) -> Stream:
    def make(seed: int, stable: int, after: int) -> tuple[np.ndarray, int, str]:
        from river.datasets import synth
        from sklearn.tree import DecisionTreeClassifier

        rows = _drifting(synth.Agrawal(0, seed=seed), synth.Agrawal(2, seed=seed + 1000),
                         gradual, stable, after, seed)  # fmt: skip

        def fit(X, y):
            return DecisionTreeClassifier(max_depth=8, random_state=seed).fit(X, y)

        return _river_errors(rows, fit, stable), stable, "errors"

    return make


def sea_weak(seed: int, stable: int, after: int) -> tuple[np.ndarray, int, str]:
    rng = np.random.default_rng(seed)
    n = stable + after
    s = rng.uniform(0, 10, n) + rng.uniform(0, 10, n)
    threshold = np.where(np.arange(n) < stable, 8.0, 8.163)
    truth = (s > threshold) ^ (rng.random(n) < 0.12)
    return ((s > 8.0) != truth).astype(float), stable, "errors"


GRADUAL = {"sea-gradual", "agrawal-gradual"}
STREAMS: dict[str, Stream] = {
    "gauss-0.5sd": gauss(0.5), "gauss-1sd": gauss(1.0),
    "sea": sea(False), "sea-gradual": sea(True), "sea-weak": sea_weak,
    "agrawal": agrawal(False), "agrawal-gradual": agrawal(True),
}  # fmt: skip


# -- detectors: each returns the indices of its alarms ----------------------------------


def river_detector(factory: Callable[[], object]) -> Callable[[np.ndarray], list[int]]:
    def run(values: np.ndarray) -> list[int]:
        detector = factory()
        alarms = []
        for i, x in enumerate(values.tolist()):
            detector.update(x)  # type: ignore[attr-defined]
            if detector.drift_detected:  # type: ignore[attr-defined]
                alarms.append(i)
        return alarms

    return run


def driftd_concept(values: np.ndarray) -> list[int]:
    from driftd.config import ConceptSpec
    from driftd.detectors.concept import ConceptDrift

    spec = ConceptSpec()
    detector = ConceptDrift(spec.method, dict(spec.params), spec.hold)
    return [i for i, x in enumerate(values.tolist()) if detector.update(x)]


def driftd_feature(values: np.ndarray, every: int = 250) -> list[int]:
    """driftd's default numeric drift detector: the sequential shift test's alarms (at
    the value that raised them) and the window test's verdict turning on (at the
    evaluation tick, every ``every`` values)."""
    from driftd.config import DriftSpec
    from driftd.detectors.drift import NumericDrift

    rng = np.random.default_rng(12345)
    detector = NumericDrift(rng.normal(0, 1, 5000), DriftSpec())
    alarms, was = [], False
    for start in range(0, len(values), every):
        alarms += [start + a for a in detector.update_many(values[start : start + every])]
        drifted = bool(detector.readings().get("drifted"))
        if drifted and not was:
            alarms.append(min(start + every, len(values)) - 1)
        was = drifted
    return sorted(alarms)


def oracle_cusum(p0: float, p1: float, h: float = math.log(100_000)):
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))

    def run(values: np.ndarray) -> list[int]:
        s, alarms = 0.0, []
        for i, x in enumerate(values.tolist()):
            s = max(0.0, s + (up if x else down))
            if s > h:
                alarms.append(i)
                s = 0.0
        return alarms

    return run


def detectors(kind: str, stream: str) -> dict[str, Callable[[np.ndarray], list[int]]]:
    from river import drift

    out: dict[str, Callable[[np.ndarray], list[int]]] = {}
    out["driftd (default)"] = driftd_feature if kind == "values" else driftd_concept
    out["river ADWIN"] = river_detector(drift.ADWIN)
    out["river PageHinkley"] = river_detector(drift.PageHinkley)
    out["river KSWIN"] = river_detector(lambda: drift.KSWIN(seed=1))
    if kind == "errors":
        out["river DDM"] = river_detector(drift.binary.DDM)
        out["river HDDM_A"] = river_detector(drift.binary.HDDMA)
        out["river HDDM_W"] = river_detector(drift.binary.HDDMW)
    if stream == "sea-weak":
        out["oracle CUSUM, 1 false alarm per ~100k"] = oracle_cusum(0.12, 0.13)
        # The threshold at which the expected delay is 2,000 events (h = 2000 x KL).
        kl = 0.13 * math.log(0.13 / 0.12) + 0.87 * math.log(0.87 / 0.88)
        out["oracle CUSUM, tuned for a 2,000-event delay"] = oracle_cusum(0.12, 0.13, 2000 * kl)
    return out


def score(alarms: Iterable[int], drift_at: int, stable_until: int, offset: int):
    """(delay or None, false alarms, stable events seen). Stable = before the drift
    begins (a gradual drift begins half its width before its middle)."""
    alarms = [a + offset for a in alarms]
    false = sum(1 for a in alarms if a < stable_until)
    after = [a - drift_at for a in alarms if a >= drift_at]
    return (after[0] if after else None), false, stable_until - offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="short streams (CI)")
    args = parser.parse_args()
    stable, after = (2_000, 1_000) if args.smoke else (STABLE, AFTER)
    kswin_stable = min(KSWIN_STABLE, stable)
    print(f"# detection quality, {args.seeds} seeds, {stable:,} stable + {after:,} events")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| stream | detector | detected | median delay | delay within 2,000 | "
          "false alarms / 100k stable |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|")
    for name, make in STREAMS.items():
        results: dict[str, list[tuple[int | None, int, int]]] = {}
        # The weak drift needs a long tail to be seen at all (by the oracle: ~25k events).
        tail = after * 6 if name == "sea-weak" and not args.smoke else after
        for seed in range(args.seeds):
            values, drift_at, kind = make(seed, stable, tail)
            stable_until = drift_at - WIDTH // 2 if name in GRADUAL else drift_at
            for label, run in detectors(kind, name).items():
                offset = max(stable_until - kswin_stable, 0) if "KSWIN" in label else 0
                results.setdefault(label, []).append(
                    score(run(values[offset:]), drift_at, stable_until, offset)
                )
        for label, rows in results.items():
            delays = [d for d, _, _ in rows if d is not None]
            quick = sum(1 for d in delays if d <= 2_000)
            false = 100_000 * sum(f for _, f, _ in rows) / sum(s for _, _, s in rows)
            median = f"{statistics.median(delays):,.0f}" if delays else "-"
            print(f"| {name} | {label} | {len(delays)}/{len(rows)} | {median} | "
                  f"{quick}/{len(rows)} | {false:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
