"""What each dashboard chart shows: its series, the rules' threshold lines, the alert
episodes to shade and the promotions to mark, all on the stream's (event) time axis.

A chart is a plain dict the page carries as JSON and static/dashboard.js draws with
uPlot: ``{"id", "title", "series": {name: [[t, v], ...]}, "thresholds": [{"value",
"label"}], "episodes": [[start, end or null, label]], "markers": [[t, label]]}``.
Thresholds come from the model's rules whose metric is plotted, so a line is where a
page would fire; episodes from the alert log (firing until resolved, per rule and
metric); promotions from the retraining outcomes, which the worker stamps with the
stream time of the newest event it learned from.
"""

from __future__ import annotations

from typing import Any

from driftd.daemon.web.state_view import StateView
from driftd.detectors import readings as names

Chart = dict[str, Any]


def episodes(alerts: list[dict[str, Any]], metrics: set[str]) -> list[list[Any]]:
    """[start, end or None, rule] per firing episode of an alert on one of ``metrics``,
    from the alert log's transitions (oldest first)."""
    open_: dict[str, list[Any]] = {}
    out: list[list[Any]] = []
    for alert in sorted(alerts, key=lambda a: a["event_time"]):
        if alert["metric"] not in metrics:
            continue
        key = alert["key"]
        if alert["state"] == "firing" and key not in open_:
            open_[key] = [alert["first_event_time"], None, alert["rule"]]
            out.append(open_[key])
        elif alert["state"] == "resolved" and key in open_:
            open_.pop(key)[1] = alert["event_time"]
    return out


def promotions(alerts: list[dict[str, Any]]) -> list[list[Any]]:
    return [[a["event_time"], f"v{a['value']:g} promoted"] for a in alerts
            if a["metric"] == "retrain.outcome" and a["rule"] == "retrain-promoted"]  # fmt: skip


def thresholds(rules: list[Any], metrics: set[str]) -> list[dict[str, Any]]:
    seen = set()
    out = []
    for rule in rules:
        if any(rule.matches(m) for m in metrics) and rule.threshold not in seen:
            seen.add(rule.threshold)
            out.append({"value": rule.threshold, "label": f"{rule.name} {rule.op} "
                                                          f"{rule.threshold:g}"})  # fmt: skip
    return out


def chart(
    view: StateView,
    model_id: str,
    chart_id: str,
    title: str,
    series: dict[str, str],
    log: list[dict[str, Any]],
    rules: list[Any],
    judged: set[str] | None = None,
) -> Chart:
    """``series``: label -> reading name. Threshold lines: the rules on the plotted
    readings (a line on the axis it belongs to). ``judged``: the readings whose alert
    episodes are shaded (default: the plotted ones), e.g. the four-fifths rule's ratio
    over a chart of the groups' selection rates."""
    plotted = set(series.values())
    return {
        "id": chart_id,
        "title": title,
        "series": {label: view.history(model_id, reading) for label, reading in series.items()},
        "thresholds": thresholds(rules, plotted),
        "episodes": episodes(log, plotted | (judged or set())),
        "markers": promotions(log),
    }


def model_charts(view: StateView, model_id: str, log: list[dict[str, Any]]) -> list[Chart]:
    """Performance, then per sensitive attribute what its fairness rules watch."""
    spec = view.config.models[model_id]
    rules = view.rules(model_id)
    latest = view.store.latest_readings(model_id)
    readings = latest[1] if latest else {}
    if spec.task == "regression":
        performance = {"MAE": "mae", "RMSE": "rmse"}
    else:
        performance = {"accuracy": "accuracy",
                       "estimated before labels": names.estimated("accuracy")}
    charts = [chart(view, model_id, "performance", "Performance over the last labeled window",
                    performance, log, rules)]  # fmt: skip
    for attribute in spec.sensitive_attributes:
        groups = names.fairness_groups(readings, attribute)
        ratio = names.fairness(attribute, "demographic_parity_ratio")
        charts.append(chart(
            view, model_id, f"selection-{attribute}",
            f"Selection rate per {attribute} (the four-fifths and parity rules)",
            {g: names.fairness_group(attribute, g, "selection_rate") for g in groups}, log, rules,
            judged={ratio, f"{ratio}_upper", f"{ratio}_lower",
                    *(names.selection_test(attribute, g, "alarm") for g in groups)},
        ))  # fmt: skip
        charts.append(chart(
            view, model_id, f"parity-{attribute}", f"Selection ratio, {attribute} (worst/best)",
            {"ratio": ratio, "upper bound": f"{ratio}_upper"}, log, rules,
            judged={ratio, f"{ratio}_upper"},
        ))  # fmt: skip
        odds = names.fairness(attribute, "equalized_odds_difference")
        for rate, title in (("tpr", "True positive rate"), ("fpr", "False positive rate")):
            charts.append(chart(
                view, model_id, f"{rate}-{attribute}",
                f"{title} per {attribute} (equalized odds)",
                {g: names.fairness_group(attribute, g, rate) for g in groups}, log, rules,
                judged={odds, f"{odds}_lower"},
            ))  # fmt: skip
    return charts


def feature_charts(view: StateView, model_id: str, log: list[dict[str, Any]]
                   ) -> list[tuple[Chart, Any]]:  # fmt: skip
    """Per feature: the statistic its drift rule judges over time, and its distribution."""
    rules = view.rules(model_id)
    out = []
    for feature in view.feature_views(model_id):
        reading = feature["reading"]
        prefix = names.feature_drift_prefix(feature["feature"])
        judged = {reading, *(n for n in (f"{prefix}.shift", f"{prefix}.scale",
                                          f"{prefix}.unseen_rate.alarm"))}  # fmt: skip
        out.append((chart(view, model_id, f"feature-{feature['feature']}",
                          f"{feature['feature']}: {reading.rsplit('.', 1)[1]} vs the reference",
                          {reading.rsplit(".", 1)[1]: reading}, log, rules, judged),
                    feature["distribution"]))  # fmt: skip
    return out
