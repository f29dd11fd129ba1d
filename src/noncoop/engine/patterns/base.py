"""What every pattern kind shares: the signals it yields, how evidence rows become signals, and
the registry entry that makes a kind one module.

A pattern looks back from the as-of date over its `within` window and yields at most one signal
per child: the window it covers, the values the message may quote, and the evidence rows.
No Python loop runs per event; per-child work is limited to assembling the signals that fired.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from noncoop.asof import DAY, long_day
from noncoop.engine.episodes import Episodes, key
from noncoop.engine.timeline import Timeline
from noncoop.vocab import counted_nouns, word_list
from noncoop.yamlspec import StrictModel, days

SIGNAL_COLUMNS = ("subject", "start", "end", "values", "evidence")

# A message value, or what works it out: worked out only where the rule's message quotes it (a
# night describes 20,000 alerts, and most messages quote two or three of a pattern's values).
Value = str | Callable[[], str]


def quoted(values: dict[str, Value], wanted: Collection[str] | None = None) -> dict[str, str]:
    """The values a message quotes (`wanted`; None: every one), worked out."""
    return {
        name: value() if callable(value) else value
        for name, value in values.items()
        if wanted is None or name in wanted
    }


class Masks(dict[str, np.ndarray]):
    """A rule's selections' rows (name -> mask over the timeline), with each selection's
    definition as text: what the region's facts about a selection are filed under, for a
    timeline that holds only part of the region."""

    def __init__(
        self,
        masks: dict[str, np.ndarray],
        definitions: dict[str, str] | None = None,
        sighted: dict[str, dict[str, int]] | None = None,
        judged: int | None = None,
    ):
        super().__init__(masks)
        self.definitions = definitions or {}
        # Where masks are narrowed to part of the timeline's rows: by selection definition, the
        # first day each feed recorded a selected record, worked out from the whole masks (a
        # gap judges coverage by it); and the first day they judge as the whole masks would (a
        # pattern may leave out the episodes it finds ending earlier).
        self.sighted = sighted or {}
        self.judged = judged

    def within(self, rows: np.ndarray, names: list[str] | None = None) -> Masks:
        """The masks (those `names` where given: the selections a pattern reads) narrowed to
        the rows marked in `rows`."""
        chosen = self if names is None else {name: self[name] for name in names}
        narrowed = {name: mask & rows for name, mask in chosen.items()}
        return Masks(narrowed, self.definitions, self.sighted, self.judged)


@dataclass
class Signals:
    """Signals of one pattern: a frame with SIGNAL_COLUMNS (values left empty), a function giving
    a child's message values on demand, and the number of children it could not judge."""

    frame: pd.DataFrame
    describe: Callable[..., dict] | None = None  # (child, evidence, wanted=...): `described`
    insufficient: int = 0

    def row(self, child: int) -> dict | None:
        """The child's signal (subject, start, end, evidence), or None."""
        subjects = self.frame["subject"].to_numpy()
        i = int(np.searchsorted(subjects, child))
        if i == len(subjects) or subjects[i] != child:
            return None
        return {c: self.frame[c].iat[i] for c in ("subject", "start", "end", "evidence")}

    def values(
        self, child: int, evidence: np.ndarray, wanted: Collection[str] | None = None
    ) -> dict:
        """Message values for one child (those `wanted`), computed only for children who get
        an alert."""
        if self.describe is None or not len(evidence):
            return {}
        return self.describe(child, evidence, wanted=wanted)


def empty() -> pd.DataFrame:
    """A frame of no signals."""
    return pd.DataFrame(
        {
            c: pd.Series(dtype=object if c in ("values", "evidence") else "int64")
            for c in SIGNAL_COLUMNS
        }
    )


@dataclass(frozen=True)
class PatternKind:
    """One kind of pattern: its YAML spec, how it is evaluated over the timeline, how it reads in
    plain English and which values its signals offer to a message template."""

    name: str
    spec: type[StrictModel]
    evaluate: Callable[[Any, Masks, Timeline], Signals]
    explain: Callable[[str, Any], str]
    values: tuple[str, ...]
    episodes: Callable[[Any, Masks, Timeline], Episodes] | None = None
    # What the kind must know of the whole region, beyond a timeline's own records, where the
    # timeline holds only a shard of it: by selection definition, the first day each feed
    # recorded a selected record. Worked out on each shard; the earliest of them is the region's.
    regional: Callable[[Any, Masks, Timeline], dict[str, dict[str, int]]] | None = None
    # How many days before a day the kind reads records from: for whether it holds that day,
    # and for the evidence and message values of a rule episode it supports from that day on.
    # None: a day can rest on records of any age (a gap's last sighting, a sequence's count
    # over its whole episode). A night reads no older records than its told episodes need.
    reach: Callable[[Any], int] | None = None
    # For a kind with no reach, where the records of any age a day rests on are few: the masks
    # (a rule's, and the names the pattern reads) narrowed to what judges every day from a
    # first day on as every record would (a gap: each child's last sighting before that day,
    # and every one since).
    since: Callable[[Any, Masks, Timeline, int], Masks] | None = None
    # Whether an episode's message values rest on the records they describe alone: then the
    # same records give the same message, and an alert's fingerprint names the records rather
    # than working the values out (recall.py). Not so for a gap (days unseen grow each night),
    # a rate (over its window's days) or a sequence (a count over its whole episode).
    recorded: bool = False


def within_reach(spec) -> int:
    """The reach of a kind whose records stay in its window for `within` days."""
    return days(spec.within)


def described(tl: Timeline, values: Callable[..., dict], held_too: bool = False):
    """Message values of an episode (index, evidence positions), or on a single date of a child's
    signal (child, evidence positions), with its first and last day; those `wanted` where given.
    With `held_too`, `values` is also given the first and last day of the rule episode the
    values are for (a rate sums what was in its window on those days, not only what it cites)."""

    def describe(
        episode: int,
        positions: np.ndarray,
        held: tuple[int, int] | None = None,
        wanted: Collection[str] | None = None,
    ) -> dict:
        found = values(episode, positions, held) if held_too else values(episode, positions)
        return quoted({**_first_last(tl, positions), **found}, wanted)

    return describe


def _first_last(tl: Timeline, positions: np.ndarray) -> dict[str, Value]:
    """The days of the first and last of some records."""
    return {
        "first": lambda: long_day(int(tl.t[positions].min())),
        "last": lambda: long_day(int(tl.t[positions].max())),
    }


def within_window(tl: Timeline, within: str) -> np.ndarray:
    """Rows inside the look-back window that ends with the as-of day."""
    return tl.t >= tl.end - days(within) * DAY


def names(values) -> str:
    """Values as words for a message: "health and social care"."""
    return word_list(str(v) for v in values if v is not None and v == v)


def signals_from(rows: np.ndarray, tl: Timeline, values) -> Signals:
    """Signals from evidence rows, grouped by child with array operations only; the rows are
    timeline positions, so sorting them orders them by child and time."""
    if not len(rows):
        return Signals(empty())
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    subjects = tl.subject[rows]
    cuts = np.flatnonzero(np.diff(subjects)) + 1
    firsts = np.concatenate([[0], cuts])
    times = tl.t[rows]
    starts = np.minimum.reduceat(times, firsts)
    ends = np.maximum.reduceat(times, firsts)
    frame = pd.DataFrame(
        {
            "subject": subjects[firsts],
            "start": starts,
            "end": ends,
            "values": None,
            "evidence": np.split(rows, cuts),
        }
    )

    return Signals(frame, described(tl, values))


def agencies_services(tl: Timeline, positions: np.ndarray) -> dict[str, Value]:
    """The agencies and the services that made some records, as words."""
    return {
        "agencies": lambda: _named(tl, "agency", positions),
        "services": lambda: _named(tl, "service", positions),
    }


def _named(tl: Timeline, field: str, positions: np.ndarray) -> str:
    """A field's values in the records at `positions`, as words: each distinct code looked up
    once (-1, a blank, names none)."""
    codes, values = tl.codes(field)
    return names(values[c] for c in set(codes[positions].tolist()) if c >= 0)


def recorded_on(tl: Timeline, positions: np.ndarray) -> str:
    """Where the records were made, counted: "2 visits and 1 phone call"."""
    etype, etypes = tl.codes("event_type")
    agency, agencies = tl.codes("agency")
    kinds = Counter(zip(etype[positions].tolist(), agency[positions].tolist(), strict=True))
    return counted_nouns(
        {(str(etypes[e]), str(agencies[a]) if a >= 0 else None): n for (e, a), n in kinds.items()}
    )


def counted(per: str, rows: np.ndarray, tl: Timeline) -> np.ndarray:
    """The rows a pattern counts: every record, or with `per: day` the first of each child's
    day, so that the records of one incident (on the visit and in a note, by two agencies) count
    once. Rows must be in timeline order (child, then time), so one day's records are together."""
    if per != "day" or not len(rows):
        return rows
    day_key = key(tl.subject[rows], tl.day[rows])
    return rows[np.concatenate([[True], day_key[1:] != day_key[:-1]])]


def per_subject(values: np.ndarray, tl: Timeline, weights=None) -> np.ndarray:
    return np.bincount(
        tl.subject[values],
        weights=None if weights is None else weights[values],
        minlength=tl.n_subjects,
    )
