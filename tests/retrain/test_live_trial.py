"""Live trials end to end: the worker puts a challenger on trial, an app serving through
ModelClient routes (A/B) or shadows it and publishes, the embedded daemon joins the
labels, and the worker's trial check promotes or rejects on them."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from driftd_sdk import ModelClient, Publisher
from driftd_sdk.model_client import bucket
from retrain.helpers import draw, driftd, store_rows
from retrain.test_retrain_loop import FEATURES, alerts, make, pre_shift_champion
from scipy import stats
from sklearn.metrics import accuracy_score

from driftd.consumers.local import LocalBroker, LocalSource
from driftd.daemon.embedded import build_pipeline, run_source
from driftd.daemon.paths import registry_dir

pytestmark = pytest.mark.slow

TRAINED_UNTIL = time.time() - 20 * 86400  # the run's rows end here; live traffic after
LIVE = time.time() - 86400  # predictions stamped within a day of now are believed


def on_trial(tmp_path, live: str):
    """A pre-shift champion, six thousand post-shift labeled events, one run: the
    challenger passes the offline gates and goes on trial."""
    _path, config, store, registry, worker, events = make(tmp_path, live=live)
    champion = pre_shift_champion(registry)
    store_rows(store, draw(6000, shifted=True, seed=11), version=str(champion),
               start=TRAINED_UNTIL - 6000)
    worker.queue.put("credit", "alert accuracy-drop on accuracy")
    (result,) = worker.run_pending()
    assert result.status == "trial", result.report.get("gates")
    return config, store, registry, worker, events, champion, result.version


def serve(client: ModelClient, n: int, seed: int, start: float, shadow: bool):
    """The app: serve ``n`` post-shift requests through the client, publish each
    prediction with the version that answered (and the challenger's shadow prediction),
    then every label. Returns the broker and what was served."""
    broker = LocalBroker()
    publisher = Publisher.embedded(broker)
    lock = threading.Lock()  # the embedded bus is fed from the app and the shadow thread
    frame = draw(n, shifted=True, seed=seed)
    served = []
    for i, row in enumerate(frame.itertuples()):
        features = {"x1": row.x1, "x2": row.x2, "color": row.color}
        event_id = f"req-{seed}-{i}"
        t = start + i

        def sink(version: int, y, features=features, event_id=event_id, t=t,
                 sex=row.sex) -> None:  # fmt: skip
            with lock:
                publisher.publish_prediction("credit", features, int(y[0]), event_id=event_id,
                                             timestamp=t, model_version=version,
                                             attributes={"sex": sex}, shadow=True)  # fmt: skip

        answer = client.serve(frame.iloc[[i]][FEATURES], key=f"user-{i}",
                              shadow=sink if shadow else None)  # fmt: skip
        with lock:
            publisher.publish_prediction("credit", features, int(answer.prediction[0]),
                                         event_id=event_id, timestamp=t,
                                         model_version=answer.version,
                                         attributes={"sex": row.sex})  # fmt: skip
        served.append((event_id, answer.version, int(answer.prediction[0]), int(row.label)))
    assert client.drain_shadow()
    for i, row in enumerate(frame.itertuples()):
        publisher.publish_label("credit", f"req-{seed}-{i}", int(row.label),
                                timestamp=start + i + 60)  # fmt: skip
    return broker, served


def with_traffic(tmp_path, live: str, n: int, seed: int, shadow: bool) -> SimpleNamespace:
    """A challenger on trial, ``n`` requests served by an app through ModelClient, and
    the embedded daemon run over what the app published."""
    config, store, registry, worker, events, champion, version = on_trial(tmp_path, live)
    # A queue longer than the traffic: every shadow score is taken, however the scorer
    # thread is scheduled on a busy machine (the bound itself: test_model_client_trials).
    client = ModelClient(str(registry_dir(config)), "credit", shadow_queue=n)
    assert client.trial is not None and client.trial.version == version
    broker, served = serve(client, n, seed=seed, start=LIVE, shadow=shadow)
    run_source(build_pipeline(config, quiet=True), LocalSource(broker))
    return SimpleNamespace(config=config, store=store, registry=registry, worker=worker,
                           events=events, champion=champion, version=version,
                           client=client, served=served)  # fmt: skip


def test_shadow_trial_promotes_on_live_labels_and_the_app_hot_swaps(tmp_path):
    run = with_traffic(tmp_path, "{mode: shadow, min_events: 300}", 1500, 21, shadow=True)
    config, store, registry, worker = run.config, run.store, run.registry, run.worker
    events, champion, version, client = run.events, run.champion, run.version, run.client
    # The champion serves; the trial is recorded and announced.
    assert registry.champion("credit") == champion
    assert registry.aliases("credit")["challenger"] == version
    assert registry.trial("credit")["mode"] == "shadow"
    assert events[-1]["type"] == "challenger_started" and events[-1]["version"] == version
    (run_record,) = [r for r in registry.runs("credit") if r["status"] == "trial"]
    page = (registry.run_dir("credit", run_record["run_id"]) / "report.html").read_text()
    assert "credit: trial</h1>" in page and "<h2>Live trial</h2>" in page and "shadow" in page
    assert {v for _, v, _, _ in run.served} == {champion}  # shadow: the champion answers all
    assert client.shadow_stats["scored"] == 1500 and client.shadow_stats["skipped"] == 0
    readings = store.latest_readings("credit")[1]
    # The shadow lane: the challenger's predictions and the same labels, its own readings;
    # the champion's readings count only its own predictions.
    assert readings["shadow.events.predictions"] == 1500
    assert readings["events.predictions"] == 1500
    challenger = registry.load("credit", version)
    frame = draw(1500, shifted=True, seed=21)
    oracle = accuracy_score(frame["label"], challenger.predict(frame[FEATURES]))
    # Accuracy over the window's last labeled events (joined in label order), both lanes.
    last = frame.iloc[-config.models["credit"].windows.size :]
    champion_model = registry.load("credit", champion)
    assert readings["shadow.accuracy"] == pytest.approx(
        accuracy_score(last["label"], challenger.predict(last[FEATURES])), abs=1e-9)
    assert readings["accuracy"] == pytest.approx(
        accuracy_score(last["label"], champion_model.predict(last[FEATURES])), abs=1e-9)
    assert readings["shadow.accuracy"] > readings["accuracy"] + 0.1

    (verdict,) = worker.check_trials()
    assert verdict.decision == "promote", verdict.why
    # The interval's estimate: the accuracy difference on the same events (sklearn).
    difference = oracle - accuracy_score(frame["label"], champion_model.predict(frame[FEATURES]))
    assert verdict.interval.estimate == pytest.approx(difference, abs=1e-9)
    assert verdict.interval.challenger_events == 1500
    assert registry.champion("credit") == version and registry.trial("credit") is None
    promoted = events[-1]
    assert promoted["type"] == "model_promoted" and promoted["reason"] == "live shadow trial"
    client.handle_event(promoted)
    assert client.version == version and client.trial is None
    assert [a["rule"] for a in alerts(tmp_path)][-2:] == ["retrain-trial", "retrain-promoted"]
    assert [r["status"] for r in registry.runs("credit")] == ["trial", "promoted"]
    client.close()


def test_ab_trial_routes_a_share_of_keys_by_hash(tmp_path):
    run = with_traffic(tmp_path, "{mode: ab, share: 0.3, min_events: 200}", 2000, 22,
                       shadow=False)  # fmt: skip
    registry, worker, champion, version = run.registry, run.worker, run.champion, run.version
    served = run.served
    versions = np.array([v for _, v, _, _ in served])
    routed = int((versions == version).sum())
    # The share, within a two-sided binomial test at 0.001; the same key, the same arm.
    assert stats.binomtest(routed, len(versions), 0.3).pvalue > 0.001
    expected = [bucket("credit", version, f"user-{i}") < 0.3 for i in range(len(versions))]
    assert list(versions == version) == expected
    # The daemon's per-version readings: accuracy over the last window of joined events
    # (label order) per version, scikit-learn's.
    readings = run.store.latest_readings("credit")[1]
    last = served[-run.config.models["credit"].windows.size :]
    for v in (version, champion):
        mine = [(p, y) for _, version_, p, y in last if version_ == v]
        assert readings[f"version.{v}.events"] == len(mine)
        assert readings[f"version.{v}.accuracy"] == pytest.approx(
            accuracy_score([y for _, y in mine], [p for p, _ in mine]), abs=1e-9)
    (verdict,) = worker.check_trials()
    # Per arm, the accuracies the verdict rests on are sklearn's on the served predictions
    # (the champion's from the challenger's first request on: the same stretch of time).
    first = int(np.argmax(versions == version))
    arms = {v: [(p, y) for _, version_, p, y in served[first:] if version_ == v]
            for v in (version, champion)}  # fmt: skip
    accuracy = {v: accuracy_score([y for _, y in a], [p for p, _ in a]) for v, a in arms.items()}
    assert verdict.interval.estimate == pytest.approx(accuracy[version] - accuracy[champion],
                                                      abs=1e-9)  # fmt: skip
    assert verdict.interval.challenger_events == routed
    assert verdict.decision == "promote", verdict.why
    assert registry.champion("credit") == version
    run.client.close()


def test_an_undecided_trial_is_rejected_at_its_deadline_and_the_champion_stays(tmp_path):
    run = with_traffic(tmp_path, "{mode: ab, share: 0.5, min_events: 5000, deadline: 1h}",
                       400, 23, shadow=False)  # fmt: skip
    registry, worker, events, champion, client = (run.registry, run.worker, run.events,
                                                  run.champion, run.client)  # fmt: skip
    started = registry.trial("credit")["started_at"]
    (verdict,) = worker.check_trials(now=started + 60)
    assert verdict.decision == "continue" and "needs 5000" in verdict.why
    assert registry.trial("credit")["last"]["decision"] == "continue"
    listed = driftd("models", "list", "credit", "--config", str(tmp_path / "driftd.yaml"),
                    timeout=60)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "on live ab trial against" in listed.stdout and "needs 5000" in listed.stdout
    (verdict,) = worker.check_trials(now=started + 3601)
    assert verdict.decision == "reject" and "deadline" in verdict.why
    assert registry.champion("credit") == champion and registry.trial("credit") is None
    ended = events[-1]
    assert ended["type"] == "challenger_ended" and ended["status"] == "rejected"
    client.handle_event(ended)
    assert client.trial is None and client.version == champion
    rejected = [a for a in alerts(tmp_path) if a["rule"] == "retrain-rejected"]
    assert rejected and "deadline" in rejected[0]["description"]
    # While a trial runs, new requests do not start a run; after it, they do.
    worker.queue.put("credit", "asked by hand")
    assert [r.status for r in worker.run_pending()] in (["trial"], ["rejected"])
    client.close()


def test_requests_during_a_trial_are_answered_by_it(tmp_path):
    _, _, registry, worker, _, _, version = on_trial(tmp_path, "{mode: shadow}")
    worker.queue.put("credit", "alert accuracy-drop on accuracy")
    assert worker.run_pending() == []
    assert worker.queue.pending() == [] and registry.trial("credit")["version"] == version


def test_a_trial_check_that_fails_says_so_once_and_a_promotion_by_hand_ends_the_trial(tmp_path):
    _, _, _, registry, worker, events = make(tmp_path, live="{mode: ab}")
    champion = pre_shift_champion(registry)
    two = registry.register("credit", registry.load("credit", champion), {})
    registry.set_trial("credit", {"status": "running", "version": two, "mode": "ab"})  # no champion
    assert worker.check_trials() == [] and worker.check_trials() == []
    failed = [a for a in alerts(tmp_path) if a["rule"] == "retrain-failed"]
    assert len(failed) == 1 and "KeyError: 'champion'" in failed[0]["description"]
    assert registry.champion("credit") == champion and registry.trial("credit") is not None

    registry.set_trial("credit", {**registry.trial("credit"), "champion": champion, "share": 0.5,
                                  "sha256": registry.sha256("credit", two)})  # fmt: skip
    registry.promote("credit", two)  # an operator promotes by hand
    assert worker.check_trials() == [] and registry.trial("credit") is None
    assert events[-1]["type"] == "challenger_ended" and events[-1]["status"] == "cancelled"
    assert alerts(tmp_path)[-1]["rule"] == "retrain-cancelled"


def test_a_long_trial_is_judged_on_all_its_rows_read_in_growing_chunks(tmp_path):
    """The worker reads the newest joined rows first and more until it reaches the
    trial's start: a trial longer than the first chunk is judged on every row of it."""
    from driftd.retrain.trial import open_record
    from driftd.retrain.worker import TRIAL_ROWS_FIRST

    _, config, store, registry, worker, _ = make(tmp_path, live="{mode: ab}")
    champion = pre_shift_champion(registry)
    two = registry.register("credit", registry.load("credit", champion), {})
    since = TRAINED_UNTIL
    store_rows(store, draw(3000, shifted=True, seed=31), version=str(champion),
               start=since - 3000)  # what the run learned from  # fmt: skip
    per_arm = TRIAL_ROWS_FIRST // 2 + 1000
    for seed, version in ((32, two), (33, champion)):
        store_rows(store, draw(per_arm, shifted=True, seed=seed), version=str(version),
                   start=since + 1)  # fmt: skip
    digest = registry.sha256("credit", two)
    registry.set_trial("credit", open_record(config.models["credit"], two, champion, digest,
                                             "run", since))  # fmt: skip
    (verdict,) = worker.check_trials()
    assert verdict.interval.challenger_events == verdict.interval.champion_events == per_arm
