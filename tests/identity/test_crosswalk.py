import pandas as pd
from conftest import REGION

from noncoop.identity.crosswalk import load_people


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
