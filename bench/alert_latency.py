"""Alert latency: a breach handed to the alert manager -> the Slack request received.

    .venv/bin/python -m bench.alert_latency --alerts 200

Each round hands one new firing alert (its own model, so its own group) to the
dispatcher, as the pipeline does when a rule fires, and times until the local
Slack stand-in has received the webhook request. Configured waits are set to 0
(group_wait adds exactly its value on top). Everything real runs: the manager,
the SQLite outbox (written before sending), the delivery thread, slack-sdk's
HTTP request. The baseline, in the same process, is one bare urllib POST to the
same stand-in: the floor any notifier pays.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from services.receivers import SlackStandIn  # noqa: E402

from driftd.alerts.dispatch import Dispatcher  # noqa: E402
from driftd.alerts.model import Alert, dedup_key  # noqa: E402
from driftd.alerts.outbox import SqliteOutbox  # noqa: E402
from driftd.alerts.wiring import Alerting  # noqa: E402
from driftd.config.alerting import AlertingSpec, RouteSpec, SlackReceiver, check_alerting  # noqa: E402


def _alert(i: int) -> Alert:
    now = time.time()
    return Alert(
        key=dedup_key(f"m{i}", "accuracy-drop", "accuracy"),
        model=f"m{i}", rule="accuracy-drop", metric="accuracy", state="firing",
        severity="critical", value=0.7, op="<", threshold=0.8,
        first_event_time=now, event_time=now,
    )  # fmt: skip


def _wait_requests(slack: SlackStandIn, n: int) -> float:
    while len(slack.requests) < n:
        time.sleep(0.0002)
    return slack.requests[n - 1].at


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(int(q * len(ordered)), len(ordered) - 1)]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200)
    args = parser.parse_args()
    slack = SlackStandIn()
    url = f"{slack.url}/webhook/T0/B0/X"
    os.environ["BENCH_SLACK_URL"] = url
    try:
        baseline = []
        for _ in range(args.alerts):
            started = time.time()
            headers = {"Content-Type": "application/json"}
            request = urllib.request.Request(url, b'{"text":"x"}', headers, method="POST")
            urllib.request.urlopen(request, timeout=10).read()
            baseline.append(slack.requests[-1].at - started)
        slack.requests.clear()

        spec = AlertingSpec(
            receivers={"slack": SlackReceiver(webhook_url_env="BENCH_SLACK_URL")},
            routes=[RouteSpec(name="page", receivers=["slack"], group_wait=0)],
        )
        check_alerting(spec)
        work = Path(tempfile.mkdtemp(prefix="driftd-alert-bench-"))
        alerting = Alerting(spec, SqliteOutbox(work / "outbox.sqlite"), work)
        alerting.start()
        dispatcher = Dispatcher([], alerting)
        latencies = []
        for i in range(args.alerts):
            started = time.time()
            dispatcher.dispatch([_alert(i)])
            alerting.tick()  # the runtime loop ticks continuously; here, right away
            latencies.append(_wait_requests(slack, i + 1) - started)
        alerting.stop()
    finally:
        slack.close()
    ours, floor = percentiles(latencies), percentiles(baseline)
    print(f"# alert latency, {args.alerts} alerts, group_wait 0")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| path | median (ms) | p95 (ms) | p99 (ms) |")
    print("|---|---:|---:|---:|")
    print("| bare urllib POST (floor) | " + " | ".join(f"{v * 1000:.1f}" for v in floor) + " |")
    print("| driftd: dispatch -> Slack request | "
          + " | ".join(f"{v * 1000:.1f}" for v in ours) + " |")  # fmt: skip
    print(f"\nmedian ratio driftd / floor: {ours[0] / floor[0]:.1f}x")


if __name__ == "__main__":
    main()
