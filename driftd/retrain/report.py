"""The report of a retraining run, as JSON (everything) and HTML (for people).

HTML: the outcome and why, the data window and sampling policy, the search (every
candidate's score, and a chart of them), champion vs challenger on the holdout
with the bootstrap interval, group gaps for fairness, each gate's verdict, and the
environment (seed, library and code versions) that makes the run reproducible.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from pathlib import Path
from typing import Any


def _search_chart(candidates: list[dict]) -> str | None:
    scores = [c["score"] for c in candidates if c.get("score") == c.get("score")]
    if len(scores) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 2.2), dpi=100)
    axes = figure.subplots()
    axes.plot(range(1, len(scores) + 1), scores, "o", color="#1f4e9c", markersize=4)
    axes.set_xlabel("candidate", fontsize=8)
    axes.set_ylabel("validation score", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _table(rows: list[tuple[str, Any]]) -> str:
    e = html.escape
    cells = "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    status = report.get("status", "?")
    color = {"promoted": "#067647", "trial": "#175cd3", "rejected": "#b54708"}.get(status,
                                                                                 "#b42318")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>driftd retraining "
        f"{e(report.get('run_id', ''))}</title><style>body{{font-family:Arial,sans-serif;"
        "max-width:900px;margin:24px;color:#1d2939}th{text-align:left;padding-right:16px;"
        "color:#667085;font-weight:normal}td,th{padding:2px 8px}</style></head><body>",
        f"<h1 style='color:{color}'>{e(report.get('model', ''))}: {e(status)}</h1>",
        _table(
            [
                ("run", report.get("run_id")),
                ("reasons", "; ".join(r.get("reason", "") for r in report.get("reasons", []))),
                ("champion before", report.get("champion_before")),
                ("challenger version", report.get("version")),
                ("champion after", report.get("champion_after")),
                ("seconds", f"{report.get('seconds', 0):.1f}"),
            ]
        ),
    ]
    if report.get("error"):
        parts.append(f"<h2>Error</h2><pre>{e(report['error'])}</pre>")
    if trial := report.get("trial"):
        deadline = time.strftime("%Y-%m-%d %H:%M", time.gmtime(trial["deadline_at"]))
        parts.append("<h2>Live trial</h2><p>Passed the offline gates; the champion keeps "
                     "serving while the live trial decides (docs/retraining.md).</p>" + _table([
            ("mode", trial["mode"]), ("share", trial["share"]),
            ("min events per arm", trial["min_events"]), ("confidence", trial["confidence"]),
            ("deadline (UTC)", deadline),
        ]))  # fmt: skip
    if "data" in report:
        parts.append("<h2>Data</h2>" + _table(list(report["data"].items())))
    if "search" in report:
        search = report["search"]
        parts.append("<h2>Search</h2>" + _table([
            ("method", search["method"]), ("scoring", search["scoring"]),
            ("candidates", len(search["candidates"])), ("best", search["best_params"]),
            ("folds (time-ordered)", search["folds"]), ("n_jobs", search["n_jobs"]),
            ("seconds", f"{search['seconds']:.1f}")]))  # fmt: skip
        if chart := _search_chart(search["candidates"]):
            parts.append(f"<img alt='candidate scores' src='data:image/png;base64,{chart}'>")
    if "gates" in report:
        gates = report["gates"]
        parts.append(
            f"<h2>Gates: {'passed' if gates['passed'] else 'not passed'}</h2>"
            + _table([("metric", gates["metric"]),
                      ("challenger (holdout)", gates["challenger"]["holdout"]),
                      ("champion (holdout)", gates.get("champion", {}).get("holdout"))])
            + _table([(name, ("PASS " if v["passed"] else "FAIL ") + v["why"])
                      for name, v in gates["verdicts"].items()])
        )  # fmt: skip
        fairness = gates["verdicts"].get("fairness", {})
        if "challenger" in fairness:
            before = fairness["champion"]
            rows = [
                (k, f"champion {before.get(k, 0):.4f} -> challenger {v:.4f}")
                for k, v in fairness["challenger"].items()
            ]
            parts.append("<h3>Fairness (gaps between groups)</h3>" + _table(rows))
    parts.append("<h2>Environment</h2>" + _table(list(report.get("environment", {}).items())))
    parts.append(f"<p>seed {e(str(report.get('seed')))}</p></body></html>")
    return "".join(parts)


def write_report(directory: Path, report: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, indent=2, default=str))
    path = directory / "report.html"
    path.write_text(render_html(report))
    return path
