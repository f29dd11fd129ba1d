"""The event table every pattern reads: each child's own events plus their household's adult
events, up to the as-of date, sorted once by child and time, with integer codes and times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from noncoop.asof import DAY, as_of_day, end_second, to_seconds, utc_instants
from noncoop.engine.episodes import ranges
from noncoop.engine.households import household_rows, shared_view
from noncoop.events import EVENT_NUMBER, LAZY_COLUMNS


@dataclass(frozen=True)
class Feeds:
    """What each feed (source) holds, to judge coverage on any day up to the as-of day: the
    declared periods (seconds), and for the others the first and last second of their records
    and the days they have records on.

    Judged over the whole region, whichever children a timeline holds: a shard of the region is
    given the region's feeds (`sighted` too: the first day each feed recorded a child seen, by
    selection; None where the timeline is the whole region and works it out itself)."""

    declared: dict[str, tuple[int, int]]
    spans: dict[str, tuple[int, int]]
    days: dict[str, np.ndarray]
    sighted: dict[str, dict[str, int]] | None = None
    first_day: int | None = None  # of any child's records

    @property
    def coverage(self) -> dict[str, tuple[int, int]]:
        """Each feed's first and last second: declared, or those of its records."""
        return {**self.spans, **self.declared}

    def covers(self, feed: str, days: np.ndarray, back: int) -> np.ndarray:
        """For each day D: the feed holds data for the instant `back` days before the end of D,
        as it was known on D (inferred spans end with the feed's last record up to D)."""
        x = (days + 1 - back) * DAY
        if feed in self.declared:
            first, last = self.declared[feed]
            return (first <= x) & (last >= x)
        held = self.days.get(feed, np.zeros(0, np.int64))
        recent = np.searchsorted(held, days, "right") - np.searchsorted(held, days + 1 - back)
        return (self.spans.get(feed, (NO_TIME, NO_TIME))[0] <= x) & (recent > 0)

    def joined(self, other: Feeds) -> Feeds:
        """The feeds of two parts of a region as those of the whole."""
        spans = dict(self.spans)
        for feed, (first, last) in other.spans.items():
            mine = spans.get(feed, (first, last))
            spans[feed] = (min(mine[0], first), max(mine[1], last))
        days = dict(self.days)
        for feed, held in other.days.items():
            days[feed] = np.union1d(days.get(feed, held), held)
        sighted = None  # neither part's worked out: the whole worked it out itself
        if self.sighted is not None or other.sighted is not None:
            sighted = {k: dict(v) for k, v in (self.sighted or {}).items()}
            for selection, feeds in (other.sighted or {}).items():
                mine = sighted.setdefault(selection, {})
                for feed, day in feeds.items():
                    mine[feed] = min(mine.get(feed, day), day)
        firsts = [d for d in (self.first_day, other.first_day) if d is not None]
        return Feeds(self.declared, spans, days, sighted, min(firsts) if firsts else None)


NO_TIME = np.iinfo(np.int64).max
_WORKING_OUT = threading.Lock()  # a timeline's days, worked out by one thread of several


class TraceSource(Protocol):
    """Reads the columns an event table was loaded without, for rows of it."""

    def read(self, positions: np.ndarray, numbers: np.ndarray | None = None) -> pd.DataFrame: ...

    def parts(self, positions: np.ndarray) -> np.ndarray:
        """A 64-bit digest of the part (written once, never changed) each row came from."""
        ...


@dataclass
class Timeline:
    """Events in (child, time) order; `subject` holds integer codes into `subjects`."""

    events: pd.DataFrame
    subject: np.ndarray
    subjects: pd.Index
    t: np.ndarray  # seconds since 1970, UTC
    as_of: pd.Timestamp
    end: int  # first second after the as-of day
    # Each row's record in `origin`, the event table as loaded, and whether it is another
    # person's record shared with the child: the trace (id, file, line, household) is read
    # from there for the evidence of alerts, never copied for every row.
    origin: pd.DataFrame
    rows: np.ndarray
    shared: np.ndarray
    feeds: Feeds = field(default_factory=lambda: Feeds({}, {}, {}))
    # Where `origin` was loaded without the columns no rule reads: reads them for cited rows
    # (`loaded`: each origin row's position in the table the reader knows, None: the same).
    reader: TraceSource | None = None
    loaded: np.ndarray | None = None
    # The people table: each child's date of birth, for their age at a record.
    people: pd.DataFrame | None = None
    # Records merged in after `origin` (a kept timeline's, as a night adds them): row numbers
    # from len(origin) on are theirs. Kept apart: a night's few hundred records, where joining
    # them onto ten million copied the whole table for the evidence of a few thousand.
    added: pd.DataFrame | None = None

    _codes: dict = field(default_factory=dict, repr=False)

    @property
    def coverage(self) -> dict[str, tuple[int, int]]:
        """Each source's first and last second it has data for (its feed's, region-wide)."""
        return self.feeds.coverage

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    def numbers(self, column: str, blank: float = np.nan) -> Numbers:
        """A number column's values as floats (`blank` where there is none), for the rows a
        pattern asks: `numbers(column)[rows]`."""
        return Numbers(self.events[column], blank)

    @property
    def born(self) -> np.ndarray:
        """Each child's date of birth in seconds (NaN where not known), worked out once, when a
        selection first asks a child's age."""
        if "_born" not in self._codes:
            self._codes["_born"] = births(self.people, self.subjects)
        return self._codes["_born"]

    @property
    def day(self) -> np.ndarray:
        """Each row's day (days since 1970), computed once: a thread asking while another works
        it out waits for it."""
        if "_day" not in self._codes:
            with _WORKING_OUT:
                if "_day" not in self._codes:
                    self._codes["_day"] = self.t // DAY
        return self._codes["_day"]

    @property
    def last_day(self) -> int:
        """The as-of day, in days since 1970."""
        return self.end // DAY - 1

    def derived(self, name: str, rows: np.ndarray) -> pd.Series:
        """A derived field (DERIVED) for some rows only: a selection tests it on the rows its
        other tests left, not on ten million."""
        return pd.Series(DERIVED[name](self, rows))

    def trace(self, positions: list[int]) -> pd.DataFrame:
        """The records at timeline positions as loaded, with `via_subject_id`: the adult or
        brother or sister whose record it is, where it is shared."""
        at = np.asarray(positions, np.int64)
        rows = self.rows[at]
        # Whose record and when, from the table as loaded; what it says, from the timeline row
        # (the same values): a timeline kept between nights keeps only those two of `origin`.
        # Without a reader, the table as loaded holds the LAZY_COLUMNS too.
        taken = [*ORIGIN_TRACE, *(LAZY_COLUMNS if self.reader is None else ())]
        # The reader finds the records by their event numbers, where the table holds them.
        numbered = self.reader is not None and EVENT_NUMBER in self.origin
        records = self.origin_rows([*taken, *([EVENT_NUMBER] if numbered else [])], rows)
        numbers = records.pop(EVENT_NUMBER).to_numpy() if numbered else None
        if records["occurred_at"].dtype == np.int64:  # a kept timeline's: microseconds, UTC
            records["occurred_at"] = utc_instants(records["occurred_at"].to_numpy())
        pieces = [records, self.events[list(VIEW_TRACE)].iloc[at].reset_index(drop=True)]
        if self.reader is not None:
            lazy = self.reader.read(rows if self.loaded is None else self.loaded[rows], numbers)
            pieces.append(lazy.reset_index(drop=True))
        records = pd.concat(pieces, axis=1)
        via = records["subject_id"].astype("string").where(self.shared[at], pd.NA)
        return records.assign(via_subject_id=via)

    def records(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """What names the record at each timeline position for good: its event number, and the
        part it was read from (a record sent again, changed or on another line, comes in another
        part under its old number). None where the records have no numbers or parts, as events
        given in memory have not."""
        if self.reader is None or EVENT_NUMBER not in self.origin:
            return None
        rows = self.rows[positions]
        if "_numbers" not in self._codes:  # taken from the frame once, not for every rule
            self._codes["_numbers"] = self.origin[EVENT_NUMBER].to_numpy(np.uint64)
        kept = self._codes["_numbers"]
        late = rows >= len(kept)  # `added`'s, numbered on from the kept ones' end
        number = np.empty(len(rows), np.uint64)
        number[~late] = kept[rows[~late]]
        if late.any():
            number[late] = self.added[EVENT_NUMBER].to_numpy(np.uint64)[rows[late] - len(kept)]
        return number, self.reader.parts(rows if self.loaded is None else self.loaded[rows])

    def origin_rows(self, columns: list[str], rows: np.ndarray) -> pd.DataFrame:
        """The columns of the records at these origin rows, in their order (`added`'s past the
        end of `origin`; a category's values there as text where the two differ)."""
        if self.added is None:
            return self.origin[columns].iloc[rows].reset_index(drop=True)
        late = rows >= len(self.origin)
        parts = [
            self.origin[columns].iloc[rows[~late]],
            self.added[columns].iloc[rows[late] - len(self.origin)],
        ]
        where = np.concatenate([np.flatnonzero(~late), np.flatnonzero(late)])
        joined = pd.concat(parts, ignore_index=True)
        return joined.iloc[np.argsort(where, kind="stable")].reset_index(drop=True)

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes (-1 for blank) and the values they stand for, computed once."""
        codes = self.coded(column)
        name = f"_values_{column}"
        if name not in self._codes:
            self._codes[name] = np.asarray(self._codes[column][1](), dtype=object)
        return codes, self._codes[name]

    def coded(self, column: str) -> np.ndarray:
        """A column's integer codes (-1 for blank), computed once. A category's own codes, as
        narrow as they are (a byte for an agency), not a copy: shared by every pattern, never
        written to; arithmetic with them widens as numpy promotes. The values they stand for
        are made only when asked (`codes`): a sequence keyed on referral chains matches their
        codes alone, where listing the chains made 690,000 strings at 100k children."""
        if column not in self._codes:
            values = self.events[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                categories = values.cat.categories
                made = (np.asarray(values.array.codes), lambda: categories.astype(str))
            else:
                codes, uniques = _codes_of(values)
                made = (codes, lambda: uniques)
            self._codes[column] = made
        return self._codes[column][0]


def feed_days(events: pd.DataFrame, seconds: np.ndarray) -> dict[str, np.ndarray]:
    """The days each source has records on. A few sources over a few years of days: one count
    per (source, day) cell, not a sort of ten million records."""
    codes, names = _codes_of(events["source"])
    known = codes >= 0
    if not known.any():
        return {}
    day = seconds // DAY
    if not known.all():
        codes, day = codes[known], day[known]
    first, span = int(day.min()), int(day.max() - day.min()) + 1
    if len(names) * span > 4 * len(day) + (1 << 20):
        # Dates centuries apart (a mistyped year): sort the pairs rather than count every day.
        pairs = np.unique((codes << 32) + (day - first))
        cut = np.searchsorted(pairs >> 32, np.arange(len(names) + 1))
        days = {
            str(n): first + (pairs[cut[i] : cut[i + 1]] & 0xFFFFFFFF) for i, n in enumerate(names)
        }
        return {n: d for n, d in days.items() if len(d)}
    cell = codes  # the codes are this function's own copy: each cell worked out in place
    cell *= span
    cell += day
    cell -= first
    held = np.bincount(cell, minlength=len(names) * span) > 0
    cells = held.reshape(len(names), span)
    return {str(n): first + np.flatnonzero(cells[i]) for i, n in enumerate(names) if cells[i].any()}


def _codes_of(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A column as int64 codes (-1 for blank, this caller's own array) and the values they
    stand for: a categorical's own, or factorised."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), column.cat.categories
    codes, names = pd.factorize(column)
    return codes.astype(np.int64), pd.Index(names)


def feed_spans(source: pd.Series, seconds: np.ndarray) -> dict[str, tuple[int, int]]:
    """Each source's first and last second, worked out on its codes (ten million rows, a few
    sources): turning the column into text to group it cost a second at 100k children."""
    codes, names = _codes_of(source)
    known = codes >= 0
    if not known.all():
        codes, seconds = codes[known], seconds[known]
    first = np.full(len(names), NO_TIME, np.int64)
    last = np.full(len(names), -NO_TIME, np.int64)
    np.minimum.at(first, codes, seconds)
    np.maximum.at(last, codes, seconds)
    held = np.flatnonzero(first <= last)
    return {str(names[c]): (int(first[c]), int(last[c])) for c in held}


def _health_seen_week(tl: Timeline, rows: np.ndarray) -> np.ndarray:
    """For each of the rows: did health see the child in the seven days up to and including
    its day? A health record of the child's own with the child seen, or an attended appointment
    not recorded as unseen. What makes a medical absence from school confirmed rather than only
    reported. Only earlier days count, so a scan as of any day reads it as later ones do."""
    view = tl.events
    # Only the child's own health records can be sightings: the few rows looked at further;
    # and only among the rows of the children asked about, where they are few (a night asks
    # of the children its records came for).
    scope = _rows_of_children(tl, rows)
    agency = view["agency"] if scope is None else view["agency"].iloc[scope]
    shared = tl.shared if scope is None else tl.shared[scope]
    own = np.flatnonzero(_is(agency, "health") & ~shared)  # not an adult's, brother's, sister's
    health = own if scope is None else scope[own]
    child_seen = view["child_seen"].array[health]
    unseen = child_seen.to_numpy(dtype=bool, na_value=True) == False  # noqa: E712
    seen = child_seen.to_numpy(dtype=bool, na_value=False)
    attended = _is(view["event_type"].iloc[health], "appointment.attended")
    sightings = health[seen | (attended & ~unseen)]
    # Rows are in (child, day) order, so the sightings' (child, day) keys are sorted: the latest
    # up to the end of a row's day (a sighting later that day counts too) is found by a binary
    # search among the sightings alone.
    sighted = (tl.subject[sightings].astype(np.int64) << 32) + tl.day[sightings]
    keys = (tl.subject[rows].astype(np.int64) << 32) + tl.day[rows]
    at = np.searchsorted(sighted, keys, "right") - 1
    last = sighted[np.maximum(at, 0)] if len(sighted) else np.full(len(keys), -1, np.int64)
    return (at >= 0) & (last >> 32 == keys >> 32) & (keys - last < 7)


class Numbers:
    """A number column's values as floats (`blank` where there is none) for the rows asked,
    taken from the column as it is stored: a pattern reads a few hundred thousand of ten
    million rows, where converting the whole column made 90 MB for each field (100k children,
    faulted in afresh on every night)."""

    def __init__(self, column: pd.Series, blank: float = np.nan):
        self.column, self.blank = column, blank

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        taken = self.column.array.take(np.asarray(rows, np.int64))
        return floats(pd.Series(taken, copy=False), self.blank)


def floats(column: pd.Series, blank: float = np.nan) -> np.ndarray:
    """A column's numbers as floats, `blank` where there is none. A stored number column
    (nullable integers) converts in one step; text goes through parsing, unparsable as blank."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=blank)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=blank)


def category_mask(column: pd.Series, hit: Callable[[pd.Index], np.ndarray]) -> np.ndarray:
    """The rows of a categorical column whose category passes `hit`: tested once per category,
    not on ten million values; a blank never passes."""
    flags = np.asarray(hit(column.cat.categories.astype(str)), bool)
    codes = column.cat.codes.to_numpy()
    hits = np.flatnonzero(flags)
    if len(hits) <= _FEW:
        # A few categories pass (an agency, two event types): comparing ten million codes with
        # each costs a tenth of looking every code up in the table of flags.
        mask = codes == hits[0] if len(hits) else np.zeros(len(codes), bool)
        for code in hits[1:]:
            mask |= codes == code
        return mask
    return np.append(flags, False)[codes]


_FEW = 6  # categories compared one by one rather than looked up


def _is(column: pd.Series, value: str) -> np.ndarray:
    """Where a column holds the value."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return category_mask(column, lambda names: names == value)
    return (column == value).fillna(False).to_numpy(bool)


def _rows_of_children(tl: Timeline, rows: np.ndarray) -> np.ndarray | None:
    """Every row of the children the rows are of, in order, where they are under half of the
    timeline's (None: look at every row)."""
    children = np.unique(tl.subject[rows])
    lo = np.searchsorted(tl.subject, children, "left")
    hi = np.searchsorted(tl.subject, children, "right")
    if 2 * int((hi - lo).sum()) >= len(tl.subject):
        return None
    return ranges(lo, hi)[1]  # each child's rows are one slice of the timeline


def _age(tl: Timeline, rows: np.ndarray) -> np.ndarray:
    """The child's age in years at each of the rows' records (NaN: date of birth not known)."""
    return (tl.t[rows] - tl.born[tl.subject[rows]]) / (365.25 * DAY)


def _via_adult(tl: Timeline, rows: np.ndarray) -> np.ndarray:
    """Whether each of the rows is a household adult's record read for the child."""
    return tl.shared[rows] & ~tl.events["via_sibling"].to_numpy(bool)[rows]


def _sessions_attended(tl: Timeline, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Sessions possible less sessions absent, on each of the rows (blank where either is)."""
    possible, absent = tl.events["sessions_possible"].array, tl.events["sessions_absent"].array
    return possible[rows] - absent[rows]


# Fields a selection may test that no record holds: worked out from the timeline for the rows
# a selection's other tests leave, never for ten million rows no rule asks about.
DERIVED: dict[str, Callable[[Timeline, np.ndarray], np.ndarray]] = {
    "health_seen_week": _health_seen_week,
    "age": _age,
    "via_adult": _via_adult,
    "sessions_attended": _sessions_attended,
}
# Columns no pattern reads: each alert's evidence reads them from the table as loaded.
TRACE = (*LAZY_COLUMNS, "occurred_at", "subject_role", EVENT_NUMBER)
# What an alert's evidence takes from the table as loaded (`origin`), and from the timeline row.
ORIGIN_TRACE = ("subject_id", "occurred_at")
VIEW_TRACE = ("agency", "service", "event_type", "source", "detail")


def build_timeline(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    as_of: str | pd.Timestamp,
    coverage: dict[str, tuple[int, int]] | None = None,
    share: np.ndarray | None = None,
    reader: TraceSource | None = None,
    feeds: Feeds | None = None,
) -> Timeline:
    """Only events on or before the as-of date count, so a back-filled run matches the night.

    A feed's coverage is the span of its events (any child) unless given for it explicitly;
    a shard of a region is given the region's `feeds` (declared coverage included).
    Children's events marked in `share` are read for their brothers and sisters too
    (`via_sibling`), for selections with `scope: household`."""
    as_of = as_of_day(as_of)
    end = end_second(as_of)
    seconds = to_seconds(events["occurred_at"])
    inside = seconds < end
    upto = events if inside.all() else events[inside].reset_index(drop=True)
    kept = seconds[inside]
    if feeds is None:
        feeds = Feeds(dict(coverage or {}), feed_spans(upto["source"], kept), feed_days(upto, kept))
    if share is not None and not inside.all():
        share = share[inside]
    where = household_rows(upto, subjects, kept, share)
    view = shared_view(upto, where, [c for c in upto.columns if c not in TRACE])
    t = where.seconds
    return Timeline(
        view,
        where.child,
        where.children,
        t,
        as_of,
        end,
        upto,
        where.rows,
        where.shared,
        feeds,
        reader=reader,
        loaded=None if inside.all() else np.flatnonzero(inside),
        people=subjects,
    )


def births(subjects: pd.DataFrame, children: pd.Index) -> np.ndarray:
    """Each child's date of birth in seconds, NaN where the people table gives none."""
    born = subjects.set_index(subjects["subject_id"].astype(str))["date_of_birth"]
    born = pd.to_datetime(born.reindex(children), errors="coerce")
    seconds = born.to_numpy("datetime64[s]").astype(np.int64).astype(float)
    seconds[born.isna().to_numpy()] = np.nan
    return seconds
