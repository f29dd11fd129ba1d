"""A broken rule file gets precise errors: code, file:line:col, what was expected."""

import pytest
from conftest import ROOT

from noncoop.engine.rules.load import load_rules
from noncoop.yamlspec import ConfigInvalid

GOOD = (ROOT / "rules" / "NC-NO-ACCESS.yaml").read_text(encoding="utf-8")


def _errors(tmp_path, text, name="NC-X.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_rules(path)
    return path, info.value.errors


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_key_in_a_pattern(tmp_path):
    text = GOOD.replace(
        "{count: {select: no_access, min: 3, within: 60d, per: day}}",
        "{count: {select: no_access, minimum: 3, within: 60d, per: day}}",
    )
    path, errors = _errors(tmp_path, text)
    (err,) = errors
    assert err.code == "RULE-UNKNOWN-KEY"
    assert err.line == _line_of(text, "minimum")
    assert str(err).startswith(f"{path}:{err.line}:")
    assert "unknown key 'minimum'" in err.message
    assert "expected one of: select, min, max, within, per" in err.message


def test_unknown_selection_placeholder_and_event_type_reported_together(tmp_path):
    text = (
        GOOD.replace("select: no_access, min", "select: no_acess, min")
        .replace("{failed.count} visits", "{failed.total} visits")
        .replace("visit.refused]", "visit.refusd]")
    )
    _, errors = _errors(tmp_path, text)
    codes = {e.code for e in errors}
    assert codes == {"RULE-UNKNOWN-SELECTION", "RULE-PLACEHOLDER", "RULE-UNKNOWN-EVENT-TYPE"}
    by_code = {e.code: e for e in errors}
    assert "selection 'no_acess', which is not defined" in by_code["RULE-UNKNOWN-SELECTION"].message
    assert "a count pattern offers count, records, agencies" in by_code["RULE-PLACEHOLDER"].message
    assert by_code["RULE-PLACEHOLDER"].line == _line_of(text, "message:")


def test_condition_naming_nothing(tmp_path):
    text = GOOD.replace("condition: failed", "condition: {all: [failed, fialed]}")
    _, errors = _errors(tmp_path, text)
    (err,) = errors
    assert err.code == "RULE-UNKNOWN-SIGNAL"
    assert "'fialed'" in err.message


def test_missing_near_miss_test(tmp_path):
    start = GOOD.index("  - name: two failed visits")
    text = GOOD[:start]
    _, errors = _errors(tmp_path, text)
    assert [e.code for e in errors] == ["RULE-TESTS"]


def test_two_pattern_tags(tmp_path):
    text = GOOD.replace("tags: [pattern:no-access,", "tags: [pattern:no-access, pattern:other,")
    _, errors = _errors(tmp_path, text)
    assert errors[0].code == "RULE-INVALID"
    assert "exactly one pattern:* tag" in errors[0].message


def test_conclusion_cycle(tmp_path):
    a = GOOD.replace("condition: failed", "condition: {all: [failed, from_b]}\nconclude: from_a")
    b = GOOD.replace("id: NC-NO-ACCESS", "id: NC-NO-ACCESS-B").replace(
        "condition: failed", "condition: {all: [failed, from_a]}\nconclude: from_b"
    )
    (tmp_path / "NC-A.yaml").write_text(a, encoding="utf-8")
    (tmp_path / "NC-B.yaml").write_text(b, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_rules(tmp_path)
    assert {e.code for e in info.value.errors} == {"RULE-CYCLE"}


def test_an_episode_test_needs_both_days_and_an_expected_alert(tmp_path):
    case = "  - name: two failed visits and a completed one\n    expect: none\n"
    text = GOOD.replace(case, case + "    from: -40\n")
    _, errors = _errors(tmp_path, text)
    assert [e.code for e in errors] == ["RULE-INVALID"]
    assert "both 'from' and 'until'" in errors[0].message
    text = GOOD.replace(case, case + "    from: -40\n    until: -20\n")
    _, errors = _errors(tmp_path, text)
    assert "describe an expected alert" in errors[0].message


def test_household_scope_cannot_test_the_childs_own_fields(tmp_path):
    text = GOOD.replace(
        "  no_access: {event_type: [visit.no_access, visit.refused]}",
        "  no_access: {event_type: [visit.no_access, visit.refused], age: {gte: 4}, "
        "scope: household}",
    )
    assert text != GOOD
    _, errors = _errors(tmp_path, text)
    (err,) = errors
    assert err.code == "RULE-INVALID" and err.line == _line_of(text, "scope: household")
    assert "has scope household, so it cannot test age" in err.message
