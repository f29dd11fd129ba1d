"""Alerts as the store keeps them: the engine's alert with its lifecycle (new, ongoing, reopened,
resolved) and its triage (open, acknowledged, closed, snoozed), and the audit log's entries.

`to_json()` is the alert JSON contract of DESIGN.md, as scans, `alerts --json` and reports give it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from noncoop.engine.alert import Alert, Evidence, Related, Window, frozen_made

ACTIVE = ("new", "ongoing", "reopened")
STATUSES = (*ACTIVE, "resolved")
TRIAGE = ("open", "acknowledged", "closed", "snoozed")
QUIET = ("closed", "snoozed")  # triage states that keep an alert off the morning list
TRIAGE_ACTIONS = {"ack": "acknowledged", "close": "closed", "snooze": "snoozed"}


@dataclass(frozen=True)
class Triage:
    """Someone's decision about an alert, with who, why, when and (snoozed) until when."""

    state: str = "open"
    by: str | None = None
    reason: str | None = None
    at: str | None = None
    until: str | None = None

    @classmethod
    def of(cls, *values: Any) -> Triage:
        """The triage of these field values, in field order. Most alerts' is the triage no one
        has given yet: one instance of it, shared (it cannot be changed), not one for each of
        a night's 20,000 alerts."""
        if values == _NONE_GIVEN:
            return _UNTRIAGED
        return frozen_made(cls, zip(_TRIAGE_FIELDS, values, strict=True))

    def to_json(self) -> dict[str, Any]:
        # Written out: dataclasses.asdict walks and copies, for each of a night's 13,000 alerts.
        return {
            "state": self.state,
            "by": self.by,
            "reason": self.reason,
            "at": self.at,
            "until": self.until,
        }


_TRIAGE_FIELDS = tuple(f.name for f in fields(Triage))
_UNTRIAGED = Triage()
_NONE_GIVEN = tuple(getattr(_UNTRIAGED, name) for name in _TRIAGE_FIELDS)


@dataclass(frozen=True)
class StoredAlert(Alert):
    """An alert episode in the store: the alert as last found, its lifecycle and its triage."""

    rule_version: str
    status: str
    note: str | None
    first_as_of: str
    changed_as_of: str
    last_as_of: str
    triage: Triage

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredAlert:
        """From a row of the store (JSON columns as text)."""
        alert = Alert(
            alert_id=row["alert_id"],
            rule_id=row["rule_id"],
            title=row["title"],
            level=row["level"],
            tags=tuple(json.loads(row["tags"])),
            subject_id=row["subject_id"],
            household_id=row["household_id"],
            window=Window(row["window_start"], row["window_end"]),
            explanation=row["explanation"],
            evidence=tuple(Evidence.from_json(e) for e in json.loads(row["evidence"])),
            guidance=tuple(json.loads(row["guidance"])),
            actions=tuple(json.loads(row["actions"])),
            related=tuple(Related.from_json(r) for r in json.loads(row.get("related") or "[]")),
        )
        return cls.of(alert, row)

    @classmethod
    def of(
        cls,
        alert: Alert,
        row: dict[str, Any],
        status: str | None = None,
        touched: str | None = None,
    ) -> StoredAlert:
        """The alert with the lifecycle and triage a row of the store gives it (and `status`
        and the night `touched` rather than the row's, where given: the row as it stands, not
        a copy of it made for each alert). Its fields are set as the dataclass's `__init__`
        sets them, less a call to `object.__setattr__` for each of 24 (it is frozen): a night
        makes one for each of its 22,000 alerts at 100,000 children (0.30 s to 0.15 s)."""
        stored = object.__new__(cls)
        vars(stored).update(
            vars(alert),  # the fields, and a recalled alert's stored text as yet unread
            alert_id=row["alert_id"],  # a reopened episode keeps the id it was first given
            rule_version=row["rule_version"],
            status=status or row["status"],
            note=row["note"],
            first_as_of=row["first_as_of"],
            changed_as_of=row["changed_as_of"],
            last_as_of=touched or row["touched_as_of"],
            triage=Triage.of(
                row["triage"],
                row["triage_by"],
                row["triage_reason"],
                row["triage_at"],
                row["snoozed_until"],
            ),
        )
        return stored

    def to_json(self, evidence: Any = None, related: Any = None) -> dict[str, Any]:
        """The contract's alert, with its lifecycle and triage (and the `evidence` and `related`
        alerts given, laid out already, in place of the records)."""
        # The content's dict (made for this call) taken on, not copied into another.
        out = self.content_json({"rule_version": self.rule_version}, evidence, related)
        out["status"] = self.status
        out["note"] = self.note
        out["first_as_of"] = self.first_as_of
        out["changed_as_of"] = self.changed_as_of
        out["last_as_of"] = self.last_as_of
        if self.status == "resolved":
            out["resolved_on"] = self.changed_as_of
        out["triage"] = self.triage.to_json()
        return out


@dataclass
class StoreUpdate:
    """What one scan did to the store: the alerts as stored now, and the counts by outcome."""

    alerts: list[StoredAlert]
    resolved: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    # A first scan's earlier episodes, recorded as already resolved.
    history: list[StoredAlert] = field(default_factory=list)

    def summary(self) -> str:
        """'3 new, 10 ongoing, 0 reopened, 1 resolved, 2 quiet' (and, on a first scan, how many
        earlier alerts it recorded as resolved), for the terminal and the log."""
        words = {"history": "earlier (resolved)"}
        return ", ".join(f"{n:,} {words.get(k, k)}" for k, n in self.counts.items())


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log: a scan or a triage action."""

    seq: int
    at: str
    actor: str
    action: str
    as_of: str | None
    alert_id: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
