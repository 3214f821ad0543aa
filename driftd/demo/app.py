"""`driftd demo`: a simulated credit-scoring app in production, with problems injected.

A logistic-regression credit model is trained on synthetic applicants; its
training-time data becomes the reference. The simulated app then serves a stream
of applicants, publishing a prediction per request and each label (repaid or not)
hours later, out of order. Part-way through three things go wrong, in turn:

1. covariate shift: a marketing campaign brings applicants with many more
   accounts, mostly from one region (features drift; the model is unaffected);
2. concept shift: an economic downturn changes who repays (accuracy falls,
   while the label-free estimate, blind to it by design, does not);
3. fairness regression: a new app release penalises one group's scores
   (selection rates diverge; the four-fifths rule breaks).

A small share of malformed events rides along, to show dead letters at work. The
simulation stops with the last request, so the newest predictions are still waiting
for labels: their accuracy is only known as the label-free estimate.
Everything is seeded: the same seed gives the same events and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import yaml
from driftd_sdk import Publisher
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from driftd.consumers.local import LocalBroker
from driftd.events import format_timestamp

MODEL_ID = "credit-risk"
START = 1793491200.0  # 2026-11-01T00:00:00Z
SPACING = 30.0  # seconds between requests
OCCUPATIONS = ["sales", "engineering", "services", "management", "other"]
REGIONS = ["north", "south", "east", "west"]
NUMERIC = ["age", "income", "debt_ratio", "credit_history_months", "num_accounts"]


@dataclass
class Injection:
    kind: str
    index: int
    event_time: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "event_time_epoch": self.event_time,
            "event_time": format_timestamp(self.event_time),
        }


@dataclass
class Applicants:
    numeric: dict[str, np.ndarray]
    occupation: np.ndarray
    region: np.ndarray
    sex: np.ndarray
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.sex)

    def matrix(self) -> np.ndarray:
        onehot = (self.occupation[:, None] == np.array(OCCUPATIONS)[None, :]).astype(float)
        return np.column_stack([self.numeric[name] for name in NUMERIC] + [onehot])


def draw_applicants(
    rng: np.random.Generator, n: int, campaign: np.ndarray | None = None
) -> Applicants:
    campaign = np.zeros(n, dtype=bool) if campaign is None else campaign
    accounts = np.where(campaign, rng.poisson(10, n), rng.poisson(4, n)).astype(float)
    region_p = np.where(campaign[:, None], [0.05, 0.05, 0.1, 0.8], [0.25, 0.25, 0.25, 0.25])
    region = np.array([REGIONS[rng.choice(4, p=p)] for p in region_p])
    return Applicants(
        numeric={
            "age": np.clip(rng.normal(41, 12, n), 18, 90).round(),
            "income": rng.lognormal(np.log(52000), 0.45, n).round(2),
            "debt_ratio": rng.beta(2, 5, n).round(4),
            "credit_history_months": rng.gamma(4, 24, n).round(),
            "num_accounts": accounts,
        },
        occupation=rng.choice(OCCUPATIONS, n, p=[0.25, 0.2, 0.25, 0.15, 0.15]),
        region=region,
        sex=rng.choice(["female", "male"], n),
    )


def repay_probability(people: Applicants, downturn: np.ndarray | None = None) -> np.ndarray:
    """The true world: who repays. A downturn reverses what income and history mean."""
    downturn = np.zeros(people.n, dtype=bool) if downturn is None else downturn
    income = (np.log(people.numeric["income"]) - np.log(52000)) / 0.45
    debt = (people.numeric["debt_ratio"] - 0.286) / 0.16
    history = (people.numeric["credit_history_months"] - 96) / 48
    normal = 0.6 + 1.4 * income - 1.6 * debt + 0.7 * history
    crisis = 0.3 - 0.8 * income - 0.4 * debt - 0.9 * history
    occupation_effect = np.where(people.occupation == "engineering", 0.4, 0.0)
    logit = np.where(downturn, crisis, normal) + occupation_effect
    return 1 / (1 + np.exp(-logit))


def train_model(rng: np.random.Generator) -> tuple[Any, Applicants, np.ndarray]:
    train = draw_applicants(rng, 6000)
    y = rng.random(train.n) < repay_probability(train)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(train.matrix(), y.astype(int))
    return model, train, y


def write_reference(path: Path, model: Any, rng: np.random.Generator, n: int = 5000) -> None:
    people = draw_applicants(rng, n)
    labels = (rng.random(n) < repay_probability(people)).astype(int)
    scores = model.predict_proba(people.matrix())[:, 1]
    columns = {
        **people.numeric,
        "occupation": people.occupation,
        "region": people.region,
        "sex": people.sex,
        "score": scores.round(6),
        "prediction": (scores >= 0.5).astype(int),
        "label": labels,
    }
    lines = [",".join(columns)]
    for i in range(n):
        lines.append(",".join(str(columns[c][i]) for c in columns))
    path.write_text("\n".join(lines) + "\n")


def demo_config(state_dir: Path) -> dict[str, Any]:
    return {
        "models": {
            MODEL_ID: {
                "task": "binary",
                "features": {
                    **{name: "numeric" for name in NUMERIC},
                    "occupation": "categorical",
                    "region": "categorical",
                },
                "reference": "reference.csv",
                "sensitive_attributes": ["sex"],
                "windows": {"size": 1000, "tumbling": "6h"},
                "join": {"ttl": "2d"},
                "quality": {"silence_after": "2h"},
                "retrain": RETRAIN,
            }
        },
        "runtime": {"state_dir": str(state_dir.resolve()), "evaluate_every": 250},
    }


# The loop's second act (daemon/demo_loop.py): retrain on what driftd joined, after a
# concept change (so without the reference's now-wrong labels).
RETRAIN = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "params": {"max_iter": 1000},
    "search": {"method": "random", "candidates": 8,
               "space": {"C": {"low": 0.01, "high": 10.0, "log": True}}},
    "data": {"use_reference": False, "max_rows": 20000, "max_age": "2d"},  # after the change
    "gates": {"reference_tolerance": None, "bootstrap": 300},
    "triggers": ["accuracy-drop", "concept-drift"],
    "live": {"mode": "shadow", "min_events": 300, "deadline": "7d"},  # a shadow phase first
}  # fmt: skip


class DemoApp:
    """The simulated production app: yields the JSON messages it publishes, in time order."""

    def __init__(self, n_predictions: int, seed: int, junk_rate: float = 0.002):
        self.n = n_predictions
        self.seed = seed
        self.junk_rate = junk_rate
        self.rng = np.random.default_rng(seed)
        self.model, _, _ = train_model(self.rng)
        self.injections = [
            Injection("covariate_shift", int(n_predictions * 0.30), 0.0),
            Injection("concept_shift", int(n_predictions * 0.55), 0.0),
            Injection("fairness_regression", int(n_predictions * 0.75), 0.0),
        ]
        for injection in self.injections:
            injection.event_time = START + injection.index * SPACING

    def messages(self) -> list[bytes]:
        """Run the app: it publishes through the SDK onto the embedded bus, in time order.

        A few malformed messages come from a broken producer that bypasses the SDK.
        """
        broker = LocalBroker()
        publisher = Publisher.embedded(broker)
        for _, kind, payload in self._timeline():
            if kind == "prediction":
                publisher.publish_prediction(**payload)
            elif kind == "label":
                publisher.publish_label(**payload)
            else:
                broker.publish(publisher.topics.predictions, payload)
        return [record.value for record in broker.take(len(broker))]

    def _timeline(self) -> list[tuple[float, str, Any]]:
        rng, n = self.rng, self.n
        index = np.arange(n)
        covariate, concept, fairness = (index >= inj.index for inj in self.injections)
        people = draw_applicants(rng, n, campaign=covariate)
        repaid = rng.random(n) < repay_probability(people, downturn=concept)
        logits = self.model.decision_function(people.matrix())
        # The faulty release subtracts a "risk adjustment" for one group.
        logits = logits - np.where(fairness & (people.sex == "female"), 1.5, 0.0)
        scores = 1 / (1 + np.exp(-logits))
        times = START + index * SPACING + rng.uniform(0, SPACING, n)
        label_times = times + rng.uniform(600, 6 * 3600, n)
        encoder = msgspec.json.Encoder()
        out: list[tuple[float, str, Any]] = []
        for i in range(n):
            event_id = f"app-{self.seed}-{i:07d}"
            features: dict[str, Any] = {name: float(people.numeric[name][i]) for name in NUMERIC}
            features["occupation"] = str(people.occupation[i])
            features["region"] = str(people.region[i])
            prediction = {
                "model_id": MODEL_ID, "features": features, "prediction": int(scores[i] >= 0.5),
                "event_id": event_id, "model_version": "1", "timestamp": float(times[i]),
                "score": round(float(scores[i]), 6), "attributes": {"sex": str(people.sex[i])},
                "latency_ms": round(float(rng.gamma(3, 4)), 2),
            }  # fmt: skip
            out.append((times[i], "prediction", prediction))
            if label_times[i] <= times[-1]:  # the simulation ends before late labels arrive
                label = {
                    "model_id": MODEL_ID, "event_id": event_id, "label": int(repaid[i]),
                    "timestamp": float(label_times[i]),
                }  # fmt: skip
                out.append((label_times[i], "label", label))
            if rng.random() < self.junk_rate:
                valid = encoder.encode({"type": "prediction", **prediction})
                out.append((times[i], "junk", self._junk(valid, rng)))
        out.sort(key=lambda item: item[0])
        return out

    @staticmethod
    def _junk(valid: bytes, rng: np.random.Generator) -> bytes:
        kind = rng.integers(3)
        if kind == 0:
            return valid[: len(valid) // 2]  # truncated in transit
        if kind == 1:
            return valid.replace(MODEL_ID.encode(), b"credit-risk-v2-typo")  # unknown model
        return valid.replace(b'"prediction":', b'"prediction_value":', 1)  # schema break


def prepare(state_dir: Path, seed: int) -> Path:
    """Write the demo's reference and config into state_dir; returns the config path."""
    state_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    model, _, _ = train_model(np.random.default_rng(seed))
    write_reference(state_dir / "reference.csv", model, rng)
    config_path = state_dir / "config.yaml"
    config_path.write_text(
        "# Written by `driftd demo`: a complete config for the simulated credit model.\n"
        + yaml.safe_dump(demo_config(state_dir), sort_keys=False)
    )
    return config_path
