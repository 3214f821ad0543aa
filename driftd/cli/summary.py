"""What a run found: counts, alerts and final metrics, as JSON or as tables.

Retraining outcomes (``retrain.outcome``) are announcements, not conditions: they are
listed as what happened ("promoted version 2"), never as a firing alert.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from driftd.alerts.model import Alert
from driftd.alerts.standing import standing
from driftd.daemon.pipeline import Pipeline
from driftd.detectors import readings as names
from driftd.events import format_timestamp

HEADLINE = (
    "accuracy", "f1", "roc_auc", "log_loss", "mae", "rmse", "r2",
    names.estimated("accuracy"), names.concept("detections"), names.join("matched"),
    names.join("waiting_predictions"), names.join("orphans"), names.quality("missing_rate"),
)  # fmt: skip


def alert_summaries(alerts: list[Alert]) -> list[dict[str, Any]]:
    """One entry per alert (dedup key): its latest state, first breach and latest value."""
    latest: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        entry = latest.get(alert.key)
        if entry is None or (alert.state == "firing" and entry["state"] == "resolved"):
            first = alert.first_event_time if entry is None else entry["first_event_time_epoch"]
            entry = latest[alert.key] = {
                "key": alert.key,
                "model": alert.model,
                "rule": alert.rule,
                "metric": alert.metric,
                "severity": alert.severity,
                "op": alert.op,
                "threshold": alert.threshold,
                "first_event_time_epoch": first,
                "first_event_time": format_timestamp(first),
                "notifications": 0,
            }
        if alert.state == "firing" and not alert.escalation:
            entry["at_firing"] = alert.value
        if alert.state == "firing":
            entry["why"] = alert.evidence.headline() if alert.evidence is not None else ""
            entry["description"] = alert.description
        entry["state"] = alert.state
        entry["severity"] = alert.severity  # escalated while it worsened
        entry["value"] = alert.value
        entry["notifications"] += 1
    return sorted(latest.values(), key=lambda e: e["first_event_time_epoch"])


def summarize(pipeline: Pipeline) -> dict[str, Any]:
    metrics = {}
    for model_id in sorted(pipeline.models()):
        latest = pipeline.store.latest_readings(model_id)
        metrics[model_id] = latest[1] if latest else {}
    alerts = alert_summaries(pipeline.dispatcher.sent)
    for entry in alerts:  # the current value first: the value at firing goes stale
        now = standing(
            entry["op"], entry.get("at_firing", entry["value"]), entry["first_event_time_epoch"],
            pipeline.store.history(entry["model"], entry["metric"], 1000),
            metrics.get(entry["model"], {}).get(entry["metric"]),
        )  # fmt: skip
        entry.update(current=now.current, at_firing=now.at_firing, worst=now.worst)
    return {"events": pipeline.event_counts(), "alerts": alerts, "metrics": metrics}


def _counted(items: list[str]) -> str:
    """``a, b, a`` -> ``a (x2), b``: repeated reasons once, with how often."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return ", ".join(f"{item} (x{n})" if n > 1 else item for item, n in counts.items())


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in reasons.items())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def print_summary(summary: dict[str, Any], console: Console) -> None:
    events = summary["events"]
    reasons = events["dead_letter_reasons"]
    console.print(
        f"[bold]{events['processed']:,}[/] messages: {events['predictions']:,} predictions, "
        f"{events['labels']:,} labels, {events['dead_letters']:,} dead letters"
        + (f" ({_reasons(reasons)})" if reasons else "")
    )
    conditions = [a for a in summary["alerts"] if a["metric"] != "retrain.outcome"]
    table = Table(title="Alerts (now first: the value at firing goes stale)", show_lines=False)
    for column in ("model", "metric", "now", "at firing", "worst", "threshold", "state",
                   "since (event time, UTC)"):  # fmt: skip
        table.add_column(column, overflow="fold" if column == "metric" else "ellipsis")
    for alert in conditions:
        style = "red" if alert["state"] == "firing" else "green"
        since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(alert["first_event_time_epoch"]))
        table.add_row(
            alert["model"], alert["metric"],
            *(_fmt(alert[k]) for k in ("current", "at_firing", "worst")),
            f"{alert['op']} {alert['threshold']:g}", f"[{style}]{alert['state']}[/]", since,
        )  # fmt: skip
    console.print(table if conditions else "[green]No alerts.[/]")
    whys = [a for a in conditions if a["state"] == "firing" and a.get("why")]
    if whys:
        console.print("[bold]Why[/] (each firing alert's evidence; all of it in the alert log):")
        for alert in whys:
            console.print(f"  {alert['metric']}: {alert['why']}", soft_wrap=True)
    for outcome in (a for a in summary["alerts"] if a["metric"] == "retrain.outcome"):
        verb = outcome["rule"].removeprefix("retrain-")
        console.print(f"[bold]Retraining {verb}[/] ({outcome['model']}): "
                      f"{outcome.get('description', '')}", soft_wrap=True)  # fmt: skip
    if loop := summary.get("loop"):
        console.print(
            f"[bold]The loop:[/] retraining requested by {_counted(loop['requests'])}; outcome "
            f"[bold]{loop['outcome']}[/]: version {loop['version_before']} -> "
            f"{loop['version_after']}. Accuracy over the last labeled window: "
            f"{_fmt(loop['accuracy_before'])} before, {_fmt(loop['accuracy_after'])} after "
            f"{loop['predictions_after']:,} more predictions. Report: {loop['report']}"
        )
        if trial := loop.get("trial"):
            console.print(
                f"[bold]The shadow phase:[/] version 1 kept answering while the challenger "
                f"scored the same {trial['requests']:,} requests off the request path "
                f"({trial['shadow_predictions']:,.0f} shadow predictions received, "
                f"{trial['shadow_skipped']} skipped); on joined labels it scored "
                f"{_fmt(trial['challenger_accuracy'])} "
                f"against {_fmt(trial['champion_accuracy'])}: {trial['decision']}.",
                soft_wrap=True,
            )  # fmt: skip
    for model_id, readings in summary["metrics"].items():
        table = Table(title=f"Model {model_id}: final window")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name in HEADLINE:
            if name in readings:
                table.add_row(name, _fmt(readings[name]))
        console.print(table)
