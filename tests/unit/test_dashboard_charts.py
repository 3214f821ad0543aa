"""What the dashboard's charts shade and mark, from the alert log's transitions."""

from __future__ import annotations

from driftd.daemon.web.charts import episodes, promotions


def _t(key, state, first, at, metric="accuracy", rule="accuracy-drop", value=0.7):
    return {"key": key, "state": state, "first_event_time": first, "event_time": at,
            "metric": metric, "rule": rule, "value": value}  # fmt: skip


def test_episodes_pair_firing_with_resolved_and_stay_open_while_firing():
    log = [
        _t("a", "firing", 100, 120),
        _t("a", "firing", 100, 150),  # an escalation: the same episode
        _t("a", "resolved", 100, 200),
        _t("a", "firing", 300, 310),  # fires again: a second episode, still open
        _t("b", "firing", 50, 60, metric="drift.x.psi", rule="drift-x"),  # another chart's
    ]
    assert episodes(log[::-1], {"accuracy"}) == [[100, 200, "accuracy-drop"],
                                                 [300, None, "accuracy-drop"]]  # fmt: skip
    assert episodes(log, {"drift.x.psi"}) == [[50, None, "drift-x"]]


def test_promotions_are_marked_rejections_are_not():
    log = [_t("r", "firing", 400, 400, metric="retrain.outcome", rule="retrain-promoted",
              value=2.0),
           _t("s", "firing", 500, 500, metric="retrain.outcome", rule="retrain-rejected",
              value=3.0)]  # fmt: skip
    assert promotions(log) == [[400, "v2 promoted"]]
