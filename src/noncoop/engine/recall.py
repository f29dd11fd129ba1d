"""Alerts a night finds as an earlier night found them: recalled from the store, not explained.

Once a night's patterns are known, explaining its alerts (reading their records, filling their
messages) is most of what is left, and most of a night's alerts are ongoing ones that read as
they did. An alert is a function of what it is explained from: the rule and the code explaining
it, the world its timeline was made in (people, calendar, feeds declared), the child, the window
and the first day it held, the records it cites and those its message counts or names. Their
fingerprint names the alert; where the store holds a live alert with the same fingerprint, that
alert is tonight's, and its stored text is taken as it is.

- A record is named by its event number and the part it was read from. Parts are written once
  and never changed: a record sent again, changed or only on another line, comes in another part
  under its old number, and the alerts citing it are explained again.
- A message value that rests on more than the records it describes may change with the night (a
  gap's days unseen, a rate over its window's days, a sequence's count over its whole episode):
  where a message quotes one (a kind not `recorded`), its values are worked out and taken in.
- An alert with the alerts of superseded rules folded into it takes in their fingerprints.
- What has no part or world to name it by (events given in memory, a shard's timeline) has no
  fingerprint, and is always explained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import code_digest
from noncoop.engine.alert import Stored
from noncoop.engine.rules.pack import LoadedRule

# By fingerprint, the live alerts the store holds (read when first needed: a night reads its
# stored alerts in a thread while its patterns are worked out).
Recall = Callable[[], Mapping[str, Stored]]

# Two lanes of 64 bits: a fingerprint is 128 bits, so that two alerts of one rule and child
# made from other records sharing one is as good as impossible (one chance in 2**128).
LANES = (np.uint64(0x243F6A8885A308D3), np.uint64(0x13198A2E03707344))


def mixed(values: np.ndarray) -> np.ndarray:
    """Each 64-bit value scrambled (splitmix64's finaliser), wrapping as unsigned arithmetic."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def sets(numbers: np.ndarray, cuts: np.ndarray, lane: np.uint64) -> np.ndarray:
    """For each range `numbers[cuts[k]:cuts[k + 1]]`, a hash of its values as a set: the sum of
    their scrambled values, which wraps, whatever their order."""
    summed = np.concatenate([[np.uint64(0)], np.cumsum(mixed(numbers ^ lane), dtype=np.uint64)])
    with np.errstate(over="ignore"):
        return summed[cuts[1:]] - summed[cuts[:-1]]


def fingerprints(seed: int, fields: list, n: int) -> list[str]:
    """One fingerprint for each of `n` rows of the `fields`: an integer array each, or for a
    set hash a tuple of one array per lane; seeded by the rule."""
    lanes = []
    for i, lane in enumerate(LANES):
        h = np.full(n, np.uint64(seed) ^ lane, np.uint64)
        for values in fields:
            taken = values[i] if isinstance(values, tuple) else values
            h = mixed(h ^ taken.astype(np.uint64))
        lanes.append(h.tolist())
    return [f"{a:016x}{b:016x}" for a, b in zip(*lanes, strict=True)]


def said(values: dict[str, dict[str, str]]) -> int:
    """A message's values (by pattern, by name) as one 64-bit number."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def children(ids: pd.Index) -> np.ndarray:
    """A stable 64-bit hash of each child's id (the same on every night and machine)."""
    return pd.util.hash_array(np.asarray(ids.astype(str), dtype=object))


def with_folded(own: str | None, folded: list[str | None]) -> str | None:
    """The fingerprint of an alert with the alerts folded into it (None where any has none)."""
    if own is None or None in folded:
        return None
    if not folded:
        return own
    text = "\x1e".join([own, *sorted(folded)])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def rule_seed(rule: LoadedRule, world: str) -> int:
    """What the rule gives every one of its alerts, the code that explains them and the `world`
    their timeline was made in (people, calendar, feeds declared), as one number: another
    wording, level, passage or action, another build, or another world is another seed."""
    about = [rule.digest, rule.said, rule.rule.message, _code(), world]
    text = json.dumps(about, default=str, ensure_ascii=False)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


# The modules that explain an alert (of this folder, its patterns and the package's words and
# days): another build of any of them is another seed, and every alert is explained again.
_EXPLAINING = ("alert.py", "explain.py", "fold.py", "history.py", "recall.py")
_WORDS = ("vocab.py", "asof.py")


@cache
def _code() -> str:
    """The digest of the explaining modules' source, with the version."""
    here = Path(__file__).parent
    paths = [here / name for name in _EXPLAINING] + [here.parent / name for name in _WORDS]
    return code_digest([*paths, *sorted(here.glob("patterns/*.py"))])
