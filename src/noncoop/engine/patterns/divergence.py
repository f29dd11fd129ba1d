"""`divergence`: some values of a field (agencies, services, sources) show `select` events while
other values show `versus` events but none of `select` - hostility seen by only some agencies."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from noncoop.asof import DAY
from noncoop.engine.episodes import (
    Episodes,
    Intervals,
    assign,
    blocks,
    distinct_evidence,
    merged,
    overlaps,
    runs,
    sweep,
    timed_key,
    union_of_windows,
)
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    Value,
    counted,
    described,
    names,
    per_subject,
    recorded_on,
    signals_from,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("values", "others", "count", "where", "first", "last")


class Divergence(StrictModel):
    field: Literal["agency", "service", "source"] = "agency"
    select: str
    versus: str
    min: int = Field(default=1, ge=1)
    min_events: int = Field(default=1, ge=1)
    min_others: int = Field(default=1, ge=1)
    within: Duration
    per: Literal["record", "day"] = "record"  # `day`: min_events counts days with events


def evaluate(spec: Divergence, masks: Masks, tl: Timeline) -> Signals:
    window = within_window(tl, spec.within)
    codes, uniques = tl.codes(spec.field)
    k = max(len(uniques), 1)
    a_rows = np.flatnonzero(masks[spec.select] & window & (codes >= 0))
    b_rows = np.flatnonzero(masks[spec.versus] & window & (codes >= 0))
    a_pairs = np.unique(tl.subject[a_rows] * k + codes[a_rows])
    b_pairs = np.unique(tl.subject[b_rows] * k + codes[b_rows])
    others = b_pairs[~np.isin(b_pairs, a_pairs)]
    n_a = np.bincount(a_pairs // k, minlength=tl.n_subjects)
    n_others = np.bincount(others // k, minlength=tl.n_subjects)
    events_a = per_subject(counted(spec.per, a_rows, tl), tl)
    fire = (n_a >= spec.min) & (events_a >= spec.min_events) & (n_others >= spec.min_others)
    # Evidence: every event of the first set, and the latest event of each other value.
    other_rows = b_rows[np.isin(tl.subject[b_rows] * k + codes[b_rows], others)]
    latest = pd.Series(other_rows).groupby(tl.subject[other_rows] * k + codes[other_rows]).max()
    rows = np.concatenate([a_rows, latest.to_numpy(np.int64)])
    rows = np.unique(rows[fire[tl.subject[rows]]])
    selected = np.zeros(len(tl.t), bool)
    selected[a_rows] = True
    return signals_from(
        rows, tl, lambda s, pos: _values(pos, selected[pos], codes, uniques, spec, tl)
    )


def episodes(spec: Divergence, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when, in the window ending with it, enough values show `select` events and
    enough others show `versus` events but none of `select`."""
    codes, uniques = tl.codes(spec.field)
    k, within = max(len(uniques), 1), days(spec.within)
    a_rows = np.flatnonzero(masks[spec.select] & (codes >= 0))
    # It holds only for a child with `select` events (min is at least 1): the others' records
    # need not be read (hostility is recorded for a few children, every child has records).
    some = np.zeros(tl.n_subjects, bool)
    some[tl.subject[a_rows]] = True
    b_rows = np.flatnonzero(masks[spec.versus] & (codes >= 0) & some[tl.subject])
    a_day, b_day = tl.day[a_rows], tl.day[b_rows]
    b_value = tl.subject[b_rows] * k + codes[b_rows]
    # Per (child, value): the days it shows `select` events, and the days it is an "other".
    a_value = union_of_windows(tl.subject[a_rows] * k + codes[a_rows], a_day, within)
    others = _others(b_value, b_day, within, a_value)
    once = counted(spec.per, a_rows, tl)
    c_day = tl.day[once]
    subject = np.concatenate([a_value.subject // k, tl.subject[once], others.subject // k])
    start = np.concatenate([a_value.start, c_day, others.start])
    stop = np.concatenate([a_value.stop, c_day + within, others.stop])
    weights = blocks(len(a_value.start), len(once), len(others.start))
    segments = sweep(subject, start, stop, weights)
    n_a, events_a, n_others = segments.totals.T
    holds = (n_a >= spec.min) & (events_a >= spec.min_events) & (n_others >= spec.min_others)
    found = runs(segments, holds, tl.last_day)
    mine, record = assign(found, tl.subject[a_rows], a_day, a_day + within - 1)
    theirs, b_record = _involved(found, others, k, b_value, tl.t[b_rows])
    rows = np.concatenate([a_rows[record], b_rows[b_record]])
    distinct_evidence(found, np.concatenate([mine, theirs]), rows)
    # A mask over the timeline, so that describing one episode costs its own records only.
    selected = np.zeros(len(tl.t), bool)
    selected[a_rows] = True
    found.describe = described(
        tl, lambda i, pos: _values(pos, selected[pos], codes, uniques, spec, tl)
    )
    return found


def _others(value: np.ndarray, day: np.ndarray, within: int, selected: Intervals) -> Intervals:
    """Per (child, value): the days it shows `versus` events in the window and no `select`."""
    shown = union_of_windows(value, day, within)
    subject = np.concatenate([shown.subject, selected.subject])
    weights = blocks(len(shown.subject), len(selected.subject))
    segments = sweep(
        subject,
        np.concatenate([shown.start, selected.start]),
        np.concatenate([shown.stop, selected.stop]),
        weights,
    )
    return merged(segments, (segments.totals[:, 0] > 0) & (segments.totals[:, 1] == 0))


def _involved(found: Episodes, others: Intervals, k: int, value: np.ndarray, t: np.ndarray):
    """The `versus` events that show each other value involved on the episode's days: for each
    run of days it counts as another one, its latest event in the window of the run's last day,
    as a single date cites the latest event of each other value. (episode index, record index)"""
    by_child = Intervals(others.subject // k, others.start, others.stop)
    episode, interval, _, last = overlaps(found, by_child)
    # Only the records of children with an episode can be cited: a few of ten million.
    with_episode = np.zeros(int(value.max()) // k + 1 if len(value) else 0, bool)
    with_episode[found.subject[found.subject < len(with_episode)]] = True
    mine = np.flatnonzero(with_episode[value // k])
    # By (value, time), ties in timeline order, so the last match is the latest record.
    keys = timed_key(value[mine], t[mine])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    at = np.searchsorted(keys, timed_key(others.subject[interval], (last + 1) * DAY)) - 1
    # A run counts as another value only while one of its events is in the window: found.
    return episode, mine[order[at]]


def _values(
    pos, selected: np.ndarray, codes: np.ndarray, uniques, spec, tl: Timeline
) -> dict[str, Value]:
    chosen = np.sort(pos[selected])
    # Distinct codes first (a few among an alert's records); a blank (-1) names no value.
    mine = set(codes[chosen].tolist())
    other = set(codes[pos[~selected]].tolist()) - mine
    return {
        "values": names(uniques[c] for c in mine if c >= 0),
        "others": names(uniques[c] for c in other if c >= 0),
        "count": lambda: str(len(counted(spec.per, chosen, tl))),
        "where": lambda: recorded_on(tl, chosen),
    }


def explain(name: str, spec: Divergence) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: at least {spec.min} {spec.field}(s) with '{spec.select}' "
        f"({spec.min_events}+ events) while at least {spec.min_others} other "
        f"{spec.field}(s) show '{spec.versus}' without it, in the last "
        f"{days(spec.within)} days"
    )


def reach(spec: Divergence) -> int:
    """Twice the window: a rule episode cites, for each run of days another value shows, the
    latest `versus` event in the window of the run's last day, which can fall `within` days
    before the rule episode begins; whether that day shows it reads `within` days further."""
    return 2 * days(spec.within)


KIND = PatternKind(
    "divergence", Divergence, evaluate, explain, VALUES, episodes, reach=reach, recorded=True
)
