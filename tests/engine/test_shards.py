"""A region judged in shards gives the alerts of the whole: households kept together, the
region's facts (feed coverage, the feeds that record a child seen) joined from every shard, and
the same alerts whatever order the events arrive in."""

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, unseen_region
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noncoop.engine.evaluate import evaluate, pack_timeline
from noncoop.engine.rules.load import load_rules
from noncoop.engine.shards import (
    Plan,
    Sharding,
    evaluate_shard,
    merge,
    region_part,
)

AS_OF = "2026-03-31"
PACK = load_rules(ROOT / "rules")


def sharded(events, subjects, partition, as_of=AS_OF, pack=PACK):
    """The shard steps, each shard the events and people `partition` (one label per person
    id) gives the same label."""
    label = lambda ids: np.asarray([partition(str(i)) for i in ids])  # noqa: E731
    by_event, by_person = label(events["subject_id"]), label(subjects["subject_id"])
    timelines = [
        pack_timeline(
            events[by_event == s].reset_index(drop=True), subjects[by_person == s], pack, as_of
        )
        for s in sorted(set(by_person) | set(by_event))
    ]
    plan = Plan.of([region_part(tl, pack) for tl in timelines], pack, pd.Timestamp(as_of))
    return merge([evaluate_shard(tl, plan) for tl in timelines])


def test_sharded_equals_whole_on_a_synthetic_region(synthetic_region):
    _, ws = synthetic_region
    events, subjects = ws.load_events(as_of=AS_OF), ws.load_subjects()
    whole = evaluate(events, subjects, PACK, AS_OF, "python", history=True)
    assert len(whole.alerts) > 50
    for shards in (2, 7):
        shard = Sharding(subjects, shards).of(subjects["subject_id"])
        keys = dict(zip(subjects["subject_id"], shard, strict=True))
        parts = sharded(events, subjects, lambda person, k=keys: k.get(person, 0))
        assert parts.alerts == whole.alerts
        assert parts.folded == whole.folded
        assert (parts.signals, parts.insufficient, parts.events) == (
            whole.signals,
            whole.insufficient,
            whole.events,
        )


def _shuffled(events: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The events in another order, their categories listed in another order too."""
    rng = np.random.default_rng(seed)
    shuffled = events.iloc[rng.permutation(len(events))].reset_index(drop=True)
    for column in ("agency", "service", "source"):
        names = list(shuffled[column].cat.categories)
        rng.shuffle(names)
        shuffled[column] = shuffled[column].cat.reorder_categories(names)
    return shuffled


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_same_alerts_whatever_order_the_events_arrive_in(synthetic_region, seed):
    _, ws = synthetic_region
    events, subjects = ws.load_events(as_of=AS_OF), ws.load_subjects()
    whole = evaluate(events, subjects, PACK, AS_OF, "python", history=True)
    again = evaluate(_shuffled(events, seed), subjects, PACK, AS_OF, "python", history=True)
    assert again.alerts == whole.alerts


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_fixture_region_gives_the_same_alerts_in_any_order(region_ws, seed):
    ws, _ = region_ws
    events, subjects = ws.load_events(as_of="2026-04-30"), ws.load_subjects()
    whole = evaluate(events, subjects, PACK, "2026-04-30", "python", history=True)
    assert whole.alerts
    again = evaluate(_shuffled(events, seed), subjects, PACK, "2026-04-30", "python", history=True)
    assert again.alerts == whole.alerts


def test_every_household_is_in_one_shard(synthetic_region):
    _, ws = synthetic_region
    subjects = ws.load_subjects()
    housed = subjects.dropna(subset=["household_id"])
    for shards in (2, 3, 16, 1000):
        shard = Sharding(subjects, shards).of(housed["subject_id"])
        per_household = pd.Series(shard).groupby(housed["household_id"].to_numpy()).nunique()
        assert (per_household == 1).all()
        assert shard.min() >= 0 and shard.max() < shards
    assert len(set(Sharding(subjects, 4).of(housed["subject_id"]))) == 4
    # Someone the people table does not hold has a shard of their own id.
    assert (
        Sharding(subjects, 4).of(["nobody"]).tolist()
        == Sharding(subjects[:0], 4).of(["nobody"]).tolist()
    )


def _not_seen(evaluation) -> set[str]:
    return {
        a.subject_id
        for a in evaluation.alerts
        if a.rule_id == "NC-CHILD-NOT-SEEN-ANY-AGENCY" and a.held.end == AS_OF
    }


@pytest.mark.parametrize("alone", ["C1", "C2"])
def test_a_child_never_seen_in_a_shard_of_their_own_is_still_judged(tmp_path, alone):
    ws = unseen_region(tmp_path / "src")
    events, subjects = ws.load_events(as_of=AS_OF), ws.load_subjects()
    whole = evaluate(events, subjects, PACK, AS_OF, "python", history=True)
    assert _not_seen(whole) == {"C1", "C2"}
    # The trap: judged on its own records only, the child's shard finds no gap it may judge.
    mine = (events["subject_id"] == alone).to_numpy()
    own = evaluate(
        events[mine], subjects[subjects["subject_id"] == alone], PACK, AS_OF, history=True
    )
    assert _not_seen(own) == set()
    assert own.insufficient.get("NC-CHILD-NOT-SEEN-ANY-AGENCY") == 1
    # With the region's facts the shard judges it as the whole region does.
    parts = sharded(events, subjects, lambda person: person == alone)
    assert _not_seen(parts) == {"C1", "C2"}
    assert parts.alerts == whole.alerts
    assert parts.insufficient == whole.insufficient


def test_an_adults_records_are_judged_with_their_households_children(region_ws):
    ws, _ = region_ws
    events, subjects = ws.load_events(as_of="2026-04-30"), ws.load_subjects()
    whole = evaluate(events, subjects, PACK, "2026-04-30", "python", history=True)
    # A0001's hostility counts for C0001 and C0002 (household H01) only where it is in their
    # shard; each household on its own shard gives the whole region's alerts.
    households = dict(
        zip(subjects["subject_id"], subjects["household_id"].fillna("none"), strict=True)
    )
    parts = sharded(events, subjects, lambda person: households.get(person, person), "2026-04-30")
    via_adult = [a for a in whole.alerts if any(e.via_subject_id == "A0001" for e in a.evidence)]
    assert via_adult
    assert parts.alerts == whole.alerts
    # Split by person instead, the adult's records leave the children's shard.
    by_person = sharded(events, subjects, lambda person: person, "2026-04-30")
    assert by_person.alerts != whole.alerts
