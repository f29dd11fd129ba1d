"""The timeline picture a chair would draw on a whiteboard: one lane per agency, one mark per event.

Marks differ by shape, not only by colour, and alert windows are hatched, so the figure reads the
same printed in greyscale.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from noncoop.reports.casefile import CaseFile
from noncoop.reports.chronology import kinds
from noncoop.vocab import HOSTILITY_LEVELS

LANE_ORDER = ("health", "education", "social_care", "police", "housing", "early_help")
# kind -> (marker, face, edge, size, label)
MARKS = {
    "booked": (".", "0.6", "0.6", 30, "booked"),
    "kept": ("o", "0.0", "0.0", 28, "attended / seen"),
    "not_alone": ("o", "1.0", "0.0", 28, "visit: seen, not alone"),
    "not_seen": ("D", "1.0", "0.0", 24, "visit: child not seen"),
    "late": ("|", "0.0", "0.0", 60, "late"),
    "missed": ("x", "0.0", "0.0", 45, "missed / not attended"),
    "cancelled": ("+", "0.0", "0.0", 55, "cancelled by the family"),
    "no_access": ("s", "1.0", "0.0", 38, "no access / refused"),
    "other": ("*", "0.5", "0.5", 30, "other"),
}
HOSTILITY_GREY = dict(zip(HOSTILITY_LEVELS, ("0.85", "0.6", "0.3", "0.0"), strict=True))


def timeline_figure(case: CaseFile) -> Figure:
    """Lanes by agency, marks by kind of event, school absence as bands, alert windows hatched."""
    ev, lanes, several = _lanes(case)
    y = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}
    # Tall enough for every lane and for the whole legend.
    fig = Figure(figsize=(11, max(1.2 + 0.7 * len(lanes), 3.6)), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    at = ev["occurred_at"].dt.tz_convert(case.timezone).dt.tz_localize(None)
    lane = ev["lane"].map(y)
    _alert_windows(ax, case, several)
    _school_weeks(ax, ev, at, lane)
    _marks(ax, ev, at, lane)
    ax.set_yticks(list(y.values()), [a.replace("_", " ") for a in y])
    ax.set_ylim(-0.7, len(lanes) - 0.4)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="x", color="0.88", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{case.title}: events by agency up to {case.as_of:%d %b %Y}", loc="left", fontsize=10
    )
    ax.legend(
        handles=_legend(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False
    )
    return fig


def _lanes(case: CaseFile) -> tuple[pd.DataFrame, list[str], bool]:
    """Events with their display kind and lane; the lanes in order; whether a household figure
    gives each child (and the adults) their own lane within an agency."""
    ev = case.events.copy()
    ev["kind"] = kinds(ev)
    visit = ev["event_type"].astype(str) == "visit.completed"
    ev.loc[visit & (ev["child_seen_alone"] == False), "kind"] = "not_alone"  # noqa: E712
    ev.loc[visit & (ev["child_seen"] == False), "kind"] = "not_seen"  # noqa: E712
    ev["agency"] = ev["agency"].astype(str)
    whose = ev["subject_id"].astype(str).where(ev["subject_role"].astype(str) == "child", "adults")
    several = case.subject is None and len(case.children) > 1
    ev["lane"] = ev["agency"] + (" · " + whose if several else "")
    order = {a: i for i, a in enumerate(LANE_ORDER)}
    present = ev.drop_duplicates("lane")[["lane", "agency"]]
    present = present.assign(rank=present["agency"].map(order).fillna(len(order)))
    lanes = present.sort_values(["rank", "lane"])["lane"].tolist() or ["no events"]
    return ev, lanes, several


def _alert_windows(ax, case: CaseFile, several: bool) -> None:
    """Each alert window hatched, labelled with its rule (and child, in a household figure)."""
    stacked: dict[str, int] = {}
    for alert in case.alerts:
        start = pd.Timestamp(alert.window.start)
        end = pd.Timestamp(alert.window.end) + pd.Timedelta(days=1)
        ax.axvspan(start, end, facecolor="0.93", edgecolor="0.65", hatch="///", lw=0, zorder=0)
        # Alerts starting on the same day get their labels side by side, not on top of each other.
        k = stacked[alert.window.start] = stacked.get(alert.window.start, -1) + 1
        ax.annotate(
            alert.rule_id + (f" · {alert.subject_id}" if several else ""),
            (start, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2 + 8 * k, -2),
            textcoords="offset points",
            va="top",
            fontsize=6,
            color="0.25",
            rotation=90,
        )


def _school_weeks(ax, ev: pd.DataFrame, at: pd.Series, lane: pd.Series) -> None:
    """Every school week as a band: white when every session was attended, darker with absence,
    and a tick for each absent session."""
    summary = (ev["kind"] == "attendance") & (ev["sessions_possible"].fillna(0) > 0)
    if summary.any():
        possible = ev.loc[summary, "sessions_possible"].astype(float)
        rate = ev.loc[summary, "sessions_absent"].fillna(0).astype(float) / possible
        grey = (1 - (rate * 2).clip(upper=1.0) * 0.85).round(2).astype(str)
        ax.barh(
            lane[summary] - 0.28,
            pd.Timedelta(days=7),
            left=at[summary],
            height=0.16,
            color=grey.tolist(),
            edgecolor="0.3",
            lw=0.3,
        )
    absence = ev["kind"] == "absence"
    ax.scatter(at[absence], lane[absence] - 0.28, marker="|", s=30, c="0.35", lw=0.8)


def _marks(ax, ev: pd.DataFrame, at: pd.Series, lane: pd.Series) -> None:
    """One mark per event by kind; hostility as triangles, darker and larger by level."""
    for kind, (marker, face, edge, size, _) in MARKS.items():
        pick = ev["kind"] == kind
        if not pick.any():
            continue
        if marker in ("x", "+", "|", ".", "*"):  # drawn in one colour
            ax.scatter(at[pick], lane[pick], marker=marker, s=size, c=face, lw=1.0, zorder=3)
        else:
            ax.scatter(
                at[pick],
                lane[pick],
                marker=marker,
                s=size,
                facecolors=face,
                edgecolors=edge,
                lw=1.0,
                zorder=3,
            )
    hostile = ev["kind"] == "hostility"
    for level, grey in HOSTILITY_GREY.items():
        pick = hostile & (ev["hostility_level"].fillna(3) == level)
        if pick.any():
            ax.scatter(
                at[pick],
                lane[pick] + 0.22,
                marker="^",
                s=30 + 14 * level,
                facecolors=grey,
                edgecolors="0.0",
                lw=0.8,
                zorder=4,
            )


def _legend() -> list:
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker=m,
            markersize=6,
            markerfacecolor=f,
            markeredgecolor=e,
            color=f,
            label=label,
        )
        for m, f, e, _, label in MARKS.values()
    ]
    handles += [
        Line2D(
            [],
            [],
            ls="",
            marker="^",
            markersize=4 + level,
            markerfacecolor=g,
            markeredgecolor="0.0",
            label=f"hostility level {level}",
        )
        for level, g in HOSTILITY_GREY.items()
    ]
    handles += [
        Line2D([], [], ls="", marker="|", color="0.35", label="school absence (session)"),
        Patch(facecolor="1.0", edgecolor="0.3", label="school week, all attended"),
        Patch(facecolor="0.4", edgecolor="0.3", label="school week, darker = more absence"),
        Patch(facecolor="0.93", edgecolor="0.65", hatch="///", label="alert window"),
    ]
    return handles


def figure_bytes(case: CaseFile, fmt: str = "png") -> bytes:
    """The figure as PNG or SVG bytes (SVG keeps its text as text)."""
    buffer = io.BytesIO()
    timeline_figure(case).savefig(buffer, format=fmt, metadata=_metadata(fmt))
    return buffer.getvalue()


def save_figure(case: CaseFile, path: Path) -> Path:
    """Write the figure; the format follows the file's suffix (.png or .svg)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"the figure is written as .png or .svg, not {path}")
    Path(path).write_bytes(figure_bytes(case, fmt))
    return Path(path)


def _metadata(fmt: str) -> dict:
    # No dates or software versions baked in: the same case gives the same file.
    return {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
