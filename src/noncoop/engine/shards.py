"""A region evaluated in shards, with the alerts of the whole.

A shard is a set of whole households: a child goes with their household in the people table
(or alone, with none), an adult's records with their household, so every record a child's rules
read is in the child's shard. What no shard can see alone is worked out on each and joined:
each feed's coverage (its first and last record, the days it has records on) and the feeds that
record a child seen. Every executor runs the same steps:

1. `Sharding` gives each person (so each record) a shard;
2. on each shard, its timeline (`pack_timeline` of its events and people) and `region_part`:
   what it adds to the region's facts;
3. `Plan.of` joins the parts;
4. on each shard, `evaluate_shard` with the plan;
5. `merge` puts the shards' alerts together, in the order one run gives them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noncoop.engine.evaluate import Evaluation, evaluate_timeline, in_order
from noncoop.engine.patterns import KINDS
from noncoop.engine.rules.pack import RulePack
from noncoop.engine.selections import definition, rule_masks, timeline_mask
from noncoop.engine.timeline import Feeds, Timeline
from noncoop.events import string_hashes


class Sharding:
    """Which shard each person is in (0 to shards - 1): that of their household in the people
    table, or their own where they have none. A hash of the household id, so the same on every
    machine and in every run (docs/parquet-layout.md). Worked out once per person in the table;
    asked of millions of records by their people's ids."""

    def __init__(self, subjects: pd.DataFrame, shards: int):
        self.shards = max(shards, 1)
        people = subjects.drop_duplicates("subject_id")
        self.people = pd.Index(people["subject_id"].astype(str))
        household = people["household_id"]
        keys = np.where(
            household.isna(),
            "person\x1f" + self.people.to_numpy(object),
            "household\x1f" + household.fillna("").astype(str).to_numpy(object),
        )
        self.known = self._hashed(keys)

    def of(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        """The shard of each of the people's ids."""
        ids = np.asarray(ids, dtype=object).astype(str)
        at = self.people.get_indexer(ids)
        shard = self.known[np.maximum(at, 0)] if len(self.known) else np.zeros(len(ids), np.int64)
        stranger = at < 0
        if stranger.any():  # a record of someone the people table does not hold
            shard[stranger] = self._hashed("person\x1f" + ids[stranger].astype(object))
        return shard

    def people_of(self, subjects: pd.DataFrame, shard: int) -> pd.DataFrame:
        """The people table's rows of one shard."""
        return subjects[self.of(subjects["subject_id"]) == shard]

    def _hashed(self, keys: np.ndarray) -> np.ndarray:
        return (string_hashes(pd.Series(keys, dtype=object)) % np.uint64(self.shards)).astype(
            np.int64
        )


def region_part(tl: Timeline, pack: RulePack) -> Feeds:
    """What a shard's timeline adds to the region's facts: its feeds, the first day of its
    records and what the pack's pattern kinds ask of the region (the feeds that record a child
    seen, by selection)."""
    regional: dict[str, dict[str, int]] = {}
    masks: dict[str, np.ndarray] = {}

    def mask(selection) -> np.ndarray:
        text = definition(selection)
        if text not in masks:
            masks[text] = timeline_mask(tl, selection)
        return masks[text]

    for rule in pack.rules:
        for pattern in rule.rule.patterns.values():
            ask = KINDS[pattern.kind].regional
            if ask is not None:
                regional.update(ask(pattern.spec, rule_masks(rule.rule.select, mask), tl))
    first_day = int(tl.day.min()) if len(tl.day) else None
    return dataclasses.replace(tl.feeds, sighted=regional, first_day=first_day)


@dataclass(frozen=True)
class Plan:
    """What every shard is judged with: the pack, the date and mode, and the region's feeds."""

    pack: RulePack
    as_of: pd.Timestamp
    feeds: Feeds
    engine: str = "python"
    history: bool = True
    ended: bool = True

    @classmethod
    def of(cls, parts: list[Feeds], pack: RulePack, as_of: pd.Timestamp, **mode) -> Plan:
        """The plan from every shard's part of the region's facts (none: a region with no
        records)."""
        feeds = parts[0] if parts else Feeds({}, {}, {}, {})
        for part in parts[1:]:
            feeds = feeds.joined(part)
        return cls(pack, as_of, feeds, **mode)


def evaluate_shard(tl: Timeline, plan: Plan) -> Evaluation:
    """A shard's alerts, judged with the region's facts."""
    tl = dataclasses.replace(tl, feeds=plan.feeds)
    return evaluate_timeline(tl, plan.pack, plan.engine, plan.history, plan.ended)


def merge(shards: list[Evaluation]) -> Evaluation:
    """The shards' evaluations as one: alerts in the order a single run gives them, counts
    summed. Timings are the executor's to give."""
    merged = Evaluation([], events=sum(e.events for e in shards))
    for part in shards:
        merged.alerts += part.alerts
        merged.folded += part.folded
        for counts, into in (
            (part.signals, merged.signals),
            (part.insufficient, merged.insufficient),
        ):
            for name, n in counts.items():
                into[name] = into.get(name, 0) + n
    merged.alerts = in_order(merged.alerts)
    merged.folded = in_order(merged.folded)
    return merged
