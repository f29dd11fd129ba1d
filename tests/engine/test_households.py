"""An adult's events count for every child of their household, and for no other child."""

from noncoop.engine.households import household_view


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
