"""`gap`: no `select` event (the child seen) for more than `days` while the child is open to a
service; never judged where no feed that records sightings covers the gap."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from noncoop.asof import DAY, long_day
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
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
    source, names = tl.codes("source")
    feeds = {str(names[c]) for c in np.unique(source[seen_all]) if c >= 0}
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


def explain(name: str, spec: Gap) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: no '{spec.select}' for more than {spec.days} days while '{spec.open}' "
        f"shows the child open to a service in the last {days(spec.open_within)} days "
        "(not judged where the feeds do not cover the gap)"
    )


KIND = PatternKind("gap", Gap, evaluate, explain, VALUES)
