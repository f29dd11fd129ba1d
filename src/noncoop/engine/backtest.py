"""Backtests: what a rule pack would have raised over a stretch of history, period by period, and
what changing the pack would gain or lose, without touching any alert store.

Works on explained history (`evaluate(..., history=True)`): an alert per rule episode, with the
days it held.
"""

from __future__ import annotations

import pandas as pd

from noncoop.engine.alert import Alert

PERIODS = {"week": "W", "month": "M"}  # weeks run Monday to Sunday
SUMMARY_COLUMNS = ("rule_id", "period", "episodes", "children", "median_days")
CHANGE_COLUMNS = ("rule_id", "change", "subject_id", "first_day")


def episodes_frame(alerts: list[Alert], start: str, end: str) -> pd.DataFrame:
    """One row per episode that began between `start` and `end` (ISO days, inclusive)."""
    rows = [
        (a.rule_id, a.subject_id, a.held.start, a.held.end)
        for a in alerts
        if a.held is not None and start <= a.held.start <= end
    ]
    frame = pd.DataFrame(rows, columns=["rule_id", "subject_id", "first_day", "last_day"])
    first, last = pd.to_datetime(frame["first_day"]), pd.to_datetime(frame["last_day"])
    return frame.assign(days=(last - first).dt.days + 1, first=first)


def summary(alerts: list[Alert], start: str, end: str, by: str = "month") -> pd.DataFrame:
    """Per rule and period: episodes that began in it, the children they concern, and the median
    number of days they held (those still holding at the end count up to it)."""
    frame = episodes_frame(alerts, start, end)
    frame["period"] = frame["first"].dt.to_period(PERIODS[by]).astype(str)
    grouped = frame.groupby(["rule_id", "period"], sort=True)
    out = grouped.agg(
        episodes=("subject_id", "size"),
        children=("subject_id", "nunique"),
        median_days=("days", "median"),
    ).reset_index()
    return out[list(SUMMARY_COLUMNS)]


def totals(alerts: list[Alert], start: str, end: str) -> pd.DataFrame:
    """Per rule over the whole stretch: episodes begun, children, median days held."""
    frame = episodes_frame(alerts, start, end)
    return (
        frame.groupby("rule_id", sort=True)
        .agg(
            episodes=("subject_id", "size"),
            children=("subject_id", "nunique"),
            median_days=("days", "median"),
        )
        .reset_index()
    )


def changes(candidate: list[Alert], baseline: list[Alert], start: str, end: str) -> pd.DataFrame:
    """Children a rule would alert on in the period under the candidate pack and not the baseline
    (gained), or the other way round (lost), with the first day it held."""
    new = episodes_frame(candidate, start, end)
    old = episodes_frame(baseline, start, end)
    key = ["rule_id", "subject_id"]
    first_new = new.groupby(key)["first_day"].min().reset_index()
    first_old = old.groupby(key)["first_day"].min().reset_index()
    both = first_new.merge(first_old, on=key, how="outer", suffixes=("_new", "_old"))
    gained = both[both["first_day_old"].isna()].assign(change="gained")
    lost = both[both["first_day_new"].isna()].assign(change="lost")
    out = pd.concat(
        [
            gained.assign(first_day=gained["first_day_new"]),
            lost.assign(first_day=lost["first_day_old"]),
        ]
    )
    return out.sort_values(["rule_id", "change", "subject_id"])[list(CHANGE_COLUMNS)].reset_index(
        drop=True
    )
