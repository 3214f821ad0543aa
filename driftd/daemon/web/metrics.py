"""Prometheus metrics: every reading, alert, champion and retraining run, by family.

Prometheus' naming rules: one unit per metric family, base units (seconds), and
counters (values that only grow) typed as counters with names ending in ``_total``.
Readings are sorted into families by the unit their name declares
(:data:`driftd.detectors.readings.UNITS`):

    driftd_reading{model,metric}                    dimensionless: rates, scores, statistics
    driftd_reading_seconds{model,metric}            durations (the model's silence)
    driftd_reading_timestamp_seconds{model,metric}  event times (a tumbling window's start)
    driftd_reading_target_units{model,metric}       errors in a regression target's unit
    driftd_serving_latency_seconds{model,statistic} latency the apps report (mean, p95)
    driftd_events_total{model,kind}                 predictions and labels counted
    driftd_join_total{model,outcome}                joins matched, expired, orphaned, duplicated
    driftd_detections_total{model,metric}           concept-drift detections, shift alarms

The service adds its consumer's own (:func:`consumer_metrics`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from driftd.consumers.router import Router
from driftd.daemon.driver import Driver
from driftd.daemon.web.state_view import StateView
from driftd.detectors import readings as names

log = logging.getLogger("driftd.http")

Extra = Callable[[], list[Metric]]
_FAMILIES: dict[str, tuple[type, str, str, list[str]]] = {
    # key: (type, name, help, labels)
    "ratio": (GaugeMetricFamily, "driftd_reading", "Every detector's current value "
              "(dimensionless)", ["model", "metric"]),
    "seconds": (GaugeMetricFamily, "driftd_reading_seconds", "Durations detectors report",
                ["model", "metric"]),
    "timestamp": (GaugeMetricFamily, "driftd_reading_timestamp_seconds",
                  "Event times detectors report", ["model", "metric"]),
    "target": (GaugeMetricFamily, "driftd_reading_target_units",
               "Regression errors, in the target's own unit", ["model", "metric"]),
    "latency": (GaugeMetricFamily, "driftd_serving_latency_seconds",
                "Serving latency the apps report", ["model", "statistic"]),
    "events": (CounterMetricFamily, "driftd_events", "Events counted by the model's monitor",
               ["model", "kind"]),
    "join": (CounterMetricFamily, "driftd_join", "Label join outcomes", ["model", "outcome"]),
    "detections": (CounterMetricFamily, "driftd_detections",
                   "Sequential detectors' alarms (concept drift, shift)", ["model", "metric"]),
}  # fmt: skip


SHADOW_LANE = "/shadow"  # the model label of a shadow trial's series: model="credit-risk/shadow"


def reading_sample(model: str, name: str, value: float) -> tuple[str, list[str], float]:
    """(family key, label values, value in the family's unit) of one reading; a shadow
    lane's reading goes to its family as the lane's (``shadow.events.predictions`` is
    ``driftd_events_total{model="M/shadow", kind="predictions"}``)."""
    if name.startswith(names.SHADOW_PREFIX):
        return reading_sample(model + SHADOW_LANE, name.removeprefix(names.SHADOW_PREFIX), value)
    unit = names.unit_of(name)
    if unit == "total":
        head, _, tail = name.partition(".")
        if head == "events":
            return "events", [model, tail], value
        if head == "join":
            return "join", [model, tail], value
        return "detections", [model, name], value
    if unit == "milliseconds":
        return "latency", [model, name.partition(".")[2]], value / 1000.0
    return unit, [model, name], value


class StateCollector:
    """What the store and the registry say, collected at each scrape."""

    def __init__(
        self,
        view: StateView,
        extra: Extra | None = None,
        owned: Callable[[], set[str]] | None = None,
    ):
        """``owned()``: the models whose series this server exports (`driftd run`: those of
        the partitions it owns), so that with several daemons every model's series come
        from exactly one of them and a PromQL ``sum by (model)`` counts each once. None:
        every model (a single server over the store)."""
        self.view = view
        self.extra = extra
        self.owned = owned

    def collect(self) -> Iterator[Metric]:
        families = {key: cls(name, help_, labels=labels)
                    for key, (cls, name, help_, labels) in _FAMILIES.items()}  # fmt: skip
        champion = GaugeMetricFamily(
            "driftd_model_champion_version", "The registry's champion", labels=["model"]
        )
        owned = self.owned() if self.owned is not None else None
        for model in self.view.models():
            if owned is not None and model["model"] not in owned:
                continue
            for name, value in model["metrics"].items():
                if value is not None:
                    key, labels, sample = reading_sample(model["model"], name, value)
                    families[key].add_metric(labels, sample)
            if model["champion"] is not None:
                champion.add_metric([model["model"]], model["champion"])
        firing = GaugeMetricFamily(
            "driftd_alert_firing", "1 while an alert fires",
            labels=["model", "rule", "metric", "severity"],
        )  # fmt: skip
        for alert in self.view.alerts(standing=False)["firing"]:
            if owned is not None and alert["model"] not in owned:
                continue
            firing.add_metric(
                [alert["model"], alert["rule"], alert["metric"], alert["severity"]], 1.0
            )
        yield from (*families.values(), champion, firing, *self._retraining(owned))
        if self.extra is not None:
            yield from self.extra()

    def _retraining(self, owned: set[str] | None) -> list[Metric]:
        """Runs by outcome, and the last run's duration and end time, per model."""
        runs = CounterMetricFamily(
            "driftd_retrain_runs", "Retraining runs by outcome", labels=["model", "outcome"]
        )
        seconds = GaugeMetricFamily(
            "driftd_retrain_last_run_seconds", "Duration of the last run", labels=["model"]
        )
        finished = GaugeMetricFamily(
            "driftd_retrain_last_run_timestamp_seconds", "When the last run ended",
            labels=["model", "outcome"],
        )  # fmt: skip
        for model in self.view.config.models:
            if owned is not None and model not in owned:
                continue
            history = self.view.registry.runs(model)
            if not history:
                continue
            for outcome in ("promoted", "trial", "rejected", "failed"):
                count = sum(1 for run in history if run.get("status") == outcome)
                runs.add_metric([model, outcome], count)
            last = history[-1]
            seconds.add_metric([model], float(last.get("seconds", 0.0)))
            finished.add_metric([model, str(last.get("status"))], float(last["finished_at"]))
        return [runs, seconds, finished]


def consumer_metrics(
    driver: Driver, broker_reachable: Callable[[], bool], router: Router | None = None
) -> Extra:
    """The service's own metrics: records consumed, partitions, dead letters, lag (of the
    monitors and of the router, each on the topics it reads), routing, delivery."""

    def collect() -> list[Metric]:
        consumed = CounterMetricFamily("driftd_records_consumed", "Records polled by this member")
        consumed.add_metric([], driver.records_seen)
        assigned = GaugeMetricFamily("driftd_partitions_assigned", "Partition numbers owned")
        assigned.add_metric([], len(driver.workers))
        dead = CounterMetricFamily("driftd_dead_letters", "Dead letters by reason",
                                   labels=["reason"])  # fmt: skip
        reasons: dict[str, int] = {}
        for worker in list(driver.workers.values()):
            for reason, count in worker.pipeline.dead_letters.counts.items():
                reasons[reason] = reasons.get(reason, 0) + count
        for reason, count in reasons.items():
            dead.add_metric([reason], count)
        lag = GaugeMetricFamily("driftd_consumer_lag", "Messages behind the partition's end",
                                labels=["topic", "partition"])  # fmt: skip
        lags = {**driver.lag, **(router.lag if router is not None else {})}
        for (topic, partition), behind in sorted(lags.items()):
            lag.add_metric([topic, str(partition)], behind)
        reachable = GaugeMetricFamily("driftd_broker_reachable", "1 while the broker answers")
        reachable.add_metric([], float(broker_reachable()))
        out: list[Metric] = [consumed, assigned, dead, lag, reachable]
        if router is not None:
            routed = CounterMetricFamily(
                "driftd_router_events",
                "Events the router forwarded to their model's partition (repeats included)",
            )
            routed.add_metric([], router.routed)
            repeats = CounterMetricFamily(
                "driftd_router_repeats", "Routed events seen before (a router restarted "
                "mid-batch), dropped by origin offset")  # fmt: skip
            repeats.add_metric([], sum(w.repeats for w in list(driver.workers.values())))
            failures = CounterMetricFamily(
                "driftd_router_failures",
                "Times the router lost its clients (a broker away, a refused write) and "
                "resumed from the committed offsets",
            )
            failures.add_metric([], router.failures)
            out += [routed, repeats, failures]
        alerting = driver.dispatcher.alerting
        if alerting is not None:
            delivery = CounterMetricFamily("driftd_notifications", "Notification outcomes",
                                           labels=["receiver", "outcome"])  # fmt: skip
            for (receiver, outcome), count in alerting.worker.counts.items():
                delivery.add_metric([receiver, outcome], count)
            out.append(delivery)
        return out

    return collect


def committed_lag_metrics(read_lag: Callable[[], dict[str, list[tuple[str, int, int, int]]]],
                          max_age: float = 5.0) -> Extra:  # fmt: skip
    """Lag for a server without a consumer of its own (`driftd serve --redis`): each
    consumer group's committed offsets against the partitions' ends, read from Kafka at
    most every ``max_age`` seconds; a failed read exports ``driftd_lag_known 0``."""
    cache: dict[str, Any] = {"at": float("-inf"), "rows": None}

    def collect() -> list[Metric]:
        now = time.monotonic()
        if now - cache["at"] >= max_age:
            cache["at"] = now
            try:
                cache["rows"] = read_lag()
            except Exception as exc:
                log.warning("reading consumer lag from Kafka failed: %s", exc)
                cache["rows"] = None
        rows = cache["rows"]
        known = GaugeMetricFamily("driftd_lag_known", "1 when Kafka answered the lag query")
        known.add_metric([], float(rows is not None))
        lag = GaugeMetricFamily(
            "driftd_consumer_lag",
            "Messages behind the partition's end (committed offsets)",
            labels=["group", "topic", "partition"],
        )
        for group, group_rows in (rows or {}).items():
            for topic, partition, committed, end in group_rows:
                lag.add_metric([group, topic, str(partition)], max(0, end - committed))
        return [known, lag]

    return collect
