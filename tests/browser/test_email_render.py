"""The alert email's HTML, rendered once in headless Chromium (Debian's package) to a PNG.

The inline chart is referenced by Content-ID, which only a mail client resolves;
for the browser each cid: becomes a data: URI of the same image part. The PNG is
kept as ``alert-email.png`` in the ``artifacts`` directory for a person to look at.
"""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from alerts.conftest import make_alert

from driftd.alerts.model import Notification
from driftd.alerts.receivers.mail import build_message
from driftd.config.alerting import EmailReceiver

pytestmark = pytest.mark.browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("chromium is not installed (scripts/test.sh installs Debian's package)")


def test_alert_email_renders_with_its_chart(tmp_path, artifacts):
    alerts = [make_alert(), make_alert(metric="drift.income.psi")]
    alerts[1].rule, alerts[1].severity, alerts[1].threshold, alerts[1].op = (
        "drift-income-psi", "warning", 0.2, ">",
    )  # fmt: skip
    alerts[1].value = 0.41
    alerts[1].description = "income has drifted from the reference (psi test)."
    alerts[1].window = "last 2000 values"
    history = {
        alerts[0].key: [(1_800_000_000.0 + 600 * i, 0.9 - 0.004 * i) for i in range(60)],
        alerts[1].key: [(1_800_000_000.0 + 600 * i, 0.02 + 0.007 * i) for i in range(60)],
    }
    notification = Notification(
        id="0123456789abcdef0123456789abcdef", receiver="mail", route="oncall",
        group_key="oncall|model=credit", group_labels={"model": "credit"}, status="firing",
        alerts=alerts, created_at=1_800_036_000.0, dashboard_url="http://127.0.0.1:8080",
        top_drift={"credit": [("income", 0.31), ("age", 0.12), ("occupation", 0.05)]},
        history=history,
    )  # fmt: skip
    message = build_message(notification, EmailReceiver(host="x", to=["oncall@example.com"]))
    _, related = message.get_payload()
    html_part, *images = related.get_payload()
    page = html_part.get_content()
    assert len(images) == 2
    for image in images:
        cid = image["Content-ID"].strip("<>")
        data = base64.b64encode(image.get_payload(decode=True)).decode()
        page = page.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    assert "cid:" not in page
    source = tmp_path / "email.html"
    source.write_text(page)
    screenshot = artifacts / "alert-email.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         "--window-size=760,1400", f"--screenshot={screenshot}", source.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # text and two charts, not blank
