"""School attendance registers (`upn, date, session, code`) with DfE attendance codes.

Emits one `school.absence` per absent session and one `school.attendance_summary` per pupil-week,
so absence rates always have a denominator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.config import ATTENDANCE_FIELDS, LoadedSource
from noncoop.csvread import read_csv_batches, read_header
from noncoop.events import conform, event_ids
from noncoop.identity import Crosswalk
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.mapping import apply_fields, missing_columns, parse_times, require
from noncoop.keyset import KeySet

PRESENT = ("/", "\\", "L")
APPROVED_ACTIVITY = ("K", "V", "P", "W", "B")
AUTHORISED = ("C", "C1", "C2", "M", "J1", "S", "R", "T", "I", "E", "H", "J")
UNAUTHORISED = ("G", "N", "O", "U")
NOT_POSSIBLE = ("X", "Z", "#", "Q", "Y", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "D")

CATEGORY: dict[str, str] = (
    dict.fromkeys(PRESENT, "present")
    | dict.fromkeys(APPROVED_ACTIVITY, "present")
    | dict.fromkeys(AUTHORISED, "authorised")
    | dict.fromkeys(UNAUTHORISED, "unauthorised")
    | dict.fromkeys(NOT_POSSIBLE, "not_possible")
)
SESSION_HOUR = {"AM": 0, "PM": 12}


def read_attendance(
    path: Path, source: LoadedSource, source_file: str, people: Crosswalk
) -> Iterator[ImportBlock]:
    """Yield absence events block by block, then the weekly summaries once the file is read."""
    profile = source.profile
    absent_cols = missing_columns(
        profile, ATTENDANCE_FIELDS, read_header(path, profile.encoding, profile.delimiter)
    )
    local_codes = {k.upper(): v.upper() for k, v in profile.codes.items()}
    agency = source.spec.agency or "education"
    service = source.spec.service or "school"
    partial: list[pd.DataFrame] = []
    seen = KeySet()
    for batch in read_csv_batches(
        path, source.name, source_file, profile.encoding, profile.delimiter
    ):
        rows = batch.rows
        checks = quarantine.Checks(rows.index)
        if absent_cols:
            checks.add(
                pd.Series(True, index=rows.index),
                "MISSING-FIELD",
                f"the file has no column {', '.join(absent_cols)} named in the profile",
            )
        fields = apply_fields(rows, profile, ATTENDANCE_FIELDS, checks)
        require(fields, ATTENDANCE_FIELDS, checks)
        spec = profile.fields.get("date")
        day = parse_times(fields["date"], spec.format if spec else None, "date", checks)
        session = fields["session"].str.upper()
        checks.add(
            session.notna() & ~session.isin(list(SESSION_HOUR)),
            "BAD-VALUE",
            "session '{}' is not AM or PM",
            fields["session"],
        )
        raw_code = fields["code"].str.upper()
        code = raw_code.map(local_codes).astype("string").fillna(raw_code)
        category = code.map(CATEGORY).astype("string")
        checks.add(
            code.notna() & category.isna(),
            "BAD-ATTENDANCE-CODE",
            "code '{}' is not a DfE attendance code and the profile does not map it",
            fields["code"],
        )
        who = people.link(
            pd.DataFrame({"id_scheme": "upn", "id_value": fields["upn"]}, index=rows.index), checks
        )
        _repeat(who["link_code"], day, session, fields, seen, checks)
        good = ~checks.failed.to_numpy()
        _, rejected = checks.split(
            rows.drop(columns="_line"), source.name, source_file, rows["_line"], fields["upn"]
        )
        ok = pd.DataFrame(
            {
                "at": day + pd.to_timedelta(session.map(SESSION_HOUR).astype("float"), unit="h"),
                "session": session,
                "code": code,
                "local": raw_code.where(raw_code != code),
                "category": category,
                "line": rows["_line"],
            }
        ).join(who)[good]
        absences = ok[ok["category"].isin(["authorised", "unauthorised"])]
        detail = absences["code"] + " " + absences["category"]
        detail = detail.where(
            absences["local"].isna(), detail + " (local " + absences["local"] + ")"
        )
        absences = absences.assign(
            key=absences["id_value"]
            + "|"
            + absences["at"].dt.strftime("%Y-%m-%d")
            + "|"
            + absences["session"]
        )
        events = _events(
            absences,
            "school.absence",
            source,
            source_file,
            agency,
            service,
            absences["key"],
            detail,
        )
        possible = ok[ok["category"] != "not_possible"]
        partial.append(
            possible.assign(
                week=(
                    possible["at"].dt.normalize()
                    - pd.to_timedelta(possible["at"].dt.day_of_week, unit="D")
                ),
                absent=possible["category"].isin(["authorised", "unauthorised"]).astype(np.int32),
            )
            .groupby(
                ["subject_id", "subject_role", "household_id", "id_scheme", "id_value", "week"],
                observed=True,
                dropna=False,
            )
            .agg(possible=("line", "size"), absent=("absent", "sum"), line=("line", "min"))
            .reset_index()
        )
        rejected = pd.concat([batch.rejected, rejected], ignore_index=True)
        yield ImportBlock(events, rejected, batch.rows_read, int(good.sum()))
    if partial:
        yield ImportBlock(
            _summaries(partial, source, source_file, agency, service), quarantine.empty(), 0, 0
        )


def _repeat(
    link_code: pd.Series,
    day: pd.Series,
    session: pd.Series,
    fields: pd.DataFrame,
    seen: KeySet,
    checks: quarantine.Checks,
) -> None:
    """The same pupil, date and session twice in one file: the later row is rejected."""
    valid = ~checks.failed
    days = day.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    numbers = (link_code.to_numpy(np.int64) << 18) | (days << 1) | (session == "PM").to_numpy(int)
    numbers = pd.Series(numbers.astype(np.uint64), index=link_code.index)
    repeat = pd.Series(seen.contains(numbers.to_numpy()), index=numbers.index)
    repeat[valid] |= numbers[valid].duplicated(keep="first")
    repeat &= valid
    checks.add(
        repeat,
        "DUPLICATE-RECORD",
        "session {} {} {} is recorded twice",
        fields["upn"],
        fields["date"],
        session,
    )
    seen.add(numbers[valid].to_numpy())


def _summaries(
    partial: list[pd.DataFrame], source: LoadedSource, source_file: str, agency: str, service: str
) -> pd.DataFrame:
    weeks = (
        pd.concat(partial, ignore_index=True)
        .groupby(
            ["subject_id", "subject_role", "household_id", "id_scheme", "id_value", "week"],
            observed=True,
            dropna=False,
        )
        .agg(possible=("possible", "sum"), absent=("absent", "sum"), line=("line", "min"))
        .reset_index()
    )
    key = weeks["id_value"] + "|week|" + weeks["week"].dt.strftime("%Y-%m-%d")
    detail = (
        (weeks["possible"] - weeks["absent"]).astype(str)
        + " of "
        + weeks["possible"].astype(str)
        + " sessions attended"
    )
    events = _events(
        weeks.rename(columns={"week": "at"}),
        "school.attendance_summary",
        source,
        source_file,
        agency,
        service,
        key,
        detail,
    )
    events["sessions_possible"] = weeks["possible"].to_numpy()
    events["sessions_absent"] = weeks["absent"].to_numpy()
    return conform(events)


def _events(
    frame: pd.DataFrame,
    event_type: str,
    source: LoadedSource,
    source_file: str,
    agency: str,
    service: str,
    keys: pd.Series,
    detail: pd.Series,
) -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "event_id": pd.Series(event_ids(source.name, keys.astype(str)), index=frame.index),
                "subject_id": frame["subject_id"],
                "subject_role": frame["subject_role"],
                "household_id": frame["household_id"],
                "agency": agency,
                "service": service,
                "event_type": event_type,
                "occurred_at": frame["at"],
                "detail": detail,
                "source": source.name,
                "source_file": source_file,
                "source_line": frame["line"],
                "record_key": keys,
                "id_scheme": frame["id_scheme"],
                "id_value": frame["id_value"],
            },
            index=frame.index,
        )
    )
