"""`gap`: no `select` event (the child seen) for more than `days` while the child is open to a
service; never judged where no feed that records sightings covers the gap."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from noncoop.asof import DAY, long_day
from noncoop.engine.episodes import (
    DAY_BITS,
    TIME_BITS,
    TIME_MASK,
    Episodes,
    Intervals,
    assign,
    blocks,
    clip,
    cut,
    days_where,
    distinct,
    distinct_evidence,
    key,
    merged,
    ranges,
    sweep,
    timed_key,
    union_of_windows,
)
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    described,
    empty,
    per_subject,
    signals_from,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("days", "last_seen", "first", "last")


class Gap(StrictModel):
    select: str
    open: str
    days: int = Field(ge=1)
    open_within: Duration
    lookback: Duration = Duration("365d")


def evaluate(spec: Gap, masks: Masks, tl: Timeline) -> Signals:
    """Open to a service yet not seen for longer than `days`; never where the feed is missing."""
    lookback = tl.t >= tl.end - days(spec.lookback) * DAY
    seen_all = masks[spec.select]
    # Judge only where a feed that records children being seen has data within the gap.
    feeds = sighting_feeds(tl, masks, spec.select)
    limit = spec.days * DAY
    covered = any(
        first <= tl.end - limit and last >= tl.end - limit
        for feed, (first, last) in tl.coverage.items()
        if feed in feeds
    )
    open_rows = np.flatnonzero(masks[spec.open] & (tl.t >= tl.end - days(spec.open_within) * DAY))
    is_open = per_subject(open_rows, tl) > 0
    if not covered:
        # No feed that records children being seen covers the gap: report, do not alert.
        return Signals(empty(), insufficient=int(is_open.sum()))
    seen_rows = np.flatnonzero(seen_all & lookback)
    last_seen = np.full(tl.n_subjects, -1, dtype=np.int64)
    np.maximum.at(last_seen, tl.subject[seen_rows], tl.t[seen_rows])
    first_open = np.full(tl.n_subjects, np.iinfo(np.int64).max, dtype=np.int64)
    all_open = np.flatnonzero(masks[spec.open] & lookback)
    np.minimum.at(first_open, tl.subject[all_open], tl.t[all_open])
    since = np.where(last_seen >= 0, last_seen, first_open)
    # Whole calendar days from the last sighting to the as-of day, whatever the times of day.
    gap_days = (tl.end - 1 - since) // DAY
    fire = is_open & (gap_days > spec.days)
    # Evidence: the open-to-service events since the child was last seen, and that last sighting.
    evidence_open = all_open[
        fire[tl.subject[all_open]] & (tl.t[all_open] > since[tl.subject[all_open]])
    ]
    last_rows = seen_rows[
        fire[tl.subject[seen_rows]] & (tl.t[seen_rows] == last_seen[tl.subject[seen_rows]])
    ]
    rows = np.unique(np.concatenate([evidence_open, last_rows]))
    signals = signals_from(
        rows,
        tl,
        lambda s, pos: {
            "days": str(int(gap_days[s])),
            "last_seen": long_day(last_seen[s])
            if last_seen[s] >= 0
            else f"not in the last {days(spec.lookback)} days",
        },
    )
    signals.frame["end"] = tl.end - 1
    return signals


def episodes(spec: Gap, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day D when the child is open to a service (an `open` event in the last
    `open_within` days), a feed that records sightings covers the start of the gap, and the last
    sighting in the look-back is more than `days` days before D (or, with none in the look-back,
    the first `open` event in it is)."""
    lookback, limit = days(spec.lookback), spec.days
    seen = np.flatnonzero(masks[spec.select])
    opened = np.flatnonzero(masks[spec.open])
    o_sub, o_day = tl.subject[opened], tl.day[opened]
    last_seen, nothing_seen = _since_sightings(tl, seen, o_sub, limit, lookback)
    # Four counts per day: a sighting more than `days` ago is the last in the look-back; no
    # sighting in the look-back; an `open` event in it old enough to start a gap; and an `open`
    # event in the last `open_within` days.
    # Each count matters only as more than none, so each is the union of its windows; and most
    # sightings of a child seen weekly start no gap, so empty intervals go before the sweep.
    parts = [
        _nonempty(*part)
        for part in (
            last_seen,
            nothing_seen,
            _union(o_sub, o_day + limit + 1, lookback - limit - 1),
            _union(o_sub, o_day, days(spec.open_within)),
        )
    ]
    subject, start, stop = (np.concatenate(column) for column in zip(*parts, strict=True))
    segments = sweep(subject, start, stop, blocks(*(len(p[0]) for p in parts)))
    long_unseen, none_in_lookback, old_open, is_open = segments.totals.T
    unseen = (long_unseen > 0) | ((none_in_lookback > 0) & (old_open > 0))
    first_day, covered = _covered(tl, sighting_feeds(tl, masks, spec.select), limit)
    held = clip(merged(segments, unseen & (is_open > 0)), days_where(first_day, covered))
    if masks.judged is not None:  # what ends before the days judged rests on sightings unread
        later = held.stop > masks.judged
        held = Intervals(held.subject[later], held.start[later], held.stop[later])
    found = _with_gap_evidence(cut(held, tl.last_day), spec, tl, seen, opened)
    if not covered[-1]:
        # No feed that records children being seen covers the gap today: counted, not alerted.
        today = (segments.start <= tl.last_day) & (segments.stop > tl.last_day)
        found.insufficient = int((today & (is_open > 0)).sum())
    return found


def _nonempty(subject: np.ndarray, start: np.ndarray, stop: np.ndarray):
    real = start < stop
    return subject[real], start[real], stop[real]


def _union(subject: np.ndarray, day: np.ndarray, length: int):
    runs = union_of_windows(subject, day, length)
    return runs.subject, runs.start, runs.stop


def _since_sightings(tl: Timeline, seen: np.ndarray, open_subject, limit: int, lookback: int):
    """From each child's sightings, in one pass over consecutive ones: the days on which the last
    sighting in the look-back is more than `limit` days old, and the days with no sighting in the
    look-back (before the first, and after one leaves it before the next), as (subject, start,
    stop) intervals."""
    # Timeline rows are in (child, time) order, so the sightings' (child, day) keys are sorted.
    points = distinct(key(tl.subject[seen], tl.day[seen]))
    subject, day = points >> DAY_BITS, points & ((1 << DAY_BITS) - 1)
    far = tl.last_day + 1
    # Filled in place rather than padded, so that a region with no sighting at all works too.
    same = np.zeros(len(subject), bool)
    same[:-1] = subject[1:] == subject[:-1]
    following = np.where(same, np.r_[day[1:], 0], far)
    # Most sightings are followed by the next well within the limit: only the others make
    # intervals, taken before millions of empty ones are made.
    start, stop = day + limit + 1, np.minimum(following, day + lookback)
    real = start < stop
    long_ago = (subject[real], start[real], stop[real])
    # No sighting in the look-back: after one leaves it; before a child's first; never seen.
    first = np.ones(len(subject), bool)
    first[1:] = subject[1:] != subject[:-1]
    # Both in child order already: their distinct children without sorting millions again.
    children = distinct(open_subject)
    never = children[~np.isin(children, subject[first], assume_unique=True)]
    leaves = day + lookback < following
    gone = (
        np.concatenate([subject[leaves], subject[first], never]),
        np.concatenate(
            [
                day[leaves] + lookback,
                np.zeros(int(first.sum()), np.int64),
                np.zeros(len(never), np.int64),
            ]
        ),
        np.concatenate([following[leaves], day[first], np.full(len(never), far)]),
    )
    return long_ago, gone


def _covered(tl: Timeline, feeds: dict[str, int], limit: int) -> tuple[int, np.ndarray]:
    """For each day from the first event to the as-of day: does a feed that records sightings
    (by that day) hold data for the day `limit` days before it? Judged feed by feed."""
    first_day = tl.feeds.first_day
    if first_day is None:
        first_day = int(tl.day.min()) if len(tl.day) else tl.last_day
    day = np.arange(first_day, tl.last_day + 1)
    covered = np.zeros(len(day), bool)
    for feed, since in feeds.items():
        covered |= (day >= since) & tl.feeds.covers(feed, day, limit)
    return first_day, covered


def sighting_feeds(tl: Timeline, masks: Masks, select: str) -> dict[str, int]:
    """The feeds that record a child seen (by the `select` selection), with the first day each
    did: the whole region's, whichever children the timeline holds, and all the timeline's
    records where the masks are narrowed to some."""
    region = tl.feeds.sighted
    if region is not None:
        return region.get(masks.definitions[select], {})
    known = masks.sighted.get(masks.definitions.get(select, ""))
    return known if known is not None else first_sightings(tl, masks[select])


def since(spec: Gap, masks: Masks, tl: Timeline, first: int) -> Masks:
    """The masks that judge every day from `first` on as all would: each child's sightings
    from that day, and the last before it. An earlier one is no day's last sighting then, nor
    the last before an episode holding then; the days it told apart end before the last."""
    seen = masks[spec.select]
    feeds = sighting_feeds(tl, masks, spec.select)
    recent = tl.day >= first
    kept = seen & recent
    before = np.flatnonzero(seen & ~recent)
    # Rows are in (child, time) order: a child's last sighting before the day is followed by
    # another child's, or is the last of all.
    child = tl.subject[before]
    kept[before[:-1][child[1:] != child[:-1]]] = True
    kept[before[-1:]] = True
    sighted = {**masks.sighted, masks.definitions[spec.select]: feeds}
    return Masks({**masks, spec.select: kept}, masks.definitions, sighted, first)


def first_sightings(tl: Timeline, seen: np.ndarray) -> dict[str, int]:
    """For each feed with records among the `seen` rows, the first day of one."""
    source, names = tl.codes("source")
    rows = np.flatnonzero(seen & (source >= 0))
    first = np.full(len(names), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, source[rows], tl.day[rows])
    return {str(names[c]): int(first[c]) for c in np.flatnonzero(first < np.iinfo(np.int64).max)}


def _with_gap_evidence(
    found: Episodes, spec: Gap, tl: Timeline, seen: np.ndarray, opened: np.ndarray
) -> Episodes:
    """Evidence: the last sighting before the episode (in the look-back of its first day) and
    the `open` events after it, up to the episode's last day; values as of that last day."""
    lookback = days(spec.lookback)
    seen_key = timed_key(tl.subject[seen], tl.t[seen])  # sorted: timeline rows are in order
    sighting = _last_sighting(found, seen_key, lookback)
    reach = Episodes(found.subject, found.start + 1 - lookback, found.end)
    o_day = tl.day[opened]
    episode, record = assign(reach, tl.subject[opened], o_day, o_day)
    after = tl.t[opened][record] > sighting[episode]
    sighted = np.flatnonzero(sighting >= 0)
    at = timed_key(found.subject[sighted], sighting[sighted])
    lo, hi = np.searchsorted(seen_key, at, "left"), np.searchsorted(seen_key, at, "right")
    owner, s_record = ranges(lo, hi)
    s_episode = sighted[owner]
    distinct_evidence(
        found,
        np.concatenate([episode[after], s_episode]),
        np.concatenate([opened[record[after]], seen[s_record]]),
    )
    whose = tl.subject[opened]  # made once: each episode's values look up their child's slice
    found.describe = described(
        tl, lambda i, pos: _gap_values(found, i, spec, tl, sighting, opened, whose)
    )
    return found


def _last_sighting(found: Episodes, seen_key: np.ndarray, lookback: int) -> np.ndarray:
    """Per episode: the time of the last sighting in the look-back of its first day, or -1."""
    if not len(seen_key):
        return np.full(len(found), -1, np.int64)
    end_of_first = timed_key(found.subject, (found.start + 1) * DAY)
    at = np.searchsorted(seen_key, end_of_first, "left") - 1
    ok = at >= 0
    ok[ok] = (seen_key[at[ok]] >> TIME_BITS) == found.subject[ok]
    times = (
        np.where(ok, seen_key[np.maximum(at, 0)] & TIME_MASK, -1) if len(seen_key) else -at * 0 - 1
    )
    return np.where(times >= (found.start + 1 - lookback) * DAY, times, -1)


def _gap_values(
    found: Episodes, i: int, spec: Gap, tl: Timeline, sighting, opened, whose: np.ndarray
) -> dict:
    """Days unseen and the last sighting, as of the episode's last day (`whose`: the child of
    each `opened` row)."""
    lookback, end = days(spec.lookback), int(found.end[i])
    if sighting[i] >= 0 and sighting[i] // DAY >= end + 1 - lookback:
        since, last_seen = int(sighting[i]), long_day(int(sighting[i]))
    else:
        # `opened` rows are timeline positions in (child, time) order: the child's are a slice.
        lo, hi = np.searchsorted(whose, [found.subject[i], found.subject[i] + 1])
        mine = tl.t[opened[lo:hi]]
        since = int(mine[mine >= (end + 1 - lookback) * DAY].min())
        last_seen = f"not in the last {lookback} days"
    return {"days": str(end - since // DAY), "last_seen": last_seen}


def explain(name: str, spec: Gap) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: no '{spec.select}' for more than {spec.days} days while '{spec.open}' "
        f"shows the child open to a service in the last {days(spec.open_within)} days "
        "(not judged where the feeds do not cover the gap)"
    )


def regional(spec: Gap, masks: Masks, tl: Timeline) -> dict[str, dict[str, int]]:
    """The feeds that recorded a child seen, by the first day each did, on this timeline."""
    return {masks.definitions[spec.select]: first_sightings(tl, masks[spec.select])}


KIND = PatternKind("gap", Gap, evaluate, explain, VALUES, episodes, regional, since=since)
