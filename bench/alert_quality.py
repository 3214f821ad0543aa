"""Alert quality of the default rules: false alerts on stable streams, delays on changed ones.

    .venv/bin/python -m bench.alert_quality --seeds 10 --predictions 60000

Every stream goes through ``driftd replay`` with the default config (the path users
run, as a subprocess), and river's ADWIN reads the matching 0/1 or numeric indicator
of the same stream in the same run. A binary model on four numeric features (x0..x3,
x2 missing 1% of the time, as in its reference), one categorical (c) and a sensitive
attribute (sex); a prediction every 10 s; each label follows after up to 200
predictions (up to 3 days in the labels-0-3-days family). The reference is 5,000
rows of the stable distribution, with held-out predictions unless the family says
otherwise. Regression, multiclass and silence (a second model keeps the clock going)
families change the model or the stream accordingly.

Stable families count every firing alert of every default rule (per model per 1M
predictions). Changed families (the change at the middle prediction) report whether
an expected rule fired at or after it, the delay in predictions, and ADWIN's delay
on its indicator; an alert of any rule before the change is a false alert there too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

T0, STEP = 1.8e9, 10.0
REFERENCE_ROWS = 5000


@dataclass
class Stream:
    rows: dict[str, np.ndarray]  # per prediction: features, sex, score, label, never
    indicator: np.ndarray | None = None  # what ADWIN reads (changed families)
    # The indicator needs the label (errors, labels): ADWIN reads it as labels arrive,
    # as driftd does, not at the prediction.
    by_label: bool = False


def _base(rng: np.random.Generator, n: int, **kw) -> dict[str, np.ndarray]:
    rows = {
        "x0": rng.standard_t(3, n) if kw.get("heavy") else rng.normal(0, 1, n),
        "x1": rng.integers(0, 6, n).astype(float) if kw.get("ties") else rng.normal(0, 1, n),
        "x2": rng.normal(0, 1, n),
        "x3": rng.normal(5, 2, n),
    }
    rows["x2"][rng.random(n) < 0.01] = np.nan
    if kw.get("high_cardinality"):
        levels = np.array([f"k{i}" for i in range(300)])
        weights = 1 / np.arange(1, 301)
        rows["c"] = rng.choice(levels, n, p=weights / weights.sum())
    else:
        rows["c"] = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    women = kw.get("women", 0.5)
    rows["sex"] = np.where(rng.random(n) < women, "f", "m")
    intercept = kw.get("intercept", 0.0)
    x1 = (rows["x1"] - 2.5) / 1.7 if kw.get("ties") else rows["x1"]
    logit = intercept + 1.5 * np.clip(rows["x0"], -4, 4) - x1 + 0.5 * (rows["c"] == "a")
    task = kw.get("task", "binary")
    if task == "regression":  # the logit is the prediction; residuals are N(0, 1)
        rows["prediction"] = logit
        rows["label"] = logit + rng.normal(0, 1, n)
        return rows
    if task == "multiclass":  # three classes, softmax of two logits and a zero
        logits = np.stack([logit, 1.2 * rows["x3"] / 2 - 2.5 - 0.5 * x1, np.zeros(n)])
        proba = np.exp(logits - logits.max(axis=0))
        proba /= proba.sum(axis=0)
        for i, name in enumerate(CLASSES):
            rows[f"score_{name}"] = proba[i]
        picks = (rng.random(n) > proba.cumsum(axis=0)).sum(axis=0).clip(0, 2)
        rows["label"] = np.array(CLASSES)[picks]
        rows["prediction"] = np.array(CLASSES)[proba.argmax(axis=0)]
        return rows
    rows["score"] = 1 / (1 + np.exp(-logit))
    rows["label"] = (rng.random(n) < rows["score"]).astype(int)
    rows["prediction"] = (rows["score"] >= 0.5).astype(int)
    if kw.get("unfair"):  # women selected a third as often as men, from the start
        held_back = (rows["sex"] == "f") & (rng.random(n) < 0.67)
        rows["prediction"] = np.where(held_back, 0, rows["prediction"])
    return rows


def _tail(rows: dict[str, np.ndarray], start: int) -> dict[str, np.ndarray]:
    return {k: v[start:] for k, v in rows.items()}


def _stable(**kw) -> Callable[[np.random.Generator, int], Stream]:
    return lambda rng, n: Stream(_base(rng, n, **kw))


Change = Callable[[np.random.Generator, dict[str, np.ndarray], int], np.ndarray]


def _changed(change: Change, by_label: bool = False,
             **kw) -> Callable[[np.random.Generator, int], Stream]:  # fmt: skip
    def build(rng: np.random.Generator, n: int) -> Stream:
        rows = _base(rng, n, **kw)
        return Stream(rows, change(rng, rows, n // 2), by_label)

    return build


def _mean_shift(rng, rows, at):
    rows["x3"][at:] += 1.0  # half a standard deviation
    return rows["x3"]


def _variance(rng, rows, at):
    rows["x2"][at:] *= 2.0
    return np.nan_to_num(rows["x2"] ** 2)


def _unseen(rng, rows, at):
    rows["c"] = rows["c"].astype(object)  # room for a longer name than the levels'
    new = rng.random(len(rows["c"]) - at) < 0.3
    rows["c"][at:][new] = "zz-new"
    return (rows["c"] == "zz-new").astype(float)


def _missing(rng, rows, at):
    flood = rng.random(len(rows["x2"]) - at) < 0.3
    rows["x2"][at:][flood] = np.nan
    return np.isnan(rows["x2"]).astype(float)


def _out_of_range(rng, rows, at):
    far = rng.random(len(rows["x3"]) - at) < 0.2
    rows["x3"][at:][far] = 100.0
    return (rows["x3"] > 50).astype(float)


def _residuals(rng, rows, at):
    noise = rows["label"] - rows["prediction"]
    rows["label"] = rows["prediction"] + noise * np.where(np.arange(len(noise)) >= at, 1.5, 1.0)
    return np.abs(rows["label"] - rows["prediction"])


def _silence(rng, rows, at):
    rows["silent"] = np.arange(len(rows["label"])) >= at  # the model stops predicting
    return (~rows["silent"]).astype(float)  # per step: did it predict


def _concept(width: int):
    def change(rng, rows, at):
        n = len(rows["label"])
        weight = np.clip((np.arange(n) - at) / max(width, 1), 0, 1)
        flipped = 1 / (1 + np.exp(1.5 * rows["x0"] - rows["x1"]))  # x0's effect reversed
        score = (1 - weight) * rows["score"] + weight * flipped
        rows["label"] = (rng.random(n) < score).astype(int)
        return (rows["label"] != rows["prediction"]).astype(float)

    return change


def _fairness(rng, rows, at):
    women = rows["sex"] == "f"
    drop = women & (rows["prediction"] == 1) & (rng.random(len(women)) < 0.5)
    drop[:at] = False
    rows["prediction"] = np.where(drop, 0, rows["prediction"])
    rows["score"] = np.where(drop, 0.49, rows["score"])
    return rows["prediction"][women].astype(float)


def _label_shift(rng, rows, at):
    n = len(rows["label"])
    extra = (rng.random(n) < 0.25) & (np.arange(n) >= at)
    rows["label"] = np.where(extra, 1, rows["label"])
    return rows["label"].astype(float)


FAMILIES: dict[str, tuple[Callable[[np.random.Generator, int], Stream], dict, str]] = {
    # name: (stream, reference options, expected rules (glob) for changed families)
    "gaussian": (_stable(), {}, ""),
    "heavy-tailed": (_stable(heavy=True), {"heavy": True}, ""),
    "discrete-ties": (_stable(ties=True), {"ties": True}, ""),
    "high-cardinality": (_stable(high_cardinality=True), {"high_cardinality": True}, ""),
    "imbalanced-2pct": (_stable(intercept=-5.0), {"intercept": -5.0}, ""),
    "in-sample-reference": (_stable(), {"in_sample": True}, ""),
    "small-groups": (_stable(women=0.03), {"women": 0.03}, ""),
    "labels-never-10pct": (_stable(), {"never": 0.1}, ""),
    "labels-0-3-days": (_stable(), {"never": 0.1, "days_late": 3.0}, ""),
    "mean-shift": (_changed(_mean_shift), {}, "drift.x3-*|feature-shift"),
    "variance": (_changed(_variance), {}, "drift.x2-*|feature-shift|feature-scale"),
    "unseen-categories": (_changed(_unseen), {}, "unseen-categories|drift.c-*"),
    "missing-flood": (_changed(_missing), {}, "quality-missing_rate"),
    "out-of-range-flood": (_changed(_out_of_range), {}, "quality-out_of_range_rate"),
    "concept-abrupt": (_changed(_concept(0), True), {}, "accuracy-drop|concept-drift"),
    "concept-gradual": (_changed(_concept(5000), True), {}, "accuracy-drop|concept-drift"),
    "fairness-regression": (
        _changed(_fairness, unfair=True), {"unfair": True},
        "fairness-*-parity-worsened|fairness-*-selection-fell",
    ),
    "label-shift": (_changed(_label_shift, True), {}, "label_drift-*"),
    "regression": (_stable(task="regression"), {"task": "regression"}, ""),
    "multiclass": (_stable(task="multiclass"), {"task": "multiclass"}, ""),
    "residual-growth": (
        _changed(_residuals, True, task="regression"), {"task": "regression"}, "mae-increase"
    ),
    # A second model keeps the stream clock going while this one is silent.
    "silence": (_changed(_silence), {"other": True}, "silence"),
}


# Alerts that are true before the change: that model is unfair from the start.
TRUE_BEFORE = {"fairness-regression": "fairness-*-four-fifths|fairness-*-equalized-odds"}


def write_reference(path: Path, rng: np.random.Generator, options: dict) -> None:
    keep = {k: v for k, v in options.items()
            if k not in ("in_sample", "never", "other", "days_late")}  # fmt: skip
    rows = _base(rng, REFERENCE_ROWS, **keep)
    if options.get("in_sample"):  # predictions on training rows: right more often
        lucky = rng.random(REFERENCE_ROWS) < 0.5
        rows["label"] = np.where(lucky, rows["prediction"], rows["label"])
    names = ["x0", "x1", "x2", "x3", "c", "sex", "prediction", "label", *_scores(options)]
    lines = [",".join(names)]
    for i in range(REFERENCE_ROWS):
        values = [rows[name][i] for name in names]
        lines.append(",".join("" if isinstance(v, float) and np.isnan(v) else str(v)
                              for v in values))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def _scores(options: dict) -> list[str]:
    """The score columns of a task (multiclass: one per class, ``score_CLASS``)."""
    task = options.get("task", "binary")
    if task == "multiclass":
        return [f"score_{name}" for name in CLASSES]
    return [] if task == "regression" else ["score"]


def _plain(value):
    """A numpy value as JSON takes it: NaN is a missing value (null)."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _score(rows: dict[str, np.ndarray], i: int) -> float | dict[str, float] | None:
    if "score" in rows:
        return float(rows["score"][i])
    if "score_a" in rows:
        return {name: float(rows[f"score_{name}"][i]) for name in CLASSES}
    return None


def write_events(path: Path, rng: np.random.Generator, stream: Stream, never: float,
                 days_late: float = 0.0) -> list[tuple[int, int]]:  # fmt: skip
    """Writes the stream; returns (prediction, position it was labeled at), in order.
    Labels follow after up to 200 predictions, or up to ``days_late`` days.
    A silent stretch (``rows["silent"]``) has no predictions of ``m``; the second
    model, ``other``, predicts at every step (unlabeled) to keep the clock going."""
    rows = stream.rows
    arrivals: list[tuple[int, int]] = []
    n = len(rows["label"])
    silent = rows.get("silent", np.zeros(n, dtype=bool))
    due: dict[int, list[int]] = {}
    late = int(days_late * 86400 / STEP) if days_late else 200  # in steps
    for i in range(n):
        if rng.random() >= never and not silent[i]:
            due.setdefault(i + int(rng.integers(1, late + 1)), []).append(i)
    with path.open("w") as out:
        for i in range(n + late + 1):
            t = T0 + i * STEP
            if i < n:
                features = {k: _plain(rows[k][i]) for k in ("x0", "x1", "x2", "x3", "c")}
                event = {
                    "type": "prediction", "event_id": f"p{i}", "model_id": "m", "timestamp": t,
                    "features": features, "prediction": _plain(rows["prediction"][i]),
                    "attributes": {"sex": str(rows["sex"][i])},
                }  # fmt: skip
                if (score := _score(rows, i)) is not None:
                    event["score"] = score
                if not silent[i]:
                    out.write(json.dumps(event) + "\n")
                if "silent" in rows:
                    out.write(json.dumps({**event, "model_id": "other"}) + "\n")
            for j in due.pop(i, []):
                arrivals.append((j, i))
                label = {"type": "label", "event_id": f"p{j}", "model_id": "m",
                         "timestamp": t, "label": _plain(rows["label"][j])}  # fmt: skip
                out.write(json.dumps(label) + "\n")
    return arrivals


MODEL = """
    task: {task}{classes}
    features: {{x0: numeric, x1: numeric, x2: numeric, x3: numeric, c: categorical}}
    sensitive_attributes: [sex]
    reference: {reference}"""
CLASSES = ["a", "b", "c"]


def config(options: dict) -> str:
    """The default config for a family: one model ``m`` (and ``other`` when asked)."""
    task = options.get("task", "binary")
    classes = f"\n    classes: {CLASSES}" if task == "multiclass" else ""
    reference = "reference.csv"
    if task == "multiclass":  # one score column per class: score_a, score_b, score_c
        reference = "{path: reference.csv, score_column: score_}"
    model = MODEL.format(task=task, classes=classes, reference=reference)
    if options.get("shards", 1) > 1:  # the model split over shards, merged at each tick
        model += f"\n    shards: {options['shards']}"
    models = f"  m:{model}\n" + (f"  other:{model}\n" if options.get("other") else "")
    return f"models:\n{models}runtime: {{state_dir: state}}\nnotifiers: [jsonl]\n"


def replay(work: Path, options: dict) -> list[dict]:
    (work / "driftd.yaml").write_text(config(options))
    subprocess.run([sys.executable, "-m", "driftd.cli", "replay", "--config",
                    str(work / "driftd.yaml"), "--fresh", "--quiet", str(work / "events.jsonl")],
                   check=True, capture_output=True)  # fmt: skip
    path = work / "state" / "alerts.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [a for a in map(json.loads, lines) if a.get("state") == "firing"]


def adwin_first(values: np.ndarray, positions: np.ndarray, start: int) -> int | None:
    """ADWIN (river, default delta) reading ``values``, each at a stream position: the
    delay from ``start`` of its first detection at or after it."""
    from river.drift import ADWIN

    adwin = ADWIN()
    for value, position in zip(values.tolist(), positions.tolist(), strict=True):
        adwin.update(float(value))
        if adwin.drift_detected and position >= start:
            return position - start
    return None


def _matches(rule: str, expected: str) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(rule, pattern) for pattern in expected.split("|"))


def adwin_count(values: np.ndarray) -> int:
    """How many times ADWIN (river, default delta) detects a change in ``values``."""
    from river.drift import ADWIN

    adwin, count = ADWIN(), 0
    for value in values.tolist():
        adwin.update(float(value))
        count += adwin.drift_detected
    return count


def run_family(name: str, seeds: int, n: int, shards: int = 1) -> dict:
    build, options, expected = FAMILIES[name]
    options = {**options, "shards": shards}
    false_alerts, delays, adwin_delays, missed, rules = 0, [], [], 0, {}
    adwin_false = 0  # stable families: ADWIN's detections on x3, all false
    for seed in range(seeds):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()) % 10_000])
        work = Path(tempfile.mkdtemp(prefix=f"driftd-aq-{name}-"))
        write_reference(work / "reference.csv", rng, options)
        stream = build(rng, n)
        arrivals = write_events(work / "events.jsonl", rng, stream, options.get("never", 0.0),
                                options.get("days_late", 0.0))  # fmt: skip
        at = n // 2 if expected else n
        change_time = T0 + at * STEP
        fired = replay(work, options)
        shutil.rmtree(work)
        for alert in fired:
            if alert["event_time"] < change_time and not _matches(
                alert["rule"], TRUE_BEFORE.get(name, "")
            ):
                false_alerts += 1
                rules[alert["rule"]] = rules.get(alert["rule"], 0) + 1
        if not expected:
            adwin_false += adwin_count(stream.rows["x3"])
            continue
        hits = [a["event_time"] for a in fired
                if a["event_time"] >= change_time and _matches(a["rule"], expected)]  # fmt: skip
        if hits:
            delays.append(int((min(hits) - change_time) / STEP))
        else:
            missed += 1
        assert stream.indicator is not None
        positions = np.arange(len(stream.indicator))
        values = stream.indicator
        if stream.by_label:
            order = np.array([j for j, _ in arrivals])
            values, positions = values[order], np.array([i for _, i in arrivals])
        elif name == "fairness-regression":  # the indicator is women's decisions only
            positions = np.flatnonzero(stream.rows["sex"] == "f")
        adwin = adwin_first(values, positions, at)
        if adwin is not None:
            adwin_delays.append(adwin)
    return {"family": name, "seeds": seeds, "predictions": n, "false_alerts": false_alerts,
            "false_per_1M": false_alerts / (seeds * (n if not expected else n // 2)) * 1e6,
            "false_rules": rules, "detected": seeds - missed if expected else None,
            "median_delay": statistics.median(delays) if delays else None,
            "adwin_median_delay": statistics.median(adwin_delays) if adwin_delays else None,
            "adwin_false_per_1M": None if expected else adwin_false / (seeds * n) * 1e6,
            }  # fmt: skip


def _blank(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--predictions", type=int, default=60_000)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--shards", type=int, default=1,
                        help="run the model as `shards: N` (docs/scaling.md)")  # fmt: skip
    args = parser.parse_args()
    sharded = f", the model as `shards: {args.shards}`" if args.shards > 1 else ""
    print(f"# alert quality: {args.seeds} seeds x {args.predictions:,} predictions, "
          f"default config{sharded}, driftd replay; {os.cpu_count()} cores")  # fmt: skip
    print("| family | false alerts (per 1M predictions) | detected | median delay | "
          "ADWIN median delay | ADWIN false alarms per 1M (x3) | false alerts by rule |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in args.only or FAMILIES:
        r = run_family(name, args.seeds, args.predictions, args.shards)
        detected = "" if r["detected"] is None else f"{r['detected']}/{r['seeds']}"
        print(f"| {name} | {r['false_alerts']} ({r['false_per_1M']:.1f}) | {detected} | "
              f"{r['median_delay'] if r['median_delay'] is not None else ''} | "
              f"{r['adwin_median_delay'] if r['adwin_median_delay'] is not None else ''} | "
              f"{_blank(r['adwin_false_per_1M'])} | "
              f"{', '.join(f'{k}: {v}' for k, v in sorted(r['false_rules'].items()))} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
