"""A rule's condition: a pattern or signal name, or `all` / `any` / `not` over conditions, with an
optional `within` on `all`, parsed into a tree that names every position it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from noncoop.engine.rules import model
from noncoop.yamlspec import ConfigError, ConfigInvalid, Located, days

NAME = re.compile(model.NAME)


@dataclass
class Node:
    """A parsed condition: a signal name, or all/any/not over nodes, with an optional `within`."""

    op: str  # "ref", "all", "any", "not"
    name: str = ""
    children: list[Node] = field(default_factory=list)
    within: int | None = None

    def refs(self) -> set[str]:
        if self.op == "ref":
            return {self.name}
        return set().union(*(c.refs() for c in self.children)) if self.children else set()

    def positive_refs(self) -> list[str]:
        """Names whose signals can support the rule (not those under `not`)."""
        if self.op == "ref":
            return [self.name]
        if self.op == "not":
            return []
        return [n for c in self.children for n in c.positive_refs()]


def parse_condition(raw: Any, path: tuple, located: Located, file: str) -> Node:
    """`name`, {all: [...], within: 90d}, {any: [...]} or {not: ...}; raises ConfigInvalid with
    the RULE-CONDITION code at the offending position."""

    def fail(message: str) -> ConfigInvalid:
        line, col = located.position(path)
        return ConfigInvalid([ConfigError(file, line, col, "RULE-CONDITION", message)])

    if isinstance(raw, str):
        if not NAME.match(raw):
            raise fail(f"'{raw}' is not a pattern or signal name")
        return Node("ref", name=raw)
    if not isinstance(raw, dict):
        raise fail("a condition is a name, or a mapping with all, any or not")
    ops = [k for k in raw if k in ("all", "any", "not")]
    extra = [k for k in raw if k not in ("all", "any", "not", "within")]
    if len(ops) != 1 or extra:
        raise fail(
            "expected exactly one of all, any, not (and optionally within); found "
            f"{', '.join(map(str, raw)) or 'nothing'}"
        )
    op = ops[0]
    within = None
    if "within" in raw:
        if op != "all":
            raise fail("'within' applies to all")
        try:
            within = days(raw["within"])
        except ValueError as exc:
            raise fail(str(exc)) from None
    if op == "not":
        return Node("not", children=[parse_condition(raw["not"], (*path, "not"), located, file)])
    items = raw[op]
    if not isinstance(items, list) or not items:
        raise fail(f"'{op}' takes a non-empty list")
    children = [parse_condition(c, (*path, op, i), located, file) for i, c in enumerate(items)]
    return Node(op, children=children, within=within)
