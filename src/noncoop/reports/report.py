"""The strategy-meeting report: who, which agencies and how engagement with each looks, the open
alerts explained with their evidence, guidance and actions, the earlier alerts since resolved,
the timeline and the chronology.

One structure and its rows here; three renderings in render/: Markdown (figure beside it), HTML
(one self-contained file that prints well) and PDF (fpdf2, no browser or network).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from noncoop.alerts.model import StoredAlert
from noncoop.reports.casefile import CaseFile
from noncoop.reports.chronology import chronology
from noncoop.vocab import EVENT_TYPES, in_words

PREAMBLE = (
    "Prepared by noncoop from the agencies' records. An alert is a prompt for professional "
    "judgement and information sharing, not a verdict about a family."
)
ENGAGEMENT_COLUMNS = (
    "agency",
    "records",
    "appointments kept / missed",
    "visits completed / no access",
    "meetings attended / not",
    "hostility recorded",
    "school attendance",
    "first",
    "last",
)
EARLIER = "Earlier alerts, since resolved"  # the section's heading in every rendering
PEOPLE_HEADERS = ("id", "role", "age", "household")
EARLIER_HEADERS = ("alert", "child", "rule", "window", "resolved on", "what the records showed")
EVIDENCE_HEADERS = ("date", "agency", "service", "what", "source", "event")
CHRONOLOGY_HEADERS = (
    "date",
    "until",
    "who",
    "agency",
    "service",
    "what",
    "seen",
    "alone",
    "source",
)


Table = tuple[list[str], list[list[str]]]  # headers, rows of text


@dataclass
class Report:
    """Everything a rendering shows, as text and tables, in the order it shows them."""

    case: CaseFile
    engagement: pd.DataFrame
    chronology: pd.DataFrame
    figure_png: bytes

    @property
    def heading(self) -> str:
        return f"Strategy meeting report: {self.case.title}"

    @property
    def dated(self) -> str:
        return f"Records up to {self.case.as_of:%-d %B %Y}."

    @property
    def alerts(self) -> list[StoredAlert]:
        return self.case.alerts

    def people_table(self) -> Table:
        return list(PEOPLE_HEADERS), people_rows(self.case)

    def engagement_table(self) -> Table:
        return list(ENGAGEMENT_COLUMNS), self.engagement.values.tolist()

    def earlier_table(self) -> Table:
        """The alerts since resolved: what held, over which window, and when it stopped."""
        rows = [
            [
                a.alert_id,
                a.subject_id,
                f"{a.rule_id} ({a.level})",
                f"{a.window.start} to {a.window.end}",
                a.changed_as_of,
                a.explanation,
            ]
            for a in self.case.earlier
        ]
        return list(EARLIER_HEADERS), rows

    def chronology_table(self) -> Table:
        return list(CHRONOLOGY_HEADERS), chronology_rows(self)

    @staticmethod
    def evidence_table(alert: StoredAlert) -> Table:
        return list(EVIDENCE_HEADERS), evidence_rows(alert)

    @staticmethod
    def facts(alert: StoredAlert) -> str:
        return alert_facts(alert)

    @staticmethod
    def related(alert: StoredAlert) -> list[str]:
        """The alerts of superseded rules folded into this one, one sentence each."""
        return [
            f"Also met, listed with this alert: {r.title} ({r.level}). {r.explanation}"
            for r in alert.related
        ]


def build_report(case: CaseFile) -> Report:
    # matplotlib is loaded only when a figure is drawn, not by every command that imports this.
    from noncoop.reports.figure import figure_bytes

    return Report(case, engagement(case.events), chronology(case), figure_bytes(case, "png"))


def engagement(events: pd.DataFrame) -> pd.DataFrame:
    """Per agency: records, appointments kept and missed, visits, meetings, hostility, school."""
    kind = events["event_type"].astype(str)
    agency = events["agency"].astype(str)

    def count(*types: str) -> pd.Series:
        return kind.isin(types).groupby(agency).sum()

    possible = events["sessions_possible"].astype("Float64").fillna(0).groupby(agency).sum()
    absent = events["sessions_absent"].astype("Float64").fillna(0).groupby(agency).sum()
    hostile = kind == "hostility.recorded"
    worst = events["hostility_level"].astype("Float64").where(hostile).groupby(agency).max()
    at = events["occurred_at"].groupby(agency)
    table = pd.DataFrame(
        {
            "records": agency.groupby(agency).size(),
            "kept": count("appointment.attended", "appointment.late"),
            "missed": count("appointment.missed", "appointment.cancelled_by_family"),
            "completed": count("visit.completed"),
            "no_access": count("visit.no_access", "visit.refused", "visit.cut_short"),
            "met": count("meeting.attended"),
            "not_met": count("meeting.not_attended"),
            "hostile": hostile.groupby(agency).sum(),
            "worst": worst,
            "possible": possible,
            "absent": absent,
            "first": at.min(),
            "last": at.max(),
        }
    )
    pair = lambda a, b: table[a].astype(int).astype(str) + " / " + table[b].astype(int).astype(str)  # noqa: E731
    out = pd.DataFrame(
        {
            "agency": table.index.str.replace("_", " "),
            "records": table["records"].astype(int).astype(str),
            "appointments kept / missed": pair("kept", "missed"),
            "visits completed / no access": pair("completed", "no_access"),
            "meetings attended / not": pair("met", "not_met"),
            "hostility recorded": [
                f"{int(n)} (highest level {int(w)})" if n else "none"
                for n, w in zip(table["hostile"], table["worst"].fillna(0), strict=True)
            ],
            "school attendance": [
                f"{(p - a) / p:.0%} of {int(p)} sessions" if p else ""
                for p, a in zip(table["possible"], table["absent"], strict=True)
            ],
            "first": table["first"].dt.strftime("%Y-%m-%d"),
            "last": table["last"].dt.strftime("%Y-%m-%d"),
        }
    )
    return out.reset_index(drop=True)


def people_rows(case: CaseFile) -> list[list[str]]:
    return [
        [r.subject_id, r.role, "" if pd.isna(r.age) else f"{r.age:.0f}", str(r.household_id or "")]
        for r in case.people.itertuples()
    ]


def evidence_rows(alert: StoredAlert) -> list[list[str]]:
    return [
        [
            e.occurred_at[:10],
            in_words(e.agency) if e.agency else "",
            in_words(e.service) if e.service else "",
            EVENT_TYPES[e.event_type].words
            + (f" (household member {e.via_subject_id})" if e.via_subject_id else ""),
            f"{e.source_file}:{e.source_line}",
            e.event_id,
        ]
        for e in alert.evidence
    ]


def chronology_rows(report: Report) -> list[list[str]]:
    c = report.chronology
    return [
        [
            r.date,
            r.until,
            r.subject_id,
            in_words(r.agency),
            in_words(r.service) if r.service else "",
            r.what,
            r.seen,
            r.seen_alone,
            f"{r.source_file}:{r.source_line}" if r.source_file else "",
        ]
        for r in c.itertuples()
    ]


def alert_facts(alert: StoredAlert) -> str:
    return (
        f"Rule {alert.rule_id} · level {alert.level} · status {alert.status} · "
        f"alert {alert.alert_id} · window {alert.window.start} to {alert.window.end}"
    )
