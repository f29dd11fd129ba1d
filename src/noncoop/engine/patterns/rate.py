"""`rate`: the sum (or count) of a numerator over a denominator crosses a bound."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from noncoop.engine.episodes import (
    DAY_BITS,
    Episodes,
    fractional,
    key,
    runs,
    sweep,
    union_of_windows,
    with_evidence,
)
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    described,
    per_subject,
    signals_from,
    within_reach,
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
    # The records an alert cites: the numerator's (the default for `at_least`), the
    # denominator's (the default for `below`), or both, to show the two sides (appointments
    # missed and those kept).
    cite: Literal["numerator", "denominator", "both"] | None = None

    @model_validator(mode="after")
    def _bound(self) -> Rate:
        if self.at_least is None and self.below is None:
            raise ValueError("a rate needs at_least (rate >= value) or below (rate < value)")
        return self


def evaluate(spec: Rate, masks: Masks, tl: Timeline) -> Signals:
    window = within_window(tl, spec.within)
    n_rows, n_w = _measure(tl, masks[spec.numerator.select] & window, spec.numerator)
    d_rows, d_w = _measure(tl, masks[spec.denominator.select] & window, spec.denominator)
    num = per_subject(n_rows, tl, n_w)
    den = per_subject(d_rows, tl, d_w)
    fire = _fires(spec, num, den)
    shown = _cited(spec, n_rows, n_w, d_rows, d_w)
    rows = shown[fire[tl.subject[shown]]]
    return signals_from(rows, tl, lambda s, pos: _values(num[s], den[s]))


def episodes(spec: Rate, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when the sums over the window ending with it cross the bound; the message
    gives the rate over the whole episode (every week or visit active on one of its days)."""
    within = days(spec.within)
    n_rows, n_w = _measure(tl, masks[spec.numerator.select], spec.numerator)
    d_rows, d_w = _measure(tl, masks[spec.denominator.select], spec.denominator)
    # A row in both selections (weeks: absent over possible sessions) is one interval, two sums.
    rows = np.flatnonzero(masks[spec.numerator.select] | masks[spec.denominator.select])
    weights = [
        np.where(masks[spec.numerator.select][rows], n_w[rows], 0.0),
        np.where(masks[spec.denominator.select][rows], d_w[rows], 0.0),
    ]
    subject, day = tl.subject[rows], tl.day[rows]
    near = _near_enough(spec, within, subject, day, weights)
    if near is not None:
        subject, day, weights = subject[near], day[near], [w[near] for w in weights]
    segments = sweep(subject, day, day + within, weights)
    holds = _fires(spec, segments.totals[:, 0], segments.totals[:, 1])
    found = runs(segments, holds, tl.last_day)
    shown = _cited(spec, n_rows, n_w, d_rows, d_w)
    day = tl.day[shown]
    found = with_evidence(found, shown, tl.subject[shown], day, day + within - 1)
    # Sums for the children with an episode only: a message is only ever asked of theirs.
    told = np.zeros(tl.n_subjects, bool)
    told[found.subject] = True
    num = _Sums(tl, n_rows[told[tl.subject[n_rows]]], n_w)
    den = _Sums(tl, d_rows[told[tl.subject[d_rows]]], d_w)

    def values(i: int, pos: np.ndarray, held: tuple[int, int]) -> dict:
        # Over every week or visit in the window on one of the rule episode's days.
        child, first, last = int(found.subject[i]), held[0] - within + 1, held[1]
        return _values(num.between(child, first, last), den.between(child, first, last))

    found.describe = described(tl, values, held_too=True)
    return found


# Rows are left out of a rate's sweep only where the numerator reaches the bound from fewer than
# a quarter as many records as there are rows: otherwise nearly all are near it, and finding
# which cost more than it saved (absences over weeks at school, most of them near a second).
_LEAVES_OUT = 4


def _near_enough(
    spec: Rate, within: int, subject: np.ndarray, day: np.ndarray, weights: list[np.ndarray]
) -> np.ndarray | None:
    """For a rate of at least a share, the rows (of `subject` and `day`, in timeline order)
    worth sweeping: those whose window meets a day the numerator may reach the bound on. None
    where all are, or where few would be left out (a sparse numerator, as missed appointments
    are among those due, leaves out most).

    The rate holds only on days the numerator reaches the share of the least denominator.
    Such a day's window starts with a numerator record whose own window, from its day on,
    sums to that much at least: every day the rate may hold is in the window of such a record.
    On those days the rows kept are all the rows whose windows cover the day, so the sums
    are exact; on the others they sum to less than the bound, and so (weights never below
    zero) hold no more than the whole would. Whole numbers only: with fractions the sums'
    rounding would depend on the rows taken."""
    if spec.at_least is None or not len(subject):
        return None
    if any(len(w) and w.min() < 0 for w in weights) or any(map(fractional, weights)):
        return None
    need = spec.at_least * spec.min_denominator * (1 - 1e-9)  # below it, no rounding fires
    counted = np.flatnonzero(weights[0] > 0)
    if not len(counted):  # a numerator of nothing reaches no share
        return np.zeros(len(day), bool)
    keys = key(subject[counted], day[counted])
    totals = np.concatenate([[0.0], np.cumsum(weights[0][counted])])
    # The first record of each record's day: keys are sorted, so where a day's run starts.
    starts = np.concatenate([[True], keys[1:] != keys[:-1]])
    first = np.flatnonzero(starts)[np.cumsum(starts) - 1]

    def ahead(at: np.ndarray) -> np.ndarray:
        """The numerator's sum over the window from each of these records' day on."""
        return totals[np.searchsorted(keys, keys[at] + within, "left")] - totals[first[at]]

    # A sample first: a numerator that reaches the bound on most days leaves nothing out.
    probe = np.arange(0, len(counted), max(1, len(counted) // 4096))
    if np.mean(ahead(probe) >= need) * len(counted) * _LEAVES_OUT > len(day):
        return None
    enough = counted[ahead(np.arange(len(counted))) >= need]
    reach = union_of_windows(subject[enough], day[enough], within)
    # Each row's window [day, day + within) meets the last run of days starting before it ends;
    # only the rows of children with such runs are looked at.
    reached = np.zeros(int(subject.max()) + 1, bool)
    reached[reach.subject] = True
    rows = np.flatnonzero(reached[subject])
    at = np.searchsorted(key(reach.subject, reach.start), key(subject[rows], day[rows] + within))
    run = np.maximum(at - 1, 0)
    meets = (at > 0) & (reach.subject[run] == subject[rows]) & (reach.stop[run] > day[rows])
    near = np.zeros(len(day), bool)
    near[rows[meets]] = True
    return near


class _Sums:
    """A measure's weights summed over any child's days, by prefix sums over its rows."""

    def __init__(self, tl: Timeline, rows: np.ndarray, weights: np.ndarray):
        self.keys = key(tl.subject[rows], tl.day[rows])  # timeline order: sorted
        self.total = np.concatenate([[0.0], np.cumsum(weights[rows])])

    def between(self, child: int, first: int, last: int) -> float:
        # Asked once per alert: its two keys as Python integers, not numpy's of one value each.
        lo = self.keys.searchsorted((int(child) << DAY_BITS) + first, "left")
        hi = self.keys.searchsorted((int(child) << DAY_BITS) + last, "right")
        return float(self.total[hi] - self.total[lo])


def _cited(spec: Rate, n_rows, n_w, d_rows, d_w) -> np.ndarray:
    """The rows an alert cites (those weighing something), in timeline order."""
    cite = spec.cite or ("numerator" if spec.at_least is not None else "denominator")
    parts = []
    if cite in ("numerator", "both"):
        parts.append(n_rows[n_w[n_rows] > 0])
    if cite in ("denominator", "both"):
        parts.append(d_rows[d_w[d_rows] > 0])
    return parts[0] if len(parts) == 1 else np.union1d(*parts)


def _measure(tl: Timeline, selected: np.ndarray, m: Measure) -> tuple[np.ndarray, np.ndarray]:
    """The selected rows, and every row's weight: its sessions field, or 1 to count events."""
    rows = np.flatnonzero(selected)
    weights = tl.numbers(m.field, 0.0) if m.field else _Counted()
    return rows, weights


class _Counted:
    """Every row's weight when events are counted: 1, for the rows asked for (an array of ones
    as long as the timeline was ten million rows to read a few thousand)."""

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return np.ones(len(rows))


def _fires(spec: Rate, num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(den > 0, num / den, 0.0)
    fire = (den >= spec.min_denominator) & (den > 0)
    if spec.at_least is not None:
        fire &= rate >= spec.at_least
    if spec.below is not None:
        fire &= rate < spec.below
    return fire


def _values(num: float, den: float) -> dict:
    rate = num / den if den > 0 else 0.0
    return {"rate": f"{rate:.0%}", "numerator": f"{num:g}", "denominator": f"{den:g}"}


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


KIND = PatternKind("rate", Rate, evaluate, explain, VALUES, episodes, reach=within_reach)
