"""`divergence`: some values of a field (agencies, services, sources) show `select` events while
other values show `versus` events but none of `select` - hostility seen by only some agencies."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    names,
    per_subject,
    signals_from,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("values", "others", "count", "first", "last")


class Divergence(StrictModel):
    field: Literal["agency", "service", "source"] = "agency"
    select: str
    versus: str
    min: int = Field(default=1, ge=1)
    min_events: int = Field(default=1, ge=1)
    min_others: int = Field(default=1, ge=1)
    within: Duration


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
    events_a = per_subject(a_rows, tl)
    fire = (n_a >= spec.min) & (events_a >= spec.min_events) & (n_others >= spec.min_others)
    # Evidence: every event of the first set, and the latest event of each other value.
    other_rows = b_rows[np.isin(tl.subject[b_rows] * k + codes[b_rows], others)]
    latest = pd.Series(other_rows).groupby(tl.subject[other_rows] * k + codes[other_rows]).max()
    rows = np.concatenate([a_rows, latest.to_numpy(np.int64)])
    rows = np.unique(rows[fire[tl.subject[rows]]])
    a_set = set(a_rows.tolist())

    def values(subject: int, pos: np.ndarray) -> dict:
        mine = {uniques[codes[p]] for p in pos if p in a_set}
        other = {uniques[codes[p]] for p in pos if p not in a_set} - mine
        return {
            "values": names(mine),
            "others": names(other),
            "count": str(sum(p in a_set for p in pos)),
        }

    return signals_from(rows, tl, values)


def explain(name: str, spec: Divergence) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: at least {spec.min} {spec.field}(s) with '{spec.select}' "
        f"({spec.min_events}+ events) while at least {spec.min_others} other "
        f"{spec.field}(s) show '{spec.versus}' without it, in the last "
        f"{days(spec.within)} days"
    )


KIND = PatternKind("divergence", Divergence, evaluate, explain, VALUES)
