"""Explanations read as a practitioner would write them."""

from dataclasses import replace

from conftest import ROOT

from noncoop.engine.alert import Window
from noncoop.engine.explain import render_message
from noncoop.engine.patterns import KINDS
from noncoop.engine.rules.load import load_rules
from noncoop.engine.rules.pack import RulePack
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


def test_a_message_gets_every_value_it_quotes_and_only_those_are_worked_out():
    """Values are worked out only where a message quotes them: one that quotes all a count
    offers gets all of them, the shipped message its own three."""
    pack = load_rules(ROOT / "rules")
    (rule,) = [r for r in pack.rules if r.id == "NC-THREATS-TO-WORKERS"]
    assert rule.quoted == {"threat": frozenset({"count", "agencies", "where"})}
    every = "|".join(f"{{threat.{name}}}" for name in KINDS["count"].values)
    wider = replace(rule, rule=rule.rule.model_copy(update={"message": every}))
    assert wider.quoted == {"threat": frozenset(KINDS["count"].values)}
    (case,) = [
        r
        for r in run_rule_tests(RulePack([wider]))
        if r.name == "one assault recorded by social care and by the police"
    ]
    quoted, _, whose = case.explanation.partition(";")  # then: whose records they are
    said = dict(zip(KINDS["count"].values, quoted.split("|"), strict=True))
    assert said["count"] == "1" and said["records"] == "2"
    assert said["agencies"] == "police and social care"
    assert said["where"] == "1 police incident and 1 separate note"
    assert said["first"] == said["last"] == "21 Mar 2026"
    assert whose == " recorded against an adult in the household, A1"
