"""`driftd retrain-worker`: retrains models when asked, on schedule, or when an alert fires.

APScheduler 3.x drives three kinds of jobs:
- every 2 s, take the pending requests (filed by the daemon when a trigger alert
  fires, by ``driftd retrain MODEL``, or by the cron jobs) and run them, one model at a
  time under the model's lock; requests arriving meanwhile are coalesced into one;
- per model with ``retrain.schedule``, a cron job that files a request;
- every 30 s, the live trials (trial.py): a challenger on shadow or A/B trial is
  promoted, rejected or left running on the joined rows so far;
- every 30 s, the rollback check: a champion promoted by this worker whose live accuracy
  (labeled events attributed to its version) falls more than ``rollback.margin`` below
  the previous champion's over ``rollback.window`` events is rolled back.

Each outcome is an alert (info when promoted, warning when rejected, critical when it
failed or rolled back) through the same dispatcher as the daemon's, with the report's
path; and a "model promoted" event for the apps (driftd_sdk.ModelClient).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np

from driftd.alerts.dispatch import Dispatcher
from driftd.alerts.model import Alert, dedup_key
from driftd.config import Config
from driftd.retrain.announce import Announce, promotion_event, trial_event
from driftd.retrain.registry import ModelRegistry
from driftd.retrain.request_queue import RequestQueue
from driftd.retrain.run import Progress, RunResult, retrain
from driftd.retrain.trial import Verdict
from driftd.retrain.trial import judge as judge_trial
from driftd.store import LABELED_LIMIT, Store

log = logging.getLogger("driftd.retrain")

ProgressFor = Callable[[str], Progress | None]
TRIAL_CHECK_EVERY = 30  # seconds between looks at the running live trials
TRIAL_ROWS_FIRST = 20_000  # joined rows read first per look (more while short of its start)
SEVERITY = {"promoted": "info", "trial": "info", "rejected": "warning", "failed": "critical"}


class RetrainWorker:
    def __init__(
        self,
        config: Config,
        store: Store,
        registry: ModelRegistry,
        queue: RequestQueue,
        dispatcher: Dispatcher,
        announce: Announce | None = None,
    ):
        self.config = config
        self.store = store
        self.registry = registry
        self.queue = queue
        self.dispatcher = dispatcher
        self.announce = announce or (lambda event: None)
        self.results: list[RunResult] = []
        self._trial_errors: dict[str, str] = {}  # model -> the last failed check's error

    def models(self) -> list[str]:
        return [m for m, spec in self.config.models.items() if spec.retrain is not None]

    # -- requests ---------------------------------------------------------------------

    def run_pending(self, progress: ProgressFor | None = None) -> list[RunResult]:
        """Run every waiting request; ``progress(model)`` gives a run's stage reporter."""
        results = []
        for model in self.queue.pending():
            if model not in self.models():
                log.warning("retraining request for %r, which has no retrain config", model)
                self.queue.take(model)
                self.queue.ack(model)
                continue
            with self.queue.lock(model) as lease:
                if lease is None:  # another worker is on it; the request waits
                    continue
                reasons = self.queue.take(model)
                on_trial = self.registry.trial(model)
                if reasons and on_trial is not None:  # the trial is the answer to them
                    why = "; ".join(r["reason"] for r in reasons)
                    log.info("%s: version %s is on live trial; not retraining for: %s", model,
                             on_trial["version"], why)  # fmt: skip
                elif reasons:
                    results.append(self.run(model, reasons, progress and progress(model),
                                            lease.token))  # fmt: skip
                self.queue.ack(model)  # not reached if this process dies: the next runs it
        return results

    def run(self, model: str, reasons: list[dict], progress: Progress | None = None,
            token: int | None = None) -> RunResult:  # fmt: skip
        """One run; ``token``: the lease's fencing token (the registry refuses it once a
        newer lease exists)."""
        log.info("retraining %s (%s)", model, "; ".join(r["reason"] for r in reasons))
        result = retrain(self.config, model, self.store, self.registry, reasons,
                         progress=progress, token=token)  # fmt: skip
        self.results = [*self.results[-99:], result]
        self._tell(result)
        return result

    def _tell(self, result: RunResult) -> None:
        if result.status == "promoted":
            self.announce(promotion_event(
                self.registry, result.model, result.version, result.champion_before,  # type: ignore[arg-type]
                "retrained", run_id=result.run_id,
            ))  # fmt: skip
        elif result.status == "trial":
            self.announce(trial_event("challenger_started", result.model,
                                      result.report["trial"]))  # fmt: skip
        gates = result.report.get("gates", {})
        why = "; ".join(
            f"{name}: {v['why']}" for name, v in gates.get("verdicts", {}).items()
            if not v["passed"]
        )  # fmt: skip
        description = {
            "promoted": f"Version {result.version} is the new champion (was "
            f"{result.champion_before}).",
            "trial": f"Version {result.version} passed the offline gates and is on live "
            f"{result.report.get('trial', {}).get('mode')} trial against version "
            f"{result.champion_before}, which keeps serving until the trial decides.",
            "rejected": f"Version {result.version} did not pass the gates ({why}); the "
            f"champion stays {result.champion_before}.",
            "failed": f"Retraining failed: {result.error}. The champion is untouched.",
        }[result.status]
        if result.report_path is not None:
            description += f" Report: {result.report_path}"
        # On the stream's clock (the newest joined event it learned from), so dashboards
        # mark the promotion on the same axis as the readings; else the wall clock.
        at = result.report.get("data", {}).get("live_to")
        self._alert(result.model, f"retrain-{result.status}", SEVERITY[result.status],
                    float(result.version or 0), description, at)  # fmt: skip

    def _alert(self, model: str, rule: str, severity: str, value: float, text: str,
               at: float | None = None) -> None:  # fmt: skip
        now = time.time() if at is None else float(at)
        alert = Alert(
            key=dedup_key(model, rule, "retrain.outcome"), model=model, rule=rule,
            metric="retrain.outcome", state="firing", severity=severity, value=value,
            op="==", threshold=value, first_event_time=now, event_time=now, description=text,
        )  # fmt: skip
        self.dispatcher.dispatch([alert])

    # -- live trials ------------------------------------------------------------------

    def check_trials(self, now: float | None = None) -> list[Verdict]:
        """Judge every running trial on the joined rows so far; act on a decision. A
        check that fails leaves the champion serving and the trial open, and says so in
        an alert (once per distinct error)."""
        verdicts = []
        for model in self.models():
            try:
                verdict = self._check_trial(model, now)
            except Exception as exc:
                self._trial_failed(model, exc)
                continue
            self._trial_errors.pop(model, None)
            if verdict is not None:
                verdicts.append(verdict)
        return verdicts

    def _trial_failed(self, model: str, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        log.exception("checking the live trial of %s failed", model)
        if self._trial_errors.get(model) != message:
            self._trial_errors[model] = message
            self._alert(model, "retrain-failed", "critical", 0.0,
                        f"Checking the live trial failed: {message}. The champion keeps "
                        f"serving; the trial stays open and is checked again every "
                        f"{TRIAL_CHECK_EVERY} s.")  # fmt: skip

    def _check_trial(self, model: str, now: float | None) -> Verdict | None:
        if self.registry.trial(model) is None:
            return None
        with self.queue.lock(model) as lease:
            record = self.registry.trial(model)  # again: under the lock
            if lease is None or record is None:
                return None
            if self.registry.champion(model) != record["champion"]:  # moved by hand
                closed = {**record, "status": "cancelled", "closed_at": time.time(),
                          "why": "the champion was changed by hand"}  # fmt: skip
                self.registry.set_trial(model, closed)
                self.announce(trial_event("challenger_ended", model, closed))
                self._alert(model, "retrain-cancelled", "info", float(record["version"]),
                            f"The live trial of version {record['version']} ended: the "
                            f"champion was changed by hand (to "
                            f"{self.registry.champion(model)}).")  # fmt: skip
                return None
            rows = self._trial_rows(model, record.get("since"))
            verdict = judge_trial(self.config.models[model], record, rows, now)
            if verdict.decision == "continue":
                self.registry.set_trial(model, {**record, "last": msgspec.to_builtins(verdict)})
                return verdict
            if lease.token is not None:
                self.registry.claim(model, lease.token)
            newest = max((r["t"] for r in rows), default=None)  # the stream's clock
            with self.registry.fenced(model, lease.token):
                self._conclude(model, record, verdict, newest)
            return verdict

    def _trial_rows(self, model: str, since: float | None) -> list[dict[str, Any]]:
        """The joined rows back to the trial's start (``since``): read newest first in
        growing chunks, not the store's whole history every 30 s."""
        limit = TRIAL_ROWS_FIRST
        while True:
            rows = self.store.labeled_rows(model, limit)
            if (len(rows) < limit or limit >= LABELED_LIMIT or since is None
                    or rows[0]["t"] <= since):  # fmt: skip
                return rows
            limit = min(limit * 4, LABELED_LIMIT)

    def _conclude(self, model: str, record: dict[str, Any], verdict: Verdict,
                  at: float | None) -> None:  # fmt: skip
        """Promote or drop the challenger, close the trial, tell apps and people (the
        same outcome alerts as a run's: "retrain-promoted", "retrain-rejected")."""
        version, champion = record["version"], record["champion"]
        promote = verdict.decision == "promote"
        if promote:
            self.registry.promote(model, version)
        status = "promoted" if promote else "rejected"
        closed = {**record, "status": status, "closed_at": time.time(), "why": verdict.why,
                  "last": msgspec.to_builtins(verdict)}  # fmt: skip
        self.registry.set_trial(model, closed)
        self.registry.record_run(model, {
            "run_id": record["run_id"], "status": status, "version": version,
            "stage": f"live {record['mode']}", "finished_at": closed["closed_at"],
            "seconds": round(closed["closed_at"] - record["started_at"], 3),
            "champion_before": champion, "champion_after": self.registry.champion(model),
        })  # fmt: skip
        if promote:
            reason = f"live {record['mode']} trial"
            self.announce(promotion_event(self.registry, model, version, champion, reason,
                                          run_id=record["run_id"]))  # fmt: skip
            text = (
                f"Version {version} won its live {record['mode']} trial and is the new "
                f"champion (was {champion}): {verdict.why}."
            )
        else:
            self.announce(trial_event("challenger_ended", model, closed))
            text = (
                f"Version {version} lost its live {record['mode']} trial; version "
                f"{champion} stays champion: {verdict.why}."
            )
        self._alert(model, f"retrain-{status}", SEVERITY[status], float(version), text, at)

    # -- rollback ---------------------------------------------------------------------

    def check_rollbacks(self) -> list[str]:
        rolled = []
        for model in self.models():
            spec = self.config.models[model].retrain
            aliases = self.registry.aliases(model)
            champion, previous = aliases.get("champion"), aliases.get("previous")
            if champion is None or previous is None:
                continue
            rows = [r for r in self.store.labeled_rows(model, 8 * spec.rollback.window)  # type: ignore[union-attr]
                    if not r.get("s")]  # fmt: skip
            new = _accuracy([r for r in rows if r.get("v") == str(champion)],
                            spec.rollback.window)  # type: ignore[union-attr]  # fmt: skip
            old = _accuracy([r for r in rows if r.get("v") == str(previous)],
                            spec.rollback.window)  # type: ignore[union-attr]  # fmt: skip
            if new is None or old is None or new >= old - spec.rollback.margin:  # type: ignore[union-attr]
                continue
            self.registry.rollback(model)
            rolled.append(model)
            self.announce(promotion_event(self.registry, model, previous, champion, "rollback"))
            self._alert(model, "retrain-rollback", "critical", float(previous),
                        f"Version {champion} ran at accuracy {new:.3f} live, below version "
                        f"{previous}'s {old:.3f}: rolled back to {previous}.")  # fmt: skip
        return rolled

    # -- the scheduler ----------------------------------------------------------------

    def schedule(self, scheduler: Any) -> None:
        from apscheduler.triggers.cron import CronTrigger

        scheduler.add_job(self._safe(self.run_pending), "interval", seconds=2,
                          id="requests", max_instances=1, coalesce=True)  # fmt: skip
        scheduler.add_job(self._safe(self.check_rollbacks), "interval", seconds=30,
                          id="rollbacks", max_instances=1, coalesce=True)  # fmt: skip
        scheduler.add_job(self._safe(self.check_trials), "interval", seconds=TRIAL_CHECK_EVERY,
                          id="trials", max_instances=1, coalesce=True)  # fmt: skip
        for model in self.models():
            cron = self.config.models[model].retrain.schedule  # type: ignore[union-attr]
            if cron:
                scheduler.add_job(self.queue.put, CronTrigger.from_crontab(cron),
                                  args=[model, f"schedule {cron}"], id=f"cron-{model}")  # fmt: skip

    @staticmethod
    def _safe(job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except Exception:  # a job must not kill the scheduler
                log.exception("retraining job %s failed", job.__name__)

        return run


def _accuracy(rows: list[dict], window: int) -> float | None:
    recent = rows[-window:]
    if len(recent) < window:
        return None
    from driftd.values import category_text

    hits = [category_text(r["y"]) == category_text(r.get("p")) for r in recent]
    return float(np.mean(hits))
