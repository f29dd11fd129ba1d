"""The backtest figure: episodes begun per period, one line per rule, told apart by marker so it
reads in greyscale."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

MARKERS = "osD^vx+*<>ph"


def backtest_figure(summary: pd.DataFrame, title: str) -> Figure:
    periods = sorted(summary["period"].unique())
    fig = Figure(figsize=(11, 4.5), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    for i, (rule, rows) in enumerate(summary.groupby("rule_id", sort=True)):
        counts = rows.set_index("period")["episodes"].reindex(periods, fill_value=0)
        ax.plot(
            range(len(periods)),
            counts.to_numpy(),
            marker=MARKERS[i % len(MARKERS)],
            color=str(0.15 + 0.5 * (i % 4) / 3),
            lw=1,
            ms=4,
            label=rule,
        )
    ax.set_xticks(range(len(periods)), periods, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("episodes begun")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="y", color="0.88", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6, frameon=False)
    return fig


def save_backtest_figure(summary: pd.DataFrame, title: str, path: Path) -> Path:
    buffer = io.BytesIO()
    backtest_figure(summary, title).savefig(buffer, format="png", metadata={"Software": None})
    Path(path).write_bytes(buffer.getvalue())
    return Path(path)
