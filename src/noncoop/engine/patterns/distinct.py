"""`distinct`: matching events recorded under at least `min` different values of a field."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from noncoop.engine.episodes import Episodes, runs, sweep, union_of_windows, with_evidence
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    described,
    names,
    signals_from,
    within_reach,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("values", "count", "first", "last")


class Distinct(StrictModel):
    field: Literal["agency", "service", "source"] = "agency"
    select: str
    min: int = Field(ge=1)
    within: Duration


def evaluate(spec: Distinct, masks: Masks, tl: Timeline) -> Signals:
    codes, uniques = tl.codes(spec.field)
    k = max(len(uniques), 1)
    rows = np.flatnonzero(masks[spec.select] & within_window(tl, spec.within) & (codes >= 0))
    pairs = np.unique(tl.subject[rows] * k + codes[rows])
    n = np.bincount(pairs // k, minlength=tl.n_subjects)
    rows = rows[(n >= spec.min)[tl.subject[rows]]]

    return signals_from(
        rows, tl, lambda s, pos: {"values": names(uniques[codes[pos]]), "count": str(n[s])}
    )


def episodes(spec: Distinct, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when events of at least `min` values are in the window ending with it."""
    codes, uniques = tl.codes(spec.field)
    k = max(len(uniques), 1)
    rows = np.flatnonzero(masks[spec.select] & (codes >= 0))
    subject, day, within = tl.subject[rows], tl.day[rows], days(spec.within)
    # The days each value is in the window, then how many values are on each day.
    per_value = union_of_windows(subject * k + codes[rows], day, within)
    segments = sweep(per_value.subject // k, per_value.start, per_value.stop)
    found = runs(segments, segments.totals[:, 0] >= spec.min, tl.last_day)
    found = with_evidence(found, rows, subject, day, day + within - 1)
    found.describe = described(tl, lambda i, pos: _values(uniques[codes[pos]]))
    return found


def _values(values: np.ndarray) -> dict:
    return {"values": names(values), "count": str(len(set(values)))}


def explain(name: str, spec: Distinct) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: '{spec.select}' recorded by at least {spec.min} different "
        f"{spec.field} values in the last {days(spec.within)} days"
    )


KIND = PatternKind(
    "distinct", Distinct, evaluate, explain, VALUES, episodes, reach=within_reach, recorded=True
)
