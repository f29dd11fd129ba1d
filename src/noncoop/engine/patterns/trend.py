"""`trend`: the highest level reached (hostility) rises `min_steps` times to `min_last` or more."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from noncoop.engine.episodes import Episodes, distinct_evidence, key, ranges, runs, sweep
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    Value,
    described,
    empty,
    recorded_on,
    signals_from,
    within_reach,
    within_window,
)
from noncoop.engine.timeline import Numbers, Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("levels", "max", "count", "where", "first", "last")


class Trend(StrictModel):
    select: str
    field: Literal["hostility_level"] = "hostility_level"
    min_steps: int = Field(default=2, ge=1)
    min_last: int = Field(default=1, ge=1)
    within: Duration


def evaluate(spec: Trend, masks: Masks, tl: Timeline) -> Signals:
    level = tl.numbers(spec.field)
    window = within_window(tl, spec.within)
    rows, levels = _levelled(level, np.flatnonzero(masks[spec.select] & window))
    if not len(rows):
        return Signals(empty())
    frame = pd.DataFrame({"subject": tl.subject[rows], "level": levels, "pos": rows})
    frame["peak"] = frame.groupby("subject")["level"].cummax()
    previous = frame.groupby("subject")["peak"].shift()
    frame["rise"] = previous.notna() & (frame["peak"] > previous)
    frame["first"] = previous.isna()
    steps = frame.groupby("subject")["rise"].sum()
    peak = frame.groupby("subject")["peak"].max()
    good = steps.index[(steps >= spec.min_steps) & (peak >= spec.min_last)]
    chosen = frame[frame["subject"].isin(good) & (frame["rise"] | frame["first"])]
    rows = chosen["pos"].to_numpy(np.int64)

    def values(subject: int, pos: np.ndarray) -> dict:
        return {**_values(level[pos], tl, pos), "max": str(int(peak[subject]))}

    return signals_from(rows, tl, values)


def episodes(spec: Trend, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when, over the window ending with it, the highest level reached rises at
    least `min_steps` times to `min_last` or more. The window's events change only where one
    enters or leaves, so each window is judged once, from its own events."""
    level = tl.numbers(spec.field)
    rows, levels = _levelled(level, np.flatnonzero(masks[spec.select]))
    within, subject, day = days(spec.within), tl.subject[rows], tl.day[rows]
    segments = sweep(subject, day, day + within)
    # The events in each segment's window: a range of the child's rows, in time order.
    row_key = key(subject, day)
    lo = np.searchsorted(row_key, key(segments.subject, segments.start + 1 - within), "left")
    hi = np.searchsorted(row_key, key(segments.subject, segments.start), "right")
    segment, index = ranges(lo, hi)
    member = rows[index]
    frame = pd.DataFrame({"segment": segment, "level": levels[index]})
    peak = frame.groupby("segment")["level"].cummax().to_numpy()
    first = np.r_[True, segment[1:] != segment[:-1]] if len(segment) else np.zeros(0, bool)
    rise = ~first & (peak > np.r_[-np.inf, peak[:-1]])
    steps = np.bincount(segment, weights=rise, minlength=len(lo))
    top = np.zeros(len(lo))
    np.maximum.at(top, segment, levels[index])
    holds = (steps >= spec.min_steps) & (top >= spec.min_last)
    found = runs(segments, holds, tl.last_day)
    # Evidence: the first event and each rise, in every window on which the episode holds.
    chosen = holds[segment] & (first | rise) & (segments.start[segment] <= tl.last_day)
    episode = (
        np.searchsorted(
            key(found.subject, found.start),
            key(segments.subject[segment[chosen]], segments.start[segment[chosen]]),
            "right",
        )
        - 1
    )
    distinct_evidence(found, episode, member[chosen])
    found.describe = described(tl, lambda i, pos: _values(level[pos], tl, pos))
    return found


def _levelled(level: Numbers, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows with a level recorded, and their levels."""
    levels = level[rows]
    known = ~np.isnan(levels)
    return rows[known], levels[known]


def _values(levels: np.ndarray, tl: Timeline, pos: np.ndarray) -> dict[str, Value]:
    return {
        "levels": lambda: " → ".join(str(int(v)) for v in levels),
        "max": lambda: str(int(levels.max())),
        "count": str(len(levels)),
        "where": lambda: recorded_on(tl, pos),
    }


def explain(name: str, spec: Trend) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: {spec.field} rising at least {spec.min_steps} time(s) to {spec.min_last} "
        f"or more across '{spec.select}' in the last {days(spec.within)} days"
    )


KIND = PatternKind(
    "trend", Trend, evaluate, explain, VALUES, episodes, reach=within_reach, recorded=True
)
