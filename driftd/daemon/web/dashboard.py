"""The dashboard: server-rendered HTML with charts drawn by uPlot (vendored in static/).

``/`` lists the models with their headline numbers and firing alerts; ``/models/<id>``
charts, over event time, accuracy realised and estimated (before labels), drift per
feature (Jensen-Shannon distance), accuracy per sensitive group, and lists the alert
timeline and the registry's versions. The page carries its data as JSON, so it needs
no API call and no network beyond this server (no CDN).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from driftd.daemon.web.state_view import StateView
from driftd.detectors import readings as names
from driftd.events import format_timestamp

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "uPlot.iife.min.js": "application/javascript",
    "uPlot.min.css": "text/css",
    "dashboard.js": "application/javascript",
}
e = html.escape


def _page(title: str, body: str, data: dict[str, Any] | None = None) -> bytes:
    # Inside <script> no "<" may survive ("</script>", or "<!--" then "<script" which
    # would swallow the closing tag): JSON's \u003c reads back as the same string.
    payload = (json.dumps(data or {}).replace("<", "\\u003c").replace(">", "\\u003e")
               .replace("&", "\\u0026"))  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(title)} - driftd</title>"
        "<link rel='stylesheet' href='/static/uPlot.min.css'>"
        "<style>body{font-family:Arial,Helvetica,sans-serif;margin:20px;color:#1d2939}"
        "table{border-collapse:collapse;margin:8px 0 20px}td,th{padding:3px 10px;"
        "border-bottom:1px solid #eaecf0;text-align:left}th{color:#667085;font-weight:normal}"
        ".chart{display:inline-block;margin:0 16px 16px 0;vertical-align:top}"
        ".firing{color:#b42318}.resolved{color:#067647}a{color:#1f4e9c}</style>"
        f"</head><body><p><a href='/'>driftd</a></p>{body}"
        f"<script id='data' type='application/json'>{payload}</script>"
        "<script src='/static/uPlot.iife.min.js'></script>"
        "<script src='/static/dashboard.js'></script></body></html>"
    ).encode()


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def index(view: StateView) -> bytes:
    rows = []
    for model in view.models():
        m = model["metrics"]
        rows.append([
            f"<a href='/models/{e(model['model'])}'>{e(model['model'])}</a>", e(model["task"]),
            _num(m.get(names.event_count("predictions"))), _num(m.get("accuracy")),
            _num(m.get(names.estimated("accuracy"))), e(str(model["champion"] or "-")),
        ])  # fmt: skip
    body = (
        "<h1>Models</h1>"
        + _table(
            ["model", "task", "predictions", "accuracy", "estimated accuracy", "champion"], rows
        )
        + "<h2>Firing alerts</h2>"
        + _firing_table(view.alerts()["firing"])
    )
    return _page("models", body)


def _firing_table(firing: list[dict[str, Any]]) -> str:
    """Firing alerts, the current value first: the value at firing goes stale."""
    if not firing:
        return "<p class='resolved'>None.</p>"
    rows = [
        [e(a["model"]), e(a["metric"]), _num(a["current"]), _num(a["at_firing"]),
         _num(a["worst"]), e(f"{a['op']} {a['threshold']:g}"), e(a["severity"]),
         e(format_timestamp(a["first_event_time"]))]
        for a in firing
    ]  # fmt: skip
    return _table(["model", "metric", "now", "at firing", "worst", "threshold", "severity",
                   "since"], rows)  # fmt: skip


def model_page(view: StateView, model_id: str) -> bytes:
    model = view.model(model_id)
    assert model is not None
    metrics = model["metrics"]
    spec = view.config.models[model_id]
    charts: list[dict[str, Any]] = [
        {"id": "accuracy", "title": "Accuracy: realised, and estimated before labels",
         "series": {name: view.history(model_id, name)
                    for name in ("accuracy", names.estimated("accuracy"))}},
        {"id": "drift", "title": "Drift per feature (Jensen-Shannon distance)",
         "series": {name: view.history(model_id, names.column_drift(
                        names.feature_drift_prefix(name), "jensenshannon"))
                    for name in spec.features}},
    ]  # fmt: skip
    for attribute in spec.sensitive_attributes:
        charts.append({
            "id": f"fairness-{attribute}", "title": f"Accuracy per {attribute} group",
            "series": {g: view.history(model_id, names.fairness_group(attribute, g, "accuracy"))
                       for g in names.fairness_groups(metrics, attribute)},
        })  # fmt: skip
    shown_alerts = view.alerts()
    firing = [a for a in shown_alerts["firing"] if a["model"] == model_id]
    alerts = [a for a in shown_alerts["recent"] if a["model"] == model_id][:100]
    timeline = [
        [f"<span class='{e(a['state'])}'>{e(a['state'])}</span>", e(a["metric"]),
         _num(a["value"]), e(f"{a['op']} {a['threshold']:g}"), e(a["severity"]),
         e(format_timestamp(a["event_time"]))]
        for a in alerts
    ]  # fmt: skip
    registry = view.versions(model_id)
    aliases = registry["aliases"]
    versions = [
        [str(v["version"]), e(", ".join(k for k, n in aliases.items() if n == v["version"])),
         e(format_timestamp(v["registered_at"])),
         _num(v.get("metrics", {}).get("holdout")), e(v["sha256"][:12])]
        for v in registry["versions"]
    ]  # fmt: skip
    shown = ("accuracy", names.estimated("accuracy"), "roc_auc", names.event_count("predictions"),
             names.event_count("labels"), names.join("waiting_predictions"))  # fmt: skip
    headline = [[e(k), _num(metrics.get(k))] for k in shown if k in metrics]
    body = (
        f"<h1>{e(model_id)}</h1>"
        + _table(["metric", "now"], headline)
        + "".join(
            f"<div class='chart' id='{c['id']}'><h3>{e(c['title'])}</h3></div>" for c in charts
        )
        + "<h2>Firing alerts</h2>"
        + _firing_table(firing)
        + "<h2>Alert timeline</h2>"
        + _table(["state", "metric", "value then", "threshold", "severity", "event time"],
                 timeline)
        + "<h2>Registry</h2>"
        + _table(["version", "aliases", "registered", "holdout", "sha256"], versions)
    )
    return _page(model_id, body, {"charts": charts})


def static_file(name: str) -> tuple[bytes, str] | None:
    if name not in STATIC_FILES:
        return None
    return (STATIC / name).read_bytes(), STATIC_FILES[name]
