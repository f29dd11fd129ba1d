"""Temporal patterns, each evaluated for every child at once over the shared, sorted timeline.

A pattern looks back from the as-of date over its `within` window and yields at most one signal
per child: the window it covers, the values the message may quote, and the evidence rows.
No Python loop runs per event; per-child work is limited to assembling the signals that fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noncoop.asof import DAY, long_day
from noncoop.engine.rules.model import (
    Count,
    Distinct,
    Divergence,
    Gap,
    Pattern,
    Rate,
    Sequence,
    Trend,
    days,
)
from noncoop.engine.timeline import Timeline

SIGNAL_COLUMNS = ("subject", "start", "end", "values", "evidence")


@dataclass
class Signals:
    """Signals of one pattern: a frame with SIGNAL_COLUMNS (values left empty), a function giving
    a child's message values on demand, and the number of children it could not judge."""

    frame: pd.DataFrame
    describe: Callable[[int, np.ndarray], dict] | None = None
    insufficient: int = 0

    def row(self, child: int) -> dict | None:
        """The child's signal (subject, start, end, evidence), or None."""
        subjects = self.frame["subject"].to_numpy()
        i = int(np.searchsorted(subjects, child))
        if i == len(subjects) or subjects[i] != child:
            return None
        return {c: self.frame[c].iat[i] for c in ("subject", "start", "end", "evidence")}

    def values(self, child: int, evidence: np.ndarray) -> dict:
        """Message values for one child, computed only for children who get an alert."""
        if self.describe is None or not len(evidence):
            return {}
        return self.describe(child, evidence)


def empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=object if c in ("values", "evidence") else "int64")
            for c in SIGNAL_COLUMNS
        }
    )


def evaluate(pattern: Pattern, masks: dict[str, np.ndarray], tl: Timeline) -> Signals:
    """Signals for every child for one pattern; `masks` holds the rule's selections."""
    spec = pattern.spec
    kind = pattern.kind
    if kind == "count":
        return _count(spec, masks, tl)
    if kind == "sequence":
        return _sequence(spec, masks, tl)
    if kind == "rate":
        return _rate(spec, masks, tl)
    if kind == "divergence":
        return _divergence(spec, masks, tl)
    if kind == "distinct":
        return _distinct(spec, masks, tl)
    if kind == "gap":
        return _gap(spec, masks, tl)
    return _trend(spec, masks, tl)


# ---------------------------------------------------------------- helpers
def _window(tl: Timeline, within: str) -> np.ndarray:
    return tl.t >= tl.end - days(within) * DAY


def _names(values) -> str:
    return ", ".join(sorted({str(v) for v in values if v is not None and v == v}))


def _signals(rows: np.ndarray, tl: Timeline, values) -> Signals:
    """Signals from evidence rows, grouped by child with array operations only; the rows are
    timeline positions, so sorting them orders them by child and time."""
    if not len(rows):
        return Signals(empty())
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    subjects = tl.subject[rows]
    cuts = np.flatnonzero(np.diff(subjects)) + 1
    firsts = np.concatenate([[0], cuts])
    times = tl.t[rows]
    starts = np.minimum.reduceat(times, firsts)
    ends = np.maximum.reduceat(times, firsts)
    frame = pd.DataFrame(
        {
            "subject": subjects[firsts],
            "start": starts,
            "end": ends,
            "values": None,
            "evidence": np.split(rows, cuts),
        }
    )

    def describe(child: int, positions: np.ndarray) -> dict:
        first, last = int(tl.t[positions].min()), int(tl.t[positions].max())
        return {"first": long_day(first), "last": long_day(last), **values(child, positions)}

    return Signals(frame, describe)


def _agencies_services(tl: Timeline, positions: np.ndarray) -> dict[str, str]:
    agency, agencies = tl.codes("agency")
    service, services = tl.codes("service")
    return {
        "agencies": _names(agencies[c] for c in agency[positions] if c >= 0),
        "services": _names(services[c] for c in service[positions] if c >= 0),
    }


def _per_subject(values: np.ndarray, tl: Timeline, weights=None) -> np.ndarray:
    return np.bincount(
        tl.subject[values],
        weights=None if weights is None else weights[values],
        minlength=tl.n_subjects,
    )


# ---------------------------------------------------------------- kinds
def _count(spec: Count, masks, tl: Timeline) -> Signals:
    sel = masks[spec.select] & _window(tl, spec.within)
    rows = np.flatnonzero(sel)
    counts = _per_subject(rows, tl)
    fire = counts >= spec.min
    if spec.max is not None:
        fire &= counts <= spec.max
    rows = rows[fire[tl.subject[rows]]]
    return _signals(
        rows, tl, lambda s, pos: {"count": str(len(pos)), **_agencies_services(tl, pos)}
    )


def _keys(tl: Timeline, same: list[str], rows: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"subject": tl.subject[rows], "t": tl.t[rows], "pos": rows})
    for key in same:
        frame[key] = tl.codes(key)[0][rows]
    return frame[(frame[same] >= 0).all(axis=1)] if same else frame


def _sequence(spec: Sequence, masks, tl: Timeline) -> Signals:
    window = _window(tl, spec.within)
    gap = days(spec.max_gap) * DAY
    by = ["subject", *spec.same]
    inst = _keys(tl, spec.same, np.flatnonzero(masks[spec.steps[0]] & window))
    inst = inst.rename(columns={"t": "t0", "pos": "p0"})
    inst["t_prev"] = inst["t0"]
    for i, step in enumerate(spec.steps[1:], start=1):
        nxt = _keys(tl, spec.same, np.flatnonzero(masks[step] & window))
        nxt = nxt.rename(columns={"t": f"t{i}", "pos": f"p{i}"}).sort_values(f"t{i}")
        inst = pd.merge_asof(
            inst.sort_values("t_prev"),
            nxt,
            left_on="t_prev",
            right_on=f"t{i}",
            by=by,
            direction="forward",
            tolerance=gap,
            allow_exact_matches=False,
        ).dropna(subset=[f"p{i}"])
        inst[f"p{i}"] = inst[f"p{i}"].astype(np.int64)
        inst["t_prev"] = inst[f"t{i}"].astype(np.int64)
    last = f"p{len(spec.steps) - 1}"
    # Each completing event counts once, with the latest start that leads to it.
    inst = inst.sort_values("t0").drop_duplicates(subset=[last], keep="last")
    if spec.until and len(inst):
        stop = _keys(tl, spec.same, np.flatnonzero(masks[spec.until] & window))
        stop = stop.rename(columns={"t": "t_until"}).drop(columns="pos").sort_values("t_until")
        inst = pd.merge_asof(
            inst.sort_values("t0"),
            stop,
            left_on="t0",
            right_on="t_until",
            by=by,
            direction="forward",
            allow_exact_matches=False,
        )
        inst = inst[~(inst["t_until"] < inst["t_prev"])]
    runs = np.bincount(inst["subject"].to_numpy(np.int64), minlength=tl.n_subjects)
    fired = inst[(runs >= spec.runs)[inst["subject"].to_numpy(np.int64)]]
    steps = [f"p{i}" for i in range(len(spec.steps))]
    rows = (
        np.unique(fired[steps].to_numpy(np.int64).ravel()) if len(fired) else np.array([], np.int64)
    )
    completions = fired.groupby("subject")[last].size().to_dict() if len(fired) else {}
    finals = set(fired[last].tolist()) if len(fired) else set()

    def values(subject: int, pos: np.ndarray) -> dict:
        done = np.array([p for p in pos if p in finals], dtype=np.int64)
        return {"count": str(completions[subject]), **_agencies_services(tl, done)}

    return _signals(rows, tl, values)


def _rate(spec: Rate, masks, tl: Timeline) -> Signals:
    window = _window(tl, spec.within)

    def measure(m) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(masks[m.select] & window)
        if m.field:
            weights = pd.to_numeric(tl.events[m.field], errors="coerce").fillna(0).to_numpy(float)
        else:
            weights = np.ones(len(tl.t))
        return rows, weights

    n_rows, n_w = measure(spec.numerator)
    d_rows, d_w = measure(spec.denominator)
    num = _per_subject(n_rows, tl, n_w)
    den = _per_subject(d_rows, tl, d_w)
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
    return _signals(
        rows,
        tl,
        lambda s, pos: {
            "rate": f"{rate[s]:.0%}",
            "numerator": f"{num[s]:g}",
            "denominator": f"{den[s]:g}",
        },
    )


def _divergence(spec: Divergence, masks, tl: Timeline) -> Signals:
    window = _window(tl, spec.within)
    codes, uniques = tl.codes(spec.field)
    k = max(len(uniques), 1)
    a_rows = np.flatnonzero(masks[spec.select] & window & (codes >= 0))
    b_rows = np.flatnonzero(masks[spec.versus] & window & (codes >= 0))
    a_pairs = np.unique(tl.subject[a_rows] * k + codes[a_rows])
    b_pairs = np.unique(tl.subject[b_rows] * k + codes[b_rows])
    others = b_pairs[~np.isin(b_pairs, a_pairs)]
    n_a = np.bincount(a_pairs // k, minlength=tl.n_subjects)
    n_others = np.bincount(others // k, minlength=tl.n_subjects)
    events_a = _per_subject(a_rows, tl)
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
            "values": _names(mine),
            "others": _names(other),
            "count": str(sum(p in a_set for p in pos)),
        }

    return _signals(rows, tl, values)


def _distinct(spec: Distinct, masks, tl: Timeline) -> Signals:
    codes, uniques = tl.codes(spec.field)
    k = max(len(uniques), 1)
    rows = np.flatnonzero(masks[spec.select] & _window(tl, spec.within) & (codes >= 0))
    pairs = np.unique(tl.subject[rows] * k + codes[rows])
    n = np.bincount(pairs // k, minlength=tl.n_subjects)
    rows = rows[(n >= spec.min)[tl.subject[rows]]]

    return _signals(
        rows, tl, lambda s, pos: {"values": _names(uniques[codes[pos]]), "count": str(n[s])}
    )


def _gap(spec: Gap, masks, tl: Timeline) -> Signals:
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
    is_open = _per_subject(open_rows, tl) > 0
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
    signals = _signals(
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


def _trend(spec: Trend, masks, tl: Timeline) -> Signals:
    level = pd.to_numeric(tl.events[spec.field], errors="coerce").to_numpy(float, na_value=np.nan)
    rows = np.flatnonzero(masks[spec.select] & _window(tl, spec.within) & ~np.isnan(level))
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

    return _signals(rows, tl, values)
