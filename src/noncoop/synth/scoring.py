"""Scoring alerts against a synthetic region's truth.csv: recall and false alerts per pattern tag.

An analyst changing a rule can see at once whether planted patterns are still found and how
many background children it now alerts on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def load_truth(path: Path) -> pd.DataFrame:
    """The planted pattern instances (subject, pattern tag, window) of a truth.csv."""
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    return truth[truth["pattern"] != ""][["subject_id", "pattern", "window_start", "window_end"]]


def score(
    alerted: Iterable[tuple[str, str | None]],
    truth: pd.DataFrame,
    children: int,
    since: str | None = None,
) -> pd.DataFrame:
    """Per pattern tag, from the (child, pattern tag) of every alert: planted children, found,
    recall, alerted children, false alerts (alerted without that planted pattern), and background
    alerts: children with no planted pattern at all, with their rate among all background
    children. With `since`, only patterns planted to end on or after that day are expected (a
    scan as of a date finds those); the others are neither expected nor background."""
    fired = pd.DataFrame(list(alerted), columns=["subject_id", "pattern"]).drop_duplicates()
    any_planted = set(truth["subject_id"])
    expected = truth if since is None else truth[truth["window_end"] >= since]
    planted = expected[["subject_id", "pattern"]].drop_duplicates()
    background = max(children - len(any_planted), 1)
    rows = []
    for tag in sorted(set(planted["pattern"]) | set(fired["pattern"])):
        want = set(planted.loc[planted["pattern"] == tag, "subject_id"])
        got = set(fired.loc[fired["pattern"] == tag, "subject_id"])
        false = got - want
        others = max(children - len(want), 1)
        rows.append(
            {
                "pattern": tag,
                "planted": len(want),
                "found": len(want & got),
                "recall": len(want & got) / len(want) if want else float("nan"),
                "alerted": len(got),
                "false_alerts": len(false),
                "false_alert_rate": len(false) / others,
                "background_alerts": len(got - any_planted),
                "background_rate": len(got - any_planted) / background,
            }
        )
    return pd.DataFrame(rows)
