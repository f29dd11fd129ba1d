"""Inline rule tests: each case's events go through the same evaluation as a nightly scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from noncoop.engine.alert import Window
from noncoop.engine.evaluate import evaluate
from noncoop.engine.rules.model import RuleTest
from noncoop.engine.rules.pack import LoadedRule, RulePack
from noncoop.events import conform
from noncoop.vocab import ROLES

CHILD, SIBLING, ADULT, HOUSEHOLD = "C1", "C2", "A1", "H1"


@dataclass
class CaseResult:
    rule_id: str
    name: str
    expect: str
    fired: bool
    missing_evidence: list[str]
    explanation: str

    @property
    def passed(self) -> bool:
        return (self.fired == (self.expect == "alert")) and not self.missing_evidence


def case_events(case: RuleTest) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The case's events, subjects (the child C1, a brother or sister C2 and an adult A1, in one
    household) and feed coverage: a test judges C1, so feeds are taken to run to as_of unless
    it says not."""
    as_of = pd.Timestamp(case.as_of, tz="UTC")
    rows = []
    for i, e in enumerate(case.events):
        rows.append(
            {
                "event_id": e.id or f"e{i + 1}",
                "subject_id": ADULT if e.adult else SIBLING if e.sibling else CHILD,
                "subject_role": "adult" if e.adult else "child",
                "household_id": HOUSEHOLD,
                "agency": e.agency,
                "service": e.service,
                "event_type": e.type,
                "occurred_at": as_of + pd.Timedelta(days=e.day, seconds=i),
                "chain_id": e.chain,
                "child_seen": e.seen,
                "child_seen_alone": e.alone,
                "hostility_level": e.level,
                "sessions_possible": e.possible,
                "sessions_absent": e.absent,
                "detail": e.detail,
                "source": e.source or f"{e.agency}_test",
                "source_file": "inline-test",
                "source_line": i + 1,
            }
        )
    born = (as_of - pd.Timedelta(days=round(case.age * 365.25))).date()
    subjects = pd.DataFrame(
        {
            "subject_id": [CHILD, SIBLING, ADULT],
            "role": pd.Categorical(["child", "child", "adult"], categories=ROLES),
            "household_id": [HOUSEHOLD] * 3,
            "date_of_birth": [born, born, None],
        }
    )
    events = conform(pd.DataFrame(rows)) if rows else conform(pd.DataFrame(columns=["event_id"]))
    start = int((as_of - pd.Timedelta(days=730)).timestamp())
    coverage = {
        str(source): (
            start,
            int((as_of + pd.Timedelta(days=case.feeds.get(str(source), 0))).timestamp()),
        )
        for source in events["source"].astype(str).unique()
    }
    return events, subjects, coverage


def needed(rule: LoadedRule, pack: RulePack) -> RulePack:
    """The rule and every rule whose concluded signal it needs, directly or not."""
    by_signal = {r.rule.conclude: r for r in pack.rules if r.rule.conclude}
    chosen = {rule.id: rule}
    todo = [rule]
    while todo:
        current = todo.pop()
        for name in current.condition.refs():
            source = by_signal.get(name)
            if source and source.id not in chosen:
                chosen[source.id] = source
                todo.append(source)
    return RulePack([r for r in pack.rules if r.id in chosen])


def _held(case: RuleTest) -> Window:
    """The days an episode test expects, as ISO days."""
    first, last = (case.as_of + timedelta(days=d) for d in case.episode)
    return Window(first.isoformat(), last.isoformat())


def run_rule_tests(
    pack: RulePack, engine: str = "python", only: set[str] | None = None
) -> list[CaseResult]:
    """Every inline test of every rule (or of the rules named in `only`)."""
    results = []
    for rule in pack.rules:
        if only and rule.id not in only:
            continue
        sub = needed(rule, pack)
        for case in rule.rule.tests:
            events, subjects, coverage = case_events(case)
            history = case.episode is not None
            run = evaluate(events, subjects, sub, case.as_of, engine, coverage, history=history)
            alerts = [a for a in run.alerts if a.rule_id == rule.id and a.subject_id == CHILD]
            if history:
                alerts = [a for a in alerts if a.held == _held(case)]
            cited = {e.event_id for a in alerts for e in a.evidence}
            missing = (
                [i for i in case.evidence if i not in cited] if alerts else list(case.evidence)
            )
            results.append(
                CaseResult(
                    rule.id,
                    case.name,
                    case.expect,
                    bool(alerts),
                    missing,
                    alerts[0].explanation if alerts else "",
                )
            )
    return results
