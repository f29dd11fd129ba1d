"""`trend`: the highest level reached (hostility) rises `min_steps` times to `min_last` or more."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    empty,
    signals_from,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("levels", "max", "count", "first", "last")


class Trend(StrictModel):
    select: str
    field: Literal["hostility_level"] = "hostility_level"
    min_steps: int = Field(default=2, ge=1)
    min_last: int = Field(default=1, ge=1)
    within: Duration


def evaluate(spec: Trend, masks: Masks, tl: Timeline) -> Signals:
    level = pd.to_numeric(tl.events[spec.field], errors="coerce").to_numpy(float, na_value=np.nan)
    rows = np.flatnonzero(masks[spec.select] & within_window(tl, spec.within) & ~np.isnan(level))
    if not len(rows):
        return Signals(empty())
    frame = pd.DataFrame({"subject": tl.subject[rows], "level": level[rows], "pos": rows})
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
        seq = " → ".join(str(int(level[p])) for p in pos)
        return {"levels": seq, "max": str(int(peak[subject])), "count": str(len(pos))}

    return signals_from(rows, tl, values)


def explain(name: str, spec: Trend) -> str:
    """The pattern in plain English."""
    return (
        f"{name}: {spec.field} rising at least {spec.min_steps} time(s) to {spec.min_last} "
        f"or more across '{spec.select}' in the last {days(spec.within)} days"
    )


KIND = PatternKind("trend", Trend, evaluate, explain, VALUES)
