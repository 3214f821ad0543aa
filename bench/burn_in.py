"""How a finite burn-in moves the error test's false-alarm rate away from its budget.

    .venv/bin/python -m bench.burn_in --deployments 200

Each deployment learns its baseline error rate from its own burn-in of 1,000 labeled
predictions of a stable stream, then tests for a rise of 0.05 with a CUSUM calibrated
to an ARL0. Its false-alarm rate is computed exactly (the Markov chain's run length at
the true rate), so no simulation is needed even at an ARL0 of 10^7. Printed per true
error rate, ARL0 and baseline: the share of deployments whose rate is within their
budget, the median rate and the mean rate over deployments, as multiples of the
budget. driftd takes the baseline's 95% quantile (driftd.detectors.rate_test).
"""

from __future__ import annotations

import argparse

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.rate_test import RateTest, observed

BURN_IN = 1_000


def measure(rate: float, arl0: float, guarantee: float, deployments: int) -> list[float]:
    """Each deployment's false-alarm rate as a multiple of its budget."""
    rng = np.random.default_rng(1)
    out = []
    for events in rng.binomial(BURN_IN, rate, deployments):
        test = RateTest(names.error_test, lambda p0: p0 + 0.05, 1000, burn_in=BURN_IN,
                        guarantee=guarantee)  # fmt: skip
        test.calibrate(arl0)
        test._start(observed(int(events), BURN_IN))
        assert test.cusum is not None
        out.append(arl0 / test.cusum.expected_delay(rate))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    args = parser.parse_args()
    print(f"# burn-in of {BURN_IN:,} labeled predictions, {args.deployments} deployments "
          "per row, exact run lengths")  # fmt: skip
    print("| error rate | ARL0 per test | baseline | within budget | median rate | mean rate |")
    print("|---:|---:|---|---:|---:|---:|")
    for rate in (0.02, 0.09, 0.22):
        for arl0 in (1e5, 1e6, 2.8e7):
            for guarantee, label in ((0.5, "median of the estimate"),
                                     (0.95, "95% quantile (default)")):  # fmt: skip
                rates = np.array(measure(rate, arl0, guarantee, args.deployments))
                print(f"| {rate:g} | {arl0:.2g} | {label} | {np.mean(rates <= 1):.0%} | "
                      f"{np.median(rates):.2g}x | {np.mean(rates):.2g}x |", flush=True)


if __name__ == "__main__":
    main()
