"""The dashboard: server-rendered HTML with charts drawn by uPlot (vendored in static/).

``/`` is the overview of every model (sortable; each model's rules, how many fire and
which, its headline numbers), then every firing alert with why. ``/models/<id>``
shows the firing alerts with their evidence and segments, the charts (performance;
per sensitive attribute the selection rate, the selection ratio and TPR/FPR per
group, i.e. what each fairness rule watches; per feature the statistic its drift
rule judges and its distribution, reference vs now), each with its rules' threshold
lines, the alert episodes shaded and promotions marked (charts.py); then the alert
timeline and the registry. ``?at=T`` (the link in every alert) marks that time. The
page carries its data as JSON, so it needs no API call and no network beyond this
server (no CDN).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from driftd.daemon.web.charts import feature_charts, model_charts
from driftd.daemon.web.state_view import StateView
from driftd.detectors import readings as names
from driftd.detectors.evidence import logged_evidence, why
from driftd.events import format_timestamp

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {
    "uPlot.iife.min.js": "application/javascript",
    "uPlot.min.css": "text/css",
    "dashboard.js": "application/javascript",
}
e = html.escape
STYLE = (
    "body{font-family:Arial,Helvetica,sans-serif;margin:20px;color:#1d2939;max-width:1500px}"
    "table{border-collapse:collapse;margin:8px 0 20px}td,th{padding:4px 10px;"
    "border-bottom:1px solid #eaecf0;text-align:left;vertical-align:top}"
    "th{color:#667085;font-weight:normal}th[data-sort]{cursor:pointer}"
    "th[data-sort]:after{content:' \\2195';color:#d0d5dd}td.num{text-align:right}"
    ".chart{display:inline-block;margin:0 16px 16px 0;vertical-align:top}"
    ".chart h3{font-size:14px;margin:4px 0}.firing{color:#b42318}.resolved{color:#067647}"
    ".ok{color:#067647}a{color:#1f4e9c}.why{color:#475467;font-size:13px}"
    ".evidence{background:#fef3f2;border-left:3px solid #b42318;padding:6px 12px;"
    "margin:6px 0 14px}.evidence li{margin:2px 0}.feature{display:inline-block;"
    "margin:0 18px 18px 0;vertical-align:top}.empty{color:#98a2b3}"
)


def _page(title: str, body: str, data: dict[str, Any] | None = None) -> bytes:
    # Inside <script> no "<" may survive ("</script>", or "<!--" then "<script" which
    # would swallow the closing tag): JSON's \u003c reads back as the same string.
    payload = (json.dumps(data or {}).replace("<", "\\u003c").replace(">", "\\u003e")
               .replace("&", "\\u0026"))  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(title)} - driftd</title>"
        f"<link rel='stylesheet' href='/static/uPlot.min.css'><style>{STYLE}</style>"
        f"</head><body><p><a href='/'>driftd</a> · all models</p>{body}"
        f"<script id='data' type='application/json'>{payload}</script>"
        "<script src='/static/uPlot.iife.min.js'></script>"
        "<script src='/static/dashboard.js'></script></body></html>"
    ).encode()


def _table(headers: list[str], rows: list[list[str]], sortable: bool = False,
           empty: str = "None.") -> str:  # fmt: skip
    if not rows:
        return f"<p class='empty'>{e(empty)}</p>"
    attr = " data-sort" if sortable else ""
    head = "".join(f"<th{attr}>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{' class=sortable' if sortable else ''}><tr>{head}</tr>{body}</table>"


def _num(value: Any) -> str:
    """Plain decimals people read at 3 a.m.: no scientific notation above 1e-4."""
    if value is None:
        return "-"
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e-4:
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def _cell(value: Any) -> str:
    """A number cell that sorts by value (data-value) and reads as ``_num``."""
    sort = "" if value is None else f" data-value='{float(value)!r}'"
    return f"<span{sort}>{_num(value)}</span>"


def _sparkline(points: list[list[Any]], width: int = 120, height: int = 28) -> str:
    """A metric's recent history as an inline SVG line (the overview's trend column)."""
    values = [(t, v) for t, v in points if v is not None]
    if len(values) < 2:
        return "<span class='empty'>-</span>"
    t0, t1 = values[0][0], values[-1][0]
    low = min(v for _, v in values)
    high = max(v for _, v in values)
    span_t, span_v = (t1 - t0) or 1.0, (high - low) or 1.0
    coords = " ".join(f"{(t - t0) / span_t * (width - 2) + 1:.1f},"
                      f"{height - 1 - (v - low) / span_v * (height - 2):.1f}"
                      for t, v in values)  # fmt: skip
    return (f"<svg class='spark' width='{width}' height='{height}' role='img' "
            f"aria-label='trend from {low:.3g} to {high:.3g}'><polyline fill='none' "
            f"stroke='#1f4e9c' stroke-width='1.2' points='{coords}'/></svg>")  # fmt: skip


def index(view: StateView) -> bytes:
    alerts = view.alerts()
    firing = alerts["firing"]
    rows = []
    for model in view.models():
        m = model["metrics"]
        model_id = model["model"]
        fires = [a for a in firing if a["model"] == model_id]
        rules = view.rules(model_id)
        status = (f"<span class='firing'>{len(fires)} firing</span>: "
                  + e(", ".join(sorted({a["rule"] for a in fires})))
                  if fires else "<span class='ok'>all clear</span>")  # fmt: skip
        headline = "mae" if model["task"] == "regression" else "accuracy"
        performance = m.get(headline)
        trend = _sparkline(view.history(model_id, headline, 120))
        rows.append([
            f"<a href='/models/{e(model_id)}'>{e(model_id)}</a>", e(model["task"]),
            _cell(m.get(names.event_count("predictions"))),
            _cell(m.get(names.event_count("labels"))), _cell(performance), trend,
            _cell(m.get(names.estimated("accuracy"))),
            f"<span data-value='{len(fires)}'>{status}</span>",
            f"<span data-value='{len(rules)}'>{len(rules)}</span>",
            e("-" if model["event_time"] is None else format_timestamp(model["event_time"])),
            e(str(model["champion"] or "-")),
        ])  # fmt: skip
    body = (
        "<h1>Models</h1><p class='why'>Click a column to sort. Status: the rules firing now "
        "(each model's rules include the defaults its detectors propose).</p>"
        + _table(["model", "task", "predictions", "labels", "accuracy / MAE", "trend",
                  "estimated accuracy", "status", "rules", "last event", "champion"], rows,
                 sortable=True, empty="No models.")
        + "<h2>Firing alerts</h2>" + _firing_table(firing, empty="No alert is firing.")
    )
    return _page("models", body)


def _firing_table(firing: list[dict[str, Any]], empty: str) -> str:
    """Firing alerts, the current value first: the value at firing goes stale."""
    rows = [
        [f"<a href='/models/{e(a['model'])}'>{e(a['model'])}</a>", e(a["rule"]),
         e(a["metric"]), _num(a["current"]), _num(a["at_firing"]), _num(a["worst"]),
         e(f"{a['op']} {a['threshold']:g}"), e(a["severity"]),
         e(format_timestamp(a["first_event_time"])), f"<span class='why'>{e(why(a))}</span>"]
        for a in firing
    ]  # fmt: skip
    return _table(["model", "rule", "metric", "now", "at firing", "worst", "threshold",
                   "severity", "since", "why"], rows, empty=empty)  # fmt: skip


def _evidence_block(alert: dict[str, Any]) -> str:
    evidence = logged_evidence(alert)
    lines = [] if evidence is None else evidence.lines()
    rows = [] if evidence is None else [
        [e(f"{s.dimension}={s.value}"), e(s.measure), _num(s.now), _num(s.reference),
         f"{s.share:.0%}", _num(s.count), f"{s.p_value:.2g}"]
        for s in evidence.segments
    ]  # fmt: skip
    segments = "" if not rows else _table(
        ["segment", "measure", "now", "reference", "share of traffic", "events", "p (Holm)"],
        rows)
    items = "".join(f"<li>{e(line)}</li>" for line in lines) or "<li>No evidence recorded.</li>"
    return (f"<div class='evidence'><b>{e(alert['rule'])}</b> on {e(alert['metric'])}: "
            f"{_num(alert['current'])} now ({_num(alert['at_firing'])} at firing, worst "
            f"{_num(alert['worst'])}; threshold {e(alert['op'])} {alert['threshold']:g})"
            f"<ul>{items}</ul>{segments}</div>")  # fmt: skip


def _rules_table(view: StateView, model_id: str, firing: list[dict[str, Any]],
                 metrics: dict[str, Any]) -> str:  # fmt: skip
    """Every rule of the model and its status now: firing (on which metrics) or clear,
    with the current value when the rule watches one reading."""
    rows = []
    for rule in sorted(view.rules(model_id), key=lambda r: r.name):
        fires = [a for a in firing if a["rule"] == rule.name]
        status = (f"<span class='firing'>firing</span> ({e(', '.join(a['metric'] for a in fires))})"
                  if fires else "<span class='ok'>clear</span>")  # fmt: skip
        now = _num(metrics.get(rule.metric)) if rule.metric in metrics else ""
        about = f"<span class='why'>{e(rule.description)}</span>"
        rows.append([e(rule.name), e(rule.metric), now, e(f"{rule.op} {rule.threshold:g}"),
                     e(rule.severity), status, about])  # fmt: skip
    return _table(["rule", "metric", "now", "threshold", "severity", "status", "about"], rows,
                  sortable=True, empty="No rules.")  # fmt: skip


def _bars(distribution: Any) -> str:
    """Reference vs now per bin or category, as an inline SVG (server-drawn)."""
    if distribution is None:
        return "<p class='empty'>No window yet.</p>"
    labels, reference, current = distribution
    width, bar, gap, height = 420, 8, 6, 110
    step = 2 * bar + gap
    top = max([*reference, *current, 1e-9])
    parts = [f"<svg class='bars' width='{max(width, step * len(labels) + 20)}' "
             f"height='{height + 60}' role='img' "
             "aria-label='reference and current shares'>"]  # fmt: skip
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current, strict=True)):
        x = 10 + i * step
        for offset, share, color, kind in ((0, ref, "#98a2b3", "reference"),
                                           (bar, cur, "#1f4e9c", "now")):  # fmt: skip
            h = share / top * height
            parts.append(f"<rect x='{x + offset}' y='{height - h:.1f}' width='{bar}' "
                         f"height='{h:.1f}' fill='{color}'><title>{e(label)}, {kind}: "
                         f"{share:.1%}</title></rect>")  # fmt: skip
        parts.append(f"<text x='{x}' y='{height + 12}' font-size='9' transform='rotate(40 {x} "
                     f"{height + 12})'>{e(label[:14])}</text>")  # fmt: skip
    parts.append("</svg><div class='why'><span style='color:#98a2b3'>&#9632;</span> reference "
                 "<span style='color:#1f4e9c'>&#9632;</span> now (the drift window)</div>")
    return "".join(parts)


def model_page(view: StateView, model_id: str, at: float | None = None) -> bytes:
    model = view.model(model_id)
    assert model is not None
    metrics = model["metrics"]
    shown_alerts = view.alerts()
    log = [a for a in shown_alerts["recent"] if a["model"] == model_id]
    firing = [a for a in shown_alerts["firing"] if a["model"] == model_id]
    charts = model_charts(view, model_id, log)
    features = feature_charts(view, model_id, log)
    all_charts = charts + [c for c, _ in features]
    timeline = [
        [f"<span class='{e(a['state'])}'>{e(a['state'])}</span>", e(a["rule"]), e(a["metric"]),
         _num(a["value"]), e(f"{a['op']} {a['threshold']:g}"), e(a["severity"]),
         e(format_timestamp(a["event_time"]))]
        for a in log[:100]
    ]  # fmt: skip
    registry = view.versions(model_id)
    aliases = registry["aliases"]
    versions = [
        [str(v["version"]), e(", ".join(k for k, n in aliases.items() if n == v["version"])),
         e(format_timestamp(v["registered_at"])),
         _num(v.get("metrics", {}).get("holdout")), e(v["sha256"][:12])]
        for v in registry["versions"]
    ]  # fmt: skip
    shown = ("accuracy", names.estimated("accuracy"), "roc_auc", "mae",
             names.event_count("predictions"), names.event_count("labels"),
             names.join("waiting_predictions"))  # fmt: skip
    headline = [[e(k), _num(metrics.get(k))] for k in shown if k in metrics]
    when = "" if at is None else (f"<p class='why'>Marked on every chart: "
                                  f"{e(format_timestamp(at))} (the alert's time).</p>")
    body = (
        f"<h1>{e(model_id)}</h1>{when}"
        + _table(["metric", "now"], headline, empty="No readings yet.")
        + "<h2>Firing alerts, with their evidence</h2>"
        + ("".join(_evidence_block(a) for a in firing)
           or "<p class='ok'>No alert is firing.</p>")
        + "<h2>Performance and fairness</h2>"
        + "".join(f"<div class='chart' id='{e(c['id'])}'><h3>{e(c['title'])}</h3></div>"
                  for c in charts)
        + "<h2>Features: the drift statistic its rule judges, and reference vs now</h2>"
        + "".join(f"<div class='feature'><div class='chart' id='{e(c['id'])}'><h3>"
                  f"{e(c['title'])}</h3></div>{_bars(d)}</div>" for c, d in features)
        + "<h2>Rules</h2>" + _rules_table(view, model_id, firing, metrics)
        + "<h2>Alert timeline</h2>"
        + _table(["state", "rule", "metric", "value then", "threshold", "severity",
                  "event time"], timeline, empty="No alerts yet.")
        + "<h2>Registry</h2>"
        + _table(["version", "aliases", "registered", "holdout", "sha256"], versions,
                 empty="No registered versions.")
    )  # fmt: skip
    return _page(model_id, body, {"charts": all_charts, "at": at})


def static_file(name: str) -> tuple[bytes, str] | None:
    if name not in STATIC_FILES:
        return None
    return (STATIC / name).read_bytes(), STATIC_FILES[name]
