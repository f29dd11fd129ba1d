"""A night's horizon: how far back its patterns read.

A nightly scan tells only the episodes still holding on its as-of day, and the alert store can
say on which day each of them should have begun: no earlier than the first night of its rule's
live alerts, or, for a rule with none, than the night after the last scan (`Horizon.since`).
A day's judgement, and the evidence and values of an episode that begins on it, read records back
only as far as the kind's `reach`; so a pattern whose rule's told episodes begin on or after day
S reads no record before S - reach. Two years of history at 100,000 children: the school absence
rate of NC-SEVERE-ABSENCE-NO-HEALTH reads the last four months of the weekly school records.

Not every pattern can be narrowed by days. A sequence's count over its whole episode may be any
age; a `within` between two signals compares the first evidence of their whole episodes; and a
signal another rule concludes is that rule's whole episode. Those read every record. A gap's
last sighting may be any age too, but a gap reads, from before its first day, only each child's
last sighting (`PatternKind.since`): every episode holding from that day on is then whole, its
evidence and window too, so it narrows so even where a `within` compares it.

The narrowed patterns give, for every day from S - 1 on, what reading every record would: so the
told episodes that begin on or after S are the same, evidence and values too, and a told episode
that began earlier with every record begins before S here as well. That is checked, not
trusted: where a rule tells an episode that began before its day (records that came late, a rule
changed since the store's alerts were found), the night's patterns are worked out again over the
whole history. The horizon decides how long a night takes, never what it finds.
"""

from __future__ import annotations

from dataclasses import dataclass

from noncoop.engine.decide.conjunctions import conjunctions
from noncoop.engine.patterns import KINDS
from noncoop.engine.rules.pack import LoadedRule

# A day more than each kind's reach, so that no window's edge is a day short.
MARGIN = 1


@dataclass(frozen=True)
class Since:
    """What the alert store says of a night's told episodes (days since 1970): by rule, the
    first night of its live alerts, and the first day no scan has judged (or of a record come
    in since, if earlier)."""

    live: dict[str, int]
    after: int

    def with_records_from(self, day: int) -> Since:
        """As it stands once records of `day` on have come in since the last scan."""
        return Since(self.live, min(self.after, day))


@dataclass(frozen=True)
class Horizon:
    """By rule id, the first day (days since 1970) on which the episodes it tells tonight are
    expected to begin; the signals that must read every record; and of those, the patterns of
    rules another rule reads as a signal (a kind that narrows its records itself still narrows
    the others, which only a `within` compares: `first_day`)."""

    since: dict[str, int]
    whole: frozenset[str]
    concluded: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, rules: list[LoadedRule], superseders: dict[str, list[str]], since: Since
    ) -> Horizon:
        """From what the store says (`since`). A superseded rule and those superseding it share
        their earliest day: the days one tells are parted where another holds."""
        after = since.after
        day = {r.id: min(since.live.get(r.id, after), after) for r in rules}
        changed = True
        while changed:  # a rule may supersede one that supersedes another
            changed = False
            for below, above in superseders.items():
                group = [r for r in (below, *above) if r in day]
                first = min((day[r] for r in group), default=after)
                for r in group:
                    if day[r] > first:
                        day[r], changed = first, True
        compared, concluded = _whole(rules)
        return cls(day, frozenset(compared | concluded), frozenset(concluded))

    def first_day(self, rule: LoadedRule, name: str) -> int | None:
        """The first day of the records the rule's pattern `name` reads (None: every one); for
        a kind that narrows its records itself (`PatternKind.since`), the first day it judges."""
        pattern = rule.rule.patterns[name]
        kind = KINDS[pattern.kind]
        signal = rule.signal(name)
        if rule.id not in self.since:
            return None
        # Such a kind gives every episode holding from its first day on whole, evidence and
        # window included: what a `within` compares on the days the rule tells.
        if kind.since is not None and signal not in self.concluded:
            return self.since[rule.id] - MARGIN
        if kind.reach is None or signal in self.whole:
            return None
        return self.since[rule.id] - kind.reach(pattern.spec) - MARGIN

    def begun_earlier(self, first_told: dict[str, int]) -> list[str]:
        """The rules that tell an episode begun before their day (`first_told`: by rule, the
        first day of the earliest episode it tells, folded or not)."""
        return sorted(r for r, d in first_told.items() if r in self.since and d < self.since[r])


def _whole(rules: list[LoadedRule]) -> tuple[set[str], set[str]]:
    """The signals that read every record: those a `within` compares, and every pattern of a
    rule whose episodes another rule reads as a signal."""
    compared: set[str] = set()
    concluded: set[str] = set()
    for rule in rules:
        for conj in conjunctions(rule.condition, rule):
            if conj.within is not None:
                compared.update(conj.pos)
        if rule.rule.conclude:
            concluded.update(rule.signal(name) for name in rule.rule.patterns)
    return compared, concluded
