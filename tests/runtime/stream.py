"""A production-like stream for the runtime tests, and its batch recomputation (the oracle).

Three binary models share the topics. Labels are published later than their
predictions (delayed by up to ``label_lag`` publish positions and shuffled, with
event times up to two days later), some never come, and a fraction of messages
can be malformed. ``expected_readings`` recomputes, from the same events, what
driftd's final readings must be, with scikit-learn, scipy and fairlearn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODELS = ("credit", "fraud", "churn")
BASE_TIME = 1_800_000_000.0


@dataclass
class Stream:
    # (topic kind, model_id, raw bytes) in publish order; kind is "predictions"/"labels"
    messages: list[tuple[str, str, bytes]] = field(default_factory=list)
    predictions: dict[str, dict[str, dict]] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    malformed: int = 0


def make_stream(
    n_predictions: int,
    seed: int = 0,
    label_fraction: float = 0.9,
    label_lag: int = 3000,
    malformed_fraction: float = 0.0,
) -> Stream:
    rng = np.random.default_rng(seed)
    stream = Stream(predictions={m: {} for m in MODELS}, labels={m: {} for m in MODELS})
    slots: list[tuple[float, str, str, bytes]] = []  # (publish position, kind, model, raw)
    shift = {"credit": 0.0, "fraud": 0.4, "churn": -0.3}
    for i in range(n_predictions):
        model = MODELS[int(rng.integers(len(MODELS)))]
        event_id = f"{model}-{i}"
        x = float(rng.normal(shift[model], 1.0))
        color = str(rng.choice(["red", "green", "blue"], p=[0.5, 0.3, 0.2]))
        sex = "f" if rng.random() < 0.5 else "m"
        score = float(1 / (1 + np.exp(-1.5 * x)))
        t = BASE_TIME + i * 2.0
        event = {
            "type": "prediction",
            "event_id": event_id,
            "model_id": model,
            "timestamp": t,
            "features": {"x": round(x, 6), "color": color},
            "prediction": int(score >= 0.5),
            "score": round(score, 6),
            "attributes": {"sex": sex},
        }
        stream.predictions[model][event_id] = event
        slots.append((float(i), "predictions", model, json.dumps(event).encode()))
        if rng.random() < label_fraction:
            label = int(rng.random() < score)
            stream.labels[model][event_id] = label
            lag = float(rng.integers(1, label_lag))
            label_event = {
                "type": "label",
                "event_id": event_id,
                "model_id": model,
                "timestamp": t + float(rng.integers(60, 2 * 86400)),
                "label": label,
            }
            slots.append(
                (i + lag + rng.random(), "labels", model, json.dumps(label_event).encode())
            )
    slots.sort(key=lambda s: s[0])
    for _, kind, model, raw in slots:
        if malformed_fraction and rng.random() < malformed_fraction:
            stream.messages.append(
                (kind, model, b'{"type": "prediction", "event_id": "' + raw[:20])
            )
            stream.malformed += 1
        stream.messages.append((kind, model, raw))
    return stream


def write_config(
    path: Path,
    reference: Path,
    bootstrap: str,
    redis_url: str,
    suffix: str,
    client: str = "confluent",
    partitions: int = 4,
    extra_runtime: str = "",
    extra: str = "",
    shards: int = 1,
) -> Path:
    models = "\n".join(
        f"""  {model}:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference}
    sensitive_attributes: [sex]
    windows: {{size: 100000, tumbling: 1h}}
    drift: {{window: 100000, min_samples: 100}}
    fairness: {{min_group_size: 10}}
    join: {{ttl: 30d, max_pending: 200000}}
    shards: {shards}"""
        for model in MODELS
    )
    path.write_text(
        f"""models:
{models}
runtime:
  state_dir: {path.parent / "state"}
  evaluate_every: 2000
  batch_size: 2000
  checkpoint_interval: 0.5s
{extra_runtime}
kafka:
  bootstrap_servers: "{bootstrap}"
  client: {client}
  group_id: group-{suffix}
  partitions: {partitions}
  session_timeout: 6
  topics:
    predictions: predictions-{suffix}
    labels: labels-{suffix}
    dead_letters: dead-letters-{suffix}
    models: models-{suffix}
redis:
  url: "{redis_url}"
  namespace: test-{suffix}
notifiers: [jsonl]
http: {{port: 0}}
{extra}
"""
    )
    return path


def expected_readings(stream: Stream, model: str, reference_csv: Path) -> dict[str, float]:
    """What driftd's final readings for ``model`` must be: all joined events, batch-computed."""
    import pandas as pd
    from fairlearn.metrics import MetricFrame
    from scipy import stats
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    predictions = stream.predictions[model]
    labels = stream.labels[model]
    joined = [(labels[e], predictions[e]) for e in labels]
    y = np.array([label for label, _ in joined])
    y_hat = np.array([p["prediction"] for _, p in joined])
    score = np.array([p["score"] for _, p in joined])
    sex = np.array([p["attributes"]["sex"] for _, p in joined])
    reference = pd.read_csv(reference_csv)
    x_all = np.array([p["features"]["x"] for p in predictions.values()])
    accuracy_by_sex = MetricFrame(
        metrics=accuracy_score, y_true=y, y_pred=y_hat, sensitive_features=sex
    ).by_group
    return {
        "events.predictions": float(len(predictions)),
        "events.labels": float(len(labels)),
        "join.matched": float(len(joined)),
        # A replay after a crash must not reach the join twice (its dedup would hide it).
        "join.duplicates": 0.0,
        "join.waiting_labels": 0.0,
        "join.waiting_predictions": float(len(predictions) - len(joined)),
        "labeled": float(len(joined)),
        "accuracy": accuracy_score(y, y_hat),
        "f1": f1_score(y, y_hat),
        "roc_auc": roc_auc_score(y, score),
        "log_loss": log_loss(y, score),
        "fairness.sex.group.f.accuracy": float(accuracy_by_sex["f"]),
        "fairness.sex.group.m.accuracy": float(accuracy_by_sex["m"]),
        "drift.x.ks_statistic": stats.ks_2samp(reference["x"], x_all).statistic,
        "drift.x.samples": float(len(x_all)),
    }
