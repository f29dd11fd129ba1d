"""One fact, one alert: the alert of a superseded rule is listed with the alert of the rule
superseding it (`related: [{id: …, type: supersedes}]` in the superseding rule) instead of being
raised on its own.

Which alerts are folded is decided with the rules (evaluate.py, history.py): on a day a rule holds
for a child, the rules it supersedes do not raise an alert for that child. This module lists each
folded alert with the alerts it was folded into.
"""

from __future__ import annotations

from dataclasses import replace

from noncoop.engine.alert import Alert
from noncoop.engine.rules.pack import RulePack


def attach(alerts: list[Alert], folded: list[Alert], pack: RulePack) -> list[Alert]:
    """Each folded alert listed (`related`) on the alerts of the same child whose rules
    supersede it, directly or through others, and which hold on its last day (for episodes:
    which end within its days, as a nightly scan on their last day would have seen it)."""
    if not folded:
        return alerts
    above = {rule_id: pack.superseding(rule_id) for rule_id in {f.rule_id for f in folded}}
    by_child: dict[str, list[int]] = {}
    for i, alert in enumerate(alerts):
        by_child.setdefault(alert.subject_id, []).append(i)
    related: dict[int, list[Alert]] = {}
    for f in folded:
        for i in by_child.get(f.subject_id, ()):
            if alerts[i].rule_id in above[f.rule_id] and _together(alerts[i], f):
                related.setdefault(i, []).append(f)
    return [
        replace(a, related=tuple(f.as_related() for f in _ordered(related[i])))
        if i in related
        else a
        for i, a in enumerate(alerts)
    ]


def _together(alert: Alert, folded: Alert) -> bool:
    """Whether a folded alert held on the alert's last day (a single date's alerts all do)."""
    if alert.held is None or folded.held is None:
        return True
    return folded.held.start <= alert.held.end <= folded.held.end


def _ordered(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.rule_id, a.window.start))
