"""A growing set of 64-bit keys with fast bulk membership, for de-duplicating streams of rows.

Sorted runs are merged like a binary counter, so adding n keys in blocks costs O(n log n) in
all and a membership test is a few `searchsorted` calls: no per-row Python and no rebuilding a
hash table of everything seen for every block. Runs that follow one another (keys added in
order, as a register is read pupil by pupil) are not merged: a test searches only the runs its
keys fall among. A large set also keeps a bitmap of its keys' hashes, so a test searches the
runs only for the few keys whose bit is set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class KeySet:
    """Set of uint64 keys supporting `contains(array)` and `add(array)`."""

    def __init__(self, initial: Callable[[], np.ndarray] | None = None) -> None:
        """`initial` gives the first keys when the set is first used: a run with nothing new to
        read never pays for reading every stored key."""
        self._runs: list[np.ndarray] = []
        self._flags: np.ndarray | None = None  # a bitmap, as bytes: see BITMAP_BITS
        self._initial = initial

    def _load(self) -> None:
        if self._initial is not None:
            initial, self._initial = self._initial, None
            self.add(initial())

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `keys` are already in the set."""
        self._load()
        keys = np.asarray(keys, dtype=np.uint64)
        if not self._runs or not len(keys):
            return np.zeros(len(keys), dtype=bool)
        # Only the part of each run between the keys' least and greatest is searched. A file
        # in key order meets earlier blocks' keys at one edge, so most blocks search nothing.
        low, high = keys.min(), keys.max()
        spans = [s for s in (_span(run, low, high) for run in self._runs) if len(s)]
        if self._flags is None and _worth_a_bitmap(len(keys), spans):
            self._flags = np.zeros(1 << BITMAP_BITS, dtype=bool)
            for run in self._runs:
                self._flags[_slot(run)] = True
        if self._flags is None or not spans:
            return _found(spans, keys)
        maybe = np.flatnonzero(self._flags[_slot(keys)])
        found = np.zeros(len(keys), dtype=bool)
        found[maybe] = _found(spans, keys[maybe])
        return found

    def add(self, keys: np.ndarray, new: bool = False) -> None:
        """Add keys (duplicates are harmless). `new`: none is in the set yet (the caller has
        just asked), so they are not looked for again."""
        self._load()
        keys = sorted_unique(np.asarray(keys, dtype=np.uint64))
        if not new:
            keys = keys[~self.contains(keys)]
        if not len(keys):
            return
        self._runs.append(keys)
        if self._flags is not None:
            self._flags[_slot(keys)] = True
        runs = self._runs
        while len(runs) > 1 and len(runs[-2]) <= 2 * len(runs[-1]) and _overlap(*runs[-2:]):
            last = runs.pop()
            # Runs are disjoint and sorted: a stable sort of the two runs is a linear merge.
            runs[-1] = np.sort(np.concatenate([runs[-1], last]), kind="stable")


# A test of a block of keys (BITMAP_ASKED or more) among this many keys of the runs (as hashed
# ids, which fall anywhere, make every test do once the set is this large) has the set keep a
# bitmap of 2**BITMAP_BITS flags (64 MB): with the 11 million events of a 100,000-child region,
# one key in six not in the set is searched for. Making it costs a few tenths of a second: a
# night importing one small changed file never makes it.
BITMAP_FROM = 1 << 20
BITMAP_ASKED = 1 << 16
BITMAP_BITS = 26


def _worth_a_bitmap(asked: int, spans: list[np.ndarray]) -> bool:
    return asked >= BITMAP_ASKED and sum(len(s) for s in spans) >= BITMAP_FROM


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _slot(keys: np.ndarray) -> np.ndarray:
    """Each key's flag: the top bits of the key times the golden ratio, so that keys close
    together (a register's sessions) are spread as evenly as hashed ids."""
    return (keys * _GOLDEN) >> np.uint64(64 - BITMAP_BITS)


def _found(spans: list[np.ndarray], keys: np.ndarray) -> np.ndarray:
    """Which keys are in the parts of runs `spans`, searched in order: a binary search for
    each of a block of hashed ids in turn jumps about ten million keys at random, in order it
    walks them (eight times faster)."""
    if not spans or not len(keys):
        return np.zeros(len(keys), dtype=bool)

    def found(ordered: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(ordered), dtype=bool)
        for span in spans:
            first = np.searchsorted(ordered, span[0], side="left")
            last = np.searchsorted(ordered, span[-1], side="right")
            asked = ordered[first:last]
            pos = np.minimum(np.searchsorted(span, asked), len(span) - 1)
            hit[first:last] |= span[pos] == asked
        return hit

    return _in_order(keys, found, "quicksort")


def _overlap(first: np.ndarray, second: np.ndarray) -> bool:
    return bool(first[0] <= second[-1] and second[0] <= first[-1])


def _span(run: np.ndarray, low: np.uint64, high: np.uint64) -> np.ndarray:
    """The keys of a sorted run from `low` to `high`, both included (a view)."""
    return run[np.searchsorted(run, low, side="left") : np.searchsorted(run, high, side="right")]


def _ascending(keys: np.ndarray) -> bool:
    return bool((keys[1:] >= keys[:-1]).all())


def repeated(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which keys equal one earlier in the array (the first of each is not)."""

    def again(ordered: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(ordered), dtype=bool)
        hit[1:] = ordered[1:] == ordered[:-1]
        return hit

    # Stable: of equal keys, the first in the array comes first, and is not a repeat.
    return _in_order(np.asarray(keys, dtype=np.uint64), again, "stable")


def _in_order(keys: np.ndarray, judge: Callable[[np.ndarray], np.ndarray], kind: str) -> np.ndarray:
    """`judge` (a mask) of the keys put in order, each answer back at its key's place; keys
    already in order are not sorted."""
    if _ascending(keys):
        return judge(keys)
    order = np.argsort(keys, kind=kind)
    out = np.empty(len(keys), dtype=bool)
    out[order] = judge(keys[order])
    return out


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sort-based unique: numpy's hash-based np.unique is far slower on 64-bit keys."""
    if not _ascending(keys):
        keys = np.sort(keys)
    if len(keys) < 2:
        return keys
    return keys[np.r_[True, keys[1:] != keys[:-1]]]
