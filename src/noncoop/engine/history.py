"""Rules over the whole history: on which days each rule holds for each child, as episodes.

Patterns give episodes (episodes.py). A rule's condition combines them day by day: a conjunction
holds on a day when each of its signals holds, none it negates does, and (with `within`) the
signals' windows as known that day lie close enough. Each child's days are cut into *slices* on
which all of that is constant: where an episode starts or ends, and where a `within` first comes
true (a window only grows while its episode lasts, so once true it stays true). Every slice is
decided once, by the same backends (python or durable_rules) that decide a single date, with the
facts as they stand on the slice's first day; adjacent slices where a rule holds run together
into the rule's episodes.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from noncoop.asof import DAY
from noncoop.engine import recall
from noncoop.engine.decide import Decide, SignalTable
from noncoop.engine.decide.conjunctions import Decision, conjunctions
from noncoop.engine.decide.memory import DecisionMemory, context, remembered, situation_key
from noncoop.engine.episodes import (
    DAY_BITS,
    TIME_BITS,
    TIME_MASK,
    Episodes,
    blocks,
    distinct,
    distinct_evidence,
    key,
    ranges,
    sweep,
    timed_key,
)
from noncoop.engine.explain import Support
from noncoop.engine.horizon import Horizon
from noncoop.engine.patterns import KINDS
from noncoop.engine.patterns.base import Masks
from noncoop.engine.rules.checks import selection_refs
from noncoop.engine.rules.pack import LoadedRule
from noncoop.engine.selections import MaskMemory, definition, rule_masks, timeline_mask
from noncoop.engine.timeline import Timeline
from noncoop.yamlspec import days

NEVER = np.iinfo(np.int64).max // 4


class Memory(MaskMemory, DecisionMemory, Protocol):
    """What an earlier scan worked out, kept with its timeline: its selections' masks and its
    decisions."""


@dataclass
class Signal:
    """A named signal's episodes, with what a window of each looks like on any of its days:
    its start (the first evidence) and its end (the last evidence known that day, or the end of
    the day itself for a signal whose window runs to the day, as a gap's does)."""

    episodes: Episodes
    start: np.ndarray  # per episode, seconds
    evidence_key: np.ndarray  # (episode, time) of every evidence record, sorted
    to_the_day: bool = False
    # How many days a record stays in the pattern's window (None: no bound, as for a gap's last
    # sighting): a rule episode cites only the records in the window on one of its own days.
    lookback: int | None = None

    @classmethod
    def of(
        cls, episodes: Episodes, tl: Timeline, to_the_day: bool = False, lookback=None
    ) -> Signal:
        t = tl.t[episodes.rows] if len(episodes.rows) else np.zeros(0, np.int64)
        evidence_key = np.sort(timed_key(episodes.evidence, t))
        start = np.full(len(episodes), NEVER, np.int64)
        np.minimum.at(start, episodes.evidence, t)
        return cls(episodes, start, evidence_key, to_the_day, lookback)

    def in_window(self, day: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Whether records of these days are in the window on a day from `first` to `last`."""
        inside = day <= last
        if self.lookback is not None:
            inside &= day > first - self.lookback
        return inside

    def window_end(self, episode: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The window's end on `day` (seconds): its last evidence up to that day."""
        if self.to_the_day:
            return (day + 1) * DAY - 1
        if not len(self.evidence_key):
            return np.full(len(episode), -NEVER, np.int64)
        at = np.searchsorted(self.evidence_key, timed_key(episode, (day + 1) * DAY)) - 1
        found = self.evidence_key[np.maximum(at, 0)]
        ok = (at >= 0) & ((found >> TIME_BITS) == episode)
        return np.where(ok, found & TIME_MASK, -NEVER)

    def first_reaching(self, episode: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """The first day on which the window's end reaches `threshold` seconds (NEVER if not)."""
        if self.to_the_day:
            return np.floor_divide(threshold, DAY)
        at = np.searchsorted(self.evidence_key, timed_key(episode, np.maximum(threshold, 0)))
        inside = at < len(self.evidence_key)
        found = (
            self.evidence_key[np.minimum(at, len(self.evidence_key) - 1)] if inside.any() else at
        )
        ok = inside & ((found >> TIME_BITS) == episode)
        return np.where(ok, (found & TIME_MASK) // DAY, NEVER)

    def holding(self, subject: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The episode holding for each (child, day), or -1."""
        eps = self.episodes
        at = np.searchsorted(key(eps.subject, eps.start), key(subject, day), "right") - 1
        ok = at >= 0
        ok[ok] &= (eps.subject[at[ok]] == subject[ok]) & (eps.end[at[ok]] >= day[ok])
        return np.where(ok, at, -1)


@dataclass
class RuleEpisodes:
    """One rule's episodes, with the signals that supported each: bit i of `support[e]` says
    `names[i]` supported episode e."""

    episodes: Episodes
    names: list[str] = field(default_factory=list)
    support: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # For a superseded rule: its episodes on the days a superseding rule held, folded into
    # that rule's alerts (fold.py).
    folded: RuleEpisodes | None = None

    def supported_by(self, name: str) -> np.ndarray:
        """The episodes the named signal supported."""
        if name not in self.names:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.support & (1 << self.names.index(name)))

    def members(self, episode: int) -> list[str]:
        return [n for i, n in enumerate(self.names) if self.support[episode] & (1 << i)]

    def parts(self) -> list[Episodes]:
        """The rule's own episodes and, for a superseded rule, those folded into others."""
        return [self.episodes, *([self.folded.episodes] if self.folded is not None else [])]


def decide_history(
    rules: list[LoadedRule],
    signals: dict[str, Signal],
    tl: Timeline,
    decide: Decide,
    memory: DecisionMemory | None = None,
) -> dict[str, RuleEpisodes]:
    """Every rule's episodes up to the as-of day, from its signals' episodes.

    A rule's outcome on a slice depends only on which signals hold and which `within` pairs are
    close enough, so the backend decides one slice of each such situation (with that slice's
    own facts) and the outcome stands for every slice in the same situation: one an earlier
    scan decided is taken from `memory` (decide/memory.py)."""
    conjs = {r.id: conjunctions(r.condition, r) for r in rules}
    names = sorted({n for cs in conjs.values() for c in cs for n in (*c.pos, *c.neg)})
    present = {n: signals[n] for n in names if n in signals}
    subject, start, stop = _slices(conjs, present, tl.last_day)
    table = SignalTable(len(subject), {}, {}, {})
    for name, signal in present.items():
        episode = signal.holding(subject, start)
        on = np.flatnonzero(episode >= 0)
        ep = episode[on]
        table.add(name, on, signal.start[ep], signal.window_end(ep, start[on]))
    flags, columns = _situations(conjs, table)
    packed = _packed(flags)
    _, first, which = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    decisions = _decided(rules, table, packed[first], first, columns, decide, memory)
    names = sorted({n for d in decisions for n in d.members})
    return {r.id: _runs(r.id, decisions, names, which.ravel(), subject, start, stop) for r in rules}


def _decided(
    rules: list[LoadedRule],
    table: SignalTable,
    situations: np.ndarray,
    first: np.ndarray,
    columns: list,
    decide: Decide,
    memory: DecisionMemory | None,
) -> list[Decision]:
    """The decisions on each distinct situation (its flags `situations[k]`, its first slice
    `first[k]`: child k), the backend deciding those `memory` does not hold."""
    if memory is None:
        return decide(rules, _restricted(table, first))
    about = context(rules, columns, getattr(decide, "__name__", ""))
    keys = [situation_key(flags) for flags in situations]
    known = memory.decided(about)
    todo = [k for k, name in enumerate(keys) if name not in known]
    fresh = decide(rules, _restricted(table, first[todo])) if todo else []
    decisions, learned = remembered(keys, known, fresh, todo)
    memory.learn_decided(about, learned)
    return decisions


def _situations(conjs, table: SignalTable) -> tuple[np.ndarray, list]:
    """Per slice, what a decision can depend on: which signals hold, and for every `within` pair
    whether the windows lie close enough. One row of flags per slice, and what each column of
    them stands for."""
    names = sorted(table.present)
    columns = [table.has(n) for n in names]
    pairs = {
        (a, b, c.within)
        for cs in conjs.values()
        for c in cs
        if c.within is not None
        for a, b in itertools.combinations(c.pos, 2)
    }
    for a, b, within in sorted(pairs):
        (start_a, end_a), (start_b, end_b) = table.window(a), table.window(b)
        d = within * DAY
        columns.append((start_b - end_a <= d) & (start_a - end_b <= d))
    flags = np.stack(columns, axis=1) if columns else np.zeros((table.n, 0), bool)
    return flags, [*names, *(list(pair) for pair in sorted(pairs))]


def _packed(flags: np.ndarray) -> np.ndarray:
    """Each slice's row of flags as one integer where they fit in 62 bits: finding the distinct
    situations is then a sort of integers, not of rows (3 s at 100,000 children)."""
    if flags.shape[1] > 62:
        return flags
    weights = np.left_shift(1, np.arange(flags.shape[1], dtype=np.int64))
    return flags.astype(np.int64) @ weights


def _restricted(table: SignalTable, slices: np.ndarray) -> SignalTable:
    """The table for some slices only, renumbered 0..n-1."""
    out = SignalTable(len(slices), {}, {}, {})
    for name in table.present:
        on = np.flatnonzero(table.present[name][slices])
        out.add(name, on, table.start[name][slices][on], table.end[name][slices][on])
    return out


def _slices(conjs, signals: dict[str, Signal], last_day: int):
    """Per child, the runs of days on which every signal and every `within` is constant."""
    parts_s, parts_d = [], []
    for signal in signals.values():
        eps = signal.episodes
        parts_s += [eps.subject, eps.subject]
        parts_d += [eps.start, eps.end + 1]
    for conj in (c for cs in conjs.values() for c in cs if c.within is not None):
        for a, b in itertools.combinations(conj.pos, 2):
            if a in signals and b in signals:
                s, d = _within_from(signals[a], signals[b], conj.within * DAY)
                parts_s.append(s)
                parts_d.append(d)
    if not parts_s:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    # Each part is in (child, day) order already: the stable sort merges them.
    points = distinct(key(np.concatenate(parts_s), np.concatenate(parts_d)))
    subject, day = points >> DAY_BITS, points & ((1 << DAY_BITS) - 1)
    same = subject[1:] == subject[:-1]
    keep = same & (day[:-1] <= last_day)
    return subject[:-1][keep], day[:-1][keep], np.minimum(day[1:][keep], last_day + 1)


def _within_from(a: Signal, b: Signal, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """For each overlapping pair of episodes of two signals of one child: the first day on which
    their windows lie within `gap` seconds of each other (a boundary of the slices)."""
    ea, eb = a.episodes, b.episodes
    lo = np.searchsorted(key(eb.subject, eb.end), key(ea.subject, ea.start), "left")
    hi = np.searchsorted(key(eb.subject, eb.start), key(ea.subject, ea.end), "right")
    i, j = ranges(lo, hi)
    day = np.maximum(a.first_reaching(i, b.start[j] - gap), b.first_reaching(j, a.start[i] - gap))
    day = np.maximum(day, np.maximum(ea.start[i], eb.start[j]))
    keep = day <= np.minimum(ea.end[i], eb.end[j])
    return ea.subject[i][keep], day[keep]


def _runs(rule_id, decisions, names, which, subject, start, stop) -> RuleEpisodes:
    """Adjacent slices on which a rule holds, run together, with the signals supporting them:
    `decisions` are per situation, `which` gives each slice's situation."""
    bit = {n: 1 << i for i, n in enumerate(names)}
    support = np.zeros(int(which.max()) + 1 if len(which) else 0, np.int64)
    for d in decisions:
        if d.rule_id == rule_id:
            support[d.child] |= sum(bit[n] for n in d.members)
    s = np.flatnonzero(support[which] != 0) if len(which) else np.zeros(0, np.int64)
    if not len(s):
        return RuleEpisodes(Episodes(s, s.copy(), s.copy()), names, s.copy())
    mask = support[which][s]
    joined = (subject[s][1:] == subject[s][:-1]) & (start[s][1:] == stop[s][:-1])
    first = np.concatenate([[True], ~joined])
    last = np.concatenate([~joined, [True]])
    found = Episodes(subject[s][first], start[s][first], stop[s][last] - 1)
    return RuleEpisodes(found, names, np.bitwise_or.reduceat(mask, np.flatnonzero(first)))


def with_member_evidence(found: RuleEpisodes, signals: dict[str, Signal], tl: Timeline) -> None:
    """A rule episode's evidence: the evidence of the signal episodes that supported it, up to
    its last day."""
    eps = found.episodes
    episodes, rows = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for name in found.names:
        signal = signals[name]
        mine = found.supported_by(name)
        other = signal.episodes
        lo = np.searchsorted(key(other.subject, other.end), key(eps.subject[mine], eps.start[mine]))
        hi = np.searchsorted(
            key(other.subject, other.start), key(eps.subject[mine], eps.end[mine]), "right"
        )
        which, member = ranges(lo, hi)
        ev_lo = np.searchsorted(other.evidence, member, "left")
        ev_hi = np.searchsorted(other.evidence, member, "right")
        owner, at = ranges(ev_lo, ev_hi)
        episode, row = mine[which[owner]], other.rows[at]
        keep = signal.in_window(tl.day[row], eps.start[episode], eps.end[episode])
        episodes.append(episode[keep])
        rows.append(row[keep])
    distinct_evidence(eps, np.concatenate(episodes), np.concatenate(rows))


def pack_history(
    tl: Timeline,
    rules: list[list[LoadedRule]],
    decide: Decide,
    superseders: dict[str, list[str]] | None = None,
    threads: int = 1,
    memory: Memory | None = None,
    horizon: Horizon | None = None,
) -> tuple[dict[str, RuleEpisodes], dict[str, Signal]]:
    """Every rule's episodes, stratum by stratum, and the signals they rest on (patterns' and
    concluded ones). A pattern written the same way in several rules is worked out once. A
    superseded rule's days are then parted: those on which a rule superseding it (from
    `superseders`) holds are folded, the others its own. A stratum's patterns are worked out in
    `threads` threads; the selections' masks recalled from and told to `memory`; with a
    `horizon`, each pattern from the first day it gives (horizon.py)."""
    signals: dict[str, Signal] = {}
    found: dict[str, RuleEpisodes] = {}
    known = _Patterns(tl, memory, horizon)
    for stratum in rules:
        for out in known.of_rules(stratum, threads):
            signals.update(out)
        decided = decide_history(stratum, signals, tl, decide, memory)
        for rule in stratum:
            with_member_evidence(decided[rule.id], signals, tl)
            if rule.rule.conclude:
                signals[rule.rule.conclude] = Signal.of(decided[rule.id].episodes, tl)
        found.update(decided)
    _fold(found, superseders or {}, signals, tl)
    return found, signals


def _fold(
    found: dict[str, RuleEpisodes],
    superseders: dict[str, list[str]],
    signals: dict[str, Signal],
    tl: Timeline,
) -> None:
    """Each superseded rule's episodes cut where a rule superseding it holds (on any day it
    held, folded or not, as a nightly scan judges it): the days it holds alone stay its
    episodes, the others become its `folded` ones, each with its own evidence."""
    held = {rule_id: f.episodes for rule_id, f in found.items()}
    for rule_id, above in superseders.items():
        over = [held[a] for a in above if a in held]
        if rule_id not in found or not over:
            continue
        alone, folded = _parted(found[rule_id], over)
        for part in (alone, folded):
            with_member_evidence(part, signals, tl)
        alone.folded = folded
        found[rule_id] = alone


def _parted(found: RuleEpisodes, over: list[Episodes]) -> tuple[RuleEpisodes, RuleEpisodes]:
    """A rule's episodes parted into the days no `over` episode of the child covers and those
    one does; each part keeps the signals that supported the episode it came from."""
    eps = found.episodes
    subject = np.concatenate([eps.subject, *(o.subject for o in over)])
    start = np.concatenate([eps.start, *(o.start for o in over)])
    stop = np.concatenate([eps.end, *(o.end for o in over)]) + 1
    seg = sweep(subject, start, stop, blocks(len(eps), len(subject) - len(eps)))
    inside = seg.totals[:, 0] > 0
    origin = np.searchsorted(key(eps.subject, eps.start), key(seg.subject, seg.start), "right") - 1
    covered = seg.totals[:, 1] > 0
    parts = []
    for flag in (False, True):
        s = np.flatnonzero(inside & (covered == flag))
        o, begin, end = origin[s], seg.start[s], seg.stop[s]
        joined = (o[1:] == o[:-1]) & (begin[1:] == end[:-1])
        first = np.concatenate([[True], ~joined])[: len(s)]
        last = np.concatenate([~joined, [True]])[: len(s)]
        parts.append(
            RuleEpisodes(
                Episodes(seg.subject[s][first], begin[first], end[last] - 1),
                found.names,
                found.support[o[first]],
            )
        )
    return parts[0], parts[1]


class _Patterns:
    """Selections and patterns worked out once per definition, whichever rule names them."""

    def __init__(
        self, tl: Timeline, memory: MaskMemory | None = None, horizon: Horizon | None = None
    ):
        self.tl, self.memory, self.horizon = tl, memory, horizon
        self.recent: dict[str, Future] = {}  # by first day: the rows from that day on
        self.masks: dict[str, Future] = {}
        self.sizes: dict[str, Future] = {}  # how many records each selection picks
        self.signals: dict[str, Future] = {}
        self.lock = threading.Lock()

    def of_rules(self, rules: list[LoadedRule], threads: int) -> list[dict[str, Signal]]:
        """`of_rule` for each rule, in `threads` threads where there are several: the numpy
        work of a pattern (sorts, searches, sums over millions of rows) lets go of the
        interpreter, so another pattern runs beside it. The selections first, then the rules
        picking most records, as the ones likely to take longest."""
        if threads < 2 or len(rules) < 2:
            return [self.of_rule(rule) for rule in rules]
        with ThreadPoolExecutor(threads, thread_name_prefix="patterns") as pool:
            # Every pattern reads the rows' days: worked out once, beside the selections.
            day = pool.submit(lambda: self.tl.day)
            chosen = {definition(s): s for r in rules for s in r.rule.select.values()}
            list(pool.map(self.size, chosen.values()))
            day.result()
            costs = [
                sum(self.selected(rule, p) for p in rule.rule.patterns.values()) for rule in rules
            ]
            order = sorted(range(len(rules)), key=lambda i: -costs[i])
            done = dict(zip(order, pool.map(self.of_rule, [rules[i] for i in order]), strict=True))
        return [done[i] for i in range(len(rules))]

    def _once(self, cache: dict[str, Future], text: str, make: Callable[[], object]):
        """`make()` for a definition, made once whichever thread asks first; another asking
        meanwhile waits for it."""
        with self.lock:
            made = cache.get(text)
            mine = made is None
            if mine:
                made = cache[text] = Future()
        if mine:
            try:
                made.set_result(make())
            except BaseException as error:
                made.set_exception(error)
                raise
        return made.result()

    def mask(self, selection) -> np.ndarray:
        text = definition(selection)
        return self._once(self.masks, text, lambda: self._made(text, selection))

    def _made(self, text: str, selection) -> np.ndarray:
        """A selection's mask, from the one an earlier night worked out where it is known."""
        if self.memory is None:
            return timeline_mask(self.tl, selection)
        made = timeline_mask(self.tl, selection, self.memory.recall(text))
        self.memory.learn(text, made)
        return made

    def size(self, selection) -> int:
        """How many records a selection picks."""
        count = lambda: int(np.count_nonzero(self.mask(selection)))  # noqa: E731
        return self._once(self.sizes, definition(selection), count)

    def of_rule(self, rule: LoadedRule) -> dict[str, Signal]:
        """The rule's pattern signals. Where its condition is one conjunction, the pattern
        with the fewest selected records is worked out first, and the others only for the
        children it holds for: the rule cannot hold for any other child. (Gaps are worked out
        for every child: their coverage and insufficient-data counts are judged region-wide.)"""
        patterns = rule.rule.patterns
        conj = conjunctions(rule.condition, rule)
        leads = [n for n in patterns if len(conj) == 1 and rule.signal(n) in conj[0].pos]
        if len(patterns) < 2 or not leads:
            return {rule.signal(n): self.signal(rule, n) for n in patterns}
        lead = min(leads, key=lambda n: self.selected(rule, patterns[n]))
        out = {rule.signal(lead): self.signal(rule, lead)}
        only = np.zeros(self.tl.n_subjects, bool)
        only[out[rule.signal(lead)].episodes.subject] = True
        for name, pattern in patterns.items():
            if name != lead:
                pruned = None if pattern.kind == "gap" else only
                out[rule.signal(name)] = self.signal(rule, name, pruned)
        return out

    def selected(self, rule: LoadedRule, pattern) -> int:
        """How many records a pattern's selections pick: the cost of working it out."""
        used = {name for _, name in selection_refs(pattern.spec)}
        return sum(self.size(rule.rule.select[n]) for n in used)

    def signal(self, rule: LoadedRule, name: str, only: np.ndarray | None = None) -> Signal:
        """A rule's pattern's signal, for every child or only those marked in `only` (not
        shared), from the first day the horizon gives it."""
        pattern = rule.rule.patterns[name]
        masks = rule_masks(rule.rule.select, self.mask)
        used = sorted({n for _, n in selection_refs(pattern.spec)})
        first = self.horizon.first_day(rule, name) if self.horizon is not None else None
        # A kind that narrows its records itself reads them all here.
        rows = self._from(None if KINDS[pattern.kind].since else first)
        if only is not None:
            chosen = only[self.tl.subject]
            rows = chosen if rows is None else chosen & rows
            return self._worked_out(pattern, masks, rows, used, first)
        selections = {n: definition(rule.rule.select[n]) for n in used}
        text = json.dumps([pattern.kind, definition(pattern.spec), selections, first])
        made = lambda: self._worked_out(pattern, masks, rows, used, first)  # noqa: E731
        return self._once(self.signals, text, made)

    def _worked_out(
        self, pattern, masks: Masks, rows: np.ndarray | None, used: list[str], first: int | None
    ) -> Signal:
        """The pattern's signal from its selections' masks, narrowed to `rows` where given, and
        by its kind to what judges the days from `first` on where it narrows its records."""
        since = KINDS[pattern.kind].since
        if since is not None and first is not None:
            masks = since(pattern.spec, masks, self.tl, first)
        narrowed = masks if rows is None else masks.within(rows, used)
        episodes = KINDS[pattern.kind].episodes(pattern.spec, narrowed, self.tl)
        return _signal(episodes, pattern, self.tl)

    def _from(self, first: int | None) -> np.ndarray | None:
        """The rows from the day `first` on (None: every row)."""
        if first is None:
            return None
        return self._once(self.recent, str(first), lambda: self.tl.t >= first * DAY)


def _signal(episodes: Episodes, pattern, tl: Timeline) -> Signal:
    """A pattern's episodes as a signal. A gap's window runs to the day itself, and its last
    sighting, however old, stays part of what it shows; other records stay in the window for
    the pattern's `within` days."""
    gap = pattern.kind == "gap"
    within = getattr(pattern.spec, "within", None)
    return Signal.of(episodes, tl, gap, None if gap or within is None else days(within))


def told_of(
    rule: LoadedRule,
    found: RuleEpisodes,
    signals: dict[str, Signal],
    tl: Timeline,
    ended: bool = True,
    world: str | None = None,
) -> Told:
    """What supports each of a rule's told episodes (with `ended`, every one; else those still
    holding): its evidence, window (from its first evidence to its members' window ends on its
    last day), the days it held, its message values and its fingerprint (recall.py; none
    without the `world` the timeline was made in)."""
    eps = found.episodes
    if not len(eps):
        return Told(rule, [], [], [], [], [], [], [], [0], eps.rows, {}, [], None)
    t, day = tl.t[eps.rows], tl.day[eps.rows]
    bounds = np.searchsorted(eps.evidence, np.arange(len(eps) + 1))
    start = _per_episode(np.minimum, t, eps.evidence, len(eps), NEVER)
    early = day <= eps.start[eps.evidence]
    first_start = _per_episode(np.minimum, t[early], eps.evidence[early], len(eps), NEVER)
    end = _per_episode(np.maximum, t, eps.evidence, len(eps), -NEVER)
    latest: dict[str, np.ndarray] = {}
    for name in found.names:
        mine = found.supported_by(name)
        member = _last_overlapping(signals[name].episodes, eps, mine)
        end[mine] = np.maximum(end[mine], signals[name].window_end(member, eps.end[mine]))
        latest[name] = np.full(len(eps), -1, np.int64)
        latest[name][mine] = member
    # Without the episodes that ended before the as-of day, only those still holding are told.
    told = np.arange(len(eps)) if ended else np.flatnonzero(eps.end == tl.last_day)
    patterns = {
        pname: _member_rows(
            signals.get(rule.signal(pname)), latest.get(rule.signal(pname)), told, eps, tl, wanted
        )
        for pname, wanted in rule.quoted.items()
    }
    scalars = (eps.subject, eps.start, eps.end, start, end, first_start)
    fingerprint, values = _fingerprints(rule, told, scalars, bounds, eps.rows, patterns, tl, world)
    return Told(
        rule,
        told.tolist(),
        *(a.tolist() for a in scalars),
        bounds.tolist(),
        eps.rows,
        patterns,
        fingerprint,
        values,
    )


def _fingerprints(
    rule: LoadedRule,
    told: np.ndarray,
    scalars: tuple[np.ndarray, ...],
    bounds: np.ndarray,
    rows: np.ndarray,
    patterns: dict[str, _MemberRows],
    tl: Timeline,
    world: str | None,
) -> tuple[list[str | None], list[dict | None] | None]:
    """The fingerprint of each told episode still holding on the last day (None for the others,
    never recalled: an alert is recalled only while live; and for all where there is nothing to
    name their records by, or no `world`, what the timeline is made from besides them). Where
    the message quotes a value that is more than its records (a kind not `recorded`), those
    episodes' message values, worked out to be taken in."""
    subject, first, last, start, end, first_start = scalars
    live = np.flatnonzero(last[told] == tl.last_day)
    cited_at, cited_cut = _ranges_cut(bounds[told[live]], bounds[told[live] + 1])
    # The records each live episode cites, then those each pattern's values describe.
    described = [(rows[cited_at], cited_cut)]
    for rows_of in patterns.values():
        at = np.asarray(rows_of.at, np.int64)
        member_at, member_cut = _ranges_cut(at[live], at[live + 1])
        described.append((rows_of.rows[member_at], member_cut))
    named = [tl.records(positions) for positions, _ in described]
    prints: list[str | None] = [None] * len(told)
    if world is None or not len(live) or named[0] is None:
        return prints, None
    # Not the last day held: tonight, for every episode told tonight.
    fields: list = [recall.children(tl.subjects[subject[told[live]]])]
    fields += [values[told[live]] for values in (first, start, end, first_start)]
    for (_, cut), (number, part) in zip(described, named, strict=True):
        keys = recall.mixed(number) ^ part
        fields.append(tuple(recall.sets(keys, cut, lane) for lane in recall.LANES))
        fields.append(np.diff(cut))
    values: list[dict | None] | None = None
    if not all(KINDS[rule.rule.patterns[name].kind].recorded for name in patterns):
        values = [None] * len(told)
        for k in live.tolist():
            held = (int(first[told[k]]), int(last[told[k]]))
            values[k] = {name: rows_of.values(k, held) for name, rows_of in patterns.items()}
        worked = [values[k] for k in live.tolist()]
        fields.append(np.fromiter(map(recall.said, worked), np.uint64, len(worked)))
    seed = recall.rule_seed(rule, world)
    for k, made in zip(live.tolist(), recall.fingerprints(seed, fields, len(live)), strict=True):
        prints[k] = made
    return prints, values


def _ranges_cut(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every index of each range `[lo[k], hi[k])` in one array, and where each range begins in
    it."""
    counts = np.maximum(hi - lo, 0)
    return ranges(lo, hi)[1], np.concatenate([[0], np.cumsum(counts)])


@dataclass
class Told:
    """A rule's told episodes: what supports each (k), as lists by episode (e), made into a
    Support only for those explained."""

    rule: LoadedRule
    episodes: list[int]  # e of each told episode
    subject: list[int]
    first: list[int]
    last: list[int]
    start: list[int]
    end: list[int]
    first_start: list[int]
    bounds: list[int]
    rows: np.ndarray
    patterns: dict[str, _MemberRows]
    fingerprint: list[str | None]
    values: list[dict | None] | None  # by k, where worked out for the fingerprint already

    def __len__(self) -> int:
        return len(self.episodes)

    def held(self, k: int) -> tuple[int, int]:
        e = self.episodes[k]
        return self.first[e], self.last[e]

    def support(self, k: int, bare: bool = False) -> Support:
        """What supports told episode k (`bare`: without its evidence and values, for an alert
        recalled rather than explained)."""
        e, held = self.episodes[k], self.held(k)
        positions, values = [], {}
        if not bare:
            # Evidence rows are timeline positions, in (child, time) order already.
            positions = self.rows[self.bounds[e] : self.bounds[e + 1]].tolist()
            values = self.values[k] if self.values is not None else None
            if values is None:
                values = {name: rows_of.values(k, held) for name, rows_of in self.patterns.items()}
        return Support(
            self.rule,
            self.subject[e],
            positions,
            values,
            self.start[e],
            self.end[e],
            held,
            self.first_start[e],
            self.fingerprint[k],
        )


class _MemberRows(NamedTuple):
    """For each told rule episode (k), one of its patterns' member episode that supported it
    last (`member[k]`) and that member's records in the window on one of the rule episode's
    days: sorted timeline positions `rows[at[k]:at[k + 1]]`."""

    describe: Callable[[int, np.ndarray, tuple[int, int], frozenset[str]], dict] | None
    member: list[int]
    at: list[int]
    rows: np.ndarray
    wanted: frozenset[str]  # the values the rule's message quotes

    def values(self, k: int, held: tuple[int, int]) -> dict:
        """The pattern's message values for told episode `k` (none without records)."""
        lo, hi = self.at[k], self.at[k + 1]
        if lo == hi:
            return {}
        return self.describe(self.member[k], self.rows[lo:hi], held, self.wanted)


def _member_rows(
    signal: Signal | None,
    latest: np.ndarray | None,
    told: np.ndarray,
    eps: Episodes,
    tl: Timeline,
    wanted: frozenset[str],
) -> _MemberRows:
    """What one of a rule's patterns offers the messages of its told episodes (the `wanted`
    values), found for all of them at once rather than searched, filtered and sorted one
    episode at a time."""
    if signal is None or latest is None or signal.episodes.describe is None:
        return _MemberRows(None, [], [0] * (len(told) + 1), np.zeros(0, np.int64), wanted)
    member = latest[told]
    members = signal.episodes
    lo = np.searchsorted(members.evidence, member, "left")
    hi = np.where(member >= 0, np.searchsorted(members.evidence, member, "right"), lo)
    owner, at = ranges(lo, hi)
    cited = members.rows[at]
    inside = signal.in_window(tl.day[cited], eps.start[told][owner], eps.end[told][owner])
    owner, cited = owner[inside], cited[inside]
    order = np.lexsort((cited, owner))
    cut = np.searchsorted(owner[order], np.arange(len(told) + 1))
    return _MemberRows(members.describe, member.tolist(), cut.tolist(), cited[order], wanted)


def _per_episode(op, values, episode, n: int, fill: int) -> np.ndarray:
    out = np.full(n, fill, np.int64)
    op.at(out, episode, values)
    return out


def _last_overlapping(members: Episodes, eps: Episodes, which: np.ndarray) -> np.ndarray:
    """For each of the chosen rule episodes, the last member episode of its child that began
    on or before the rule episode's last day (the one that supported it last)."""
    at = np.searchsorted(
        key(members.subject, members.start), key(eps.subject[which], eps.end[which]), "right"
    )
    return at - 1
