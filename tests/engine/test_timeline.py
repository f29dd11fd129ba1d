"""The timeline's record of which days each feed holds data for, as coverage is judged on."""

import numpy as np
import pandas as pd

from noncoop.engine.timeline import feed_days


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
