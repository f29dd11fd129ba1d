"""The pure-Python decision backend: every conjunction evaluated for all children at once."""

from __future__ import annotations

import itertools

import numpy as np

from noncoop.asof import DAY
from noncoop.engine.decide.conjunctions import Decision, SignalTable, conjunctions
from noncoop.engine.rules.pack import LoadedRule


def decide_python(rules: list[LoadedRule], table: SignalTable) -> list[Decision]:
    """(rule id, child, supporting signal names) for every child that meets a rule."""
    out = []
    for rule in rules:
        members = {}
        for conj in conjunctions(rule.condition, rule):
            fired = np.ones(table.n, bool)
            for name in conj.pos:
                fired &= table.has(name)
            for name in conj.neg:
                fired &= ~table.has(name)
            if conj.within is not None:
                d = conj.within * DAY
                for a, b in itertools.combinations(conj.pos, 2):
                    (start_a, end_a), (start_b, end_b) = table.window(a), table.window(b)
                    fired &= (start_b - end_a <= d) & (start_a - end_b <= d)
            for child in np.flatnonzero(fired).tolist():
                members.setdefault(child, set()).update(conj.pos)
        out.extend(
            Decision(rule.id, child, tuple(sorted(m))) for child, m in sorted(members.items())
        )
    return out
