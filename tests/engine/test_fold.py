"""One fact, one alert: a rule that supersedes another (`related: supersedes`) folds the other's
alert for the same child into its own on the days both hold, listed as related."""

import shutil

import pytest
from conftest import ROOT

from noncoop.engine.evaluate import evaluate
from noncoop.engine.rules.load import load_rules
from noncoop.engine.rules.model import RuleTest
from noncoop.engine.ruletest import CHILD, case_events
from noncoop.yamlspec import ConfigInvalid

PACK = load_rules(ROOT / "rules")


def visits(alone_at: set[int], n: int = 6, span: int = 80) -> RuleTest:
    """`n` social care visits where the child was seen over the last `span` days, alone at the
    ones numbered in `alone_at`."""
    days = [-span + i * span // n for i in range(n)]
    events = [
        {
            "id": f"v{i + 1}",
            "day": day,
            "type": "visit.completed",
            "agency": "social_care",
            "seen": True,
            "alone": i in alone_at,
        }
        for i, day in enumerate(days)
    ]
    return RuleTest.model_validate({"name": "visits", "expect": "alert", "events": events})


def alerts_for(case: RuleTest, history: bool = False):
    events, subjects, coverage = case_events(case)
    run = evaluate(events, subjects, PACK, case.as_of, "python", coverage, history=history)
    return [a for a in run.alerts if a.subject_id == CHILD]


def test_never_alone_folds_seen_alone_rarely_into_one_alert():
    alerts = alerts_for(visits(alone_at=set()))
    assert [a.rule_id for a in alerts] == ["NC-NOT-SEEN-ALONE"]
    (related,) = alerts[0].related
    assert related.rule_id == "NC-SEEN-ALONE-RARELY" and related.level == "medium"
    assert related.explanation.startswith("Seen alone at 0 of 6 visits")
    assert {e.event_id for e in related.evidence} == {f"v{i}" for i in range(1, 7)}
    listed = alerts[0].to_json()["related"]
    assert listed[0]["relation"] == "superseded" and listed[0]["rule_id"] == "NC-SEEN-ALONE-RARELY"


def test_seen_alone_once_in_six_is_raised_on_its_own():
    alerts = alerts_for(visits(alone_at={2}))
    assert [a.rule_id for a in alerts] == ["NC-SEEN-ALONE-RARELY"]
    assert alerts[0].related == () and "related" not in alerts[0].to_json()


def test_over_the_history_only_the_days_held_alone_are_its_own():
    """Alone at the first visit only: rarely alone while that visit is in the look-back, never
    alone after it leaves, so the medium alert is raised then folded into the high one."""
    alerts = alerts_for(visits(alone_at={0}, n=8, span=160), history=True)
    by_rule = {}
    for a in alerts:
        by_rule.setdefault(a.rule_id, []).append(a)
    (never,) = by_rule["NC-NOT-SEEN-ALONE"]
    rarely = by_rule["NC-SEEN-ALONE-RARELY"]
    assert all(r.held.end < never.held.start for r in rarely)
    assert [r.rule_id for r in never.related] == ["NC-SEEN-ALONE-RARELY"]


@pytest.mark.parametrize("single", [True, False])
def test_rules_superseding_each_other_are_refused(tmp_path, single):
    for name in ("NC-NOT-SEEN-ALONE", "NC-SEEN-ALONE-RARELY"):
        shutil.copy(ROOT / "rules" / f"{name}.yaml", tmp_path)
    # NC-NOT-SEEN-ALONE supersedes it already: it supersedes itself, or that rule.
    path = tmp_path / "NC-SEEN-ALONE-RARELY.yaml"
    other = "NC-SEEN-ALONE-RARELY" if single else "NC-NOT-SEEN-ALONE"
    text = path.read_text().replace(
        "tags:", f"related:\n  - {{id: {other}, type: supersedes}}\ntags:", 1
    )
    path.write_text(text)
    with pytest.raises(ConfigInvalid) as caught:
        load_rules(tmp_path)
    codes = {e.code for e in caught.value.errors}
    assert codes == {"RULE-CYCLE"}
    assert any("supersede" in e.message for e in caught.value.errors)


def test_an_episode_cites_only_what_its_window_held_on_its_own_days():
    """Visits every fortnight for a year, alone at every other one until 100 days ago, never
    since: the never-alone alert rests on the visits in its 90-day window on the days it held,
    not on the year of visits its 'four visits' pattern held over, some of them alone."""
    events = [
        {
            "id": f"v{i}",
            "day": day,
            "type": "visit.completed",
            "agency": "social_care",
            "seen": True,
            "alone": day < -100 and i % 2 == 0,
        }
        for i, day in enumerate(range(-364, 0, 14))
    ]
    case = RuleTest.model_validate({"name": "year", "expect": "alert", "events": events})
    alerts = alerts_for(case, history=True)
    (never,) = [
        a for a in alerts if a.rule_id == "NC-NOT-SEEN-ALONE" and a.held.end == "2026-03-31"
    ]
    alone = {e["id"] for e in events if e["alone"]}
    assert not {e.event_id for e in never.evidence} & alone
    assert never.window.start >= "2025-12-21"  # 100 days before, less the first visit's gap
    assert never.explanation.startswith(f"Seen at {len(never.evidence)} social care visits")
    (rarely,) = never.related
    assert rarely.explanation.startswith(f"Seen alone at 0 of {len(never.evidence)} visits")
