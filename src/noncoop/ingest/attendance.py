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
from noncoop.events import EVENT_COLUMNS, STRING, conform, event_ids
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.mapping import apply_fields, missing_columns, parse_times, require
from noncoop.sources.csvread import read_csv_batches, read_header
from noncoop.sources.load import LoadedSource
from noncoop.sources.model import ATTENDANCE_FIELDS
from noncoop.store.keyset import KeySet

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
SUMMARY_SLICE = 500_000


def read_attendance(
    path: Path, source: LoadedSource, source_file: str, people: Crosswalk
) -> Iterator[ImportBlock]:
    """Yield absence events block by block, then the weekly summaries once the file is read.

    A register has few distinct pupils, dates, sessions and codes per block, so every check and
    mapping runs on those distinct values and reaches the rows through integer codes.
    """
    profile = source.profile
    absent_cols = missing_columns(
        profile, ATTENDANCE_FIELDS, read_header(path, profile.encoding, profile.delimiter)
    )
    local_codes = {k.upper(): v.upper() for k, v in profile.codes.items()}
    date_spec = profile.fields.get("date")
    agency = source.spec.agency or "education"
    service = source.spec.service or "school"
    weeks: list[pd.DataFrame] = []
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
        day = parse_times(fields["date"], date_spec.format if date_spec else None, "date", checks)
        session = Factor(fields["session"].str.upper())
        checks.add(
            session.rows(~session.values.isin(list(SESSION_HOUR))),
            "BAD-VALUE",
            "session '{}' is not AM or PM",
            fields["session"],
        )
        code = Factor(fields["code"].str.upper())
        statutory = code.values.map(local_codes).astype("string").fillna(code.values)
        category = statutory.map(CATEGORY).astype("string")
        checks.add(
            code.rows(category.isna()),
            "BAD-ATTENDANCE-CODE",
            "code '{}' is not a DfE attendance code and the profile does not map it",
            fields["code"],
        )
        link = people.resolve("upn", fields["upn"], checks)
        days = day.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
        pm = session.rows(session.values == "PM").to_numpy()
        _repeat(link, days, pm, fields, seen, checks)
        good = ~checks.failed.to_numpy()
        _, rejected = checks.split(
            rows.drop(columns="_line"), source.name, source_file, rows["_line"], fields["upn"]
        )
        row_category = code.take(category, "")
        absent = good & np.isin(row_category, ["authorised", "unauthorised"])
        possible = good & (row_category != "not_possible")
        events = _absences(
            absent,
            link,
            days,
            pm,
            code.take(statutory, ""),
            row_category,
            code.take(code.values, ""),
            rows["_line"].to_numpy(),
            people,
            source,
            source_file,
            agency,
            service,
        )
        monday = days - (days + 3) % 7  # 1970-01-01 was a Thursday
        weeks.append(
            pd.DataFrame(
                {
                    "link": link[possible],
                    "week": monday[possible],
                    "possible": 1,
                    "absent": absent[possible].astype(np.int32),
                    "line": rows["_line"].to_numpy()[possible],
                }
            )
            .groupby(["link", "week"], sort=False)
            .agg(possible=("possible", "sum"), absent=("absent", "sum"), line=("line", "min"))
        )
        rejected = pd.concat([batch.rejected, rejected], ignore_index=True)
        yield ImportBlock(events, rejected, batch.rows_read, int(good.sum()))
    if weeks:
        total = (
            pd.concat(weeks)
            .groupby(level=["link", "week"], sort=True)
            .agg(possible=("possible", "sum"), absent=("absent", "sum"), line=("line", "min"))
            .reset_index()
        )
        del weeks
        # Summaries go out in slices so a large register never builds all its events at once.
        for first in range(0, len(total), SUMMARY_SLICE):
            part = total.iloc[first : first + SUMMARY_SLICE].reset_index(drop=True)
            yield ImportBlock(
                _summaries(part, people, source, source_file, agency, service),
                quarantine.empty(),
                0,
                0,
            )


class Factor:
    """A column as integer codes into its distinct values, so checks run once per value."""

    def __init__(self, values: pd.Series):
        codes, uniques = pd.factorize(values)
        self.index = values.index
        self.codes = codes
        self.values = pd.Series(np.asarray(uniques, dtype=object), dtype="string")

    def rows(self, per_value: pd.Series) -> pd.Series:
        """A per-value boolean spread to the rows (False for blank cells)."""
        spread = self.take(per_value.fillna(False).astype(bool), False).astype(bool)
        return pd.Series(spread, index=self.index)

    def take(self, per_value: pd.Series, blank: object) -> np.ndarray:
        """A per-value column spread to the rows, `blank` for blank cells."""
        lookup = np.append(per_value.astype(object).fillna(blank).to_numpy(), blank)
        return lookup[self.codes]


def _repeat(
    link: np.ndarray,
    days: np.ndarray,
    pm: np.ndarray,
    fields: pd.DataFrame,
    seen: KeySet,
    checks: quarantine.Checks,
) -> None:
    """The same pupil, date and session twice in one file: the later row is rejected."""
    valid = ~checks.failed.to_numpy()
    numbers = np.where(valid, (link << 18) | (days << 1) | pm, 0).astype(np.uint64)
    repeat = seen.contains(numbers)
    here = pd.Series(numbers[valid]).duplicated(keep="first").to_numpy()
    repeat[valid] |= here
    repeat &= valid
    checks.add(
        pd.Series(repeat, index=fields.index),
        "DUPLICATE-RECORD",
        "session {} {} {} is recorded twice",
        fields["upn"],
        fields["date"],
        fields["session"],
    )
    seen.add(numbers[valid])


def _absences(
    absent,
    link,
    days,
    pm,
    code,
    category,
    local,
    lines,
    people,
    source,
    source_file,
    agency,
    service,
) -> pd.DataFrame:
    """One event per absent session; its key (pupil, date, session) makes the event id."""
    who = people.identity(link[absent])
    stamp = pd.to_datetime(days[absent], unit="D", utc=True) + pd.to_timedelta(
        pm[absent].astype(np.int64) * 12, unit="h"
    )
    session = np.where(pm[absent], "PM", "AM")
    day_text = np.asarray(days[absent], dtype="datetime64[D]").astype(str)
    keys = who["id_value"].astype(str) + "|" + day_text + "|" + session
    detail = (
        pd.Series(code[absent], dtype="string") + " " + pd.Series(category[absent], dtype="string")
    )
    was_local = pd.Series(local[absent] != code[absent])
    detail = detail.where(
        ~was_local, detail + " (local " + pd.Series(local[absent], dtype="string") + ")"
    )
    return _events(
        who,
        stamp,
        "school.absence",
        source,
        source_file,
        agency,
        service,
        keys,
        detail,
        lines[absent],
    )


def _summaries(
    total: pd.DataFrame,
    people: Crosswalk,
    source: LoadedSource,
    source_file: str,
    agency: str,
    service: str,
) -> pd.DataFrame:
    """One `school.attendance_summary` per pupil-week of `total` (link, week, counts, line)."""
    who = people.identity(total["link"].to_numpy())
    monday = pd.to_datetime(total["week"].to_numpy(), unit="D", utc=True)
    week_text = total["week"].to_numpy().astype("datetime64[D]").astype(str)
    keys = who["id_value"].astype(str) + "|week|" + week_text
    attended = total["possible"] - total["absent"]
    detail = attended.astype(str) + " of " + total["possible"].astype(str) + " sessions attended"
    events = _events(
        who,
        monday,
        "school.attendance_summary",
        source,
        source_file,
        agency,
        service,
        keys,
        detail,
        total["line"].to_numpy(),
    )
    events["sessions_possible"] = total["possible"].to_numpy()
    events["sessions_absent"] = total["absent"].to_numpy()
    return conform(events)


def _events(
    who: pd.DataFrame,
    at,
    event_type: str,
    source: LoadedSource,
    source_file: str,
    agency: str,
    service: str,
    keys: pd.Series,
    detail: pd.Series,
    lines: np.ndarray,
) -> pd.DataFrame:
    """Canonical events from columns, built in their final dtypes so nothing is converted twice:
    constant columns are one-category categoricals, text stays in Arrow."""
    n = len(keys)

    def constant(value: str) -> pd.Categorical:
        return pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[value])

    kind = EVENT_COLUMNS["event_type"]
    return conform(
        pd.DataFrame(
            {
                "event_id": pd.array(event_ids(source.name, keys), dtype=STRING),
                "subject_id": who["subject_id"].array,
                "subject_role": who["subject_role"].array,
                "household_id": who["household_id"].array,
                "agency": constant(agency),
                "service": constant(service),
                "event_type": pd.Categorical.from_codes(
                    np.full(n, kind.categories.get_loc(event_type), np.int8), dtype=kind
                ),
                "occurred_at": pd.DatetimeIndex(at),
                "detail": pd.array(detail, dtype=STRING),
                "source": constant(source.name),
                "source_file": constant(source_file),
                "source_line": lines,
                "record_key": pd.array(keys, dtype=STRING),
                "id_scheme": who["id_scheme"].astype("category").array,
                "id_value": who["id_value"].array,
            }
        )
    )
