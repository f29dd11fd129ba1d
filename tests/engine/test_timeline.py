"""The timeline's record of which days each feed holds data for, as coverage is judged on; and
the fields worked out from a child's other records."""

import numpy as np
import pandas as pd

from noncoop.asof import calendar
from noncoop.engine.evaluate import pack_timeline
from noncoop.engine.rules.load import load_rules
from noncoop.engine.timeline import Numbers, feed_days, floats
from noncoop.scan.run import shipped_rules


def timeline_of(ws):
    """The shipped pack's timeline of a workspace's records, as of 31 March (a fresh one: what
    it works out once is worked out again)."""
    pack = load_rules([shipped_rules()]).enabled()
    with calendar(ws.timezone()):
        events, reader = ws.load_for_rules(pd.Timestamp("2026-03-31"))
        return pack_timeline(events, ws.load_subjects(), pack, "2026-03-31", None, reader)


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
    tl = timeline_of(synthetic_region[1])
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


def test_numbers_for_the_rows_asked_are_the_whole_columns_numbers(synthetic_region):
    """A number field read for some rows (as a rate reads sessions, and a trend hostility
    levels) gives those rows' numbers, blank where none was recorded, whether the column is
    stored as numbers or came as text."""
    tl = timeline_of(synthetic_region[1])
    rows = np.flatnonzero(tl.events["hostility_level"].notna().to_numpy())[::3]
    rows = np.sort(np.concatenate([rows, np.arange(0, len(tl.t), 997)]))
    for field in ("sessions_absent", "sessions_possible", "hostility_level"):
        whole = floats(tl.events[field], 0.0)
        assert np.array_equal(tl.numbers(field, 0.0)[rows], whole[rows])
        assert np.isnan(tl.numbers(field)[rows]).sum() == tl.events[field].iloc[rows].isna().sum()
    assert (tl.numbers("hostility_level")[rows] > 0).any()
    text = Numbers(pd.Series(["2", None, "x", "4.5"]), 0.0)
    assert text[np.array([3, 0, 1, 2])].tolist() == [4.5, 2.0, 0.0, 0.0]
    assert len(text[np.zeros(0, np.int64)]) == 0


def test_a_columns_codes_alone_are_those_given_with_their_values(synthetic_region):
    """The codes a sequence matches chains on are those given with the values they stand for,
    which are made only when asked."""
    tl = timeline_of(synthetic_region[1])
    chains = tl.coded("chain_id")
    assert "_values_chain_id" not in tl._codes
    codes, values = tl.codes("chain_id")
    assert codes is chains
    known = codes >= 0
    assert known.any() and not known.all()
    assert values[codes[known]].tolist() == tl.events["chain_id"][known].astype(str).tolist()
