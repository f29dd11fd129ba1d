"""The chronology: every event of the child and household in date order, in words, sourced.

Long runs of routine events (a term of school weeks attended, a series of appointments kept) fold
into one line so the concerns stand out; where each alert begins is marked.
"""

from __future__ import annotations

import pandas as pd

from noncoop.reports.casefile import CaseFile
from noncoop.vocab import EVENT_TYPES, HOSTILITY, UNAUTHORISED_ABSENCE, absence_words

COLUMNS = (
    "date",
    "until",
    "subject_id",
    "agency",
    "service",
    "what",
    "seen",
    "seen_alone",
    "hostility",
    "count",
    "source_file",
    "source_line",
    "kind",
    "event_id",
)
FOLD_MIN = 3  # routine events in a row before they fold into one line
GOOD_ATTENDANCE = 0.9  # below this a school week counts towards persistent absence (DfE: 10%)

WORDS = {name: t.words for name, t in EVENT_TYPES.items()}
FOLDED = {name: t.folded for name, t in EVENT_TYPES.items() if t.folded}
# Kinds let reports and the figure style events without re-reading event types.
KINDS = {name: t.kind for name, t in EVENT_TYPES.items()}


def kinds(events: pd.DataFrame) -> pd.Series:
    """Each event's kind for display: kept, booked, missed, late, no_access, hostility, …"""
    return events["event_type"].astype(str).map(KINDS)


def describe(events: pd.DataFrame) -> pd.Series:
    """What happened, in words, for each event."""
    kind = events["event_type"].astype(str)
    what = kind.map(WORDS)
    level = events["hostility_level"].astype("Float64")
    hostile = level.notna()
    what[hostile] = (
        what[hostile]
        + " (level "
        + level[hostile].astype(int).astype(str)
        + ": "
        + level[hostile].astype(int).map(HOSTILITY).fillna("")
        + ")"
    )
    summary = (kind == "school.attendance_summary") & events["sessions_possible"].notna()
    possible = events["sessions_possible"].astype("Float64")
    absent = events["sessions_absent"].fillna(0).astype("Float64")
    what[summary] = (
        "School attendance: "
        + (possible - absent)[summary].astype(int).astype(str)
        + " of "
        + possible[summary].astype(int).astype(str)
        + " sessions"
    )
    code = events["detail"].astype(object)
    absence = (kind == "school.absence") & code.notna()
    what[absence] = "Absent from school (" + code[absence].astype(str).map(absence_words) + ")"
    via = events["subject_role"].astype(str) == "adult"
    what[via] = what[via] + " (household member " + events.loc[via, "subject_id"].astype(str) + ")"
    return what


def fold_class(events: pd.DataFrame) -> pd.Series:
    """Which run an event may fold into ('' = never folds): bookings, appointments kept, children
    seen, meetings attended, and school weeks at 90% attendance or better with their absences."""
    kind = events["event_type"].astype(str)
    possible = events["sessions_possible"].astype("Float64")
    attended = possible - events["sessions_absent"].astype("Float64").fillna(0)
    good_week = (kind == "school.attendance_summary") & (attended >= GOOD_ATTENDANCE * possible)
    seen = events["child_seen"].fillna(True).astype(bool)
    out = kind.where(kind.isin(list(FOLDED)), "")
    out[(kind == "visit.completed") & ~seen] = ""
    out[kind == "school.attendance_summary"] = ""
    out[good_week.fillna(False).astype(bool)] = "school"
    # An absent session folds with its week: only when that week's attendance was good.
    week = out.where(kind == "school.attendance_summary")
    stream = events["subject_id"].astype(str) + "|" + events["service"].astype(str)
    week = week.groupby(stream).ffill().fillna("")
    out[kind == "school.absence"] = week[kind == "school.absence"]
    return out


def chronology(case: CaseFile, fold: bool = True) -> pd.DataFrame:
    """The chronology as rows in date order; alert starts appear as rows of kind `alert`."""
    ev = case.events
    rows = pd.DataFrame(
        {
            "at": ev["occurred_at"],
            "subject_id": ev["subject_id"].astype(str),
            "agency": ev["agency"].astype(str),
            "service": ev["service"].astype(object).where(ev["service"].notna(), ""),
            "event_type": ev["event_type"].astype(str),
            "what": describe(ev),
            "seen": _yes_no(ev["child_seen"]),
            "seen_alone": _yes_no(ev["child_seen_alone"]),
            "hostility": ev["hostility_level"].astype("string").fillna(""),
            "count": 1,
            "source_file": ev["source_file"].astype(str),
            "source_line": ev["source_line"].astype("int64"),
            "kind": kinds(ev),
            "event_id": ev["event_id"].astype(str),
            "fold": fold_class(ev),
            "week": (ev["event_type"] == "school.attendance_summary").to_numpy(bool),
            "possible": ev["sessions_possible"].astype("Float64").fillna(0).to_numpy(float),
            "absent": ev["sessions_absent"].astype("Float64").fillna(0).to_numpy(float),
            "unauthorised": ev["detail"].isin(UNAUTHORISED_ABSENCE).fillna(False).to_numpy(bool)
            & (ev["event_type"].astype(str) == "school.absence").to_numpy(bool),
        }
    )
    rows["until"] = rows["at"]
    rows["order"] = 1
    if fold and len(rows):
        rows = _fold(rows)
    marks = _alert_marks(case)
    out = pd.concat([rows, marks], ignore_index=True) if len(marks) else rows
    for column in ("at", "until"):  # one resolution, whatever each part came with
        out[column] = pd.to_datetime(out[column], utc=True).astype("datetime64[us, UTC]")
    out = out.sort_values(["at", "order"], kind="stable")
    # Dates are the region's calendar days, not UTC ones.
    out["date"] = out["at"].dt.tz_convert(case.timezone).dt.strftime("%Y-%m-%d")
    out["until"] = (
        out["until"]
        .dt.tz_convert(case.timezone)
        .dt.strftime("%Y-%m-%d")
        .where(out["count"] > 1, "")
    )
    return out[list(COLUMNS)].reset_index(drop=True)


def _fold(rows: pd.DataFrame) -> pd.DataFrame:
    """Runs of at least FOLD_MIN foldable events of one class, in one stream, become one row."""
    stream = rows["subject_id"] + "|" + rows["agency"] + "|" + rows["service"].astype(str)
    foldable = rows["fold"] != ""
    previous = rows.groupby(stream, sort=False)["fold"].shift().fillna("")
    starts = ~foldable | (rows["fold"] != previous)
    run = starts.astype(int).groupby(stream).cumsum()
    size = rows.groupby([stream, run])["fold"].transform("size")
    weeks = rows["week"].groupby([stream, run]).transform("sum")
    folded = foldable & (size >= FOLD_MIN) & ((rows["fold"] != "school") | (weeks >= 2))
    keep = rows[~folded]
    runs = rows[folded].groupby([stream[folded], run[folded]], sort=False)
    first = runs.first()
    first["until"] = runs["at"].max()
    first["count"] = runs.size()
    first["what"] = (first["count"].astype(str) + " " + first["event_type"].map(FOLDED)).where(
        first["fold"] != "school", _school_summary(runs)
    )
    first["event_id"] = first["event_id"] + " +" + (first["count"] - 1).astype(str)
    first["seen"] = first["seen_alone"] = first["hostility"] = ""
    return pd.concat([keep, first.reset_index(drop=True)], ignore_index=True).sort_values(
        "at", kind="stable"
    )


def _school_summary(runs) -> pd.Series:
    """'12 school weeks: 112 of 120 sessions attended (93%); 8 absent, 3 unauthorised'."""
    possible, absent = runs["possible"].sum(), runs["absent"].sum()
    weeks = runs["week"].sum()
    unauthorised = runs["unauthorised"].sum()
    share = ((possible - absent) / possible.where(possible > 0)).fillna(1.0)
    text = (
        weeks.astype(str)
        + " school weeks: "
        + (possible - absent).astype(int).astype(str)
        + " of "
        + possible.astype(int).astype(str)
        + " sessions attended ("
        + (share * 100).round().astype(int).astype(str)
        + "%)"
    )
    return text.where(
        absent == 0,
        text
        + "; "
        + absent.astype(int).astype(str)
        + " absent, "
        + unauthorised.astype(int).astype(str)
        + " unauthorised",
    )


def _alert_marks(case: CaseFile) -> pd.DataFrame:
    marks = [
        {
            "at": pd.Timestamp(a.window.start, tz="UTC"),
            "until": pd.Timestamp(a.window.end, tz="UTC"),
            "subject_id": a.subject_id,
            "agency": "",
            "service": "",
            "what": f"Alert begins: {a.title} ({a.rule_id}, {a.level}; "
            f"alert {a.alert_id}, window to {a.window.end}"
            + (f"; resolved on {a.changed_as_of})" if a.status == "resolved" else ")"),
            "seen": "",
            "seen_alone": "",
            "hostility": "",
            "count": 1,
            "source_file": "",
            "source_line": 0,
            "kind": "alert",
            "event_id": "",
            "order": 0,
        }
        for a in (*case.alerts, *case.earlier)
    ]
    return pd.DataFrame(marks)


def _yes_no(values: pd.Series) -> pd.Series:
    return values.map({True: "yes", False: "no"}).astype(object).fillna("")


def chronology_json(rows: pd.DataFrame) -> str:
    return rows.to_json(orient="records", indent=2, force_ascii=False)
