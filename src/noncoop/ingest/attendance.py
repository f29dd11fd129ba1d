"""School attendance registers (`upn, date, session, code`) with DfE attendance codes.

Emits one `school.absence` per absent session and one `school.attendance_summary` per pupil-week,
so absence rates always have a denominator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.events import (
    EVENT_COLUMNS,
    STRING,
    conform,
    event_id_numbers,
    event_ids,
    numbered,
)
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest.base import ImportBlock, Written
from noncoop.ingest.plausible import check_dates
from noncoop.ingest.workers import Workers, parts_folder, worker_count
from noncoop.sources.csvread import CsvBatch, header_warnings, read_csv_batches, read_header
from noncoop.sources.load import LoadedSource
from noncoop.sources.mapping import (
    apply_fields,
    missing_columns,
    parse_times,
    reject_missing_columns,
    require,
)
from noncoop.sources.model import ATTENDANCE_FIELDS
from noncoop.store.keyset import KeySet, repeated, sorted_unique
from noncoop.store.workspace import write_parquet
from noncoop.vocab import UNAUTHORISED_ABSENCE

PRESENT = ("/", "\\", "L")
APPROVED_ACTIVITY = ("K", "V", "P", "W", "B")
# F: agreed extended family holiday, a code of registers before the 2024 guidance.
AUTHORISED = ("C", "C1", "C2", "M", "J1", "S", "R", "T", "I", "E", "H", "J", "F")
UNAUTHORISED = UNAUTHORISED_ABSENCE
# "-": no mark recorded for the session; neither possible nor absent.
NOT_POSSIBLE = ("X", "Z", "#", "Q", "Y", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "D", "-")
# Codes whose meaning changed with the school attendance guidance of August 2024: before it, J
# (interview) was an approved educational activity, counted as present.
GUIDANCE_2024 = np.datetime64("2024-08-01", "D").astype(np.int64)
BEFORE_2024 = {"J": "present"}

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
    header = read_header(path, profile.encoding, profile.delimiter)
    warnings = header_warnings(path, profile.encoding, profile.delimiter)
    register = _Register(
        source,
        source_file,
        people,
        missing_columns(profile, ATTENDANCE_FIELDS, header, ATTENDANCE_FIELDS),
    )
    batches = read_csv_batches(path, source.name, source_file, profile.encoding, profile.delimiter)
    start = (register, parts_folder())
    with Workers(worker_count(path.stat().st_size), _start_worker, start) as workers:
        for batch, alone in workers.map(_map_alone, batches):
            block = register.block(batch) if alone is None else register.joined(batch, alone)
            block.warnings = warnings
            yield block
        yield from register.summaries(workers)


# A worker process's register, as the run's own was when the workers started (no sessions
# seen), and the folder it writes its blocks' events to (None: it hands them back).
_WORKER: list = []


def _start_worker(register: _Register, folder: Path | None) -> None:
    _WORKER[:] = [register, folder]


def _map_alone(batch: CsvBatch) -> _Mapped:
    register, folder = _WORKER
    alone = register.mapped(batch, KeySet())
    _handed(alone.block, folder)
    return alone


def _summarise_alone(part: pd.DataFrame) -> ImportBlock:
    register, folder = _WORKER
    return _handed(ImportBlock(register.summaries_of(part), quarantine.empty(), 0, 0), folder)


def _handed(block: ImportBlock, folder: Path | None) -> ImportBlock:
    """A worker's block as handed back: its events written to a part of their own in `folder`
    (the run names it), or as they are where there is no folder."""
    events = block.events
    if folder is not None and len(events):
        path = folder / f"worker-{uuid.uuid4().hex}.parquet"
        write_parquet(numbered(events), path)
        block.written = Written(path, event_id_numbers(events["event_id"]))
        block.events = events.iloc[:0]
    return block


def _kinds(marks: _Marks) -> tuple[np.ndarray, np.ndarray]:
    """Which marks are absences, and which sessions were possible, each code read as its
    register's date gives it: a code whose meaning changed with the 2024 guidance reads as it
    did on the day it was recorded. Judged once per distinct code, then spread to the rows."""
    now = marks.category.fillna("").tolist()  # an unknown code: neither absent nor not possible
    codes = marks.statutory.astype(object).to_numpy()
    then = [BEFORE_2024.get(code, meant) for code, meant in zip(codes, now, strict=True)]
    before = marks.days < GUIDANCE_2024

    def spread(categories: list, wanted: tuple[str, ...]) -> np.ndarray:
        per_code = pd.Series([c in wanted for c in categories], dtype=bool)
        return marks.code.rows(per_code).to_numpy()

    def rows(wanted: tuple[str, ...]) -> np.ndarray:
        return np.where(before, spread(then, wanted), spread(now, wanted))

    return rows(("authorised", "unauthorised")), ~rows(("not_possible",))


@dataclass
class _Marks:
    """One block's register marks, checked: pupil link, day, session and code for each row."""

    link: np.ndarray
    days: np.ndarray  # days since 1970
    pm: np.ndarray
    code: Factor
    statutory: pd.Series  # per distinct code: the DfE code it stands for
    category: pd.Series  # per distinct code: present, authorised, unauthorised, not_possible


@dataclass
class _Mapped:
    """One block mapped: its events and rejected rows, its week counts, and its sessions (the
    keys of its valid rows)."""

    block: ImportBlock
    weeks: pd.DataFrame
    sessions: np.ndarray


class _Register:
    """One register file: what its profile and source say, the sessions seen so far and the
    week counts gathered for the summaries."""

    def __init__(
        self, source: LoadedSource, source_file: str, people: Crosswalk, absent_cols: list[str]
    ):
        profile = source.profile
        self.source, self.source_file, self.people = source, source_file, people
        self.absent_cols = absent_cols
        self.local_codes = {k.upper(): v.upper() for k, v in profile.codes.items()}
        date_spec = profile.fields.get("date")
        self.date_format = date_spec.format if date_spec else None
        self.agency = source.spec.agency or "education"
        self.service = source.spec.service or "school"
        self.weeks: list[pd.DataFrame] = []
        self.seen = KeySet()

    def block(self, batch: CsvBatch) -> ImportBlock:
        """A block read in turn: its sessions checked against every earlier block's."""
        mapped = self.mapped(batch, self.seen)
        self.weeks.append(mapped.weeks)
        return mapped.block

    def joined(self, batch: CsvBatch, alone: _Mapped) -> ImportBlock:
        """A block mapped on its own (in a worker, knowing only its own sessions), joined to the
        file in turn. Where one of its sessions came in an earlier block, it is mapped again
        knowing them (that row is a duplicate): what it gives is always what reading the file
        in one process gives."""
        if self.seen.contains(alone.sessions).any():
            if alone.block.written is not None:
                alone.block.written.path.unlink(missing_ok=True)
            return self.block(batch)
        self.seen.add(alone.sessions, new=True)
        self.weeks.append(alone.weeks)
        return alone.block

    def mapped(self, batch: CsvBatch, seen: KeySet) -> _Mapped:
        """A block's events, rejected rows and week counts; a session in `seen`, or twice in
        the block, is a duplicate (the sessions are added to `seen`)."""
        rows = batch.rows
        checks = quarantine.Checks(rows.index)
        reject_missing_columns(checks, self.absent_cols)
        fields = apply_fields(rows, self.source.profile, ATTENDANCE_FIELDS, checks)
        require(fields, ATTENDANCE_FIELDS, checks)
        marks, sessions = self._marks(fields, checks, seen)
        good = ~checks.failed.to_numpy()
        rejected = checks.rejected(
            rows.drop(columns="_line"),
            self.source.name,
            self.source_file,
            rows["_line"],
            fields["upn"],
        )
        absent, possible = _kinds(marks)
        absent &= good
        possible &= good
        lines = rows["_line"].to_numpy()
        events = self._absences(absent, marks, lines)
        weeks = _week_counts(marks, absent, possible, lines)
        rejected = pd.concat([batch.rejected, rejected], ignore_index=True)
        block = ImportBlock(events, rejected, batch.rows_read, int(good.sum()))
        return _Mapped(block, weeks, sessions)

    def _marks(
        self, fields: pd.DataFrame, checks: quarantine.Checks, seen: KeySet
    ) -> tuple[_Marks, np.ndarray]:
        day = parse_times(fields["date"], self.date_format, "date", checks)
        session = Factor.upper(fields["session"])
        checks.add(
            session.rows(~session.values.isin(list(SESSION_HOUR))),
            "BAD-VALUE",
            "session '{}' is not AM or PM",
            fields["session"],
        )
        code = Factor.upper(fields["code"])
        statutory = code.values.map(self.local_codes).astype("string").fillna(code.values)
        category = statutory.map(CATEGORY).astype("string")
        checks.add(
            code.rows(category.isna()),
            "BAD-ATTENDANCE-CODE",
            "code '{}' is not a DfE attendance code and the profile does not map it",
            fields["code"],
        )
        link = self.people.resolve("upn", fields["upn"], checks)
        check_dates(day, link, self.people, self.source, "date", checks)
        days = day.dt.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
        pm = session.rows(session.values == "PM").to_numpy()
        sessions = _repeat(link, days, pm, fields, seen, checks)
        return _Marks(link, days, pm, code, statutory, category), sessions

    def summaries(self, workers: Workers) -> Iterator[ImportBlock]:
        """The weekly summaries, once the whole register has been read (in the file's worker
        processes, if it has any)."""
        if not self.weeks:
            return
        total = (
            pd.concat(self.weeks)
            .groupby(level=["link", "week"], sort=True)
            .agg(possible=("possible", "sum"), absent=("absent", "sum"), line=("line", "min"))
            .reset_index()
        )
        self.weeks = []
        # Summaries go out in slices so a large register never builds all its events at once.
        slices = (
            total.iloc[first : first + SUMMARY_SLICE].reset_index(drop=True)
            for first in range(0, len(total), SUMMARY_SLICE)
        )
        for part, alone in workers.map(_summarise_alone, slices):
            if alone is None:
                alone = ImportBlock(self.summaries_of(part), quarantine.empty(), 0, 0)
            yield alone

    def __getstate__(self) -> dict:
        # A worker maps blocks knowing none of the file's sessions and keeps no week counts.
        return {**self.__dict__, "seen": KeySet(), "weeks": []}

    def _absences(self, absent: np.ndarray, marks: _Marks, lines: np.ndarray) -> pd.DataFrame:
        """One event per absent session; its key (pupil, date, session) makes the event id."""
        code = marks.code.take(marks.statutory, "", absent)
        days, pm = marks.days[absent], marks.pm[absent]
        who = self.people.identity(marks.link[absent])
        stamp = pd.to_datetime(days, unit="D", utc=True) + pd.to_timedelta(
            pm.astype(np.int64) * 12, unit="h"
        )
        session = np.where(pm, "PM", "AM")
        day_text = _iso_days(days)
        keys = who["id_value"].astype(str) + "|" + day_text + "|" + session
        # The statutory DfE code, as the contract says: a local sub-code (N01) is read as the
        # code it stands for, and its line in the register stays the evidence.
        detail = pd.Series(code, dtype="string")
        return self._events(who, stamp, "school.absence", keys, detail, lines[absent])

    def summaries_of(self, total: pd.DataFrame) -> pd.DataFrame:
        """One `school.attendance_summary` per pupil-week of `total` (link, week, counts, line)."""
        who = self.people.identity(total["link"].to_numpy())
        monday = pd.to_datetime(total["week"].to_numpy(), unit="D", utc=True)
        week_text = _iso_days(total["week"].to_numpy())
        keys = who["id_value"].astype(str) + "|week|" + week_text
        detail = _attended(total["possible"].to_numpy(), total["absent"].to_numpy())
        events = self._events(
            who, monday, "school.attendance_summary", keys, detail, total["line"].to_numpy()
        )
        events["sessions_possible"] = total["possible"].to_numpy()
        events["sessions_absent"] = total["absent"].to_numpy()
        return conform(events)

    def _events(
        self,
        who: pd.DataFrame,
        at,
        event_type: str,
        keys: pd.Series,
        detail: pd.Series,
        lines: np.ndarray,
    ) -> pd.DataFrame:
        """Canonical events from columns, built in their final dtypes so nothing is converted
        twice: constant columns are one-category categoricals, text stays in Arrow."""
        n = len(keys)

        def constant(value: str) -> pd.Categorical:
            return pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[value])

        kind = EVENT_COLUMNS["event_type"]
        return conform(
            pd.DataFrame(
                {
                    "event_id": pd.array(event_ids(self.source.name, keys), dtype=STRING),
                    "subject_id": who["subject_id"].array,
                    "subject_role": who["subject_role"].array,
                    "household_id": who["household_id"].array,
                    "agency": constant(self.agency),
                    "service": constant(self.service),
                    "event_type": pd.Categorical.from_codes(
                        np.full(n, kind.categories.get_loc(event_type), np.int8), dtype=kind
                    ),
                    "occurred_at": pd.DatetimeIndex(at),
                    "detail": pd.array(detail, dtype=STRING),
                    "source": constant(self.source.name),
                    "source_file": constant(self.source_file),
                    "source_line": lines,
                    "record_key": pd.array(keys, dtype=STRING),
                    "id_scheme": who["id_scheme"].astype("category").array,
                    "id_value": who["id_value"].array,
                }
            )
        )


def _week_counts(
    marks: _Marks, absent: np.ndarray, possible: np.ndarray, lines: np.ndarray
) -> pd.DataFrame:
    """Possible and absent sessions per pupil and week in one block, with the first line. A
    register read pupil by pupil holds a pupil's week in one run of rows: summed run by run
    first, the grouping (which joins runs of a week met again) sees a tenth of the rows."""
    monday = marks.days - (marks.days + 3) % 7  # 1970-01-01 was a Thursday
    link, week = marks.link[possible], monday[possible]
    changed = (link[1:] != link[:-1]) | (week[1:] != week[:-1])
    starts = np.flatnonzero(np.concatenate([[True], changed])) if len(link) else link[:0]
    return (
        pd.DataFrame(
            {
                "link": link[starts],
                "week": week[starts],
                "possible": np.diff(np.append(starts, len(link))),
                "absent": _by_run(np.add, absent[possible].astype(np.int32), starts),
                "line": _by_run(np.minimum, lines[possible], starts),
            }
        )
        .groupby(["link", "week"], sort=False)
        .agg(possible=("possible", "sum"), absent=("absent", "sum"), line=("line", "min"))
    )


def _by_run(op: np.ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """`op` reduced over each run of `values` that begins at one of `starts`."""
    return op.reduceat(values, starts) if len(starts) else values[:0]


def _iso_days(days: np.ndarray) -> np.ndarray:
    """Days (since 1970) as ISO dates, each distinct day written once: a register's million
    rows a block fall on a few dozen days."""
    distinct, at = np.unique(days, return_inverse=True)
    return distinct.astype("datetime64[D]").astype(str).astype(object)[at]


def _attended(possible: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """A week's summary in words, "8 of 10 sessions attended", each pair of counts written
    once."""
    wide = int(absent.max()) + 1 if len(absent) else 1
    pairs, at = np.unique(possible.astype(np.int64) * wide + absent, return_inverse=True)
    words = [f"{p // wide - p % wide} of {p // wide} sessions attended" for p in pairs.tolist()]
    return np.asarray(words, dtype=object)[at]


class Factor:
    """A column as integer codes into its distinct values, so checks run once per value."""

    def __init__(self, values: pd.Series):
        codes, uniques = pd.factorize(values)
        self.index = values.index
        self.codes = codes
        self.values = pd.Series(np.asarray(uniques, dtype=object), dtype="string")

    @classmethod
    def upper(cls, values: pd.Series) -> Factor:
        """The column upper-cased: each distinct value upper-cased once, and those that then
        agree ("am", "AM") made one."""
        found = cls(values)
        codes, uniques = pd.factorize(found.values.str.upper())
        found.codes = np.append(codes, -1)[found.codes]  # a blank (-1) stays blank
        found.values = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
        return found

    def rows(self, per_value: pd.Series) -> pd.Series:
        """A per-value boolean spread to the rows (False for blank cells)."""
        lookup = np.append(per_value.to_numpy(dtype=bool, na_value=False), False)
        return pd.Series(lookup[self.codes], index=self.index)

    def take(
        self, per_value: pd.Series, blank: object, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """A per-value column spread to the rows (those `rows` picks, if given), `blank` for
        blank cells."""
        lookup = np.append(per_value.astype(object).fillna(blank).to_numpy(), blank)
        return lookup[self.codes if rows is None else self.codes[rows]]


def _repeat(
    link: np.ndarray,
    days: np.ndarray,
    pm: np.ndarray,
    fields: pd.DataFrame,
    seen: KeySet,
    checks: quarantine.Checks,
) -> np.ndarray:
    """The same pupil, date and session twice in one file: the later row is rejected. Returns
    the block's sessions (of rows valid until then), sorted, now in `seen` too."""
    valid = ~checks.failed.to_numpy()
    numbers = ((link << 18) | (days << 1) | pm)[valid].astype(np.uint64)
    repeat = np.zeros(len(valid), dtype=bool)
    repeat[valid] = seen.contains(numbers) | repeated(numbers)
    checks.add(
        pd.Series(repeat, index=fields.index),
        "DUPLICATE-RECORD",
        "session {} {} {} is recorded twice",
        fields["upn"],
        fields["date"],
        fields["session"],
    )
    sessions = sorted_unique(numbers)
    seen.add(sessions)
    return sessions
