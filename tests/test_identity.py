import pandas as pd
from conftest import REGION

from noncoop.engine.households import household_view
from noncoop.identity.crosswalk import load_people


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


def test_people_crosswalk_quarantines_failing_identifiers(tmp_path):
    people = load_people(REGION / "people.csv")
    assert people.rows_read == 13
    assert people.quarantined["reason_code"].tolist() == ["INVALID-ID"]
    assert people.quarantined["source_line"].tolist() == [13]
    assert set(people.subjects["subject_id"]) == {
        "C0001",
        "C0002",
        "C0003",
        "C0004",
        "A0001",
        "A0002",
    }


def test_identifier_claimed_by_two_people_is_ambiguous(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
        "C1,la,X1,H1,2015-01-01,child\n"
        "C2,la,X1,H2,2016-01-01,child\n"
        "C3,la,X3,H3,2016-01-01,child\n",
        encoding="utf-8",
    )
    people = load_people(path)
    from noncoop.quarantine import Checks

    frame = pd.DataFrame({"id_scheme": ["la", "la", "la"], "id_value": ["X1", "X3", "X9"]})
    checks = Checks(frame.index)
    linked = people.link(frame, checks)
    assert checks.codes.tolist() == ["AMBIGUOUS-ID", "", "UNLINKED-ID"]
    assert linked["subject_id"].tolist()[1] == "C3"
