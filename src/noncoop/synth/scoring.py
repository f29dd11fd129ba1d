"""Scoring alerts against a synthetic region's truth.csv: recall and false alerts per pattern tag.

An analyst changing a rule can see at once whether planted patterns are still found and how
many background children it now alerts on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

TRAP = "trap:"  # truth rows of ordinary families that must stay quiet, not planted patterns
QUIET_BELOW = ("info", "low")  # levels a trap may raise


def load_truth(path: Path) -> pd.DataFrame:
    """The planted pattern instances (subject, pattern tag, window) of a truth.csv."""
    truth = _windows(path)
    return truth[~truth["pattern"].str.startswith(TRAP)]


def load_traps(path: Path) -> pd.DataFrame:
    """The ordinary-family traps (subject, trap tag, window) of a truth.csv."""
    truth = _windows(path)
    return truth[truth["pattern"].str.startswith(TRAP)]


def _windows(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    return truth[truth["pattern"] != ""][["subject_id", "pattern", "window_start", "window_end"]]


def score_traps(
    alerts: Iterable[tuple[str, str, str, str, str]], traps: pd.DataFrame
) -> pd.DataFrame:
    """Per trap, from the (child, rule, level, window start, window end) of every alert: the
    children, and those alerted at medium or above over a window meeting the trap's. A trap
    stays quiet when none are."""
    raised = pd.DataFrame(list(alerts), columns=["subject_id", "rule_id", "level", "start", "end"])
    raised = raised[~raised["level"].isin(QUIET_BELOW)]
    met = traps.merge(raised, on="subject_id")
    met = met[(met["start"] <= met["window_end"]) & (met["end"] >= met["window_start"])]
    rows = []
    for tag, group in traps.groupby("pattern"):
        loud = met[met["pattern"] == tag]
        rows.append(
            {
                "trap": tag,
                "children": group["subject_id"].nunique(),
                "alerted": loud["subject_id"].nunique(),
                "rules": ", ".join(sorted(set(loud["rule_id"]))),
            }
        )
    return pd.DataFrame(rows, columns=["trap", "children", "alerted", "rules"])


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
