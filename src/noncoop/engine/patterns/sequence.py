"""`sequence`: steps in order, each within `max_gap` of the last, on the same keys, not
cancelled by `until`, completed `runs` times in the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from noncoop.asof import DAY
from noncoop.engine.episodes import Episodes, assign, distinct_evidence, runs, sweep
from noncoop.engine.patterns.base import (
    Masks,
    PatternKind,
    Signals,
    agencies_services,
    described,
    signals_from,
    within_window,
)
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import Duration, StrictModel, days

# What a signal of this kind offers to a message template, as {pattern.value}.
VALUES = ("count", "agencies", "services", "first", "last")


class Sequence(StrictModel):
    steps: list[str] = Field(min_length=2)
    max_gap: Duration
    same: list[str] = Field(default_factory=list)
    until: str | None = None
    runs: int = Field(default=1, ge=1)
    within: Duration


def _keys(tl: Timeline, same: list[str], rows: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"subject": tl.subject[rows], "t": tl.t[rows], "pos": rows})
    for key in same:
        frame[key] = tl.coded(key)[rows]
    return frame[(frame[same] >= 0).all(axis=1)] if same else frame


def evaluate(spec: Sequence, masks: Masks, tl: Timeline) -> Signals:
    inst = _instances(spec, masks, tl, within_window(tl, spec.within))
    last = f"p{len(spec.steps) - 1}"
    runs_ = np.bincount(inst["subject"].to_numpy(np.int64), minlength=tl.n_subjects)
    fired = inst[(runs_ >= spec.runs)[inst["subject"].to_numpy(np.int64)]]
    steps = [f"p{i}" for i in range(len(spec.steps))]
    rows = (
        np.unique(fired[steps].to_numpy(np.int64).ravel()) if len(fired) else np.array([], np.int64)
    )
    completions = fired.groupby("subject")[last].size().to_dict() if len(fired) else {}
    finals = set(fired[last].tolist()) if len(fired) else set()

    def values(subject: int, pos: np.ndarray) -> dict:
        done = np.array([p for p in pos if p in finals], dtype=np.int64)
        return {"count": str(completions[subject]), **agencies_services(tl, done)}

    return signals_from(rows, tl, values)


def episodes(spec: Sequence, masks: Masks, tl: Timeline) -> Episodes:
    """Holds on a day when at least `runs` completed sequences lie wholly in the window ending
    with it: a sequence is in the window from its last step's day until its first step leaves."""
    inst = _instances(spec, masks, tl, np.ones(len(tl.t), bool))
    within, k = days(spec.within), len(spec.steps)
    steps = inst[[f"p{i}" for i in range(k)]].to_numpy(np.int64).reshape(-1, k)
    subject = tl.subject[steps[:, 0]]
    first, last = tl.day[steps[:, -1]], tl.day[steps[:, 0]] + within - 1
    live = first <= last
    steps, subject, first, last = steps[live], subject[live], first[live], last[live]
    segments = sweep(subject, first, last + 1)
    found = runs(segments, segments.totals[:, 0] >= spec.runs, tl.last_day)
    episode, record = assign(found, subject, first, last)
    distinct_evidence(found, np.repeat(episode, k), steps[record].ravel())
    completions = np.bincount(episode, minlength=len(found))
    # A mask over the timeline, so that describing one episode costs its own records only.
    final = np.zeros(len(tl.t), bool)
    final[steps[:, -1]] = True

    def values(i: int, pos: np.ndarray) -> dict:
        done = pos[final[pos]]
        return {"count": str(completions[i]), **agencies_services(tl, done)}

    found.describe = described(tl, values)
    return found


def _instances(spec: Sequence, masks: Masks, tl: Timeline, window: np.ndarray) -> pd.DataFrame:
    """Completed sequences among the rows in `window`: one row per completing event, with the
    positions p0..pk of its steps, the latest start that leads to it, none cancelled."""
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
    return inst


def explain(name: str, spec: Sequence) -> str:
    """The pattern in plain English."""
    joined = f", on the same {', '.join(spec.same)}" if spec.same else ""
    until = f", unless '{spec.until}' comes between" if spec.until else ""
    return (
        f"{name}: '{' then '.join(spec.steps)}' with at most {days(spec.max_gap)} days "
        f"between steps{joined}{until}, completed at least {spec.runs} time(s) in the "
        f"last {days(spec.within)} days"
    )


KIND = PatternKind("sequence", Sequence, evaluate, explain, VALUES, episodes)
