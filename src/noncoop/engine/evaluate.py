"""Evaluation of a rule pack as one pure function: events in, explained alerts out.

The same function runs for a whole region, for one shard of children, or for one rule's inline
test, so what is tested is what runs at night. Rules run in strata: a rule that uses a signal
another rule concludes runs after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from noncoop.engine.alert import Alert, Folded
from noncoop.engine.decide import Decision, SignalTable, decider
from noncoop.engine.explain import Support, explain, held_window, recalled
from noncoop.engine.fold import attach, attached
from noncoop.engine.forked import both
from noncoop.engine.history import Memory, RuleEpisodes, Signal, Told, pack_history, told_of
from noncoop.engine.horizon import Horizon
from noncoop.engine.patterns import KINDS, Signals
from noncoop.engine.patterns.base import SIGNAL_COLUMNS
from noncoop.engine.recall import Recall, with_folded
from noncoop.engine.rules.pack import LoadedRule, RulePack
from noncoop.engine.selections import rule_masks, shared_records, timeline_mask
from noncoop.engine.timeline import Feeds, Timeline, TraceSource, build_timeline
from noncoop.vocab import level_rank


@dataclass
class Evaluation:
    """Alerts plus what a summary needs: timings, signal counts, children not judged."""

    alerts: list[Alert]
    # Alerts of superseded rules folded into others (listed there as related), for the store to
    # say why such an alert stopped being raised.
    folded: list[Alert] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    insufficient: dict[str, int] = field(default_factory=dict)
    events: int = 0
    # Where a night's patterns read from a horizon (horizon.py), the rules that told an episode
    # begun before it, for which they were worked out again over the whole history (empty:
    # none did); None where every record was read from the start.
    beyond_horizon: list[str] | None = None
    # Alerts recalled from the store rather than explained (recall.py), of `alerts`; and those
    # folded into them, not explained either.
    recalled: int = 0
    folded_recalled: list[Folded] = field(default_factory=list)


def evaluate(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    pack: RulePack,
    as_of: str | pd.Timestamp,
    engine: str = "python",
    coverage: dict[str, tuple[int, int]] | None = None,
    history: bool = False,
    ended: bool = True,
    reader: TraceSource | None = None,
) -> Evaluation:
    """Explained alerts for every child, as of the given date; with `history`, an alert for
    every episode of every rule up to that date, with the days it held (`held`), of which those
    still holding on the as-of day are the alerts of the date. With `ended=False` only those
    still holding are explained (a nightly scan needs no more)."""
    clock = time.perf_counter()
    tl = pack_timeline(events, subjects, pack, as_of, coverage, reader)
    return evaluate_timeline(tl, pack, engine, history, ended, time.perf_counter() - clock)


def pack_timeline(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    pack: RulePack,
    as_of: str | pd.Timestamp,
    coverage: dict[str, tuple[int, int]] | None = None,
    reader: TraceSource | None = None,
    feeds: Feeds | None = None,
) -> Timeline:
    """The timeline the pack reads: with the records its household selections share between
    brothers and sisters."""
    share = shared_records(events, [s for r in pack.rules for s in r.rule.selections()])
    return build_timeline(events, subjects, as_of, coverage, share, reader, feeds)


def evaluate_timeline(
    tl: Timeline,
    pack: RulePack,
    engine: str = "python",
    history: bool = False,
    ended: bool = True,
    timeline_s: float = 0.0,
    threads: int = 1,
    memory: Memory | None = None,
    horizon: Horizon | None = None,
    recall: Recall | None = None,
    world: str | None = None,
) -> Evaluation:
    """`evaluate`, on a timeline built already (in `timeline_s` seconds); with `history`, the
    patterns worked out in `threads` threads, the selections' masks recalled from `memory`;
    and where only the episodes still holding are told (not `ended`), read from the `horizon`
    where one is given, with the alerts the store holds as they are found `recall`ed from it
    rather than explained. Alerts have fingerprints only given the `world` the timeline was
    made in (recall.py)."""
    result = Evaluation([], events=len(tl.t))
    result.timings["timeline"] = timeline_s
    told_only = None if ended else horizon
    alerts = (
        _history(tl, pack, engine, result, ended, threads, memory, told_only, recall, world)
        if history
        else _single_date(tl, pack, engine, result)
    )
    clock = time.perf_counter()
    result.alerts, result.folded = in_order(alerts), in_order(result.folded)
    result.timings["explanations"] += time.perf_counter() - clock
    return result


def in_order(alerts: list[Alert]) -> list[Alert]:
    """Alerts as a run lists them: by level, rule, child and first day held."""
    held = lambda a: a.held.start if a.held else ""  # noqa: E731
    return sorted(alerts, key=lambda a: (level_rank(a.level), a.rule_id, a.subject_id, held(a)))


def _single_date(tl: Timeline, pack: RulePack, engine: str, result: Evaluation) -> list[Alert]:
    run = _Run(tl, result, engine)
    for stratum in pack.strata():
        run.stratum(stratum)
    run.fold(pack.superseders())
    clock = time.perf_counter()
    result.folded = explain(run.folded, tl)
    alerts = attach(explain(run.supports, tl), result.folded, pack)
    result.timings["explanations"] = time.perf_counter() - clock
    result.timings["patterns"] = run.pattern_time
    result.timings["decisions"] = run.decision_time
    return alerts


def _history(
    tl: Timeline,
    pack: RulePack,
    engine: str,
    result: Evaluation,
    ended: bool,
    threads: int,
    memory: Memory | None,
    horizon: Horizon | None,
    recall: Recall | None,
    world: str | None,
) -> list[Alert]:
    clock = time.perf_counter()
    found, signals = _episodes(tl, pack, engine, result, threads, memory, horizon)
    result.timings["episodes"] = time.perf_counter() - clock
    clock = time.perf_counter()
    told = {r.id: told_of(r, found[r.id], signals, tl, ended, world) for r in pack.rules}
    folded = {
        r.id: told_of(r, found[r.id].folded, signals, tl, ended, world)
        for r in pack.rules
        if found[r.id].folded is not None
    }
    kept = _recalled(pack, told, folded, recall, tl)
    alerts, result.folded = _explained(pack.rules, told, folded, kept, tl, threads)
    alerts = attach(alerts, result.folded, pack)
    result.recalled = sum(len(by_k) for by_k in kept.alerts.values())
    alerts += [a for by_k in kept.alerts.values() for a in by_k.values()]
    result.folded_recalled = [
        Folded(t.rule.id, subject_id, held_window(t.held(k)))
        for rule_id, t in folded.items()
        for k, subject_id in enumerate(_subject_ids(t, tl))
        if (rule_id, k) not in kept.folded
    ]
    for rule in pack.rules:
        for pname in rule.rule.patterns:
            signal = signals[rule.signal(pname)]
            result.signals[rule.signal(pname)] = len(signal.episodes.holding(tl.last_day))
            if signal.episodes.insufficient:
                counts = result.insufficient
                counts[rule.id] = counts.get(rule.id, 0) + signal.episodes.insufficient
    result.timings["explanations"] = time.perf_counter() - clock
    return alerts


def _episodes(
    tl: Timeline,
    pack: RulePack,
    engine: str,
    result: Evaluation,
    threads: int,
    memory: Memory | None,
    horizon: Horizon | None,
) -> tuple[dict[str, RuleEpisodes], dict[str, Signal]]:
    """The pack's episodes and signals, read from the horizon where there is one; worked out
    again over the whole history where a rule tells an episode begun before it."""
    run = partial(
        pack_history, tl, pack.strata(), decider(engine), pack.superseders(), threads, memory
    )
    if horizon is None:
        return run()
    found, signals = run(horizon)
    result.beyond_horizon = horizon.begun_earlier(_first_told(found, tl.last_day))
    return run() if result.beyond_horizon else (found, signals)


def _first_told(found: dict[str, RuleEpisodes], last_day: int) -> dict[str, int]:
    """By rule, the first day of its earliest episode still holding on the last day, folded or
    not (rules telling none left out)."""
    first = {}
    for rule_id, own in found.items():
        starts = np.concatenate([eps.start[eps.end == last_day] for eps in own.parts()])
        if len(starts):
            first[rule_id] = int(starts.min())
    return first


@dataclass(frozen=True)
class _Recalled:
    """By rule, the alerts recalled from the store, by told episode (k); and the folded
    episodes (rule, k) explained, those folded into an alert explained."""

    alerts: dict[str, dict[int, Alert]]
    folded: set[tuple[str, int]]


def _recalled(
    pack: RulePack,
    told: dict[str, Told],
    folded: dict[str, Told],
    recall: Recall | None,
    tl: Timeline,
) -> _Recalled:
    """The told episodes whose alert the store holds as it is (`recall`: None, none are), and
    the folded ones to explain: those listed with an alert explained, or with none."""
    under = _folded_into(pack, told, folded)
    stored = recall() if recall is not None else {}
    alerts: dict[str, dict[int, Alert]] = {}
    for r, t in told.items():
        found = [k for k, f in enumerate(t.fingerprint) if f in stored]
        if found:
            ids = _subject_ids(t, tl)
            alerts[r] = {
                k: recalled(t.support(k, bare=True), stored[t.fingerprint[k]], ids[k])
                for k in found
            }
    explained = {
        child for (r, k), listed in under.items() if k not in alerts.get(r, {}) for child in listed
    }
    listed = {child for kids in under.values() for child in kids}
    explained |= {(r, k) for r, t in folded.items() for k in range(len(t))} - listed
    return _Recalled(alerts, explained)


def _folded_into(
    pack: RulePack, told: dict[str, Told], folded: dict[str, Told]
) -> dict[tuple[str, int], list[tuple[str, int]]]:
    """By told episode (rule, k), the folded ones (rule, k) its alert lists; its fingerprint
    made to take theirs in, so that it is recalled only where they are as they were too."""
    children = [(r, k) for r, t in folded.items() for k in range(len(t))]
    # Only the rules superseding a folded one list any.
    above = set().union(*(pack.superseding(r) for r in folded))
    parents = [(r, k) for r, t in told.items() if r in above for k in range(len(t))]
    key = lambda t, k: (t.subject[t.episodes[k]], *t.held(k))  # noqa: E731
    into = attached(
        [(r, *key(told[r], k)) for r, k in parents],
        [(r, *key(folded[r], k)) for r, k in children],
        pack,
    )
    under = {}
    for i, js in into.items():
        (r, k), listed = parents[i], [children[j] for j in js]
        under[r, k] = listed
        prints = [folded[c].fingerprint[j] for c, j in listed]
        told[r].fingerprint[k] = with_folded(told[r].fingerprint[k], prints)
    return under


def _subject_ids(told: Told, tl: Timeline) -> list[str]:
    """The child of each told episode, by id: looked up together, not one by one."""
    return (
        tl.subjects[np.asarray(told.subject, np.int64)[np.asarray(told.episodes, np.int64)]]
        .astype(str)
        .tolist()
    )


# Told episodes from which a night's explaining is shared with a forked copy (forked.py). The
# copy costs CPU of its own (pages copied as it writes, alerts pickled and read back): measured
# at 100k children, 13,000 episodes told took as long either way and 0.7 CPU s more shared, while
# the whole pack's 27,000 took 0.5-0.7 s less.
FORK_FROM = 20_000
_SHARES = (0.6, 0.4)  # of the episodes told: explained here, and in the copy


def _explained(
    rules: list[LoadedRule],
    told: dict[str, Told],
    folded: dict[str, Told],
    kept: _Recalled,
    tl: Timeline,
    threads: int,
) -> tuple[list[Alert], list[Alert]]:
    """The alerts of the told episodes not recalled (`kept`), and of the folded ones to
    explain, in the rules' order. With more than one core (`threads`) and enough of them, half
    of the rules (by episodes explained) are explained in a forked copy of the process, at once
    with the other half."""
    mine = {
        r.id: [k for k in range(len(told[r.id])) if k not in kept.alerts.get(r.id, {})]
        for r in rules
    }
    theirs = {r: [k for k in range(len(t)) if (r, k) in kept.folded] for r, t in folded.items()}

    def of(chosen: list[LoadedRule]) -> tuple[list[Alert], list[Alert]]:
        supports = [told[r.id].support(k) for r in chosen for k in mine[r.id]]
        under = [folded[r.id].support(k) for r in chosen for k in theirs.get(r.id, ())]
        return explain(supports, tl), explain(under, tl)

    weight = {r.id: len(mine[r.id]) + len(theirs.get(r.id, ())) for r in rules}
    if threads < 2 or sum(weight.values()) < FORK_FROM:
        return of(rules)
    # The copy's share is the smaller: it also pickles its alerts, and copies each page of
    # memory it writes to (measured at 100k children: its half took half as long again).
    halves: tuple[list[LoadedRule], list[LoadedRule]] = ([], [])
    loads = [0, 0]
    for rule in sorted(rules, key=lambda r: -weight[r.id]):
        lighter = min((0, 1), key=lambda i: loads[i] / _SHARES[i])
        halves[lighter].append(rule)
        loads[lighter] += weight[rule.id]
    (alerts, under), (more, under_more) = both(lambda: of(halves[0]), lambda: of(halves[1]))
    place = {r.id: i for i, r in enumerate(rules)}
    in_rules = lambda listed: sorted(listed, key=lambda a: place[a.rule_id])  # noqa: E731  stable
    return in_rules(alerts + more), in_rules(under + under_more)


class _Run:
    """Signals found so far (patterns' and concluded), and the decisions' supports: those raised,
    and those folded into a superseding rule's alert."""

    def __init__(self, tl: Timeline, result: Evaluation, engine: str):
        self.tl, self.result = tl, result
        self.decide = decider(engine)
        self.table = SignalTable(tl.n_subjects, {}, {}, {})
        self.found: dict[str, Signals] = {}
        self.supports: list[Support] = []
        self.folded: list[Support] = []
        self.pattern_time = self.decision_time = 0.0

    def stratum(self, rules: list[LoadedRule]) -> None:
        clock = time.perf_counter()
        for rule in rules:
            self.patterns(rule)
        self.pattern_time += time.perf_counter() - clock
        clock = time.perf_counter()
        decisions = self.decide(rules, self.table)
        self.decision_time += time.perf_counter() - clock
        by_id = {r.id: r for r in rules}
        concluded: dict[str, list[Support]] = {}
        for decision in decisions:
            rule = by_id[decision.rule_id]
            support = self.support(rule, decision)
            self.supports.append(support)
            if rule.rule.conclude:
                concluded.setdefault(rule.rule.conclude, []).append(support)
        for name, supports in concluded.items():
            self.conclude(name, supports)

    def fold(self, superseders: dict[str, list[str]]) -> None:
        """A superseded rule's decision for a child is folded where a rule superseding it holds
        for that child too."""
        holding = {(s.rule.id, s.child) for s in self.supports}
        kept = []
        for s in self.supports:
            above = superseders.get(s.rule.id, ())
            folded = any((a, s.child) in holding for a in above)
            (self.folded if folded else kept).append(s)
        self.supports = kept

    def patterns(self, rule: LoadedRule) -> None:
        """Every pattern of the rule, for every child at once."""
        tl = self.tl
        masks = rule_masks(rule.rule.select, lambda sel: timeline_mask(tl, sel))
        for pname, pattern in rule.rule.patterns.items():
            out = KINDS[pattern.kind].evaluate(pattern.spec, masks, tl)
            self.add(rule.signal(pname), out)
            self.result.signals[rule.signal(pname)] = len(out.frame)
            if out.insufficient:
                counts = self.result.insufficient
                counts[rule.id] = counts.get(rule.id, 0) + out.insufficient

    def add(self, name: str, signals: Signals) -> None:
        self.found[name] = signals
        frame = signals.frame
        self.table.add(
            name,
            frame["subject"].to_numpy(np.int64),
            frame["start"].to_numpy(np.int64),
            frame["end"].to_numpy(np.int64),
        )

    def conclude(self, name: str, supports: list[Support]) -> None:
        """A concluded signal, for the rules of later strata: the supporting window and evidence."""
        frame = pd.DataFrame(
            [(s.child, s.start, s.end, None, s.positions) for s in supports],
            columns=list(SIGNAL_COLUMNS),
        )
        self.add(name, Signals(frame.sort_values("subject", ignore_index=True)))

    def support(self, rule: LoadedRule, decision: Decision) -> Support:
        """What supports one decision: its window, evidence positions and message values."""
        child, tl = decision.child, self.tl
        rows = [self.found[name].row(child) for name in decision.members]
        positions = sorted(
            {int(p) for r in rows for p in r["evidence"]}, key=lambda p: (tl.t[p], p)
        )
        values = {}
        for pname, wanted in rule.quoted.items():
            signals = self.found.get(rule.signal(pname))
            row = signals.row(child) if signals is not None else None
            values[pname] = (
                signals.values(child, np.asarray(row["evidence"]), wanted) if row else {}
            )
        return Support(
            rule,
            child,
            positions,
            values,
            min(int(r["start"]) for r in rows),
            max(int(r["end"]) for r in rows),
        )
