"""Delivery semantics against local stand-ins: exactly once, Retry-After, permanent
failures, resolved notices, restarts, and the email's MIME structure.

The receivers are real servers (HTTP stand-ins, an SMTP server); time is simulated:
the stack runs on a clock the test moves (``deliver``), so a backoff or a
Retry-After is asserted on when the next attempt was scheduled, never slept.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest
from alerts.conftest import SimClock, deliver, make_alert

from driftd.alerts.outbox import SqliteOutbox
from driftd.alerts.wiring import Alerting
from driftd.config.alerting import (
    AlertingSpec,
    EmailReceiver,
    RouteSpec,
    SlackReceiver,
    WebhookReceiver,
    check_alerting,
)

FAST = {"group_wait": 0, "group_interval": 0.2, "repeat_interval": 3600, "cooldown": 0}


def stack(tmp_path, receivers: dict, route_receivers: list[str] | None = None,
          clock: SimClock | None = None, **route):  # fmt: skip
    """The alerting stack on a simulated clock (its ``clock`` attribute); not started:
    the test drives it with ``deliver``."""
    spec = AlertingSpec(
        receivers=receivers,
        routes=[RouteSpec(name="page", receivers=route_receivers or list(receivers),
                          **{**FAST, **route})],
        retry_initial=0.2,
        retry_max=2.0,
        max_attempts=6,
        dashboard_url="http://127.0.0.1:8080",
    )  # fmt: skip
    check_alerting(spec)
    clock = clock or SimClock()
    alerting = Alerting(spec, SqliteOutbox(tmp_path / "outbox.sqlite"), tmp_path, clock=clock)
    alerting.clock = clock
    return alerting


def fire(alerting, *alerts) -> list[float]:
    """Hand alerts to the manager and deliver what follows; returns the attempt times."""
    alerting.manager.receive(list(alerts))
    return deliver(alerting, alerting.clock)


def test_webhook_retries_5xx_then_delivers_once_signed(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hooks/driftd")
    monkeypatch.setenv("HOOK_SECRET", "s3cr3t-signing-key")
    webhook.script = ["500", "503"]
    alerting = stack(tmp_path, {"hook": WebhookReceiver(url_env="HOOK_URL",
                                                        secret_env="HOOK_SECRET")})  # fmt: skip
    attempts = fire(alerting, make_alert())
    assert [r.answered for r in webhook.requests] == [500, 503, 200]
    keys = {r.headers["Idempotency-Key"] for r in webhook.requests}
    assert len(keys) == 1  # the same key on every attempt
    request = webhook.accepted()[0]
    expected = hmac.new(
        b"s3cr3t-signing-key",
        request.headers["X-Driftd-Timestamp"].encode() + b"." + request.body,
        hashlib.sha256,
    ).hexdigest()
    assert request.headers["X-Driftd-Signature"] == f"sha256={expected}"
    body = request.json()
    assert body["status"] == "firing" and body["alerts"][0]["metric"] == "accuracy"
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(gaps) == 2 and all(gap >= 0.1 for gap in gaps)  # backoff: never immediately


def test_slack_429_waits_for_retry_after(tmp_path, slack, monkeypatch):
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/webhook/T000/B000/XXXX")
    slack.script = ["429:2"]
    alerting = stack(tmp_path, {"slack": SlackReceiver(webhook_url_env="SLACK_URL")})
    first_at, second_at = fire(alerting, make_alert())
    first, second = slack.requests
    assert first.answered == 429 and second.answered == 200
    assert second_at - first_at >= 2.0  # no retry before Retry-After
    assert len({r.idempotency_key for r in slack.requests}) == 1


def test_slow_answers_are_retried_and_the_key_lets_the_receiver_dedupe(tmp_path, slack,
                                                                      monkeypatch):  # fmt: skip
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/webhook/T000/B000/XXXX")
    slack.script = ["slow:2.5"]  # longer than the 1 s client timeout
    receiver = SlackReceiver(webhook_url_env="SLACK_URL", timeout=1)
    alerting = stack(tmp_path, {"slack": receiver})
    fire(alerting, make_alert())
    assert len(slack.requests) == 2 and slack.requests[-1].answered == 200
    assert len({r.idempotency_key for r in slack.requests}) == 1
    items = alerting.outbox.items()
    assert [i.status for i in items] == ["delivered"]


def test_permanent_failure_is_not_retried_and_is_reported_elsewhere(tmp_path, slack, webhook,
                                                                    monkeypatch):  # fmt: skip
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/webhook/T000/B000/XXXX")
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hooks")
    slack.script = ["404"]
    alerting = stack(
        tmp_path,
        {
            "slack": SlackReceiver(webhook_url_env="SLACK_URL"),
            "hook": WebhookReceiver(url_env="HOOK_URL"),
        },
        route_receivers=["slack"],
    )
    fire(alerting, make_alert())  # until nothing is left to send: a retry would show
    assert len(slack.requests) == 1
    (report,) = webhook.accepted()
    body = report.json()
    assert body["alerts"][0]["rule"] == "notification_failed"
    assert "slack" in body["alerts"][0]["description"]
    failed = [i for i in alerting.outbox.items() if i.notification.receiver == "slack"]
    assert failed[0].status == "failed" and "404" in failed[0].last_error
    assert alerting.worker.counts[("slack", "failed")] == 1


def test_bot_resolved_notice_updates_and_threads_on_the_original(tmp_path, slack, monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token-1234")
    receiver = SlackReceiver(token_env="SLACK_TOKEN", channel="#ml-alerts",
                             api_url=f"{slack.url}/api/")  # fmt: skip
    alerting = stack(tmp_path, {"bot": receiver})
    fire(alerting, make_alert())
    assert len(slack.accepted()) == 1
    fire(alerting, make_alert("resolved"))
    paths = [r.path for r in slack.requests]
    assert paths == ["/api/chat.postMessage", "/api/chat.update", "/api/chat.postMessage"]
    post, update, reply = (r.json() for r in slack.requests)
    assert update["ts"] == reply["thread_ts"]
    assert "RESOLVED" in update["text"] and "FIRING" in post["text"]
    assert slack.requests[0].headers["Authorization"] == "Bearer xoxb-test-token-1234"


def test_a_restart_in_the_middle_of_retrying_delivers_once(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hooks")
    webhook.script = ["500", "500", "500"]
    alerting = stack(tmp_path, {"hook": WebhookReceiver(url_env="HOOK_URL")})
    alerting.manager.receive([make_alert()])
    while len(webhook.requests) < 2:  # two failed attempts, then the process dies
        alerting.tick()
        alerting.worker.run_once()
        alerting.clock.now = max(alerting.clock.now, alerting.outbox.next_due() or 0.0)
    alerting.outbox.close()
    again = stack(tmp_path, {"hook": WebhookReceiver(url_env="HOOK_URL")},
                  clock=SimClock(alerting.clock.now))  # fmt: skip
    deliver(again, again.clock)
    assert [r.answered for r in webhook.requests] == [500, 500, 500, 200]
    assert len(webhook.accepted()) == 1
    assert len({r.headers["Idempotency-Key"] for r in webhook.requests}) == 1
    assert [i.status for i in again.outbox.items()] == ["delivered"]


def test_email_over_starttls_with_auth_and_an_inline_chart(tmp_path, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_USER", "driftd")
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-pass")
    receiver = EmailReceiver(
        host="127.0.0.1", port=smtp.port, to=["oncall@example.com"], security="starttls",
        username_env="SMTP_USER", password_env="SMTP_PASSWORD", ca_file=str(smtp.ca_file),
    )  # fmt: skip
    alerting = stack(tmp_path, {"mail": receiver})
    history = [(1_800_000_000.0 + 60 * i, 0.9 - 0.004 * i) for i in range(60)]
    alerting.manager.history = lambda model, metric: history
    fire(alerting, make_alert())
    message = smtp.messages[0]
    assert message["Subject"].startswith("[FIRING:1] CRITICAL model=credit")
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.get_payload()
    assert text.get_content_type() == "text/plain" and "accuracy" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_part.get_content()
    png = image.get_payload(decode=True)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert message["X-Driftd-Idempotency-Key"] == alerting.outbox.items()[0].notification.id
    (tmp_path / "email.html").write_text(html_part.get_content())


def test_smtp_authentication_failure_is_permanent(tmp_path, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_USER", "driftd")
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
    receiver = EmailReceiver(
        host="127.0.0.1", port=smtp.port, to=["oncall@example.com"],
        username_env="SMTP_USER", password_env="SMTP_PASSWORD", ca_file=str(smtp.ca_file),
    )  # fmt: skip
    alerting = stack(tmp_path, {"mail": receiver})
    fire(alerting, make_alert())
    assert smtp.auth_failures == 1 and smtp.messages == []
    (item,) = alerting.outbox.items()
    assert "authentication failed" in item.last_error and item.attempts == 1


@pytest.mark.parametrize("state_after", ["resolved"])
def test_resolved_notice_arrives_once(tmp_path, webhook, monkeypatch, state_after):
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hooks")
    alerting = stack(tmp_path, {"hook": WebhookReceiver(url_env="HOOK_URL")})
    fire(alerting, make_alert())
    assert len(webhook.accepted()) == 1
    fire(alerting, make_alert(state_after))
    for _ in range(5):  # more group intervals change nothing
        alerting.clock.now += 0.25
        deliver(alerting, alerting.clock)
    statuses = [r.json()["status"] for r in webhook.accepted()]
    assert statuses == ["firing", "resolved"]


def _with_evidence():
    """An accuracy alert carrying evidence, its segment named by hostile producer data."""
    from driftd.detectors.evidence import Evidence
    from driftd.detectors.segments import ChangePoint, Segment

    alert = make_alert()
    alert.evidence = Evidence(
        started=ChangePoint(event_time=1_799_999_000.0, events_ago=412, before=0.08,
                            after=0.31, p_value=1e-6, within=True),
        interval=(0.68, 0.74), reference=0.85, effect=-0.14, budget="1 per 1M events",
        segments=[Segment(dimension="clinic", value="<!channel> b", measure="error rate",
                          now=0.41, reference=0.1, count=240, share=0.24, p_value=2e-31)],
    )  # fmt: skip
    return alert


def test_every_channel_carries_the_evidence(tmp_path, slack, webhook, smtp, monkeypatch):
    """Slack (escaped), email (text and HTML) and the webhook (the record itself) say
    when it started, how sure, where, and link to the dashboard at the alert's time."""
    monkeypatch.setenv("SLACK_URL", f"{slack.url}/webhook/T000/B000/XXXX")
    monkeypatch.setenv("HOOK_URL", f"{webhook.url}/hooks/driftd")
    monkeypatch.setenv("SMTP_USER", "driftd")
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-pass")
    receivers = {
        "chat": SlackReceiver(webhook_url_env="SLACK_URL"),
        "hook": WebhookReceiver(url_env="HOOK_URL"),
        "mail": EmailReceiver(host="127.0.0.1", port=smtp.port, to=["oncall@example.com"],
                              username_env="SMTP_USER", password_env="SMTP_PASSWORD",
                              ca_file=str(smtp.ca_file)),
    }  # fmt: skip
    fire(stack(tmp_path, receivers), _with_evidence())
    link = "http://127.0.0.1:8080/models/credit?at=1800000600"
    slack_text = slack.accepted()[0].body.decode()
    assert "Segment clinic=&lt;!channel&gt; b: error rate 0.41 (reference 0.1)" in slack_text
    assert "<!channel>" not in slack_text and "Started around" in slack_text
    assert link in slack_text
    body = webhook.accepted()[0].json()
    evidence = body["alerts"][0]["evidence"]
    assert evidence["segments"][0]["value"] == "<!channel> b"
    assert evidence["started"]["events_ago"] == 412 and evidence["budget"] == "1 per 1M events"
    message = smtp.messages[0]
    text, related = message.get_payload()
    plain = text.get_content()
    assert "Evidence: 99% interval [0.68, 0.74]; reference 0.85, change -0.14" in plain
    assert f"Dashboard at that time: {link}" in plain
    html_part = related.get_payload()[0] if related.is_multipart() else related
    page = html_part.get_content()
    assert "clinic=&lt;!channel&gt; b" in page and f'href="{link}"' in page
