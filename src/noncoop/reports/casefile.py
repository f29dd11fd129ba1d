"""What a strategy meeting needs about one child or one household, gathered from the workspace.

Reports read only from here: the event store and the alert store, at the end of the data flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from noncoop.alerts.model import ACTIVE, StoredAlert
from noncoop.alerts.store import AlertStore
from noncoop.asof import as_of_day
from noncoop.store.workspace import Workspace

SHOWN = ("open", "acknowledged", "snoozed")  # closed alerts were reviewed and set aside


class CaseNotFound(LookupError):
    """The subject or household is not in the workspace."""


@dataclass
class CaseFile:
    """People, events (own and household adults'), open alerts, the earlier alerts since
    resolved, and the date the case stands at."""

    subject: str | None  # the child, or None for a whole household
    household_id: str | None
    people: pd.DataFrame  # subject_id, role, household_id, date_of_birth, age
    events: pd.DataFrame  # canonical events, time ordered
    alerts: list[StoredAlert]
    as_of: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    earlier: list[StoredAlert] = field(default_factory=list)
    timezone: str = "Europe/London"  # the region's calendar: dates are its local days

    @property
    def title(self) -> str:
        return f"Child {self.subject}" if self.subject else f"Household {self.household_id}"

    @property
    def children(self) -> list[str]:
        return self.people.loc[self.people["role"] == "child", "subject_id"].tolist()


def load_case(
    ws: Workspace,
    subject: str | None = None,
    household: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> CaseFile:
    """The case of one child (with their household's adults) or of a whole household."""
    subjects = ws.load_subjects()
    subjects["subject_id"] = subjects["subject_id"].astype(str)
    if subject is not None:
        row = subjects[subjects["subject_id"] == subject]
        if row.empty:
            raise CaseNotFound(f"no subject {subject} in this workspace")
        household = row["household_id"].iloc[0]
        household = None if pd.isna(household) else str(household)
        same = subjects["household_id"].astype(str) == str(household)
        members = subjects[
            (subjects["subject_id"] == subject) | (same & (subjects["role"] == "adult"))
        ]
    elif household is not None:
        members = subjects[subjects["household_id"].astype(str) == household]
        if members.empty:
            raise CaseNotFound(f"no household {household} in this workspace")
    else:
        raise ValueError("a subject or a household is needed")
    store = AlertStore(ws.alerts_path)
    as_of = as_of_day(store.last_as_of())
    people = members[["subject_id", "role", "household_id", "date_of_birth"]].copy()
    born = pd.to_datetime(people["date_of_birth"], errors="coerce")
    people["age"] = ((as_of - born).dt.days / 365.25).round(1)
    people = people.sort_values(["role", "subject_id"], ascending=[False, True])
    events = ws.load_events(as_of=as_of, subjects=people["subject_id"].tolist())
    if start is not None:
        events = events[events["occurred_at"] >= pd.Timestamp(start, tz="UTC")]
    if end is not None:
        events = events[events["occurred_at"] < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)]
    # A week's attendance summary goes before the absences recorded on its first day.
    events = events.assign(_week=events["event_type"] != "school.attendance_summary")
    events = events.sort_values(["occurred_at", "agency", "_week", "event_id"], kind="stable")
    events = events.drop(columns="_week")
    children = people.loc[people["role"] == "child", "subject_id"].tolist()

    def stored(status: tuple[str, ...]) -> list[StoredAlert]:
        if not ws.alerts_path.exists():
            return []
        return [a for c in children for a in store.list(status=status, triage=SHOWN, subject=c)]

    return CaseFile(
        subject,
        household,
        people.reset_index(drop=True),
        events.reset_index(drop=True),
        stored(ACTIVE),
        as_of,
        earlier=stored(("resolved",)),
        timezone=ws.timezone(),
    )
