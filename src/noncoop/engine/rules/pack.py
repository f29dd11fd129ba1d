"""A loaded rule pack: validated rules with their parsed conditions, in evaluation order."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from noncoop.engine.rules.condition import Node
from noncoop.engine.rules.model import Rule, message_pieces

DEFAULT_STATUSES = ("stable", "test")


@dataclass
class LoadedRule:
    """A validated rule with its parsed condition and where it came from."""

    rule: Rule
    condition: Node
    path: Path
    digest: str

    @property
    def id(self) -> str:
        return self.rule.id

    def signal(self, pattern: str) -> str:
        """The name a pattern's signal has across the pack."""
        return f"{self.rule.id}.{pattern}"

    def resolve(self, name: str) -> str:
        """A condition name: the rule's own pattern, or a signal concluded by another rule."""
        return self.signal(name) if name in self.rule.patterns else name

    @cached_property
    def quoted(self) -> dict[str, frozenset[str]]:
        """By pattern, the values of it the rule's message quotes (patterns it quotes none of
        left out): only those are worked out for each alert."""
        named: dict[str, set[str]] = {}
        for _, owner, name in message_pieces(self.rule.message)[0]:
            if owner in self.rule.patterns:
                named.setdefault(owner, set()).add(name)
        return {owner: frozenset(names) for owner, names in named.items()}

    @cached_property
    def cited(self) -> tuple[str, ...]:
        """The guidance passages as each of the rule's alerts cites them: `document, section:
        "passage"`."""
        return tuple(
            f"{g.document}, {g.section}: \u201c{g.passage.strip()}\u201d"
            for g in self.rule.guidance
        )

    @cached_property
    def said(self) -> dict[str, object]:
        """What every alert of the rule says alike: its id, title, level, tags, guidance
        passages and actions, made once rather than for each of a night's thousands."""
        return {
            "rule_id": self.id,
            "title": self.rule.title,
            "level": str(self.rule.level),
            "tags": tuple(self.rule.tags),
            "guidance": self.cited,
            "actions": tuple(self.rule.actions),
        }


@dataclass
class RulePack:
    """Rules in evaluation order: a rule that uses a concluded signal comes after its source."""

    rules: list[LoadedRule]

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for r in sorted(self.rules, key=lambda r: r.id):
            h.update(r.digest.encode())
        return h.hexdigest()

    def get(self, rule_id: str) -> LoadedRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def superseders(self) -> dict[str, list[str]]:
        """Rule id -> the ids of the rules in this pack that supersede it."""
        ids = {r.id for r in self.rules}
        out: dict[str, list[str]] = {}
        for r in self.rules:
            for other in r.rule.supersedes:
                if other in ids and other != r.id:
                    out.setdefault(other, []).append(r.id)
        return out

    def superseding(self, rule_id: str) -> set[str]:
        """Every rule that supersedes this one, directly or through others."""
        up = self.superseders()
        found: set[str] = set()
        stack = list(up.get(rule_id, ()))
        while stack:
            r = stack.pop()
            if r not in found:
                found.add(r)
                stack.extend(up.get(r, ()))
        return found

    def enabled(self, statuses: tuple[str, ...] = DEFAULT_STATUSES) -> RulePack:
        return RulePack([r for r in self.rules if r.rule.status in statuses])

    def strata(self) -> list[list[LoadedRule]]:
        """Rules grouped so each group needs only signals concluded by earlier groups."""
        concluded = {r.rule.conclude: r for r in self.rules if r.rule.conclude}
        level: dict[str, int] = {}

        def depth(r: LoadedRule) -> int:
            if r.id not in level:
                needs = [concluded[n] for n in r.condition.refs() if n in concluded]
                level[r.id] = 1 + max((depth(d) for d in needs), default=-1)
            return level[r.id]

        groups: dict[int, list[LoadedRule]] = {}
        for r in self.rules:
            groups.setdefault(depth(r), []).append(r)
        return [groups[k] for k in sorted(groups)]
