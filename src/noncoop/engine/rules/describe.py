"""A rule in plain English, as `noncoop rules explain` prints it for an analyst or a chair."""

from __future__ import annotations

from noncoop.engine.patterns import KINDS
from noncoop.engine.rules.model import listed
from noncoop.engine.rules.pack import LoadedRule


def describe_pattern(name: str, kind: str, spec) -> str:
    """One pattern in plain English."""
    return KINDS[kind].explain(name, spec)


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
    for name, chosen in r.select.items():
        texts = [_selection(sel) for sel in listed(chosen)]
        either = " or ".join(f"({t})" for t in texts) if len(texts) > 1 else texts[0]
        lines.append(f"  selection {name}: {either}")
    for name, pattern in r.patterns.items():
        lines.append("  " + describe_pattern(name, pattern.kind, pattern.spec))
    lines.append(f"  fires when: {_condition(rule.condition)}")
    lines.append(
        "  an episode: the days on which it fires, each judged on the records up to that day "
        "(every pattern looks back from the day itself); it begins on the first such day, ends "
        "on the last, and cites every record that made it fire on any of them"
    )
    if r.conclude:
        lines.append(f"  and then concludes the signal '{r.conclude}' for other rules")
    for related in r.related:
        if related.type == "supersedes":
            lines.append(
                f"  supersedes {related.id}: on a day both hold for a child, that rule's alert "
                "is listed with this one's instead of raised"
            )
        else:
            lines.append(f"  similar to {related.id}")
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


def _selection(sel) -> str:
    """One filter in words, with its scope when it reads the whole household."""
    tests = ", ".join(f"{k} {_test(v)}" for k, v in sel.tests().items()) or "every event"
    return f"{tests}, on any child's record in the household" if sel.household else tests
