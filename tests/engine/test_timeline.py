"""The timeline's record of which days each feed holds data for, as coverage is judged on; and
the fields worked out from a child's other records."""

import numpy as np
import pandas as pd

from noncoop.asof import calendar
from noncoop.engine.evaluate import pack_timeline
from noncoop.engine.rules.load import load_rules
from noncoop.engine.timeline import feed_days
from noncoop.scan.run import shipped_rules


def test_feed_days_are_the_same_counted_or_sorted():
    source = pd.Series(["gp", "school", "gp", None, "school", "gp"], dtype="category")
    day = np.array([20000, 20001, 20000, 20002, 20005, 20003], np.int64)
    near = feed_days(pd.DataFrame({"source": source}), day * 86400)
    assert {k: v.tolist() for k, v in near.items()} == {
        "gp": [20000, 20003],
        "school": [20001, 20005],
    }
    # A mistyped year puts one record centuries away: the days come out the same.
    far = day.copy()
    far[1] = 20001 - 365 * 300
    spread = feed_days(pd.DataFrame({"source": source}), far * 86400)
    assert spread["school"].tolist() == [20001 - 365 * 300, 20005]
    assert spread["gp"].tolist() == [20000, 20003]


def test_health_seen_that_week_is_the_same_asked_of_a_few_children_or_of_all(synthetic_region):
    """Whether health saw the child in the week of a school absence, asked of the absences of a
    few children only (as a night asks of the children its records came for, looking at their
    rows alone), is what asking of every row gives."""
    _, ws = synthetic_region
    pack = load_rules([shipped_rules()]).enabled()
    with calendar(ws.timezone()):
        events, reader = ws.load_for_rules(pd.Timestamp("2026-03-31"))
        tl = pack_timeline(events, ws.load_subjects(), pack, "2026-03-31", None, reader)
    every = np.arange(len(tl.t))
    whole = tl.derived("health_seen_week", every).to_numpy()
    absent = np.flatnonzero(tl.events["event_type"].astype(str).to_numpy() == "school.absence")
    seen = np.unique(tl.subject[absent[whole[absent]]])
    assert len(seen) > 20  # absences in a week health saw the child: the question matters
    for few in (seen[:5], seen[::7], np.unique(tl.subject)[-3:]):
        rows = absent[np.isin(tl.subject[absent], few)]
        assert len(rows) and 4 * len(rows) < len(absent)
        part = tl.derived("health_seen_week", rows).to_numpy()
        assert np.array_equal(part, whole[rows])
