"""A night's patterns read records only as far back as the episodes it tells need (horizon.py),
and find what reading every record finds; where a rule tells an episode begun earlier than the
store foretold, the night reads every record after all."""

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

from noncoop.asof import DAY, calendar, start_second
from noncoop.engine.evaluate import evaluate_timeline, pack_timeline
from noncoop.engine.horizon import MARGIN, Horizon, Since
from noncoop.engine.patterns import gap
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import case_events, needed
from noncoop.engine.selections import rule_masks, timeline_mask
from noncoop.scan import executors, scan, scan_json
from noncoop.scan.run import shipped_rules
from noncoop.store.workspace import Workspace
from noncoop.yamlspec import days

PACK = load_rules([shipped_rules()]).enabled()
RULES = {r.id: r for r in PACK.rules}
AS_OF = "2026-03-31"
LAST = start_second(AS_OF) // DAY


def content(alerts) -> list[str]:
    """Everything an alert says, the days it held and its opening window included."""
    return [json.dumps([a.content_json(), str(a.held), a.opened], default=str) for a in alerts]


@pytest.fixture(scope="module")
def timeline(synthetic_region):
    """The synthetic region's timeline as of the last day of its two years of records."""
    _, ws = synthetic_region
    with calendar(ws.timezone()):
        events, reader = ws.load_for_rules(pd.Timestamp(AS_OF))
        return pack_timeline(events, ws.load_subjects(), PACK, AS_OF, None, reader)


def night(tl, horizon=None):
    return evaluate_timeline(tl, PACK, "python", True, False, 0, 2, None, horizon)


def told_from(evaluation) -> dict[str, int]:
    """By rule, the first day of the earliest episode it tells (folded ones too)."""
    first: dict[str, int] = {}
    for alert in [*evaluation.alerts, *evaluation.folded]:
        day = start_second(alert.held.start) // DAY
        first[alert.rule_id] = min(first.get(alert.rule_id, day), day)
    return first


def test_patterns_read_from_the_days_the_told_episodes_began_find_the_same(timeline):
    """The tightest horizon there is, each rule's from the first day of its earliest told
    episode, cuts most rules' records to the last months, and every alert, folded alert,
    evidence record, window and message is what reading every record gives."""
    whole = night(timeline)
    first = told_from(whole)
    assert len(first) >= 8 and len(whole.alerts) > 50
    horizon = Horizon.of(PACK.rules, PACK.superseders(), Since(first, LAST + 1))
    # Most of two years is left unread: a rate of eight weeks reads from months before 31 March.
    rate = horizon.first_day(RULES["NC-SEVERE-ABSENCE-NO-HEALTH"], "absence")
    assert rate is not None and rate > int(timeline.day.min()) + 300
    # Gaps judged from their rules' days, on the last sighting before and every one since.
    gaps = [
        r
        for r in (
            "NC-CHILD-NOT-SEEN-SW",
            "NC-CHILD-NOT-SEEN-ANY-AGENCY",
            "NC-THREATS-AND-CHILD-NOT-SEEN",
        )
        if r in first
    ]
    assert gaps and all(horizon.first_day(RULES[r], "unseen") is not None for r in gaps)
    narrowed = night(timeline, horizon)
    assert narrowed.beyond_horizon == []
    assert content(narrowed.alerts) == content(whole.alerts)
    assert content(narrowed.folded) == content(whole.folded)
    assert narrowed.insufficient == whole.insufficient


def gap_episodes(tl, masks, spec, first: int) -> list[tuple]:
    """A gap's episodes holding on a day from `first` on: child, days, evidence and values."""
    found = gap.episodes(spec, masks, tl)
    return [
        (
            int(found.subject[i]),
            int(found.start[i]),
            int(found.end[i]),
            found.evidence_of(i).tolist(),
            found.describe(i, found.evidence_of(i)),
        )
        for i in np.flatnonzero(found.end >= first)
    ]


@pytest.mark.parametrize("rule_id", ["NC-CHILD-NOT-SEEN-SW", "NC-CHILD-NOT-SEEN-ANY-AGENCY"])
def test_a_gap_judged_from_a_day_on_the_last_sighting_before_it_finds_the_same(timeline, rule_id):
    """A gap reads, from before the first day it judges, only each child's last sighting: the
    episodes holding on that day or later, their evidence (the last sighting, however old) and
    their days unseen are those reading every sighting gives. Days tried: the day after each of
    a hundred sightings (that one alone read from before), and weeks through the records."""
    rule = RULES[rule_id]
    spec = rule.rule.patterns["unseen"].spec
    masks = rule_masks(rule.rule.select, lambda s: timeline_mask(timeline, s))
    seen = np.flatnonzero(masks[spec.select])
    days_after = timeline.day[seen[:: max(1, len(seen) // 100)]] + 1
    tried = sorted({*days_after.tolist(), *range(int(timeline.day.min()), LAST + 1, 7)})
    told = 0
    for first in tried:
        narrowed = gap.since(spec, masks, timeline, first)
        expected = gap_episodes(timeline, masks, spec, first)
        assert gap_episodes(timeline, narrowed, spec, first) == expected, first
        told += len(expected)
    assert told > 100
    # From the last month on, most sightings are left unread.
    assert np.count_nonzero(narrowed[spec.select]) < len(seen) / 4


def test_a_gap_a_within_compares_judged_from_its_rules_day_finds_the_same():
    """NC-THREATS-AND-CHILD-NOT-SEEN compares a threat and the child unseen by social care by a
    `within`. Judged from the rule's day, its gap reads the child's last sighting before that day
    and none of the fortnightly ones of the year before: the alert, its window and evidence (the
    last sighting, 70 days ago) are what reading every sighting gives."""
    threats = RULES["NC-THREATS-AND-CHILD-NOT-SEEN"]
    given = threats.rule.tests[0]  # a threat, then visits without seeing the child
    event = type(given.events[0])
    fortnightly = [
        event.model_validate(
            {"day": -400 + 14 * k, "type": "visit.completed", "agency": "social_care", "seen": True}
        )
        for k in range(23)
    ]
    case = given.model_copy(update={"events": [*fortnightly, *given.events]})
    events, subjects, coverage = case_events(case)
    pack = needed(threats, PACK)
    tl = pack_timeline(events, subjects, pack, case.as_of, coverage)
    whole = evaluate_timeline(tl, pack, "python", True, False, 0, 1)
    told = told_from(whole)
    assert told["NC-THREATS-AND-CHILD-NOT-SEEN"] > int(tl.day.min()) + 300
    horizon = Horizon.of(pack.rules, pack.superseders(), Since(told, tl.last_day + 1))
    first = horizon.first_day(threats, "unseen")
    assert first is not None and first > tl.day.max() - 70  # after the last sighting
    narrowed = evaluate_timeline(tl, pack, "python", True, False, 0, 1, None, horizon)
    assert narrowed.beyond_horizon == []
    assert content(narrowed.alerts) == content(whole.alerts)
    alert = next(a for a in narrowed.alerts if a.rule_id == threats.id)
    assert [e.event_id for e in alert.evidence][:2] == ["s1", "t1"]


def test_rules_telling_episodes_begun_before_their_day_read_every_record(timeline):
    """Records that came late, rules new to the pack or changed since the store's alerts were
    found: episodes begin earlier than the store foretold. Here it holds no live alert at all,
    so every rule should tell only episodes begun tonight. The night sees those that began
    earlier and works the patterns out again over the whole history, finding what it would
    have."""
    whole = night(timeline)
    horizon = Horizon.of(PACK.rules, PACK.superseders(), Since({}, LAST + 1))
    again = night(timeline, horizon)
    assert again.beyond_horizon == sorted(told_from(whole))
    assert content(again.alerts) == content(whole.alerts)
    assert content(again.folded) == content(whole.folded)


def test_what_reads_every_record_and_what_reads_back_from_the_horizon():
    """A sequence's count can be of any age; signals a `within` compares, and the patterns of
    a rule another rule reads as a signal, read every record. A count reads its window back
    from its rule's day; a gap, whose last sighting can be of any age, judges from its rule's
    day (reading each child's last sighting before it); and a rule superseded by another
    shares the earlier day of the two."""
    live = {"NC-CHILD-NOT-SEEN-SW": LAST - 200, "NC-NO-ACCESS": LAST - 20}
    horizon = Horizon.of(PACK.rules, PACK.superseders(), Since(live, LAST + 1))
    gap = horizon.first_day(RULES["NC-CHILD-NOT-SEEN-SW"], "unseen")
    assert gap == LAST - 200 - MARGIN
    # A gap a `within` compares too: every episode holding from its day on is whole.
    compared = RULES["NC-THREATS-AND-CHILD-NOT-SEEN"]
    assert compared.signal("unseen") in horizon.whole
    assert horizon.first_day(compared, "unseen") == horizon.since[compared.id] - MARGIN
    assert horizon.first_day(RULES["NC-REBOOK-MISS"], "cycles") is None  # sequence
    assert horizon.first_day(RULES["NC-ISOLATION"], "health") is None  # compared by `within`
    assert horizon.first_day(RULES["NC-THREATS-TO-WORKERS"], "threat") is None  # concluded
    failed = RULES["NC-NO-ACCESS"].rule.patterns["failed"].spec
    no_access = horizon.first_day(RULES["NC-NO-ACCESS"], "failed")
    assert no_access == LAST - 20 - days(failed.within) - MARGIN
    # A rule with no live alert tells only episodes begun since the last scan...
    assert horizon.since["NC-MISSED-MEETINGS"] == LAST + 1
    # ...unless a rule superseding it, or one it supersedes, has one live from earlier.
    assert horizon.since["NC-CHILD-NOT-SEEN-ANY-AGENCY"] == LAST - 200


def test_a_night_scan_reads_from_its_horizon_and_stores_what_reading_all_would(
    synthetic_region, tmp_path, monkeypatch, caplog
):
    """A first scan, then a night with the records of the days since: read from the horizon
    the store gives, the night records and reports the same alerts as one reading every
    record."""
    sources, ingested = synthetic_region
    first = Workspace(tmp_path / "first")
    shutil.copytree(ingested.root, first.root)
    scan(sources, first, None, "2026-03-24", "python", actor="test")
    nights = {}
    for name in ("horizon", "every record"):
        ws = Workspace(tmp_path / name)
        shutil.copytree(first.root, ws.root)
        if name == "every record":
            monkeypatch.setattr(executors, "_horizon", lambda job, tl: None)
        with caplog.at_level(logging.INFO, logger="noncoop.scan"):
            result = scan(sources, ws, None, AS_OF, "python", actor="test")
        nights[name] = scan_json(result)
        assert result.evaluation.beyond_horizon == ([] if name == "horizon" else None)
    assert "the patterns read the records from the night's horizon on" in caplog.text
    read, every = nights["horizon"], nights["every record"]
    assert len(read["alerts"]) > 50
    assert read["alerts"] == every["alerts"]
    assert (read["resolved"], read["lifecycle"]) == (every["resolved"], every["lifecycle"])
    assert read["events"] == every["events"]
