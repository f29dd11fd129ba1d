"""Decisions remembered from an earlier scan.

A rule's outcome on a slice of a child's days depends only on its situation: which signals hold
and which `within` pairs lie close enough (history.py). So a situation decided once is decided
for good, for the same rules, the same signals and the same code deciding it: a next night at
100,000 children meets a few hundred situations that its first scan, over the whole history,
had already met, and durable_rules took a fifth of a second to decide them again. The backend
decides only the situations not remembered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from noncoop import code_digest
from noncoop.engine.decide.conjunctions import Decision
from noncoop.engine.rules.pack import LoadedRule

# By situation key, what each rule met there: (rule id, the signals supporting it).
Outcomes = dict[str, list[tuple[str, tuple[str, ...]]]]


class DecisionMemory(Protocol):
    """Outcomes an earlier scan decided (by context), and those decided tonight."""

    def decided(self, context: str) -> Mapping[str, list]: ...

    def learn_decided(self, context: str, outcomes: Outcomes) -> None: ...


def context(rules: list[LoadedRule], columns: list, backend: str) -> str:
    """What a situation's outcome rests on besides its flags: the rules as written, what each
    flag stands for (`columns`), the backend and the code deciding."""
    about = [[[r.id, r.digest] for r in rules], columns, backend, _code()]
    return hashlib.sha256(json.dumps(about).encode()).hexdigest()


def situation_key(flags: np.ndarray | np.integer) -> str:
    """A situation's flags (packed into one integer, or a row of them) as text."""
    return str(int(flags)) if np.ndim(flags) == 0 else np.packbits(flags).tobytes().hex()


def remembered(
    keys: list[str], known: Mapping[str, list], fresh: list[Decision], todo: list[int]
) -> tuple[list[Decision], Outcomes]:
    """Every situation's decisions (the k-th situation's as child k), from those `known` and
    the `fresh` ones the backend made for the situations `todo` (child i of them is situation
    `todo[i]`); and the outcomes of those, to remember (a situation meeting no rule too)."""
    learned: Outcomes = {keys[k]: [] for k in todo}
    for d in fresh:
        learned[keys[todo[d.child]]].append((d.rule_id, tuple(d.members)))
    decisions = []
    for k, name in enumerate(keys):
        outcome = learned[name] if name in learned else known[name]
        decisions += [Decision(rule_id, k, tuple(members)) for rule_id, members in outcome]
    return decisions, learned


@cache
def _code() -> str:
    """The digest of the code deciding and of what the flags mean (history.py), with the
    version: another build decides every situation again."""
    here = Path(__file__).parent
    return code_digest([*sorted(here.glob("*.py")), here.parent / "history.py"])
