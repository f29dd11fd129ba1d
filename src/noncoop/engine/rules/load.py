"""Loading a rule pack: every file parsed strictly, every reference checked, every problem
reported at once with a code, file:line:col and what was expected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from noncoop.engine.rules.model import NUMERIC_FIELDS, PATTERN_VALUES, Operators, Rule
from noncoop.events import EVENT_TYPES
from noncoop.yamlspec import (
    ConfigError,
    ConfigInvalid,
    Located,
    errors_from_validation,
    load_located,
)

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_STATUSES = ("stable", "test")


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


def rule_files(paths: list[Path]) -> list[Path]:
    """YAML files named directly or found in folders."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p])
    return files


def load_rules(paths: list[Path] | Path) -> RulePack:
    """Load and cross-check rule files; raises ConfigInvalid listing every problem found."""
    paths = [paths] if isinstance(paths, (str, Path)) else paths
    errors: list[ConfigError] = []
    loaded: list[LoadedRule] = []
    located_by_id: dict[str, tuple[Located, str]] = {}
    for path in rule_files(paths):
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            located = load_located(text, file)
        except OSError as exc:
            errors.append(ConfigError(file, 1, 1, "RULE-UNREADABLE", f"cannot read file: {exc}"))
            continue
        except ConfigInvalid as exc:
            errors.extend(exc.errors)
            continue
        if not isinstance(located.data, dict):
            errors.append(ConfigError(file, 1, 1, "RULE-INVALID", "expected a mapping"))
            continue
        try:
            rule = Rule.model_validate(located.data)
        except ValidationError as exc:
            errors.extend(
                _named(
                    errors_from_validation(exc, Rule, located, file, "RULE"), located.data.get("id")
                )
            )
            continue
        problems = _check(rule, located, file)
        if problems:
            errors.extend(_named(problems, rule.id))
            continue
        if rule.id in located_by_id:
            line, col = located.position(("id",))
            errors.append(
                ConfigError(
                    file,
                    line,
                    col,
                    "RULE-DUPLICATE-ID",
                    f"rule id {rule.id} is also used in {located_by_id[rule.id][1]}",
                )
            )
            continue
        located_by_id[rule.id] = (located, file)
        condition = parse_condition(rule.condition, ("condition",), located, file)
        digest = hashlib.sha256(text.encode()).hexdigest()
        loaded.append(LoadedRule(rule, condition, path, digest))
    errors.extend(_check_pack(loaded, located_by_id))
    if errors:
        raise ConfigInvalid(errors)
    pack = RulePack(loaded)
    order = [r for group in pack.strata() for r in group]
    return RulePack(order)


def _named(errors: list[ConfigError], rule_id: object) -> list[ConfigError]:
    """Errors prefixed with the rule id, when the file has one."""
    if not isinstance(rule_id, str) or not rule_id:
        return errors
    return [
        ConfigError(e.file, e.line, e.column, e.code, f"[{rule_id}] {e.message}") for e in errors
    ]


def _err(located: Located, file: str, path: tuple, code: str, message: str) -> ConfigError:
    line, col = located.position(path)
    return ConfigError(file, line, col, code, message)


def _check(rule: Rule, located: Located, file: str) -> list[ConfigError]:
    """References inside one rule: selections, patterns, placeholders, tests."""
    errors = []
    selections = set(rule.select)
    for name in [*rule.select, *rule.patterns]:
        if not re.match(r"^[a-z][a-z0-9_]*$", name):
            errors.append(
                _err(
                    located,
                    file,
                    ("patterns", name),
                    "RULE-NAME",
                    f"'{name}' is not a valid name (lower case, digits, underscore)",
                )
            )
    for pname, pattern in rule.patterns.items():
        spec = pattern.spec
        for attr, value in _selection_refs(spec):
            if value not in selections:
                errors.append(
                    _err(
                        located,
                        file,
                        ("patterns", pname, pattern.kind, attr),
                        "RULE-UNKNOWN-SELECTION",
                        f"pattern '{pname}' uses selection '{value}', which is not defined under "
                        f"select (defined: {', '.join(sorted(selections)) or 'none'})",
                    )
                )
        for key in getattr(spec, "same", []):
            if key not in ("chain_id", "service", "agency", "source"):
                errors.append(
                    _err(
                        located,
                        file,
                        ("patterns", pname, "sequence", "same"),
                        "RULE-INVALID",
                        f"cannot join steps on '{key}'; expected "
                        "chain_id, service, agency or source",
                    )
                )
    for sname, chosen in rule.select.items():
        for sel in chosen if isinstance(chosen, list) else [chosen]:
            errors.extend(_check_selection(sel, sname, located, file))
    try:
        parse_condition(rule.condition, ("condition",), located, file)
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
    for match in PLACEHOLDER.finditer(rule.message):
        problem = _placeholder_problem(match.group(1), rule)
        if problem:
            errors.append(_err(located, file, ("message",), "RULE-PLACEHOLDER", problem))
    for i, test in enumerate(rule.tests):
        for j, event in enumerate(test.events):
            if event.type not in EVENT_TYPES:
                errors.append(
                    _err(
                        located,
                        file,
                        ("tests", i, "events", j, "type"),
                        "RULE-UNKNOWN-EVENT-TYPE",
                        f"test '{test.name}': '{event.type}' is not a canonical event type",
                    )
                )
    if not any(t.expect == "alert" for t in rule.tests) or not any(
        t.expect == "none" for t in rule.tests
    ):
        errors.append(
            _err(
                located,
                file,
                ("tests",),
                "RULE-TESTS",
                "a rule needs at least one test that must fire (expect: alert) and "
                "one near miss that must not (expect: none)",
            )
        )
    return errors


def _check_selection(sel: Any, sname: str, located: Located, file: str) -> list[ConfigError]:
    """Field tests of one selection: known event types, comparisons only on numbers."""
    errors = []
    for fname, test in sel.tests().items():
        bounds = isinstance(test, Operators) and any(
            v is not None for v in (test.gt, test.gte, test.lt, test.lte)
        )
        if bounds and fname not in NUMERIC_FIELDS:
            errors.append(
                _err(
                    located,
                    file,
                    ("select", sname, fname),
                    "RULE-INVALID",
                    f"'{fname}' is not numeric: comparisons need one of "
                    f"{', '.join(NUMERIC_FIELDS)}",
                )
            )
        if fname != "event_type":
            continue
        for value in _literal_values(test):
            if isinstance(value, str) and not value.endswith("*") and value not in EVENT_TYPES:
                errors.append(
                    _err(
                        located,
                        file,
                        ("select", sname, "event_type"),
                        "RULE-UNKNOWN-EVENT-TYPE",
                        f"'{value}' is not a canonical event type",
                    )
                )
    return errors


def _selection_refs(spec: Any) -> list[tuple[str, str]]:
    refs = []
    for attr in ("select", "versus", "open", "until"):
        value = getattr(spec, attr, None)
        if value:
            refs.append((attr, value))
    for step in getattr(spec, "steps", []) or []:
        refs.append(("steps", step))
    for attr in ("numerator", "denominator"):
        measure = getattr(spec, attr, None)
        if measure is not None:
            refs.append((attr, measure.select))
    return refs


def _literal_values(test: Any) -> list[Any]:
    if isinstance(test, list):
        return test
    if isinstance(test, (str, int, float, bool)):
        return [test]
    return [v for v in (test.eq, *(test.any_of or [])) if v is not None]


def _placeholder_problem(text: str, rule: Rule) -> str | None:
    """Why a message placeholder cannot be filled, or None when it can."""
    parts = text.split(".")
    if len(parts) != 2:
        return (
            f"placeholder '{{{text}}}' must be {{pattern.value}} or {{window.start}} / "
            "{window.end}"
        )
    owner, value = parts
    if owner == "window":
        return (
            None
            if value in ("start", "end")
            else (f"placeholder '{{{text}}}': window offers start and end")
        )
    if owner not in rule.patterns:
        return (
            f"placeholder '{{{text}}}' names no pattern of this rule (patterns: "
            f"{', '.join(rule.patterns) or 'none'})"
        )
    kind = rule.patterns[owner].kind
    if value not in PATTERN_VALUES[kind]:
        return (
            f"placeholder '{{{text}}}': a {kind} pattern offers {', '.join(PATTERN_VALUES[kind])}"
        )
    return None


def parse_condition(raw: Any, path: tuple, located: Located, file: str) -> Node:
    """`name`, {all: [...], within: 90d}, {any: [...]} or {not: ...}."""
    from noncoop.engine.rules.model import days

    def fail(message: str) -> ConfigInvalid:
        return ConfigInvalid([_err(located, file, path, "RULE-CONDITION", message)])

    if isinstance(raw, str):
        if not re.match(r"^[a-z][a-z0-9_]*$", raw):
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


def _check_pack(rules: list[LoadedRule], located: dict[str, tuple[Located, str]]) -> list:
    """Names in conditions exist (own patterns or concluded signals); no conclusion cycles."""
    errors = []
    concluded = {r.rule.conclude: r.id for r in rules if r.rule.conclude}
    for r in rules:
        loc, file = located[r.id]
        for name in sorted(r.condition.refs()):
            if name not in r.rule.patterns and name not in concluded:
                errors.append(
                    _err(
                        loc,
                        file,
                        ("condition",),
                        "RULE-UNKNOWN-SIGNAL",
                        f"[{r.id}] condition uses '{name}', which is neither a pattern of "
                        f"this rule ({', '.join(r.rule.patterns) or 'none'}) nor a "
                        "signal concluded by another rule",
                    )
                )
            if name == r.rule.conclude:
                errors.append(
                    _err(
                        loc,
                        file,
                        ("conclude",),
                        "RULE-CYCLE",
                        f"rule {r.id} uses the signal it concludes",
                    )
                )
    graph = {r.id: {concluded[n] for n in r.condition.refs() if n in concluded} for r in rules}
    for start in graph:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start and node != start:
                    loc, file = located[start]
                    errors.append(
                        _err(
                            loc,
                            file,
                            ("condition",),
                            "RULE-CYCLE",
                            f"rule {start} depends on itself through concluded signals",
                        )
                    )
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return errors
