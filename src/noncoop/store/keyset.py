"""A growing set of 64-bit keys with fast bulk membership, for de-duplicating streams of rows.

Sorted runs are merged like a binary counter, so adding n keys in blocks costs O(n log n) in
all and a membership test is a few `searchsorted` calls: no per-row Python and no rebuilding a
hash table of everything seen for every block.
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
        self._initial = initial

    def _load(self) -> None:
        if self._initial is not None:
            initial, self._initial = self._initial, None
            self.add(initial())

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `keys` are already in the set."""
        self._load()
        keys = np.asarray(keys, dtype=np.uint64)
        found = np.zeros(len(keys), dtype=bool)
        if not self._runs or not len(keys):
            return found
        # Only the part of each run between the keys' least and greatest is searched. A file
        # in key order (a register pupil by pupil) meets earlier blocks' keys at one edge, so
        # most blocks search nothing and are never sorted.
        spans = [s for s in (_span(run, keys.min(), keys.max()) for run in self._runs) if len(s)]
        if not spans:
            return found
        # Searched in order: a binary search for each of a block of hashed ids in turn jumps
        # about ten million keys at random, in order it walks them (eight times faster).
        order = None if _ascending(keys) else np.argsort(keys)
        ordered = keys if order is None else keys[order]
        for span in spans:
            first = np.searchsorted(ordered, span[0], side="left")
            last = np.searchsorted(ordered, span[-1], side="right")
            asked = ordered[first:last]
            pos = np.minimum(np.searchsorted(span, asked), len(span) - 1)
            found[first:last] |= span[pos] == asked
        if order is None:
            return found
        out = np.empty(len(keys), dtype=bool)
        out[order] = found
        return out

    def add(self, keys: np.ndarray) -> None:
        """Add keys (duplicates are harmless)."""
        self._load()
        keys = sorted_unique(np.asarray(keys, dtype=np.uint64))
        keys = keys[~self.contains(keys)]
        if not len(keys):
            return
        self._runs.append(keys)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            # Runs are disjoint and sorted: a stable sort of the two runs is a linear merge.
            self._runs[-1] = np.sort(np.concatenate([self._runs[-1], last]), kind="stable")


def _span(run: np.ndarray, low: np.uint64, high: np.uint64) -> np.ndarray:
    """The keys of a sorted run from `low` to `high`, both included (a view)."""
    return run[np.searchsorted(run, low, side="left") : np.searchsorted(run, high, side="right")]


def _ascending(keys: np.ndarray) -> bool:
    return bool((keys[1:] >= keys[:-1]).all())


def repeated(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which keys equal one earlier in the array (the first of each is not)."""
    keys = np.asarray(keys, dtype=np.uint64)
    order = None if _ascending(keys) else np.argsort(keys, kind="stable")
    ordered = keys if order is None else keys[order]
    again = np.zeros(len(keys), dtype=bool)
    again[1:] = ordered[1:] == ordered[:-1]
    if order is None:
        return again
    out = np.empty(len(keys), dtype=bool)
    out[order] = again
    return out


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sort-based unique: numpy's hash-based np.unique is far slower on 64-bit keys."""
    if not _ascending(keys):
        keys = np.sort(keys)
    if len(keys) < 2:
        return keys
    return keys[np.r_[True, keys[1:] != keys[:-1]]]
