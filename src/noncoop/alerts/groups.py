"""The morning list by household: one row per household and pattern, naming its children.

Brothers and sisters often raise the same pattern from the same adults' behaviour; a list with a
row per child buries the next family's alert under them. Grouping is a view: every alert stays
in the store, and `noncoop alerts --flat` lists them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from noncoop.alerts.model import StoredAlert
from noncoop.vocab import level_rank


@dataclass(frozen=True)
class AlertGroup:
    """The alerts of one household (or of a child with none recorded) for one pattern."""

    household_id: str | None
    pattern: str
    alerts: tuple[StoredAlert, ...]  # most severe first

    @property
    def lead(self) -> StoredAlert:
        return self.alerts[0]

    @property
    def level(self) -> str:
        return self.lead.level

    @property
    def children(self) -> list[str]:
        return sorted({a.subject_id for a in self.alerts})

    @property
    def window(self) -> tuple[str, str]:
        return min(a.window.start for a in self.alerts), max(a.window.end for a in self.alerts)

    def others(self) -> list[tuple[str, list[str]]]:
        """The group's alerts after the lead: each rule with the children it alerts for."""
        out: dict[str, list[str]] = {}
        for a in self.alerts[1:]:
            out.setdefault(a.rule_id, []).append(a.subject_id)
        return list(out.items())


def by_household(alerts: list[StoredAlert]) -> list[AlertGroup]:
    """Alerts grouped by household and pattern tag, most severe groups first."""
    groups: dict[tuple[str, str], list[StoredAlert]] = {}
    for a in alerts:
        # A child with no household recorded is a household of one.
        key = (a.household_id or f"child {a.subject_id}", a.pattern or "pattern:other")
        groups.setdefault(key, []).append(a)
    out = [
        AlertGroup(
            members[0].household_id,
            pattern,
            tuple(sorted(members, key=lambda a: (level_rank(a.level), a.subject_id, a.rule_id))),
        )
        for (_, pattern), members in groups.items()
    ]
    return sorted(out, key=lambda g: (level_rank(g.level), g.pattern, g.household_id or ""))
