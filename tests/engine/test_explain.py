"""Explanations read as a practitioner would write them."""

from conftest import ROOT

from noncoop.engine.alert import Window
from noncoop.engine.explain import render_message
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import run_rule_tests

TEMPLATE = "{threat.count} incident(s) between {window.start} and {window.end}"


def test_a_window_of_one_day_reads_on_that_day():
    values = {"threat": {"count": "1"}}
    one_day = render_message(TEMPLATE, values, Window("2026-01-28", "2026-01-28"))
    assert one_day == "1 incident on 28 Jan 2026"
    two_days = render_message(TEMPLATE, values, Window("2026-01-28", "2026-01-29"))
    assert two_days == "1 incident between 28 Jan 2026 and 29 Jan 2026"
    values = {"threat": {"count": "2"}}
    assert render_message(TEMPLATE, values, Window("2026-01-28", "2026-01-29")).startswith(
        "2 incidents between"
    )


def test_a_shipped_rule_on_one_record_says_on_which_day():
    pack = load_rules(ROOT / "rules")
    (case,) = [
        r
        for r in run_rule_tests(pack, only={"NC-THREATS-TO-WORKERS"})
        if r.name == "a social worker threatened during a home visit"
    ]
    assert case.fired and " on 1 Mar 2026" in case.explanation and "between" not in case.explanation
    assert case.explanation.startswith("1 incident of intimidation")
    assert "recorded by social care on 1 visit" in case.explanation


def test_hostility_says_where_it_was_recorded():
    pack = load_rules(ROOT / "rules")
    (case,) = [
        r
        for r in run_rule_tests(pack, only={"NC-THREATS-TO-WORKERS"})
        if r.name == "one assault recorded by social care and by the police"
    ]
    assert "1 incident of" in case.explanation
    assert "recorded by police and social care on 1 police incident and 1 separate note" in (
        case.explanation
    )
