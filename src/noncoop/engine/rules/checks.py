"""Load-time checks of rules, one function per diagnostic code.

Each check reads a validated rule (or the whole pack) and yields located errors; none stops at
the first problem, so an analyst sees everything wrong with a file at once. A new check is one
function here with the `@rule_check` (or `@pack_check`) mark and its code in the diagnostics
catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from noncoop.engine.patterns import KINDS
from noncoop.engine.rules.condition import NAME, parse_condition
from noncoop.engine.rules.model import NUMERIC_FIELDS, PLACEHOLDER, Operators, Rule, listed
from noncoop.engine.rules.pack import LoadedRule
from noncoop.events import EVENT_TYPES
from noncoop.yamlspec import ConfigError, ConfigInvalid, Located

JOIN_KEYS = ("chain_id", "service", "agency", "source")
# Read from the child a record is read for, so not testable household-wide.
CHILD_FIELDS = ("age", "via_adult", "health_seen_week")


@dataclass(frozen=True)
class Where:
    """A rule file with its positions, for errors that point at the offending value."""

    located: Located
    file: str

    def error(self, path: tuple, code: str, message: str) -> ConfigError:
        line, col = self.located.position(path)
        return ConfigError(self.file, line, col, code, message)


RuleCheck = Callable[[Rule, Where], Iterator[ConfigError]]
PackCheck = Callable[[list[LoadedRule], dict[str, Where]], Iterator[ConfigError]]
RULE_CHECKS: list[RuleCheck] = []
PACK_CHECKS: list[PackCheck] = []


def rule_check(check: RuleCheck) -> RuleCheck:
    RULE_CHECKS.append(check)
    return check


def pack_check(check: PackCheck) -> PackCheck:
    PACK_CHECKS.append(check)
    return check


def check_rule(rule: Rule, where: Where) -> list[ConfigError]:
    """Every problem inside one rule, in file order."""
    found = [e for check in RULE_CHECKS for e in check(rule, where)]
    return sorted(found, key=lambda e: (e.line, e.column))


def check_pack(rules: list[LoadedRule], where: dict[str, Where]) -> list[ConfigError]:
    """Every problem between rules: names that resolve nowhere, conclusions in a cycle."""
    return [e for check in PACK_CHECKS for e in check(rules, where)]


@rule_check
def names(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-NAME: selection and pattern names are lower case, digits and underscores."""
    for name in [*rule.select, *rule.patterns]:
        if not NAME.match(name):
            yield where.error(
                ("patterns", name),
                "RULE-NAME",
                f"'{name}' is not a valid name (lower case, digits, underscore)",
            )


@rule_check
def selections_defined(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-UNKNOWN-SELECTION: every selection a pattern uses is defined under `select`."""
    defined = set(rule.select)
    for pname, pattern in rule.patterns.items():
        for attr, value in selection_refs(pattern.spec):
            if value not in defined:
                yield where.error(
                    ("patterns", pname, pattern.kind, attr),
                    "RULE-UNKNOWN-SELECTION",
                    f"pattern '{pname}' uses selection '{value}', which is not defined under "
                    f"select (defined: {', '.join(sorted(defined)) or 'none'})",
                )


@rule_check
def household_fields(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-INVALID: a selection with `scope: household` tests what a record says, not who it is
    read for: not `age` or `via_adult`, which differ from child to child."""
    for sname, chosen in rule.select.items():
        for sel in listed(chosen):
            for field in sorted(set(sel.tests()) & set(CHILD_FIELDS)) if sel.household else ():
                yield where.error(
                    ("select", sname),
                    "RULE-INVALID",
                    f"selection '{sname}' has scope household, so it cannot test {field} "
                    "(it differs from child to child); split it into two selections",
                )


@rule_check
def join_keys(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-INVALID: a sequence joins its steps only on fields that identify a chain or service."""
    for pname, pattern in rule.patterns.items():
        for key in getattr(pattern.spec, "same", []):
            if key not in JOIN_KEYS:
                yield where.error(
                    ("patterns", pname, "sequence", "same"),
                    "RULE-INVALID",
                    f"cannot join steps on '{key}'; expected {', '.join(JOIN_KEYS[:-1])} "
                    f"or {JOIN_KEYS[-1]}",
                )


@rule_check
def numeric_comparisons(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-INVALID: gt / gte / lt / lte only on numeric fields."""
    for sname, field, test in _field_tests(rule):
        bounds = isinstance(test, Operators) and any(
            v is not None for v in (test.gt, test.gte, test.lt, test.lte)
        )
        if bounds and field not in NUMERIC_FIELDS:
            yield where.error(
                ("select", sname, field),
                "RULE-INVALID",
                f"'{field}' is not numeric: comparisons need one of {', '.join(NUMERIC_FIELDS)}",
            )


@rule_check
def event_types(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-UNKNOWN-EVENT-TYPE: selections and test events name canonical event types."""
    for sname, field, test in _field_tests(rule):
        if field != "event_type":
            continue
        for value in _literal_values(test):
            if isinstance(value, str) and not value.endswith("*") and value not in EVENT_TYPES:
                yield where.error(
                    ("select", sname, "event_type"),
                    "RULE-UNKNOWN-EVENT-TYPE",
                    f"'{value}' is not a canonical event type",
                )
    for i, test in enumerate(rule.tests):
        for j, event in enumerate(test.events):
            if event.type not in EVENT_TYPES:
                yield where.error(
                    ("tests", i, "events", j, "type"),
                    "RULE-UNKNOWN-EVENT-TYPE",
                    f"test '{test.name}': '{event.type}' is not a canonical event type",
                )


@rule_check
def condition(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-CONDITION: the condition is a name or all / any / not over conditions."""
    try:
        parse_condition(rule.condition, ("condition",), where.located, where.file)
    except ConfigInvalid as exc:
        yield from exc.errors


@rule_check
def placeholders(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-PLACEHOLDER: every `{...}` in the message names a value a pattern offers."""
    for match in PLACEHOLDER.finditer(rule.message):
        problem = _placeholder_problem(match.group(1), rule)
        if problem:
            yield where.error(("message",), "RULE-PLACEHOLDER", problem)


@rule_check
def tests_both_ways(rule: Rule, where: Where) -> Iterator[ConfigError]:
    """RULE-TESTS: a rule has a case that must fire and a near miss that must not."""
    expected = {t.expect for t in rule.tests}
    if not {"alert", "none"} <= expected:
        yield where.error(
            ("tests",),
            "RULE-TESTS",
            "a rule needs at least one test that must fire (expect: alert) and "
            "one near miss that must not (expect: none)",
        )


@pack_check
def signals_exist(rules: list[LoadedRule], where: dict[str, Where]) -> Iterator[ConfigError]:
    """RULE-UNKNOWN-SIGNAL: a condition names the rule's own patterns or concluded signals."""
    concluded = {r.rule.conclude for r in rules if r.rule.conclude}
    for r in rules:
        for name in sorted(r.condition.refs()):
            if name not in r.rule.patterns and name not in concluded:
                yield where[r.id].error(
                    ("condition",),
                    "RULE-UNKNOWN-SIGNAL",
                    f"[{r.id}] condition uses '{name}', which is neither a pattern of "
                    f"this rule ({', '.join(r.rule.patterns) or 'none'}) nor a "
                    "signal concluded by another rule",
                )


@pack_check
def no_cycles(rules: list[LoadedRule], where: dict[str, Where]) -> Iterator[ConfigError]:
    """RULE-CYCLE: no rule needs, directly or through others, the signal it concludes, and no
    two rules supersede each other."""
    concluded = {r.rule.conclude: r.id for r in rules if r.rule.conclude}
    for r in rules:
        if r.rule.conclude and r.rule.conclude in r.condition.refs():
            yield where[r.id].error(
                ("conclude",), "RULE-CYCLE", f"rule {r.id} uses the signal it concludes"
            )
    graph = {r.id: {concluded[n] for n in r.condition.refs() if n in concluded} for r in rules}
    for start in graph:
        if _reaches_itself(start, graph):
            yield where[start].error(
                ("condition",),
                "RULE-CYCLE",
                f"rule {start} depends on itself through concluded signals",
            )

    # Rules superseding each other would fold each other's alerts away: neither would be raised.
    ids = {r.id for r in rules}
    folds = {r.id: {o for o in r.rule.supersedes if o in ids} for r in rules}
    for r in rules:
        if r.id in r.rule.supersedes:
            yield where[r.id].error(("related",), "RULE-CYCLE", f"rule {r.id} supersedes itself")
        elif _reaches_itself(r.id, folds):
            yield where[r.id].error(
                ("related",),
                "RULE-CYCLE",
                f"rule {r.id} supersedes, directly or through others, a rule superseding it",
            )


def _reaches_itself(start: str, graph: dict[str, set[str]]) -> bool:
    """True where following the graph from `start` leads back to it through another rule."""
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start and node != start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _field_tests(rule: Rule) -> Iterator[tuple[str, str, Any]]:
    """(selection name, field, test) of every field test of every selection."""
    for sname, chosen in rule.select.items():
        for sel in listed(chosen):
            for field, test in sel.tests().items():
                yield sname, field, test


def selection_refs(spec: Any) -> list[tuple[str, str]]:
    """(attribute, selection name) of every selection a pattern spec uses."""
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
        if value in ("start", "end"):
            return None
        return f"placeholder '{{{text}}}': window offers start and end"
    if owner not in rule.patterns:
        return (
            f"placeholder '{{{text}}}' names no pattern of this rule (patterns: "
            f"{', '.join(rule.patterns) or 'none'})"
        )
    kind = rule.patterns[owner].kind
    offered = KINDS[kind].values
    if value not in offered:
        return f"placeholder '{{{text}}}': a {kind} pattern offers {', '.join(offered)}"
    return None
