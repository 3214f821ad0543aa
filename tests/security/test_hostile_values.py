"""Hostile values from the stream or an API caller never stop alerting (issue 15):
group names in Slack mrkdwn, in chart titles and in the dashboard's script data;
silences that never end or do not parse."""

from __future__ import annotations

import json
import math
import re

import msgspec
import pytest

from driftd.alerts.chart import metric_chart
from driftd.alerts.manager import AlertManager
from driftd.alerts.model import Alert, Notification, dedup_key
from driftd.alerts.outbox import SqliteOutbox
from driftd.alerts.render import slack_blocks, text_body
from driftd.alerts.silences import Silence, new_silence, put_silence, silences
from driftd.config.alerting import AlertingSpec, ConsoleReceiver, RouteSpec, check_alerting
from driftd.daemon.web.dashboard import _page

HOSTILE = "<!channel> <http://evil.example|click here> $x^{$ <!--<script>"


def _notification() -> Notification:
    metric = f"fairness.sex.group.{HOSTILE}.tpr"
    alert = Alert(key=dedup_key("m", "r", metric), model="m", rule="r", metric=metric,
                  state="firing", severity="warning", value=0.5, op="<", threshold=0.8,
                  first_event_time=1.8e9, event_time=1.8e9, description=HOSTILE)  # fmt: skip
    return Notification(id="n1", receiver="slack", route="r", group_key="g",
                        group_labels={"model": "m"}, status="firing", alerts=[alert],
                        created_at=1.8e9,
                        history={alert.key: [(1.8e9 + i, 0.5 + i / 100) for i in range(5)]},
                        top_drift={"m": [(HOSTILE, 0.3)]})  # fmt: skip


def test_slack_mrkdwn_escapes_what_came_from_the_stream():
    """Slack's rule: & < > escaped in mrkdwn; no mention or link can be smuggled in."""
    texts = json.dumps(slack_blocks(_notification()))
    assert "<!channel>" not in texts and "<http://evil" not in texts
    assert "&lt;!channel&gt;" in texts
    from driftd.alerts.render import mrkdwn

    assert mrkdwn(text_body(_notification())).count("<") == 0


def test_a_chart_draws_dollars_literally_and_never_raises():
    notification = _notification()
    (alert,) = notification.alerts
    png = metric_chart(notification.history[alert.key], alert.metric, 0.8, "<")
    assert png is not None and png.startswith(b"\x89PNG")
    broken = [(1.8e9, math.inf), (math.nan, 0.5), (1.8e9 + 1, 0.4), (1.8e9 + 2, 0.6)]
    assert metric_chart(broken, "$\\frac{", 0.8, "<").startswith(b"\x89PNG")


def test_an_email_with_a_hostile_group_name_is_built():
    from driftd.alerts.receivers.mail import build_message
    from driftd.config.alerting import EmailReceiver

    spec = EmailReceiver(host="127.0.0.1", to=["a@example.com"])
    message = build_message(_notification(), spec)
    assert any(part.get_content_type() == "image/png" for part in message.walk())


def test_the_dashboards_script_data_has_no_angle_bracket_and_reads_back():
    page = _page("m", "<p>x</p>", {"series": {HOSTILE: [[1, 2]]}}).decode()
    script = re.search(r"<script id='data' type='application/json'>(.*?)</script>", page, re.S)
    assert script is not None and "<" not in script.group(1)
    assert json.loads(script.group(1)) == {"series": {HOSTILE: [[1, 2]]}}


@pytest.mark.parametrize("duration", [math.nan, math.inf, 1e400, -5.0, 0.0, 1e13, "2h"])
def test_a_silence_is_finite_positive_and_at_most_a_year(duration):
    with pytest.raises(ValueError):
        new_silence({"model": "m"}, duration)  # type: ignore[arg-type]
    assert new_silence({"model": "m"}, 3600.0).ends_at > 0


def test_a_stored_record_that_is_not_a_silence_is_skipped_and_alerting_goes_on(tmp_path):
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    outbox.record_put("silences", "bad", {"id": "bad", "matchers": {}, "starts_at": "x"})
    outbox.record_put("silences", "nan", {"id": "nan", "matchers": {"model": "m"},
                                          "starts_at": 0.0, "ends_at": math.nan})  # fmt: skip
    put_silence(outbox, Silence(id="ok", matchers={"model": "other"}, starts_at=0, ends_at=1e12))
    assert [s.id for s in silences(outbox)] == ["ok"]
    spec = AlertingSpec(receivers={"c": ConsoleReceiver()},
                        routes=[RouteSpec(name="r", receivers=["c"], group_wait="0s")])  # fmt: skip
    check_alerting(spec)
    manager = AlertManager(spec, outbox)
    manager.receive([msgspec.structs.replace(_notification().alerts[0], model="m")])
    assert manager.tick(flush_all=True) == 1  # notified: the bad records muted nothing


def test_an_attribute_value_of_40_kb_is_a_dead_letter_and_256_characters_are_fine():
    """Group names become reading names and state: 6,000 events with 40 KB values cost
    1.2 GB of state before (issue 15). Longer than 256 characters: a dead letter with
    its reason, the original bytes kept."""
    from driftd.events import MAX_ATTRIBUTE_CHARS, DeadLetter, EventDecoder, Prediction

    decoder = EventDecoder({"m"})

    def event(value: str) -> bytes:
        return json.dumps({"type": "prediction", "event_id": "e", "model_id": "m",
                           "timestamp": 1.8e9, "prediction": 1,
                           "attributes": {"sex": value}}).encode()  # fmt: skip

    assert isinstance(decoder.decode(event("f" * MAX_ATTRIBUTE_CHARS)), Prediction)
    letter = decoder.decode(event("f" * 40_000))
    assert isinstance(letter, DeadLetter) and letter.reason == "invalid_schema"
    assert "'sex' is 40,000 characters long" in letter.detail
    assert letter.raw == event("f" * 40_000).decode()
    label = b'{"type":"label","event_id":"e","model_id":"m","timestamp":1.8e9,"label":1}'
    assert not isinstance(decoder.decode(label), DeadLetter)  # labels carry no attributes


def test_group_names_have_a_total_size_budget_past_which_values_count_as_other():
    """64 values of 256 characters would put ~100 KB of reading names in every readings
    row; past MAX_GROUP_NAME_CHARS of names per attribute, new values are "other"."""
    import numpy as np

    from driftd.detectors.fairness import MAX_GROUP_NAME_CHARS, OTHER, FairnessWindow

    window = FairnessWindow("sex", 10_000, 1, "selection")
    groups = [f"{i:03d}" + "x" * 197 for i in range(40)] * 5  # 40 names of 200 characters
    y = np.ones(len(groups), dtype=float)
    window.update_many(groups, y, y)
    names = {key.split(".group.")[1].rsplit(".", 1)[0]
             for key in window.readings() if ".group." in key}  # fmt: skip
    kept = names - {OTHER}
    assert OTHER in names and len(kept) == MAX_GROUP_NAME_CHARS // 200
    assert sum(map(len, kept)) <= MAX_GROUP_NAME_CHARS
    window.update_many(["y" * 100], y[:1], y[:1])  # past the budget: other
    assert not any(".group.yyy" in key for key in window.readings())
