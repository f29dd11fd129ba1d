"""Explanations: messages filled only from computed values, and rules described in plain English.

A template can name `{pattern.value}` and `{window.start}`/`{window.end}` and nothing else: no
attribute access, no code, so a rule file can never run anything.
"""

from __future__ import annotations

from noncoop.asof import long_day
from noncoop.engine.rules.load import PLACEHOLDER, LoadedRule
from noncoop.engine.rules.model import days


def render_message(template: str, values: dict[str, dict], window: dict[str, str]) -> str:
    """Fill placeholders; a value the child's signals do not give reads 'none'."""

    def fill(match) -> str:
        owner, name = match.group(1).split(".")
        if owner == "window":
            return long_day(window[name])
        return str(values.get(owner, {}).get(name, "none"))

    return PLACEHOLDER.sub(fill, template)


def describe_pattern(name: str, kind: str, spec) -> str:
    """One pattern in plain English."""
    if kind == "count":
        most = f" and at most {spec.max}" if spec.max is not None else ""
        return (
            f"{name}: at least {spec.min}{most} events matching '{spec.select}' in the last "
            f"{days(spec.within)} days"
        )
    if kind == "sequence":
        joined = f", on the same {', '.join(spec.same)}" if spec.same else ""
        until = f", unless '{spec.until}' comes between" if spec.until else ""
        return (
            f"{name}: '{' then '.join(spec.steps)}' with at most {days(spec.max_gap)} days "
            f"between steps{joined}{until}, completed at least {spec.runs} time(s) in the "
            f"last {days(spec.within)} days"
        )
    if kind == "rate":
        num = spec.numerator.field or "events"
        den = spec.denominator.field or "events"
        bound = (
            (f"at least {spec.at_least:.0%}" if spec.at_least is not None else "")
            + (" and " if spec.at_least is not None and spec.below is not None else "")
            + (f"below {spec.below:.0%}" if spec.below is not None else "")
        )
        return (
            f"{name}: {num} of '{spec.numerator.select}' over {den} of "
            f"'{spec.denominator.select}' {bound} (with at least "
            f"{spec.min_denominator:g} in the denominator) in the last {days(spec.within)} days"
        )
    if kind == "divergence":
        return (
            f"{name}: at least {spec.min} {spec.field}(s) with '{spec.select}' "
            f"({spec.min_events}+ events) while at least {spec.min_others} other "
            f"{spec.field}(s) show '{spec.versus}' without it, in the last "
            f"{days(spec.within)} days"
        )
    if kind == "distinct":
        return (
            f"{name}: '{spec.select}' recorded by at least {spec.min} different "
            f"{spec.field} values in the last {days(spec.within)} days"
        )
    if kind == "gap":
        return (
            f"{name}: no '{spec.select}' for more than {spec.days} days while '{spec.open}' "
            f"shows the child open to a service in the last {days(spec.open_within)} days "
            "(not judged where the feeds do not cover the gap)"
        )
    return (
        f"{name}: {spec.field} rising at least {spec.min_steps} time(s) to {spec.min_last} "
        f"or more across '{spec.select}' in the last {days(spec.within)} days"
    )


def describe_rule(rule: LoadedRule) -> str:
    """The rule as an analyst or chair would want it explained."""
    r = rule.rule
    lines = [
        f"{r.id} — {r.title}",
        f"Level {r.level}, status {r.status}; tags {', '.join(r.tags)}",
        "",
        r.description.strip(),
        "",
        "Looks for:",
    ]
    for name, sel in r.select.items():
        tests = ", ".join(f"{k} {_test(v)}" for k, v in sel.tests().items())
        lines.append(f"  selection {name}: {tests or 'every event'}")
    for name, pattern in r.patterns.items():
        lines.append("  " + describe_pattern(name, pattern.kind, pattern.spec))
    lines.append(f"  fires when: {_condition(rule.condition)}")
    if r.conclude:
        lines.append(f"  and then concludes the signal '{r.conclude}' for other rules")
    if r.thresholds:
        lines += ["", "Where the numbers come from:", "  " + r.thresholds.strip()]
    lines += ["", "Rests on:"]
    for g in r.guidance:
        lines.append(f"  {g.document}, {g.section}:")
        lines.append(f"    \u201c{g.passage.strip()}\u201d")
    lines += ["", "Recommended actions:"] + [f"  - {a}" for a in r.actions]
    lines += ["", "Could also be explained by:"] + [f"  - {f}" for f in r.falsepositives]
    lines += ["", f"Message: {r.message}"]
    return "\n".join(lines)


def _test(value) -> str:
    if isinstance(value, list):
        return "in " + ", ".join(map(str, value))
    if hasattr(value, "model_dump"):
        parts = {k: v for k, v in value.model_dump(by_alias=True).items() if v is not None}
        return " and ".join(f"{k} {v}" for k, v in parts.items())
    return f"= {value}"


def _condition(node) -> str:
    if node.op == "ref":
        return node.name
    if node.op == "not":
        return f"not {_condition(node.children[0])}"
    joined = f" {'and' if node.op == 'all' else 'or'} ".join(_condition(c) for c in node.children)
    within = f" (within {node.within} days of each other)" if node.within else ""
    return f"({joined}){within}"
