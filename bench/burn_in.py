"""How a finite burn-in moves the error test's false-alarm rate away from its budget.

    .venv/bin/python -m bench.burn_in --deployments 30

Each deployment learns its baseline from a burn-in of 1,000 labeled predictions of a
stable error stream, then runs 300,000 more; the test is calibrated to an ARL0 of
20,000. Printed per error rate and confidence of the baseline's upper bound: the
false-alarm rate over all deployments as a multiple of the budget, and the loudest
single deployment's. The default confidence is 0.8 (driftd.detectors.rate_test).
"""

from __future__ import annotations

import argparse

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.rate_test import RateTest

ARL0, BURN_IN, EVENTS = 20_000, 1_000, 300_000


def measure(rate: float, confidence: float, deployments: int) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    alarms = []
    for _ in range(deployments):
        test = RateTest(names.error_test, lambda p0: p0 + 0.05, 1000, burn_in=BURN_IN,
                        confidence=confidence)  # fmt: skip
        test.calibrate(ARL0)
        test.update_many(rng.random(BURN_IN) < rate)
        test.update_many(rng.random(EVENTS) < rate)
        alarms.append(test.alarms)
    expected = EVENTS / ARL0
    return sum(alarms) / (expected * deployments), max(alarms) / expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=30)
    args = parser.parse_args()
    print(f"# burn-in of {BURN_IN}, ARL0 {ARL0:,}, {args.deployments} deployments x "
          f"{EVENTS:,} stable labeled predictions")  # fmt: skip
    print("| error rate | baseline | false alarms / budget (all) | loudest deployment |")
    print("|---:|---|---:|---:|")
    for rate in (0.02, 0.09, 0.3):
        for confidence, label in ((0.5, "point estimate"), (0.8, "80% bound (default)"),
                                  (0.95, "95% bound")):  # fmt: skip
            overall, loudest = measure(rate, confidence, args.deployments)
            print(f"| {rate:g} | {label} | {overall:.2f}x | {loudest:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
