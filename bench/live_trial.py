"""Live trials: how soon the sequential test decides, how often it is wrong, and what a
shadow trial costs the app's request path.

    .venv/bin/python -m bench.live_trial --streams 400 --requests 3000

1. Decisions (Monte Carlo, the trial's own interval code, driftd.retrain.sequential):
   labeled events arrive and the worker looks every 25 of them, up to a deadline of
   ``--horizon`` events per arm. A/B: two independent arms; shadow: the same events
   scored by both (the challenger fixes some of the champion's errors and makes new
   ones). Per true accuracy gap: the share of streams promoted and rejected before the
   deadline, and the median labeled events per arm to the decision. Baseline in the
   same run: a fixed-sample 95% z-test looked at on the same schedule ("peeking"),
   whose false promotions are what the confidence sequence exists to prevent.
2. The request path (``ModelClient.serve``, real models loaded from a registry): per
   request latency with no trial, in a shadow trial (the challenger, a gradient
   boosting model ~10x slower than the champion, scores on the client's background
   thread) and in an A/B trial; baseline: the champion's own ``predict``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from driftd.retrain import sequential

ALPHA = 0.05
LOOK_EVERY = 25
TIGHT_AT = 500  # the trial's default min_events
BASE = 0.75  # the champion's accuracy


def _first(flags: np.ndarray) -> np.ndarray:
    """Index of the first True per row; -1 where none."""
    return np.where(flags.any(1), flags.argmax(1), -1)


def _decisions(low: np.ndarray, high: np.ndarray, looks: np.ndarray) -> tuple[float, float, float]:
    promote, reject = _first(low > 0), _first(high < 0)
    never = 10**9
    p = np.where(promote >= 0, promote, never)
    r = np.where(reject >= 0, reject, never)
    decided = np.minimum(p, r)
    events = looks[decided[decided < never]]
    median = float(np.median(events)) if len(events) else math.nan
    return float((p < r).mean()), float((r < p).mean()), median


def ab(gap: float, streams: int, horizon: int, rng: np.random.Generator):
    looks = np.arange(LOOK_EVERY, horizon + 1, LOOK_EVERY)
    new = np.cumsum(rng.random((streams, horizon)) < BASE + gap, axis=1)[:, looks - 1]
    old = np.cumsum(rng.random((streams, horizon)) < BASE, axis=1)[:, looks - 1]
    low, high = np.empty(new.shape), np.empty(new.shape)
    for i in range(streams):
        for j, n in enumerate(looks):
            found = sequential.unpaired((int(n), int(new[i, j])), (int(n), int(old[i, j])),
                                        ALPHA, TIGHT_AT)  # fmt: skip
            low[i, j], high[i, j] = found.low, found.high
    pooled = (new + old) / (2 * looks)
    z = (new - old) / looks / np.sqrt(np.maximum(pooled * (1 - pooled) * 2 / looks, 1e-12))
    peeking = float((z > stats.norm.ppf(1 - ALPHA / 2)).any(1).mean())
    return (*_decisions(low, high, looks), peeking)


def shadow(gap: float, streams: int, horizon: int, rng: np.random.Generator):
    """The challenger breaks 3% of the champion's right answers and fixes enough wrong
    ones for an accuracy gap of ``gap``."""
    looks = np.arange(LOOK_EVERY, horizon + 1, LOOK_EVERY)
    breaks = 0.03 + max(-gap, 0.0)
    fixes = 0.03 + max(gap, 0.0)
    old = rng.random((streams, horizon)) < BASE
    u = rng.random((streams, horizon))
    new = np.where(old, u >= breaks / BASE, u < fixes / (1 - BASE))
    discordant = np.cumsum(new != old, axis=1)[:, looks - 1]
    wins = np.cumsum(new & ~old, axis=1)[:, looks - 1]
    low, high = np.empty(discordant.shape), np.empty(discordant.shape)
    for i in range(streams):
        for j, n in enumerate(looks):
            found = sequential.paired(int(n), int(discordant[i, j]), int(wins[i, j]), ALPHA,
                                      TIGHT_AT)  # fmt: skip
            low[i, j], high[i, j] = found.low, found.high
    return (*_decisions(low, high, looks), math.nan)


def decisions_table(streams: int, horizon: int) -> list[str]:
    rng = np.random.default_rng(0)
    rows = ["| trial | true gap | promoted | rejected | median labeled events per arm to decide "
            "| peeking z-test promoted (baseline) |", "|---|---:|---:|---:|---:|---:|"]
    for name, run in (("A/B", ab), ("shadow", shadow)):
        for gap in (0.0, 0.02, 0.05, 0.10, -0.05):
            promoted, rejected, median, peeking = run(gap, streams, horizon, rng)
            rows.append(f"| {name} | {gap:+.2f} | {promoted:.1%} | {rejected:.1%} | "
                        f"{'-' if math.isnan(median) else f'{median:,.0f}'} | "
                        f"{'-' if math.isnan(peeking) else f'{peeking:.1%}'} |")  # fmt: skip
    return rows


def latency_table(requests: int) -> list[str]:
    from driftd_sdk import ModelClient
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from driftd.retrain.registry import Registry

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(5000, 10)), columns=[f"x{i}" for i in range(10)])
    y = (X["x0"] + X["x1"] * X["x2"] > 0).astype(int)
    with tempfile.TemporaryDirectory() as root:
        registry = Registry(Path(root))
        registry.promote("m", registry.register("m", LogisticRegression().fit(X, y), {}))
        two = registry.register("m", HistGradientBoostingClassifier(max_iter=200).fit(X, y), {})
        client = ModelClient(root, "m")
        champion = client.model
        rows = [X.iloc[[i % len(X)]] for i in range(requests)]

        def timed(serve) -> np.ndarray:
            out = np.empty(len(rows))
            for i, row in enumerate(rows):
                started = time.perf_counter()
                serve(row, i)
                out[i] = time.perf_counter() - started
            return out * 1e6

        sink_calls = []
        results = {
            "champion's predict (baseline)": timed(lambda row, i: champion.predict(row)),
            "serve, no trial": timed(lambda row, i: client.serve(row, key=str(i))),
        }
        record = {"status": "running", "version": two, "mode": "shadow", "share": 1.0,
                  "sha256": registry.sha256("m", two)}  # fmt: skip
        registry.set_trial("m", record)
        client.sync_trial()
        results["serve, shadow trial"] = timed(
            lambda row, i: client.serve(row, key=str(i), shadow=lambda v, p: sink_calls.append(v)))
        client.drain_shadow(600)
        shadow_cost = client.shadow_stats["seconds"] / max(client.shadow_stats["scored"], 1) * 1e6
        registry.set_trial("m", {**record, "status": "rejected"})
        client.sync_trial()
        registry.set_trial("m", {**record, "mode": "ab", "share": 0.5})
        client.sync_trial()
        results["serve, A/B trial (50%)"] = timed(lambda row, i: client.serve(row, key=str(i)))
        stats_ = dict(client.shadow_stats)
        client.close()
    base = float(np.median(results["champion's predict (baseline)"]))
    table = ["| path | p50 us | p99 us | p50 vs baseline |", "|---|---:|---:|---:|"]
    for name, values in results.items():
        p50, p99 = np.percentile(values, [50, 99])
        table.append(f"| {name} | {p50:,.0f} | {p99:,.0f} | {p50 / base:.2f}x |")
    table.append(f"| the challenger's score, on the shadow thread (mean) | {shadow_cost:,.0f} | "
                 f"| {shadow_cost / base:.2f}x |")  # fmt: skip
    table.append("")
    table.append(f"Shadow scores: {stats_['scored']:,} handed to the app's sink, "
                 f"{stats_['skipped']:,} skipped (queue full), {stats_['failed']} failed; "
                 f"{len(sink_calls):,} sink calls.")  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=400)
    parser.add_argument("--horizon", type=int, default=8000, help="deadline, events per arm")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    print(f"Decisions: {args.streams} streams per row, a look every {LOOK_EVERY} labeled events, "
          f"deadline {args.horizon:,} per arm, champion accuracy {BASE}, alpha {ALPHA} "
          f"(confidence 0.95), min_improvement 0.\n")  # fmt: skip
    print("\n".join(decisions_table(args.streams, args.horizon)))
    print(f"\nThe request path: {args.requests:,} requests of one row each, one process "
          f"(Python {sys.version.split()[0]}).\n")  # fmt: skip
    print("\n".join(latency_table(args.requests)))


if __name__ == "__main__":
    main()
