"""`driftd demo --json` finds each injected problem after it happens and not before;
a replay of the clean part alone fires nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DRIFTD = [sys.executable, "-m", "driftd.cli"]


def _run(*args: str) -> dict:
    done = subprocess.run(
        [*DRIFTD, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    events = directory / "events.jsonl"
    summary = _run(
        "demo", "--json", "--state-dir", str(directory / "state"), "--save-events", str(events)
    )
    return summary, directory, events


def test_each_injection_is_alerted_after_it_and_not_before(demo):
    summary, _, _ = demo
    when = {i["kind"]: i["event_time_epoch"] for i in summary["injections"]}
    alerts = summary["alerts"]
    assert alerts, "the demo must raise alerts"
    for alert in alerts:
        assert set(alert) >= {"model", "metric", "value", "threshold", "state", "first_event_time"}
        assert alert["first_event_time_epoch"] >= when["covariate_shift"], alert

    def first(prefixes):
        times = [a["first_event_time_epoch"] for a in alerts if a["metric"].startswith(prefixes)]
        assert times, f"no alert on {prefixes}"
        return min(times)

    assert first(("drift.num_accounts", "drift.region")) >= when["covariate_shift"]
    assert first(("accuracy", "concept.")) >= when["concept_shift"]
    assert first(("fairness.",)) >= when["fairness_regression"]
    # Concept and fairness problems must not be reported before they exist.
    for alert in alerts:
        if alert["metric"].startswith(("accuracy", "concept.", "f1", "roc_auc")):
            assert alert["first_event_time_epoch"] >= when["concept_shift"], alert
        if alert["metric"].startswith("fairness."):
            assert alert["first_event_time_epoch"] >= when["fairness_regression"], alert
    events = summary["events"]
    # The first act's 20000 predictions, the shadow phase's 500 (answered by version 1:
    # the challenger's shadow predictions are not the model's own traffic), then 4000 by
    # the new version.
    assert events["predictions"] == 24500 and 23500 < events["labels"] < 24500

    assert events["dead_letters"] > 0 and set(events["dead_letter_reasons"]) <= {
        "malformed_json",
        "invalid_schema",
        "unknown_model",
    }
    metrics = summary["metrics"]["credit-risk"]
    assert metrics["join.matched"] == events["labels"]
    # Predictions still waiting for labels are in the label-free estimate unless overdue.
    # The first act's last labels never come (it ends before they would), so at the end
    # of the second act those predictions are past the delays' 99th percentile (labels
    # come 10 min to 6 h late) and left out: the estimate describes recent traffic only.
    assert metrics["join.waiting_predictions"] == 24500 - events["labels"]
    assert metrics["estimated.overdue"] == metrics["join.waiting_predictions"] > 0
    assert metrics["estimated.pending"] == 0
    assert 5 * 3600 < metrics["estimated.overdue_after_seconds"] < 6.6 * 3600


def test_replay_of_the_clean_part_fires_nothing(demo, tmp_path):
    summary, directory, events = demo
    cutoff = min(i["event_time_epoch"] for i in summary["injections"])
    clean = tmp_path / "clean.jsonl"
    kept = 0
    with events.open("rb") as source, clean.open("wb") as target:
        for line in source:
            try:
                stamp = json.loads(line)["timestamp"]
            except (ValueError, KeyError):
                continue  # the demo's junk lines
            from driftd.events import parse_timestamp

            if parse_timestamp(stamp) < cutoff:
                target.write(line)
                kept += 1
    config = Path(directory / "state" / "config.yaml").read_text()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config.replace(str(directory / "state"), str(tmp_path / "state")))
    (tmp_path / "reference.csv").write_bytes((directory / "state" / "reference.csv").read_bytes())
    replayed = _run("replay", "--config", str(config_path), str(clean), "--json", "--fresh")
    assert replayed["events"]["processed"] == kept > 10000
    assert replayed["alerts"] == []
    metrics = _run("metrics", "--config", str(config_path), "--model", "credit-risk", "--json")
    assert metrics["metrics"]["accuracy"] == replayed["metrics"]["credit-risk"]["accuracy"]


def test_the_loop_closes_retrain_promote_recover(demo):
    summary, _, _ = demo
    loop = summary["loop"]
    assert any(r.startswith("alert accuracy-drop") for r in loop["requests"])
    assert loop["outcome"] == "promoted"
    assert (loop["version_before"], loop["version_after"]) == (1, 2)
    assert loop["accuracy_after"] > loop["accuracy_before"] + 0.15, loop
    assert Path(loop["report"]).exists()
    # First a shadow phase: version 1 answered, the challenger scored the same requests,
    # and won on joined labels (the interval of the difference above zero).
    trial = loop["trial"]
    assert trial["mode"] == "shadow" and trial["decision"] == "promote", trial
    assert trial["pairs"] >= 300 and trial["difference"][0] > 0
    assert trial["shadow_predictions"] == trial["requests"] and trial["shadow_skipped"] == 0
    assert trial["challenger_accuracy"] > trial["champion_accuracy"]


def test_the_human_summary_reads_well(demo):
    """What a person sees (issue 16): no Python reprs, the deliberate dead letters
    explained, the promotion shown as a promotion (not a firing alert), each firing
    alert's evidence, and the command that opens the dashboard."""
    from rich.console import Console

    from driftd.cli.stream import _demo_epilogue
    from driftd.cli.summary import print_summary

    summary, _, _ = demo
    console = Console(record=True, width=140)
    print_summary(summary, console)
    state = Path(summary["state_dir"])
    _demo_epilogue(state, summary, console)
    text = console.export_text()
    assert "{'" not in text and "['" not in text, text
    alerts_table = text.split("Why")[0]
    assert "retrain.outcome" not in alerts_table
    assert "Retraining trial (credit-risk): Version 2 passed the offline gates" in text
    assert "Retraining promoted (credit-risk): Version 2 won its live shadow trial" in text
    assert "The shadow phase: version 1 kept answering" in text
    assert "accuracy-drop on accuracy (x" in text  # each request reason once, counted
    assert "dead letters are deliberate" in text and "dead-letters.jsonl" in text
    assert f"driftd serve --config {state / 'config.yaml'}" in text
    assert "http://127.0.0.1:8080/models/credit-risk" in text
    firing = [a for a in summary["alerts"] if a["state"] == "firing" and a.get("why")]
    assert firing and all(f"{a['metric']}: " in text.split("Why")[1] for a in firing)
