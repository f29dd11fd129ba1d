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


def test_a_person_given_two_households_is_kept_back_naming_both_lines(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
        "C0001,nhs,4000000012,H01,2016-05-01,child\n"
        "C0001,upn,H801200001001,,,\n"  # blanks agree with anything
        "C0002,nhs,4000000020,H01,2022-02-11,child\n"
        "C0002,la,LA-1002,H07,2022-02-11,child\n"
        "A0001,la,LA-9001,H01,1990-01-01,adult\n"
        "A0001,police,PN-77,H01,1990-01-01,\n"
    )
    people = load_people(path)
    assert set(people.subjects["subject_id"]) == {"C0001", "A0001"}
    subjects = people.subjects.set_index("subject_id")
    assert subjects.loc["A0001", "role"] == "adult"  # a blank role on one row agrees
    q = people.quarantined
    assert q["source_line"].tolist() == [4, 5] and set(q["reason_code"]) == {"PEOPLE-CONFLICT"}
    assert q["reason"].iloc[0] == (
        "C0002 is given household id H01 (people.csv:4) and H07 (people.csv:5); "
        "every row of a person must agree"
    )
