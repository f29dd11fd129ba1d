"""The normal form every decision backend evaluates: a rule's condition as alternatives of
conjunctions (`pos` signals present, `neg` absent, every pair of `pos` windows within `within`
days of each other), and the table of signals the patterns gave.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from noncoop.engine.rules.condition import Node
from noncoop.engine.rules.pack import LoadedRule


class Decision(NamedTuple):
    """A child meets a rule; `members` are the signals that support it."""

    rule_id: str
    child: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Conjunction:
    pos: tuple[str, ...]
    neg: tuple[str, ...]
    within: int | None  # days


@dataclass
class SignalTable:
    """Per signal name: which children have it and its window (seconds)."""

    n: int
    present: dict[str, np.ndarray]
    start: dict[str, np.ndarray]
    end: dict[str, np.ndarray]

    def add(self, name: str, subjects: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        present = np.zeros(self.n, bool)
        s = np.zeros(self.n, np.int64)
        e = np.zeros(self.n, np.int64)
        present[subjects] = True
        s[subjects] = start
        e[subjects] = end
        self.present[name], self.start[name], self.end[name] = present, s, e

    def has(self, name: str) -> np.ndarray:
        return self.present.get(name, np.zeros(self.n, bool))

    def window(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        zeros = np.zeros(self.n, np.int64)
        return self.start.get(name, zeros), self.end.get(name, zeros)


def conjunctions(node: Node, rule: LoadedRule) -> list[Conjunction]:
    """The condition as alternatives of conjunctions, names resolved to signal names."""

    def walk(n: Node, negate: bool) -> list[tuple[list[str], list[str], int | None]]:
        if n.op == "ref":
            name = rule.resolve(n.name)
            return [([], [name], None)] if negate else [([name], [], None)]
        if n.op == "not":
            return walk(n.children[0], not negate)
        is_and = (n.op == "all") != negate
        parts = [walk(c, negate) for c in n.children]
        if not is_and:
            return [alt for p in parts for alt in p]
        out = []
        for combo in itertools.product(*parts):
            pos = [x for c in combo for x in c[0]]
            neg = [x for c in combo for x in c[1]]
            withins = [c[2] for c in combo if c[2] is not None]
            if n.within is not None and not negate:
                withins.append(n.within)
            out.append((pos, neg, min(withins) if withins else None))
        return out

    return [
        Conjunction(tuple(dict.fromkeys(p)), tuple(dict.fromkeys(q)), w)
        for p, q, w in walk(node, False)
        if p
    ]
