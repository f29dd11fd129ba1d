"""An adult's events count for every child of their household, and for no other child."""

import numpy as np
import pandas as pd

from noncoop.engine.households import household_view
from noncoop.engine.rules.model import Selection
from noncoop.engine.selections import selection_mask, shared_records, timeline_mask
from noncoop.engine.timeline import build_timeline


def test_adult_events_count_for_every_child_in_the_household(region_ws):
    ws, _ = region_ws
    view = household_view(ws.load_events(), ws.load_subjects())
    hostile = view[view["event_type"] == "hostility.recorded"]
    # A0001's three hostility events belong to household H01 with children C0001 and C0002.
    assert sorted(hostile["subject_id"].value_counts().items()) == [("C0001", 3), ("C0002", 3)]
    assert set(hostile["via_subject_id"]) == {"A0001"}
    assert (view["subject_role"] == "child").all()
    # C0003 lives in another household and sees none of them.
    assert "C0003" not in set(hostile["subject_id"])
    # Children's own events are unchanged and in time order per child.
    own = view[view["via_subject_id"].isna()]
    assert len(own) == len(ws.load_events().query("subject_role == 'child'"))
    for _, group in view.groupby("subject_id"):
        assert group["occurred_at"].is_monotonic_increasing


def test_a_childs_record_is_read_for_siblings_only_by_household_selections(region_ws):
    ws, _ = region_ws
    events, subjects = ws.load_events(), ws.load_subjects()
    missed = {"event_type": "appointment.missed"}
    household, own = Selection(**missed, scope="household"), Selection(**missed)
    tl = build_timeline(events, subjects, "2026-04-30", share=shared_records(events, [household]))
    subject = tl.events["subject_id"].astype(str).to_numpy()
    shared = tl.events["via_sibling"].to_numpy(bool)
    # C0001's missed GP appointments are read for C0002, in the same household, and only there.
    assert set(subject[shared]) == {"C0002"}
    assert set(tl.trace(list(np.flatnonzero(shared)))["via_subject_id"]) == {"C0001"}
    assert selection_mask(tl.events, household)[shared].all()
    assert not selection_mask(tl.events, own)[shared].any()
    # Without a household selection nothing is shared.
    assert not build_timeline(events, subjects, "2026-04-30").events["via_sibling"].any()


def test_events_at_the_same_moment_are_in_event_id_order_however_they_arrive(region_ws):
    ws, _ = region_ws
    events, subjects = ws.load_events(), ws.load_subjects()
    # Four of C0001's records put at one moment, then the table read in two opposite orders.
    four = events.index[events["subject_id"] == "C0001"][:4]
    events.loc[four, "occurred_at"] = pd.Timestamp("2026-01-05", tz="UTC")
    orders = []
    for frame in (events, events.iloc[::-1].reset_index(drop=True)):
        tl = build_timeline(frame, subjects, "2026-04-30")
        moment = tl.t == pd.Timestamp("2026-01-05", tz="UTC").timestamp()
        at = np.flatnonzero(moment & (tl.events["subject_id"] == "C0001") & ~tl.shared)
        orders.append(tl.trace(list(at))["event_id"].tolist())
    assert orders[0] == orders[1] == sorted(orders[0])
    assert set(events.loc[four, "event_id"]) <= set(orders[0])


def test_fields_no_record_holds_are_worked_out_for_the_rows_a_selection_tests(region_ws):
    ws, _ = region_ws
    events, subjects = ws.load_events(), ws.load_subjects()
    # Brothers' and sisters' missed appointments are shared too: they are not an adult's.
    missed = Selection(event_type="appointment.missed", scope="household")
    tl = build_timeline(events, subjects, "2026-04-30", share=shared_records(events, [missed]))
    adults = timeline_mask(tl, Selection(via_adult=True, scope="household"))
    whose = tl.trace(list(np.flatnonzero(tl.shared)))["via_subject_id"].astype(str)
    assert adults.sum() == whose.str.startswith("A").sum() > 0
    assert tl.events["via_sibling"].any() and not (adults & ~tl.shared).any()
    # Sessions attended: those possible less those absent, tested only on attendance weeks.
    weeks = {"event_type": "school.attendance_summary"}
    full = timeline_mask(tl, Selection(**weeks, sessions_attended={"gte": 1}))
    possible, absent = tl.events["sessions_possible"], tl.events["sessions_absent"]
    expected = timeline_mask(tl, Selection(**weeks)) & (possible - absent >= 1).fillna(False)
    assert full.tolist() == expected.to_numpy(bool).tolist() and 0 < full.sum() < expected.size
    # Age at the record, from the people table's date of birth.
    born = subjects.set_index("subject_id")["date_of_birth"].astype("datetime64[s]")
    at = pd.to_datetime(tl.t, unit="s")
    ages = (at - born.reindex(tl.events["subject_id"].astype(str)).to_numpy()).days / 365.25
    young = timeline_mask(tl, Selection(age={"lt": 5}))
    own = ~tl.events["via_sibling"].to_numpy(bool)
    assert young.tolist() == ((ages < 5) & own).tolist() and 0 < young.sum() < young.size
