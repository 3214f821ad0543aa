"""An alert's evidence, measured: does it name the broken segment, and when it broke?

    .venv/bin/python -m bench.evidence --seeds 20

Streams: a binary model with a numeric feature (age), a categorical one (clinic, 4
values) and a sensitive attribute (sex), right 90% of the time, labels 1-100 events
late. In the changed streams one clinic (a quarter of the traffic) goes wrong ERR% of
the time from event 3,000 on; the evidence is taken at event 3,000 + AFTER (the
window: the last 1,000 joined outcomes, partly before the change). Stable streams
never change. Per stream family and seed:

- named: the broken clinic is the first segment listed; extra: other segments listed
  (the sexes and age bins degrade only through the clinic's patients);
- on stable streams, the share of windows listing any segment (the guard's false
  listings; Holm at 0.01 family-wise);
- the change point: how often one is found inside the window (CUSUM test at 0.01)
  and its error in events against the truth; when none is, the evidence says "start
  not located: it began before the window's first event, or too recently or gradually
  to place" (both happen: the last column but one counts windows whose change was in
  fact inside, by more than 100 events, and not found);
- river's ADWIN (defaults) on the same 0/1 error stream, in the same run: how often it
  alarmed after the change, and its delay. river's detectors say *when* they alarm,
  not *where* the change began, which is what the change point adds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from river import drift

from driftd.config import load_config
from driftd.daemon.catalog import ModelCatalog
from driftd.detectors.monitor import ModelMonitor
from driftd.events import Label, Prediction

CHANGE, CLINICS = 3_000, np.array(["a", "b", "c", "d"])


def rows(rng: np.random.Generator, n: int, error: float | None) -> pd.DataFrame:
    clinic = rng.choice(CLINICS, n)
    label = (rng.random(n) < 0.4).astype(int)
    wrong = rng.random(n) < 0.1
    if error is not None:
        broken = (np.arange(n) >= CHANGE) & (clinic == "b")
        wrong = np.where(broken, rng.random(n) < error, wrong)
    return pd.DataFrame({"age": rng.normal(50, 12, n), "clinic": clinic,
                         "sex": np.where(rng.random(n) < 0.5, "f", "m"), "label": label,
                         "prediction": np.where(wrong, 1 - label, label)})  # fmt: skip


def monitor_for(work: Path, rng: np.random.Generator) -> ModelCatalog:
    rows(rng, 4000, None).to_csv(work / "reference.csv", index=False)
    (work / "driftd.yaml").write_text(
        "models:\n  m:\n    task: binary\n    features: {age: numeric, clinic: categorical}\n"
        "    sensitive_attributes: [sex]\n"
        "    reference: {path: reference.csv, score_column: null}\n"
        f"runtime: {{state_dir: {work / 'state'}}}\n"
    )
    return ModelCatalog(load_config(work / "driftd.yaml"))


def feed(monitor: ModelMonitor, data: pd.DataFrame, rng: np.random.Generator) -> list[int]:
    """Predictions in order, labels 1-100 events late; returns the predictions in join order."""
    due: dict[int, list[int]] = {}
    joined: list[int] = []
    for i, row in enumerate(data.itertuples()):
        monitor.on_prediction(Prediction(event_id=f"p{i}", model_id="m", timestamp=1.8e9 + i,
                                         features={"age": row.age, "clinic": row.clinic},
                                         attributes={"sex": row.sex},
                                         prediction=int(row.prediction)))  # fmt: skip
        due.setdefault(i + int(rng.integers(1, 101)), []).append(i)
        for j in due.pop(i, []):
            monitor.on_label(Label(event_id=f"p{j}", model_id="m", timestamp=1.8e9 + i,
                                   label=int(data.label.iat[j])))  # fmt: skip
            joined.append(j)
    return joined


def adwin_alarm(errors: np.ndarray, joined: list[int]) -> int | None:
    """The prediction number at which ADWIN (river, defaults) first alarms after the
    change; None without one."""
    detector = drift.ADWIN()
    for i, value in enumerate(errors):
        detector.update(float(value))
        if detector.drift_detected and joined[i] >= CHANGE:
            return joined[i]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftd-evidence-"))
    print(f"# {args.seeds} seeds per family; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print("| stream | named first | extra segments (mean) | any listed | change point inside "
          "the window | its error, events: median (p90) | not located, change inside | ADWIN "
          "alarmed | ADWIN delay: median |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    families = [("stable", None, 1000), ("clinic b 10% -> 25%, +1000", 0.25, 1000),
                ("clinic b 10% -> 40%, +500", 0.40, 500),
                ("clinic b 10% -> 40%, +2000", 0.40, 2000)]  # fmt: skip
    for name, error, after in families:
        named = extra = anyone = inside = missed = 0
        errors_found: list[int] = []
        delays: list[int] = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            monitor = monitor_for(work, rng).new_monitor("m")
            data = rows(rng, CHANGE + after, error)
            joined = feed(monitor, data, rng)
            evidence = monitor.evidence("accuracy", monitor.readings(1.8e9 + CHANGE + after))
            listed = [(s.dimension, s.value) for s in evidence.segments]
            anyone += bool(listed)
            named += bool(listed) and listed[0] == ("clinic", "b")
            extra += max(0, len(listed) - (1 if listed[:1] == [("clinic", "b")] else 0))
            if error is None:
                continue
            started = evidence.started
            at = int(started.event_time - 1.8e9)
            if started.within:
                inside += 1
                errors_found.append(abs(at - CHANGE))
            else:
                missed += at < CHANGE - 100
            alarm = adwin_alarm((data.prediction != data.label).to_numpy()[joined], joined)
            if alarm is not None:
                delays.append(alarm - CHANGE)
        n = args.seeds
        outside = n - inside
        print(f"| {name} | {named}/{n} | {extra / n:.2f} | {anyone}/{n} | "
              + ("- | - | - | - | - |" if error is None else
                 f"{inside}/{n} | {_spread(errors_found)} | {missed}/{outside} | "
                 f"{len(delays)}/{n} | {_spread(delays)} |"))  # fmt: skip


def _spread(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} ({np.quantile(values, 0.9):.0f})"


if __name__ == "__main__":
    main()
