import pandas as pd

from noncoop.identity.identifiers import (
    nhs_check_digit,
    nhs_number_valid,
    upn_check_letter,
    upn_valid,
)


def test_nhs_numbers_known_good_and_bad():
    values = pd.Series(
        [
            "9434765919",
            "943 476 5919",
            "943-476-5919",
            "9434765918",
            "4000000012",
            "123456789",
            "94347659190",
            None,
            "abcdefghij",
        ]
    )
    assert nhs_number_valid(values).tolist() == [
        True,
        True,
        True,
        False,
        True,
        False,
        False,
        False,
        False,
    ]


def test_nhs_check_digit_of_ten_means_no_valid_number():
    # 1000000010: weighted sum 10 -> 11 - 10 = 1; find a stem whose check would be 10.
    stems = [f"{n:09d}" for n in range(100000000, 100000100)]
    impossible = [s for s in stems if nhs_check_digit(s) is None]
    assert impossible, "some stems have no valid check digit"
    for stem in impossible:
        candidates = pd.Series([stem + str(d) for d in range(10)])
        assert not nhs_number_valid(candidates).any()


def test_upn_check_letter_known_good_and_bad():
    values = pd.Series(
        [
            "B801200005001",
            "b801200005001",
            "A801200005001",
            "H801200001001",
            "U80120000100A",
            "U80120000100B",
            "B80120000500",
            "I801200005001",
            None,
        ]
    )
    assert upn_valid(values).tolist() == [True, True, False, True, True, False, False, False, False]


def test_upn_check_letter_matches_validation():
    body = "801200001004"
    assert upn_valid(pd.Series([upn_check_letter(body) + body])).all()
