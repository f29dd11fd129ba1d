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

# What attaching reads of an alert or of what supports one: its rule, its child and the days it
# held (None: a single date's, which holds on that date only).
Key = tuple[str, object, object, object]


def attach(alerts: list[Alert], folded: list[Alert], pack: RulePack) -> list[Alert]:
    """Each folded alert listed (`related`) on the alerts of the same child whose rules
    supersede it, directly or through others, and which hold on its last day (for episodes:
    which end within its days, as a nightly scan on their last day would have seen it)."""
    if not folded:
        return alerts
    related = attached([_key(a) for a in alerts], [_key(f) for f in folded], pack)
    return [
        replace(a, related=tuple(folded[j].as_related() for j in _ordered(related[i], folded)))
        if i in related
        else a
        for i, a in enumerate(alerts)
    ]


def attached(alerts: list[Key], folded: list[Key], pack: RulePack) -> dict[int, list[int]]:
    """By alert, the folded ones listed with it (indexes into the lists of keys)."""
    above = {rule_id: pack.superseding(rule_id) for rule_id in {f[0] for f in folded}}
    by_child: dict[object, list[int]] = {}
    for i, alert in enumerate(alerts):
        by_child.setdefault(alert[1], []).append(i)
    related: dict[int, list[int]] = {}
    for j, f in enumerate(folded):
        for i in by_child.get(f[1], ()):
            if alerts[i][0] in above[f[0]] and _together(alerts[i], f):
                related.setdefault(i, []).append(j)
    return related


def _key(alert: Alert) -> Key:
    held = alert.held
    return (alert.rule_id, alert.subject_id, *((held.start, held.end) if held else (None, None)))


def _together(alert: Key, folded: Key) -> bool:
    """Whether a folded alert held on the alert's last day (a single date's alerts all do)."""
    if alert[3] is None or folded[2] is None:
        return True
    return folded[2] <= alert[3] <= folded[3]


def _ordered(indexes: list[int], folded: list[Alert]) -> list[int]:
    return sorted(indexes, key=lambda j: (folded[j].rule_id, folded[j].window.start))
