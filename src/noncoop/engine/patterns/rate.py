"""`rate`: the sum (or count) of a numerator over a denominator crosses a bound."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    per_subject,
    signals_from,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("rate", "numerator", "denominator", "first", "last")


class Measure(StrictModel):
    select: str
    field: Literal["sessions_absent", "sessions_possible"] | None = None


class Rate(StrictModel):
    numerator: Measure
    denominator: Measure
    at_least: float | None = Field(default=None, gt=0, le=1)
    below: float | None = Field(default=None, gt=0, le=1)
    min_denominator: float = Field(default=1, ge=0)
    within: Duration

    @model_validator(mode="after")
    def _bound(self) -> Rate:
        if self.at_least is None and self.below is None:
            raise ValueError("a rate needs at_least (rate >= value) or below (rate < value)")
        return self


def evaluate(spec: Rate, masks: Masks, tl: Timeline) -> Signals:
    window = within_window(tl, spec.within)

    def measure(m) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(masks[m.select] & window)
        if m.field:
            weights = pd.to_numeric(tl.events[m.field], errors="coerce").fillna(0).to_numpy(float)
        else:
            weights = np.ones(len(tl.t))
        return rows, weights

    n_rows, n_w = measure(spec.numerator)
    d_rows, d_w = measure(spec.denominator)
    num = per_subject(n_rows, tl, n_w)
    den = per_subject(d_rows, tl, d_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(den > 0, num / den, 0.0)
    fire = (den >= spec.min_denominator) & (den > 0)
    if spec.at_least is not None:
        fire &= rate >= spec.at_least
    if spec.below is not None:
        fire &= rate < spec.below
    # Evidence: the events counted in the numerator, or (for a low rate) the denominator's.
    shown, weight = (n_rows, n_w) if spec.at_least is not None else (d_rows, d_w)
    rows = shown[fire[tl.subject[shown]] & (weight[shown] > 0)]
    return signals_from(
        rows,
        tl,
        lambda s, pos: {
            "rate": f"{rate[s]:.0%}",
            "numerator": f"{num[s]:g}",
            "denominator": f"{den[s]:g}",
        },
    )


def explain(name: str, spec: Rate) -> str:
    """The pattern in plain English."""
    num = spec.numerator.field or "events"
    den = spec.denominator.field or "events"
    bound = (
        (f"at least {spec.at_least:.0%}" if spec.at_least is not None else "")
        + (" and " if spec.at_least is not None and spec.below is not None else "")
        + (f"below {spec.below:.0%}" if spec.below is not None else "")
    )
    return (
        f"{name}: {num} of '{spec.numerator.select}' over {den} of "
        f"'{spec.denominator.select}' {bound} (with at least "
        f"{spec.min_denominator:g} in the denominator) in the last {days(spec.within)} days"
    )


KIND = PatternKind("rate", Rate, evaluate, explain, VALUES)
