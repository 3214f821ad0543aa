"""A challenger's live trial: shadow or A/B evaluation on joined labels, decided sequentially.

After the offline gates, ``retrain.live.mode`` puts a challenger on trial instead of
promoting it: the registry records the trial (``set_trial``), apps using
``driftd_sdk.ModelClient`` see it (the "challenger_started" event, or the registry)
and either route ``share`` of their entity keys to it (``ab``) or score every
request with it too, off the request path, and publish its prediction as a shadow
event with the same event id (``shadow``). The daemon joins labels to both, and the
worker (``check_trials``, every 30 s) judges the trial on the joined rows:

- **promote** when the time-uniform interval (sequential.py) of the accuracy
  difference (challenger - champion) lies above ``gates.min_improvement``, with at
  least ``min_events`` labeled events per arm, and no group gap grew beyond
  ``gates.fairness_tolerance`` (the offline fairness gate, on the live rows);
- **reject** when the interval lies below ``min_improvement`` (a clear loser, also
  after ``min_events``), when it is clear but less fair, or at the ``deadline``;
- otherwise keep going.

Error rates (the interval holds at every look with probability >= ``confidence``):
a challenger no better than ``min_improvement`` is promoted with probability at most
1 - confidence, and one truly better by more than it is rejected before the deadline
with probability at most 1 - confidence (tests/retrain/test_trial.py measures both by
Monte Carlo). Rows come from the store's joined rows: ``v`` is the version that made
the prediction, ``s`` marks a shadow prediction, ``i`` the event id pairs them.
"""

from __future__ import annotations

import math
import time
from typing import Any

import msgspec
import numpy as np

from driftd.config import ModelSpec
from driftd.retrain import sequential
from driftd.retrain.gates import gaps_of, growth_of
from driftd.values import category_text

RUNNING = "running"
FAIRNESS_ROUNDS = 300  # bootstrap resamples of the gap growth, at a decision only


class Verdict(msgspec.Struct):
    decision: str  # promote | reject | continue
    why: str
    interval: sequential.Interval
    fairness: dict[str, Any] = {}
    at: float = 0.0


def open_record(spec: ModelSpec, version: int, champion: int, sha256: str, run_id: str,
                since: float | None, now: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The trial as the registry keeps it (apps read ``version``, ``mode``, ``share``);
    ``since``: the newest event time the run learned from (the trial counts only
    predictions after it)."""
    live = spec.retrain.live  # type: ignore[union-attr]
    gates = spec.retrain.gates  # type: ignore[union-attr]
    now = time.time() if now is None else now
    return {
        "status": RUNNING, "version": version, "champion": champion, "mode": live.mode,
        "share": live.share if live.mode == "ab" else 1.0, "sha256": sha256,
        "run_id": run_id, "started_at": now, "since": since,
        "deadline_at": now + float(live.deadline),
        "min_events": live.min_events, "confidence": live.confidence,
        "min_improvement": gates.min_improvement,
        "fairness_tolerance": gates.fairness_tolerance,
    }  # fmt: skip


def _correct(row: dict[str, Any]) -> bool:
    return category_text(row["y"]) == category_text(row.get("p"))


def arms(trial: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(challenger rows, champion rows) of the trial; in shadow mode aligned pairs (the
    same event ids, in the same order)."""
    challenger, champion = str(trial["version"]), str(trial["champion"])
    since = trial.get("since")
    if since is not None:  # the champion's rows the run learned from are not the trial's
        rows = [r for r in rows if r["t"] > since]
    if trial["mode"] == "shadow":
        shadow = {r.get("i"): r for r in rows if r.get("s") and r.get("v") == challenger}
        pairs = [(shadow[r.get("i")], r) for r in rows
                 if not r.get("s") and r.get("v") == champion and r.get("i") in shadow]  # fmt: skip
        return [a for a, _ in pairs], [b for _, b in pairs]
    served = [r for r in rows if not r.get("s") and r.get("v") == challenger]
    since = min((r["t"] for r in served), default=math.inf)  # the champion over the same time
    return served, [r for r in rows if not r.get("s") and r.get("v") == champion
                    and r["t"] >= since]  # fmt: skip


def interval(trial: dict[str, Any], new: list[dict], old: list[dict]) -> sequential.Interval:
    alpha, tight = 1 - trial["confidence"], trial["min_events"]
    hits_new = np.fromiter((_correct(r) for r in new), bool, len(new))
    hits_old = np.fromiter((_correct(r) for r in old), bool, len(old))
    if trial["mode"] == "shadow":
        discordant = hits_new != hits_old
        return sequential.paired(len(new), int(discordant.sum()),
                                 int((discordant & hits_new).sum()), alpha, tight)  # fmt: skip
    return sequential.unpaired((len(new), int(hits_new.sum())), (len(old), int(hits_old.sum())),
                               alpha, tight)  # fmt: skip


def _columns(spec: ModelSpec, rows: list[dict]) -> tuple[np.ndarray, np.ndarray, dict]:
    y = np.asarray([category_text(r["y"]) for r in rows], dtype=object)
    y_hat = np.asarray([category_text(r.get("p")) for r in rows], dtype=object)
    groups = {a: np.asarray([category_text(r.get("a", {}).get(a)) if r.get("a", {}).get(a)
                             is not None else "" for r in rows], dtype=object)
              for a in spec.sensitive_attributes}  # fmt: skip
    return y, y_hat, groups


def fairness(spec: ModelSpec, trial: dict[str, Any], new: list[dict], old: list[dict],
             seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """The offline fairness gate on the live rows: each group gap per version, and the
    bootstrap interval of its growth (arms resampled apart in A/B, pairs together in
    shadow); it fails when a growth's lower end exceeds ``fairness_tolerance``."""
    positive = category_text(spec.positive_class) if spec.task == "binary" else None
    cols_new, cols_old = _columns(spec, new), _columns(spec, old)
    gaps_new = gaps_of(*cols_new, spec.task, positive)
    gaps_old = gaps_of(*cols_old, spec.task, positive)
    growth = growth_of(cols_new, cols_old, spec.task, positive, FAIRNESS_ROUNDS,
                       trial["confidence"], np.random.default_rng(seed),
                       paired=trial["mode"] == "shadow")  # fmt: skip
    worse = {k: g for k, g in growth.items() if g["low"] > trial["fairness_tolerance"]}
    why = "no group gap grew beyond the tolerance" if not worse else "gaps grew: " + ", ".join(
        f"{k} {gaps_old.get(k, 0):.3f} -> {gaps_new[k]:.3f} (CI low {g['low']:+.3f})"
        for k, g in worse.items())  # fmt: skip
    return {"passed": not worse, "challenger": gaps_new, "champion": gaps_old,
            "growth": growth, "why": why}  # fmt: skip


def judge(spec: ModelSpec, trial: dict[str, Any], rows: list[dict[str, Any]],
          now: float | None = None) -> Verdict:  # fmt: skip
    """The trial's verdict on the joined rows so far."""
    now = time.time() if now is None else now
    new, old = arms(trial, rows)
    found = interval(trial, new, old)
    bar, need = trial["min_improvement"], trial["min_events"]
    arm = "pairs" if trial["mode"] == "shadow" else "events per arm"
    on = (f"{found.challenger_events} labeled events scored by both" if trial["mode"] == "shadow"
          else f"{found.challenger_events} challenger / {found.champion_events} champion "
          "labeled events")  # fmt: skip
    told = (f"{trial['confidence']:.0%} time-uniform interval of the accuracy difference "
            f"[{found.low:+.4f}, {found.high:+.4f}] on {on}")  # fmt: skip
    enough = min(found.challenger_events, found.champion_events) >= need
    if enough and found.low > bar:
        gate = fairness(spec, trial, new, old)
        if gate["passed"]:
            return Verdict("promote", f"{told}: above {bar:+.4f}", found, gate, now)
        return Verdict("reject", f"better but less fair: {gate['why']}", found, gate, now)
    if enough and found.high < bar:
        return Verdict("reject", f"{told}: below {bar:+.4f}", found, at=now)
    if now >= trial["deadline_at"]:
        short = "" if enough else f" (needs {need} {arm})"
        return Verdict("reject", f"undecided at the deadline: {told}{short}", found, at=now)
    if not new:
        remedy = ("apps pass a shadow callback to ModelClient.serve and publish its "
                  "predictions with shadow=true" if trial["mode"] == "shadow" else
                  "apps publish ModelClient.serve's version as model_version")  # fmt: skip
        return Verdict("continue", f"no labeled events of version {trial['version']} yet "
                       f"({remedy})", found, at=now)  # fmt: skip
    return Verdict("continue", f"{told}; needs {need} {arm} and an interval clear of "
                   f"{bar:+.4f}", found, at=now)  # fmt: skip
