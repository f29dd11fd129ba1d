"""Episodes: the maximal runs of days on which a pattern holds for a child, over the whole history.

A pattern holds on day D when the look-back window ending with D meets it. Each kind of pattern
says, for every event it selects, the days on which that event is in the window (an *active
interval*), and how the events active on a day decide whether it holds. Because a window only
changes where an event enters or leaves it, a sweep over those change points gives, per child,
segments of constant state; the holding segments, run together, are the episodes.

Everything is computed for all children at once: intervals are sorted by an integer key
(child, day), cumulative sums run over the sorted changes and searchsorted joins intervals to
episodes. No Python loop runs per child, per event or per day.

An episode's evidence is the events that made it hold: those active on at least one of its days.
Evidence is a flat pair of arrays (episode index, timeline position), sorted by episode, so an
event can support several episodes (a window can hold it across a short break).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DAY_BITS = 20  # days since 1970 fit in 20 bits until the year 4840
NO_DAY = np.iinfo(np.int64).max


def key(subject: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One sortable integer for (child, day), made in one array (keys of ten million rows)."""
    keys = np.left_shift(subject, DAY_BITS, dtype=np.int64)
    keys += day
    return keys


TIME_BITS = 34  # seconds since 1970 fit in 34 bits until the year 2514
TIME_MASK = (1 << TIME_BITS) - 1


def timed_key(subject: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """One sortable integer for (child, second)."""
    return (np.asarray(subject, np.int64) << TIME_BITS) + np.asarray(seconds, np.int64)


def ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every index in each range `[lo[i], hi[i])`, with the range it came from: (i, index)."""
    counts = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo)), counts)
    return owner, lo[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


@dataclass
class Episodes:
    """Episodes of one pattern for every child, sorted by (child, first day).

    `start` and `end` are the first and last day it holds (days since 1970, `end` no later than
    the as-of day). Evidence is `(evidence[i], rows[i])`: episode index and timeline position."""

    subject: np.ndarray
    start: np.ndarray
    end: np.ndarray
    evidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # Message values of an episode: (index, evidence positions, the rule episode's first and
    # last day) -> values.
    describe: Callable[[int, np.ndarray, tuple[int, int]], dict] | None = None
    insufficient: int = 0

    def __len__(self) -> int:
        return len(self.subject)

    def evidence_of(self, episode: int) -> np.ndarray:
        """Timeline positions of one episode's evidence."""
        lo, hi = np.searchsorted(self.evidence, [episode, episode + 1])
        return self.rows[lo:hi]

    def holding(self, day: int) -> np.ndarray:
        """Indices of the episodes that hold on `day`."""
        return np.flatnonzero((self.start <= day) & (self.end >= day))


def none() -> Episodes:
    empty = np.zeros(0, np.int64)
    return Episodes(empty, empty.copy(), empty.copy())


@dataclass
class Segments:
    """Runs of days with constant state, per child: `[start, stop)` and the summed weights of the
    intervals that cover them (one column per weight; whole counts where there are no weights)."""

    subject: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    totals: np.ndarray  # (segments, weights)


def sweep(
    subject: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    weights: list[np.ndarray] | None = None,
) -> Segments:
    """Segments between consecutive change points of intervals `[start, stop)` (days), each with
    the sum of each of the weights (one array each) of the intervals covering it; without
    weights, the number of them.

    Segments with nothing covering them are left out."""
    w = None if weights is None else [np.asarray(c, float) for c in weights]
    real = start < stop  # an interval that ends before it starts covers no day
    if not real.all():
        subject, start, stop = subject[real], start[real], stop[real]
        w = [c[real] for c in w] if w is not None else None
    starts, stops = key(subject, start), key(subject, stop)
    # Intervals taken from timeline rows in order, all of one length, come with both ends
    # sorted: the change points are then a merge, and each end finds its point by a forward
    # search, where an indirect sort of every end would cost several times more.
    if _ascending(starts) and _ascending(stops):
        points, changes = _merged_changes(starts, stops, w)
    else:
        points, changes = _sorted_changes(starts, stops, w)
    # Every child's intervals close before the next child's open, so the running total is back
    # to zero at each child's last change point: a cumulative sum over all children is exact for
    # whole numbers, and rounding removes what fractions leave. One weight at a time: sums and
    # tests down a column of millions, not across rows of two.
    fractions = w is not None and any(fractional(c) for c in w)
    totals = changes  # summed in place: the running totals take the changes' memory
    for total in totals:
        np.cumsum(total, out=total)
        if fractions:
            np.round(total, 9, out=total)
    point_subject = points >> DAY_BITS
    point_day = points & ((1 << DAY_BITS) - 1)
    covered = totals[0][:-1] != 0
    for total in totals[1:]:
        covered |= total[:-1] != 0
    keep = np.flatnonzero((point_subject[:-1] == point_subject[1:]) & covered)
    return Segments(
        point_subject[keep],
        point_day[keep],
        point_day[keep + 1],
        np.stack([total[keep] for total in totals], axis=1),
    )


def blocks(*sizes: int) -> list[np.ndarray]:
    """Weights for intervals given in blocks of these sizes, one after another: one weight per
    block, 1 on its own intervals and 0 on the others, so a sweep counts each block apart."""
    columns, first = [], 0
    for size in sizes:
        column = np.zeros(sum(sizes))
        column[first : first + size] = 1
        columns.append(column)
        first += size
    return columns


def fractional(weights: np.ndarray, block: int = 1 << 20) -> bool:
    """Whether any weight has a fraction, looked at a block at a time: a copy of ten million
    weights made to compare is a fresh 80 MB the system must hand over and clear."""
    return any(
        not np.array_equal(part, np.trunc(part))
        for part in (weights[i : i + block] for i in range(0, len(weights), block))
    )


def _ascending(keys: np.ndarray) -> bool:
    return bool(np.all(keys[1:] >= keys[:-1])) if len(keys) > 1 else True


def _merged_changes(starts: np.ndarray, stops: np.ndarray, w: list[np.ndarray] | None):
    """Change points and the summed change at each (one array per weight), for sorted interval
    ends."""
    points = distinct(np.concatenate([starts, stops]))  # two sorted runs: a merge
    at_start, at_stop = np.searchsorted(points, starts), np.searchsorted(points, stops)
    m = len(points)
    if w is None:
        entering, leaving = np.bincount(at_start, minlength=m), np.bincount(at_stop, minlength=m)
        return points, [_less(entering, leaving)]
    return points, [_less(np.bincount(at_start, c, m), np.bincount(at_stop, c, m)) for c in w]


def _less(entering: np.ndarray, leaving: np.ndarray) -> np.ndarray:
    """The change at each point, in the first array's memory."""
    entering -= leaving
    return entering


def _sorted_changes(starts: np.ndarray, stops: np.ndarray, w: list[np.ndarray] | None):
    """Change points and the summed change at each (one array per weight), for interval ends
    in any order."""
    n = len(starts)
    keys = np.concatenate([starts, stops])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    new = np.concatenate([[True], keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, bool)
    points = keys[new]
    group = np.cumsum(new) - 1
    sign = np.where(order < n, 1, -1)
    if w is None:
        return points, [np.bincount(group, weights=sign, minlength=len(points)).astype(np.int64)]
    source = order % n if n else order
    return points, [np.bincount(group, weights=sign * c[source], minlength=len(points)) for c in w]


def runs(segments: Segments, holds: np.ndarray, last_day: int) -> Episodes:
    """Episodes from the segments on which a pattern holds, cut at the as-of day: adjacent
    holding segments of one child run together."""
    return cut(merged(segments, holds), last_day)


def cut(intervals: Intervals, last_day: int) -> Episodes:
    """Episodes from intervals of holding days, ending no later than the as-of day."""
    keep = intervals.start <= last_day
    return Episodes(
        intervals.subject[keep],
        intervals.start[keep],
        np.minimum(intervals.stop[keep], last_day + 1) - 1,
    )


def assign(
    episodes: Episodes, subject: np.ndarray, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which episodes each record supports: those of its child overlapping the days
    `[first, last]` on which it is active. Returns (episode index, record index), sorted by
    episode."""
    if not len(episodes) or not len(subject):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = np.searchsorted(key(episodes.subject, episodes.end), key(subject, first), "left")
    hi = np.searchsorted(key(episodes.subject, episodes.start), key(subject, last), "right")
    record, episode = ranges(lo, hi)
    # One integer key, nearly in order already (records come by child and day, episodes by
    # child and first day): a stable sort merges its runs, where a two-key lexsort sorts afresh.
    order = np.argsort(episode * len(subject) + record, kind="stable")
    return episode[order], record[order]


def distinct_evidence(episodes: Episodes, episode: np.ndarray, rows: np.ndarray) -> Episodes:
    """The episodes with the distinct (episode, row) pairs as evidence, by episode then row."""
    # One integer key per pair: far leaner than a unique over the rows of a two-column array,
    # which matters where an episode cites every record of the agencies involved.
    rows = np.asarray(rows, np.int64)
    span = int(rows.max()) + 1 if len(rows) else 1
    keys = distinct(np.asarray(episode, np.int64) * span + rows)
    episodes.evidence, episodes.rows = keys // span, keys % span
    return episodes


def with_evidence(
    episodes: Episodes, rows: np.ndarray, subject: np.ndarray, first: np.ndarray, last: np.ndarray
) -> Episodes:
    """The episodes with the timeline rows active on their days as evidence; `rows`, `subject`,
    `first` and `last` describe each candidate record."""
    episode, record = assign(episodes, subject, first, last)
    episodes.evidence, episodes.rows = episode, np.asarray(rows, np.int64)[record]
    return episodes


@dataclass
class Intervals:
    """Disjoint runs of days `[start, stop)` per subject, sorted by (subject, start)."""

    subject: np.ndarray
    start: np.ndarray
    stop: np.ndarray


def merged(segments: Segments, holds: np.ndarray) -> Intervals:
    """Adjacent segments that hold, run together into intervals (no as-of cut)."""
    subject, start, stop = segments.subject[holds], segments.start[holds], segments.stop[holds]
    if not len(start):
        return Intervals(subject, start, stop)
    joined = (subject[1:] == subject[:-1]) & (start[1:] == stop[:-1])
    first = np.concatenate([[True], ~joined])
    last = np.concatenate([~joined, [True]])
    return Intervals(subject[first], start[first], stop[last])


def distinct(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct keys. A stable sort, because keys made from timeline rows come in
    long sorted runs (by child, then time), which it merges instead of sorting afresh."""
    keys = np.sort(keys, kind="stable")
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def union_of_windows(subject: np.ndarray, day: np.ndarray, length: int) -> Intervals:
    """The days covered by any of the windows `[day, day + length)`, per subject, as disjoint
    runs. All windows are equally long, so the distinct sorted (subject, day) keys alone give
    them: a selection of every record (each school day, each GP booking) costs one sort."""
    if length <= 0 or not len(day):
        return Intervals(*(np.zeros(0, np.int64) for _ in range(3)))
    keys = distinct(key(subject, day))
    subject, day = keys >> DAY_BITS, keys & ((1 << DAY_BITS) - 1)
    # A window that starts on or before the previous one's stop runs on from it.
    joined = (subject[1:] == subject[:-1]) & (day[1:] <= day[:-1] + length)
    first = np.concatenate([[True], ~joined])
    last = np.concatenate([~joined, [True]])
    return Intervals(subject[first], day[first], day[last] + length)


def overlaps(
    episodes: Episodes, intervals: Intervals
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each (episode, interval) pair of one subject that share days, with the shared days
    `[first, last]`: (episode index, interval index, first, last)."""
    episode, interval = assign(episodes, intervals.subject, intervals.start, intervals.stop - 1)
    first = np.maximum(episodes.start[episode], intervals.start[interval])
    last = np.minimum(episodes.end[episode], intervals.stop[interval] - 1)
    return episode, interval, first, last


def clip(intervals: Intervals, allowed: Intervals) -> Intervals:
    """The parts of each subject's intervals that fall in the allowed days (`allowed` is one list
    of days for every subject, its `subject` ignored)."""
    lo = np.searchsorted(allowed.stop, intervals.start, "right")
    hi = np.searchsorted(allowed.start, intervals.stop, "left")
    which, part = ranges(lo, hi)
    return Intervals(
        intervals.subject[which],
        np.maximum(intervals.start[which], allowed.start[part]),
        np.minimum(intervals.stop[which], allowed.stop[part]),
    )


def days_where(first_day: int, flags: np.ndarray) -> Intervals:
    """The runs of days on which `flags` (one per day from `first_day`) is true."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    start, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return Intervals(np.zeros(len(start), np.int64), first_day + start, first_day + stop)
