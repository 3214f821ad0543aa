"""One retraining run, in order: data, search, gates, register, promote (or not), report.

The champion is only touched by the last step (``promote``: one atomic file replace
in the directory registry, alias moves in a safe order in MLflow's), after the
challenger is registered whole. A failure anywhere before
leaves it as it was; the run is then reported as failed, with the error.
"""

from __future__ import annotations

import copy
import logging
import platform
import subprocess
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from driftd import __version__
from driftd.config import Config, ModelSpec
from driftd.reference import load_reference
from driftd.retrain import trial
from driftd.retrain.dataset import REFERENCE_HOLDOUT, Frame, assemble
from driftd.retrain.gates import judge
from driftd.retrain.online import RiverModel
from driftd.retrain.registry import ModelRegistry
from driftd.retrain.report import write_report
from driftd.retrain.tune import tune
from driftd.store import Store

log = logging.getLogger("driftd.retrain")

# A run's stages, in order, for progress reporting.
STAGES = ("rows", "search", "gates", "register", "report", "done")
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    run_id: str
    model: str
    status: str  # promoted | trial (on live trial, trial.py) | rejected | failed
    version: int | None = None
    champion_before: int | None = None
    champion_after: int | None = None
    reasons: list[dict] = field(default_factory=list)
    error: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    report_path: Path | None = None
    seconds: float = 0.0


def environment() -> dict[str, str]:
    import numpy
    import sklearn

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).parent, check=False,
        ).stdout.strip()  # fmt: skip
    except OSError:
        commit = ""
    return {
        "driftd": __version__,
        "code_commit": commit or "unknown",
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
    }


def continue_online(champion: Any, train: Frame, meta: dict[str, Any]) -> tuple[Any, dict]:
    """A copy of the online champion that learns only the rows newer than its data."""
    started = time.perf_counter()
    learned_until = meta.get("data_window", {}).get("train_to", float("-inf"))
    newer = np.nan_to_num(train.t, nan=float("-inf")) > learned_until
    challenger = copy.deepcopy(champion).partial_fit(train.X[newer], train.y[newer])
    return challenger, {
        "method": "incremental", "scoring": "-", "candidates": [], "best_params": {},
        "seconds": time.perf_counter() - started, "n_jobs": 1, "folds": 0,
        "rows_learned": int(newer.sum()),
    }  # fmt: skip


def open_trial(registry: ModelRegistry, spec: ModelSpec, model: str, version: int,
               champion: int, run_id: str, since: float | None) -> dict[str, Any]:  # fmt: skip
    """Put ``version`` on live trial against ``champion``; a trial still running is
    superseded (its challenger is older than this one)."""
    running = registry.trial(model)
    if running is not None:
        registry.set_trial(model, {**running, "status": "superseded", "closed_at": time.time(),
                                   "why": f"superseded by version {version}"})  # fmt: skip
    record = trial.open_record(spec, version, champion, registry.sha256(model, version), run_id,
                               since)  # fmt: skip
    registry.set_trial(model, record)
    return record


def retrain(
    config: Config,
    model_id: str,
    store: Store,
    registry: ModelRegistry,
    reasons: list[dict] | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    token: int | None = None,
) -> RunResult:
    """One run; ``progress(stage, done, total)`` is told each stage as it starts;
    ``token``: the worker's lease, claimed in the registry first and required for the
    alias change at the end (redis_queue.py)."""
    spec = config.models[model_id]

    def step(stage: str, detail: str = "") -> None:
        if progress is not None:
            progress(f"{stage} {detail}".strip(), STAGES.index(stage), len(STAGES) - 1)

    retrain_spec = spec.retrain
    if retrain_spec is None:
        raise ValueError(f"model {model_id!r} has no retrain section in the config")
    seed = retrain_spec.data.seed if seed is None else seed
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    result = RunResult(run_id, model_id, "failed", reasons=list(reasons or []))
    result.champion_before = result.champion_after = registry.champion(model_id)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "run_id": run_id, "model": model_id, "reasons": result.reasons, "seed": seed,
        "environment": environment(), "estimator": retrain_spec.estimator,
        "champion_before": result.champion_before,
    }  # fmt: skip
    try:
        if token is not None:
            registry.claim(model_id, token)
        step("rows")
        rows = store.labeled_rows(model_id, retrain_spec.data.max_rows)
        data = assemble(spec, load_reference(model_id, spec), rows)
        report["data"] = data.window
        champion, champion_meta = None, {}
        if result.champion_before is not None:
            champion = registry.load(model_id, result.champion_before)
            champion_meta = registry.meta(model_id, result.champion_before)
        if isinstance(champion, RiverModel):  # online: continue from the champion
            challenger, search = continue_online(champion, data.train, champion_meta)
        else:
            step("search", f"{len(data.train)} rows")
            challenger, search = tune(
                spec, retrain_spec, data.train, seed,
                on_candidate=lambda done, total: step("search", f"candidate {done}/{total}"),
            )  # fmt: skip
        report["search"] = search
        step("gates")
        positive = spec.positive_class if spec.task == "binary" else None
        held_out = champion_meta.get("reference_holdout") == REFERENCE_HOLDOUT
        verdict = judge(retrain_spec.gates, spec.task, positive, data.holdout, data.reference,
                        challenger, champion, seed, held_out)  # fmt: skip
        report["gates"] = verdict
        report["holdout"] = {"fairness_groups": list(data.holdout.groups.columns)}
        meta = {
            "run_id": run_id, "params": search["best_params"], "search": search["method"],
            "metrics": {"holdout": verdict["challenger"]["holdout"]},
            "holdout_metric": verdict["metric"],
            "gates": {k: v["passed"] for k, v in verdict["verdicts"].items()},
            "data_window": data.window, "seed": seed, "environment": report["environment"],
            "estimator": retrain_spec.estimator, "reference_holdout": REFERENCE_HOLDOUT,
        }  # fmt: skip
        step("register")
        result.version = registry.register(model_id, challenger, meta)
        live = retrain_spec.live.mode != "off" and result.champion_before is not None
        with registry.fenced(model_id, token):  # a newer lease holder: no alias moves
            if verdict["passed"] and live:  # the champion stays until the trial decides
                registry.set_aliases(model_id, challenger=result.version)
                report["trial"] = open_trial(registry, spec, model_id, result.version,
                                             result.champion_before, run_id,  # type: ignore[arg-type]
                                             data.window.get("live_to"))  # fmt: skip
                result.status = "trial"
            elif verdict["passed"]:
                registry.promote(model_id, result.version)
                result.status = "promoted"
            else:
                registry.set_aliases(model_id, challenger=result.version)
                result.status = "rejected"
        result.champion_after = registry.champion(model_id)
    except Exception as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        report["traceback"] = traceback.format_exc()
        log.exception("retraining %s failed; the champion is untouched", model_id)
    result.seconds = time.perf_counter() - started
    report.update(status=result.status, version=result.version, error=result.error,
                  champion_after=result.champion_after, seconds=result.seconds)  # fmt: skip
    result.report = report
    step("report")
    try:  # the outcome stands even if it cannot be recorded or drawn
        registry.record_run(model_id, {
            "run_id": run_id, "status": result.status, "version": result.version,
            "seconds": round(result.seconds, 3), "finished_at": time.time(),
            "champion_before": result.champion_before, "champion_after": result.champion_after,
        })  # fmt: skip
        result.report_path = write_report(registry.run_dir(model_id, run_id), report)
        if result.version is not None:  # MLflow: the report goes with the version's run
            registry.attach_report(model_id, result.version, result.report_path.parent)
    except Exception:
        log.exception("could not record or write the report of run %s", run_id)
    step("done")
    return result
