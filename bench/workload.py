"""The benchmark workload: one binary model with 20 numeric and 3 categorical features
and one sensitive attribute, its reference CSV, and a stream of encoded events.

Labels follow their predictions after a random delay of up to ``label_lag`` events
(so the join has a backlog, as in production); a covariate shift in f0 and a concept
change start at ``drift_at`` (a fraction of the stream) so the detectors do real work.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = ["c0", "c1", "c2"]
LEVELS = ["a", "b", "c", "d", "e"]


def _rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {name: rng.normal(0, 1, n) for name in NUMERIC}
    columns["f0"] = columns["f0"] + shift
    for name in CATEGORICAL:
        columns[name] = rng.choice(LEVELS, n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    columns["group"] = rng.choice(["g1", "g2", "g3"], n, p=[0.5, 0.3, 0.2])
    logit = 1.2 * columns["f0"] - 0.8 * columns["f1"] + 0.5 * (columns["c0"] == "a")
    columns["score"] = 1 / (1 + np.exp(-logit))
    columns["label"] = (rng.random(n) < columns["score"]).astype(int)
    return columns


def model_yaml(name: str, reference: Path, features: int = 23) -> str:
    numeric = NUMERIC[: max(features - 3, 0)] if features <= 23 else NUMERIC
    names = {n: "numeric" for n in numeric} | {c: "categorical" for c in CATEGORICAL}
    extra = [f"x{i}" for i in range(max(features - 23, 0))]
    names |= {x: "numeric" for x in extra}
    inner = ", ".join(f"{k}: {v}" for k, v in names.items())
    return (
        f"  {name}:\n    task: binary\n    features: {{{inner}}}\n"
        f"    reference: {reference}\n    sensitive_attributes: [group]\n"
    )


def write_reference(path: Path, n: int = 5000, seed: int = 0, extra: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    cols = _rows(rng, n)
    for i in range(extra):
        cols[f"x{i}"] = rng.normal(0, 1, n)
    cols["prediction"] = (cols["score"] >= 0.5).astype(int)
    names = [*NUMERIC, *CATEGORICAL, *(f"x{i}" for i in range(extra)), "group", "score",
             "prediction", "label"]  # fmt: skip
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join(
            f"{cols[c][i]:.5f}" if isinstance(cols[c][i], float) else str(cols[c][i])
            for c in names
        ))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def events(
    predictions: int,
    model: str = "bench",
    seed: int = 1,
    label_lag: int = 200,
    drift_at: float = 0.5,
    extra: int = 0,
    start: float = 1_700_000_000.0,
    id_prefix: str = "e",
) -> list[bytes]:
    """Encoded prediction and label events, 2 x ``predictions`` messages in all."""
    rng = np.random.default_rng(seed)
    cut = int(predictions * drift_at)
    before, after = _rows(rng, cut), _rows(rng, predictions - cut, shift=0.7)
    after["label"] = 1 - after["label"]  # a concept change: the model is now mostly wrong
    cols = {k: np.concatenate([before[k], after[k]]) for k in before}
    extras = {f"x{i}": rng.normal(0, 1, predictions) for i in range(extra)}
    encoder = msgspec.json.Encoder()
    numeric = {name: cols[name].round(5).tolist() for name in NUMERIC}
    numeric |= {name: values.round(5).tolist() for name, values in extras.items()}
    categorical = {name: cols[name].tolist() for name in CATEGORICAL}
    groups, scores = cols["group"].tolist(), cols["score"].round(5).tolist()
    labels = cols["label"].tolist()

    def label(j: int, t: float) -> bytes:
        return encoder.encode({"type": "label", "event_id": f"{id_prefix}{j}", "model_id": model,
                               "timestamp": t, "label": labels[j]})  # fmt: skip

    due: dict[int, list[int]] = {}
    lags = rng.integers(1, label_lag + 1, predictions)
    out: list[bytes] = []
    for i in range(predictions):
        t = start + i * 0.05
        features = {name: values[i] for name, values in numeric.items()}
        features.update({name: values[i] for name, values in categorical.items()})
        out.append(encoder.encode({
            "type": "prediction", "event_id": f"{id_prefix}{i}", "model_id": model, "timestamp": t,
            "prediction": int(scores[i] >= 0.5), "score": scores[i], "features": features,
            "attributes": {"group": groups[i]}, "model_version": "1", "latency_ms": 3.0,
        }))  # fmt: skip
        due.setdefault(i + int(lags[i]), []).append(i)
        out.extend(label(j, t) for j in due.pop(i, []))
    end = start + predictions * 0.05
    for i in sorted(due):
        out.extend(label(j, end) for j in due[i])
    return out
