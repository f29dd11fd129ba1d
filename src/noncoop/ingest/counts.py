"""What an ingest run did: rows and events per source and in total, counts that reconcile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

Progress = Callable[[str, int], None]
"""Called with a description and a number of bytes just processed."""

ROW_COUNTS = ("rows_read", "rows_accepted", "rows_quarantined")


@dataclass
class Counts:
    """Rows and events for one source; rows_read always equals accepted plus quarantined."""

    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    new_events: int = 0
    withdrawn_events: int = 0
    files: int = 0
    files_unchanged: int = 0
    # New versions not taken (empty, or withdrawing too much): their previous version stays.
    files_refused: int = 0
    # Rows read and accepted that are not events, by kind (FHIR resource types not used); they
    # are counted in rows_accepted, so the counts still reconcile.
    other_kinds: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            if f.name != "other_kinds":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.add_other(other.other_kinds)

    def add_other(self, kinds: dict[str, int]) -> None:
        """Count rows accepted that are not events, by kind."""
        for kind, n in kinds.items():
            self.other_kinds[kind] = self.other_kinds.get(kind, 0) + n

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined


@dataclass
class IngestReport:
    """What one ingest run did, per source and in total."""

    run_id: str
    by_source: dict[str, Counts] = field(default_factory=dict)
    people: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    events_stored: int = 0
    warnings: list[str] = field(default_factory=list)
    relinked: int = 0
    detached: int = 0

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.by_source.values():
            total.add(counts)
        return total

    def to_json(self) -> dict:
        """The `ingest` block of the scan JSON contract, plus people and run details."""
        total = asdict(self.total)
        return {
            **{k: total[k] for k in (*ROW_COUNTS, "new_events", "withdrawn_events")},
            "by_source": {name: asdict(c) for name, c in self.by_source.items()},
            "people": {
                **{k: getattr(self.people, k) for k in ROW_COUNTS},
                "other_kinds": dict(self.people.other_kinds),
            },
            "run_id": self.run_id,
            "events_stored": self.events_stored,
            "warnings": self.warnings,
            "identity": {"relinked_events": self.relinked, "detached_events": self.detached},
        }
