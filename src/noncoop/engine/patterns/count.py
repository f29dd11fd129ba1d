"""`count`: at least `min` (at most `max`) matching events in the window; with `per: day`, the
days with matching events, so that one incident recorded by several agencies (or on the visit
and in a separate note) counts once."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from noncoop.engine.episodes import Episodes, runs, sweep, with_evidence
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    Value,
    agencies_services,
    counted,
    described,
    per_subject,
    recorded_on,
    signals_from,
    within_reach,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("count", "records", "agencies", "services", "where", "first", "last")


class Count(StrictModel):
    select: str
    min: int = Field(default=1, ge=1)
    max: int | None = None
    within: Duration
    per: Literal["record", "day"] = "record"


def evaluate(spec: Count, masks: Masks, tl: Timeline) -> Signals:
    sel = masks[spec.select] & within_window(tl, spec.within)
    rows = np.flatnonzero(sel)
    counts = per_subject(counted(spec.per, rows, tl), tl)
    fire = counts >= spec.min
    if spec.max is not None:
        fire &= counts <= spec.max
    rows = rows[fire[tl.subject[rows]]]
    return signals_from(rows, tl, lambda s, pos: _values(spec, pos, tl))


def episodes(spec: Count, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when at least `min` (at most `max`) selected events fall in the window
    ending with it; an event is in the window from its own day for `within` days."""
    rows = np.flatnonzero(masks[spec.select])
    subject, day, within = tl.subject[rows], tl.day[rows], days(spec.within)
    once = counted(spec.per, rows, tl)
    segments = sweep(tl.subject[once], tl.day[once], tl.day[once] + within)
    n = segments.totals[:, 0]
    holds = n >= spec.min
    if spec.max is not None:
        holds &= n <= spec.max
    found = with_evidence(runs(segments, holds, tl.last_day), rows, subject, day, day + within - 1)
    found.describe = described(tl, lambda i, pos: _values(spec, pos, tl))
    return found


def _values(spec: Count, pos: np.ndarray, tl: Timeline) -> dict[str, Value]:
    return {
        "count": lambda: str(len(counted(spec.per, np.sort(pos), tl))),
        "records": str(len(pos)),
        "where": lambda: recorded_on(tl, pos),
        **agencies_services(tl, pos),
    }


def explain(name: str, spec: Count) -> str:
    """The pattern in plain English."""
    most = f" and at most {spec.max}" if spec.max is not None else ""
    what = "days with events" if spec.per == "day" else "events"
    return (
        f"{name}: at least {spec.min}{most} {what} matching '{spec.select}' in the last "
        f"{days(spec.within)} days"
    )


KIND = PatternKind(
    "count", Count, evaluate, explain, VALUES, episodes, reach=within_reach, recorded=True
)
