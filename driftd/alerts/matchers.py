"""Label matchers shared by routes, silences and inhibition.

An alert's labels are its model, rule, metric and severity. A matcher maps some
of them to glob patterns (``drift.*``, ``credit-*``); it matches an alert when
every pattern matches (an empty matcher matches everything).
"""

from __future__ import annotations

import fnmatch

from driftd.alerts.model import Alert


def labels(alert: Alert) -> dict[str, str]:
    return {
        "model": alert.model,
        "rule": alert.rule,
        "metric": alert.metric,
        "severity": alert.severity,
    }


def matches(matcher: dict[str, str], alert_labels: dict[str, str]) -> bool:
    return all(
        fnmatch.fnmatchcase(alert_labels.get(label, ""), pattern)
        for label, pattern in matcher.items()
    )


def parse_matchers(items: list[str]) -> dict[str, str]:
    """['model=credit', 'metric=drift.*'] -> {'model': 'credit', 'metric': 'drift.*'}."""
    from driftd.config.alerting import LABELS
    from driftd.errors import ConfigError

    out: dict[str, str] = {}
    for item in items:
        label, sep, pattern = item.partition("=")
        label = label.strip()
        if not sep or label not in LABELS or not pattern.strip():
            raise ConfigError(
                "matcher", f"{item!r}: expected LABEL=GLOB with LABEL one of {', '.join(LABELS)}"
            )
        out[label] = pattern.strip()
    return out
