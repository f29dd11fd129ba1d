"""Selection masks, and decisions, kept with a timeline.

Which of ten million records each selection picks was worked out again every night: a fifth of a
next night's patterns at 100,000 children, for masks that tonight's few thousand records change
in a few thousand places. A scan that keeps its timeline keeps its masks beside it (as bits, one
file per selection definition). A later night takes each mask as kept, with tonight's rows
merged in as the columns are, and judges only those rows, and where a selection asks a derived
field (health seen that week, worked out from a child's other records) every row of the
children they are of (`engine.selections.timeline_mask`). A mask not kept, or not readable, is
worked out whole, as before.

The situations its rules were decided on are kept beside them (engine/decide/memory.py): a later
night's backend decides only those not met before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from noncoop.engine.decide.memory import Outcomes
from noncoop.engine.episodes import ranges
from noncoop.engine.selections import Recalled

log = logging.getLogger("noncoop.scan")

_FOLDER = "masks"
_INDEX = "masks.json"  # written last: masks without it were never finished
_NONE = np.zeros(0, np.int64)


class KeptMasks:
    """The masks of a kept timeline (bits, by definition), for a timeline made of its rows with
    rows `added` (their places in it) merged in by `spread`, and the decisions kept with them
    (by context); and those worked out tonight, to keep with tonight's timeline where it is
    kept."""

    def __init__(
        self,
        known: dict[str, np.ndarray] | None = None,
        rows: int = 0,
        spread: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        added: np.ndarray = _NONE,
        theirs: np.ndarray = _NONE,
        outcomes: dict[str, dict[str, list]] | None = None,
    ):
        self.known, self.rows = known or {}, rows
        self.spread, self.added, self.theirs = spread, added, theirs
        self.learned: dict[str, np.ndarray] = {}
        self.outcomes = outcomes or {}
        self.used: set[str] = set()  # the contexts decided in tonight: those kept again

    @classmethod
    def read(
        cls,
        place: Path,
        rows: int,
        child: np.ndarray,
        added: np.ndarray | None = None,
        spread: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> KeptMasks:
        """The masks kept in `place` for its `rows` rows, for a timeline whose rows' children
        are `child` (sorted), `added` of them (places) merged in by `spread`."""
        if not (place / _INDEX).exists():
            return cls()
        try:
            index = json.loads((place / _INDEX).read_text())
            if index["rows"] != rows:
                raise ValueError("masks kept for other rows")
            known = {
                text: _packed(place / _FOLDER / name, rows) for text, name in index["masks"].items()
            }
            outcomes = _outcomes(index.get("decisions", {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as problem:
            kind = type(problem).__name__
            log.warning(
                "the kept selections and decisions cannot be read (%s): they are worked out again",
                kind,
            )
            return cls()
        if added is None or not len(added):
            return cls(known, rows, outcomes=outcomes)
        # Every row of the children with records added: a derived field reads their others.
        kids = np.unique(child[added])
        _, theirs = ranges(
            np.searchsorted(child, kids, "left"), np.searchsorted(child, kids, "right")
        )
        return cls(known, rows, spread, added, theirs, outcomes)

    def recall(self, definition: str) -> Recalled | None:
        """The mask kept for the definition, tonight's rows merged in unjudged (None: none)."""
        packed = self.known.get(definition)
        if packed is None:
            return None
        mask = np.unpackbits(packed, count=self.rows).view(bool)
        if self.spread is not None:
            mask = self.spread(mask, np.zeros(len(self.added), bool))
        return Recalled(mask, self.added, self.theirs)

    def learn(self, definition: str, mask: np.ndarray) -> None:
        self.learned[definition] = mask

    def decided(self, context: str) -> Mapping[str, list]:
        self.used.add(context)
        return self.outcomes.get(context, {})

    def learn_decided(self, context: str, outcomes: Outcomes) -> None:
        self.used.add(context)
        self.outcomes.setdefault(context, {}).update(outcomes)

    def keep(self, place: Path, rows: int) -> None:
        """Keep tonight's masks with tonight's timeline, kept in `place` with `rows` rows."""
        folder = place / _FOLDER
        try:
            folder.mkdir(exist_ok=True)
            index = {}
            for text, mask in self.learned.items():
                if len(mask) == rows:
                    name = f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.npy"
                    np.save(folder / name, np.packbits(mask), allow_pickle=False)
                    index[text] = name
            # Only the rules as tonight's scan had them: those of an earlier pack are left.
            decisions = {c: self.outcomes[c] for c in sorted(self.used) if c in self.outcomes}
            kept = {"rows": rows, "masks": index, "decisions": decisions}
            (place / _INDEX).write_text(json.dumps(kept))
        except OSError as problem:
            # The timeline stands without them: a later night works the masks out whole.
            with contextlib.suppress(OSError):
                (place / _INDEX).unlink(missing_ok=True)
            log.warning(
                "the selections and decisions could not be kept (%s)", type(problem).__name__
            )


def _outcomes(kept: object) -> dict[str, dict[str, list]]:
    """The decisions kept, by context and situation: each a list of [rule id, [signals]]. A
    damaged entry is refused whole (ValueError), as a damaged mask is."""
    if not isinstance(kept, dict) or not all(isinstance(v, dict) for v in kept.values()):
        raise ValueError("kept decisions of another form")
    for outcomes in kept.values():
        for outcome in outcomes.values():
            if not isinstance(outcome, list) or not all(_is_decision(d) for d in outcome):
                raise ValueError("kept decisions of another form")
    return kept


def _is_decision(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], list)
        and all(isinstance(m, str) for m in entry[1])
    )


def _packed(path: Path, rows: int) -> np.ndarray:
    """A kept mask's bits, mapped; refused where they are not those of `rows` rows."""
    packed = np.load(path, mmap_mode="r", allow_pickle=False)
    if packed.dtype != np.uint8 or packed.shape != ((rows + 7) // 8,):
        raise ValueError("a kept mask of other rows than the timeline's")
    return np.asarray(packed)
