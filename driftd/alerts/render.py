"""How alerts read, for people who have never heard of the metric.

One notification becomes a title, a plain-text body, Slack Block Kit blocks and
an HTML body. Each alert says what was measured, its value against the
threshold, over which window, since when, how severe, what the rule is about,
and its evidence (detectors/evidence.py): when the change started, the interval
and effect, and the segments or features behind it; every alert links to the
dashboard at the time it fired.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from driftd.alerts.model import Alert, Notification
from driftd.events import format_timestamp


def value_text(alert: Alert, notification: Notification | None = None) -> str:
    """The current value first (with the value at firing and the worst since) when the
    notice knows it; a resolved alert's value is the one it resolved at."""
    known = notification.standing.get(alert.key) if notification is not None else None
    value = known.text() if known is not None and alert.state == "firing" else f"{alert.value:.4g}"
    return f"{value} (threshold {alert.op} {alert.threshold:g})"


def state_text(alert: Alert) -> str:
    if alert.state != "firing":
        return "RESOLVED"
    return f"WORSE (x{alert.escalation})" if alert.escalation else "FIRING"


def model_link(notification: Notification, model: str) -> str:
    base = notification.dashboard_url.rstrip("/")
    return f"{base}/models/{quote(model, safe='')}" if base else ""


def alert_link(notification: Notification, alert: Alert) -> str:
    """The model's dashboard page at the time of this transition."""
    link = model_link(notification, alert.model)
    return f"{link}?at={alert.event_time:.0f}" if link else ""


def evidence_lines(alert: Alert) -> list[str]:
    return alert.evidence.lines() if alert.evidence is not None else []


def alert_facts(alert: Alert, notification: Notification) -> list[tuple[str, str]]:
    facts = [
        ("Model", alert.model),
        ("Metric", alert.metric),
        ("Value", value_text(alert, notification)),
        ("Severity", alert.severity),
        ("Since", format_timestamp(alert.first_event_time)),
    ]
    if alert.window:
        facts.insert(3, ("Window", alert.window))
    return facts


def drift_line(notification: Notification, model: str) -> str:
    moved = notification.top_drift.get(model)
    if not moved:
        return ""
    return "Features that moved most (Jensen-Shannon distance): " + ", ".join(
        f"{feature} {value:.3f}" for feature, value in moved
    )


def text_body(notification: Notification) -> str:
    lines = [notification.title(), ""]
    for alert in notification.alerts:
        value = value_text(alert, notification)
        lines.append(f"{state_text(alert)} {alert.rule}: {alert.metric} = {value}")
        lines += [f"  {label}: {value}" for label, value in alert_facts(alert, notification)[3:]]
        if alert.description:
            lines.append(f"  {alert.description}")
        lines += [f"  {line}" for line in evidence_lines(alert)]
        if link := alert_link(notification, alert):
            lines.append(f"  Dashboard at that time: {link}")
        lines.append("")
    for model in sorted({a.model for a in notification.alerts}):
        if line := drift_line(notification, model):
            lines.append(f"{model}: {line}")
        if link := model_link(notification, model):
            lines.append(f"{model} in driftd: {link}")
    lines.append(f"notification id: {notification.id}")
    return "\n".join(lines)


def mrkdwn(text: str) -> str:
    """Text from the stream, safe in Slack mrkdwn: ``&``, ``<`` and ``>`` escaped as
    Slack asks, so a group named ``<!channel>`` does not page a channel and
    ``<http://evil.example|click here>`` does not become a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(notification: Notification) -> list[dict]:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": notification.title()[:150]}}
    ]
    for alert in notification.alerts:
        icon = ":red_circle:" if alert.state == "firing" else ":large_green_circle:"
        worse = f" *worse (x{alert.escalation})*" if alert.escalation else ""
        about = mrkdwn(alert.description or alert.metric)
        summary = f"{icon} *{mrkdwn(alert.rule)}*{worse}: {about}"
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": summary[:3000]},
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{mrkdwn(value)}"}
                    for label, value in alert_facts(alert, notification)
                ][:10],
            }
        )
        if lines := evidence_lines(alert):
            text = "\n".join(f"• {mrkdwn(line)}" for line in lines)
            if link := alert_link(notification, alert):
                text += f"\n<{link}|Dashboard at that time>"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    for model in sorted({a.model for a in notification.alerts}):
        if line := drift_line(notification, model):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(line)}})
        if link := model_link(notification, model):
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": f"Open {model} in driftd"},
                            "url": link,
                        }
                    ],
                }
            )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"driftd notification id {notification.id}"}],
        }
    )
    return blocks


def html_body(notification: Notification, chart_ids: dict[str, str]) -> str:
    """HTML email body; ``chart_ids`` maps alert keys to the Content-IDs of inline charts."""
    e = html.escape
    color = "#b42318" if notification.status == "firing" else "#067647"
    parts = [
        '<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;'
        'color:#1d2939;max-width:720px">',
        f'<h2 style="color:{color};margin-bottom:4px">{e(notification.title())}</h2>',
    ]
    for alert in notification.alerts:
        parts.append(
            f'<h3 style="margin-bottom:2px">{state_text(alert)}: {e(alert.rule)}</h3>'
            f'<p style="margin-top:0">{e(alert.description)}</p>'
            '<table style="border-collapse:collapse">'
        )
        for label, value in alert_facts(alert, notification):
            parts.append(
                f'<tr><td style="padding:2px 12px 2px 0;color:#667085">{e(label)}</td>'
                f"<td>{e(value)}</td></tr>"
            )
        parts.append("</table>")
        if lines := evidence_lines(alert):
            items = "".join(f"<li>{e(line)}</li>" for line in lines)
            parts.append(f'<ul style="margin:6px 0;padding-left:18px">{items}</ul>')
        if link := alert_link(notification, alert):
            parts.append(f'<p><a href="{e(link)}">Dashboard at that time</a></p>')
        if alert.key in chart_ids:
            parts.append(
                f'<p><img src="cid:{chart_ids[alert.key]}" width="600" '
                f'alt="{e(alert.metric)} over time, with its threshold"></p>'
            )
    for model in sorted({a.model for a in notification.alerts}):
        if line := drift_line(notification, model):
            parts.append(f"<p>{e(model)}: {e(line)}</p>")
        if link := model_link(notification, model):
            parts.append(f'<p><a href="{e(link)}">Open {e(model)} in driftd</a></p>')
    parts.append(
        f'<p style="color:#98a2b3;font-size:12px">notification id {e(notification.id)}</p>'
        "</body></html>"
    )
    return "".join(parts)
