"""Evaluation of a rule pack as one pure function: events in, explained alerts out.

The same function runs for a whole region, for one shard of children, or for one rule's inline
test, so what is tested is what runs at night.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from noncoop.engine import patterns
from noncoop.engine.decisions import (
    SignalTable,
    decide_durable,
    decide_python,
    durable_available,
)
from noncoop.engine.explain import render_message
from noncoop.engine.rules import LoadedRule, RulePack
from noncoop.engine.selections import selection_mask
from noncoop.engine.timeline import Timeline, build_timeline

LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
ALERT_COLUMNS = (
    "alert_id",
    "rule_id",
    "title",
    "level",
    "tags",
    "subject_id",
    "household_id",
    "window",
    "explanation",
    "evidence",
    "guidance",
    "actions",
    "status",
)


@dataclass
class Evaluation:
    """Alerts plus what a summary needs: timings, signal counts, children not judged."""

    alerts: list[dict]
    timings: dict[str, float] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    insufficient: dict[str, int] = field(default_factory=dict)
    events: int = 0

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.alerts, columns=list(ALERT_COLUMNS))


def resolve_engine(engine: str) -> str:
    """'durable' where durable_rules is installed, else the pure-Python evaluator."""
    if engine == "auto":
        return "durable" if durable_available() else "python"
    if engine == "durable" and not durable_available():
        raise RuntimeError(
            "durable_rules is not installed (it builds on Python 3.12 or older); "
            "use --engine python"
        )
    return engine


def evaluate(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    pack: RulePack,
    as_of: str | pd.Timestamp,
    engine: str = "python",
    coverage: dict[str, tuple[int, int]] | None = None,
) -> Evaluation:
    """Explained alerts for every child, as of the given date."""
    clock = time.perf_counter()
    tl = build_timeline(events, subjects, as_of, coverage)
    result = Evaluation([], events=len(tl.t))
    result.timings["timeline"] = time.perf_counter() - clock
    table = SignalTable(tl.n_subjects, {}, {}, {})
    found: dict[str, pd.DataFrame] = {}
    decide = decide_durable if resolve_engine(engine) == "durable" else decide_python
    pattern_time = decision_time = 0.0
    for stratum in pack.strata():
        clock = time.perf_counter()
        for rule in stratum:
            masks = {name: selection_mask(tl.events, sel) for name, sel in rule.rule.select.items()}
            for pname, pattern in rule.rule.patterns.items():
                out = patterns.evaluate(pattern, masks, tl)
                name = rule.signal(pname)
                found[name] = out.frame.set_index("subject", drop=False)
                result.signals[name] = len(out.frame)
                if out.insufficient:
                    result.insufficient[rule.id] = result.insufficient.get(rule.id, 0) + (
                        out.insufficient
                    )
                subjects_ = out.frame["subject"].to_numpy(np.int64)
                table.add(
                    name,
                    subjects_,
                    out.frame["start"].to_numpy(np.int64),
                    out.frame["end"].to_numpy(np.int64),
                )
        pattern_time += time.perf_counter() - clock
        clock = time.perf_counter()
        decisions = decide(stratum, table)
        decision_time += time.perf_counter() - clock
        by_id = {r.id: r for r in stratum}
        concluded: dict[str, list[dict]] = {}
        for rule_id, child, members in decisions:
            rule = by_id[rule_id]
            alert, window = _alert(rule, child, members, found, tl)
            result.alerts.append(alert)
            if rule.rule.conclude:
                concluded.setdefault(rule.rule.conclude, []).append(
                    {
                        "subject": child,
                        "start": window[0],
                        "end": window[1],
                        "values": {},
                        "evidence": window[2],
                    }
                )
        for name, rows in concluded.items():
            frame = pd.DataFrame(rows, columns=list(patterns.SIGNAL_COLUMNS))
            found[name] = frame.set_index("subject", drop=False)
            table.add(
                name,
                frame["subject"].to_numpy(np.int64),
                frame["start"].to_numpy(np.int64),
                frame["end"].to_numpy(np.int64),
            )
    result.timings["patterns"] = pattern_time
    result.timings["decisions"] = decision_time
    result.alerts.sort(key=lambda a: (LEVEL_ORDER[a["level"]], a["rule_id"], a["subject_id"]))
    return result


def _alert(
    rule: LoadedRule, child: int, members: tuple, found: dict[str, pd.DataFrame], tl: Timeline
) -> tuple[dict, tuple[int, int, list]]:
    rows = [_row(found[name], child) for name in members]
    start = min(int(r["start"]) for r in rows)
    end = max(int(r["end"]) for r in rows)
    positions = sorted({p for r in rows for p in r["evidence"]}, key=lambda p: (tl.t[p], p))
    values = {}
    for pname in rule.rule.patterns:
        row = _row(found.get(rule.signal(pname)), child)
        values[pname] = row["values"] if row is not None else {}
    window = {"start": _day(start), "end": _day(end)}
    subject_id = str(tl.subjects[child])
    explanation = render_message(rule.rule.message, values, window)
    ev = tl.events.iloc[positions]
    evidence = [_evidence(r) for r in ev.itertuples(index=False)]
    household = _first(tl.events["household_id"].iloc[positions[0]]) if positions else None
    digest = hashlib.sha256(f"{rule.id}|{subject_id}|{window['start']}".encode()).hexdigest()
    alert = {
        "alert_id": digest[:16],
        "rule_id": rule.id,
        "title": rule.rule.title,
        "level": rule.rule.level,
        "tags": list(rule.rule.tags),
        "subject_id": subject_id,
        "household_id": household,
        "window": window,
        "explanation": explanation,
        "evidence": evidence,
        "guidance": [
            f"{g.document}, {g.section}: \u201c{g.passage.strip()}\u201d"
            for g in rule.rule.guidance
        ],
        "actions": list(rule.rule.actions),
        "status": "new",
    }
    return alert, (start, end, positions)


def _row(signals: pd.DataFrame | None, child: int) -> dict | None:
    """A child's signal from a pattern's signals (indexed by child), or None."""
    if signals is None or child not in signals.index:
        return None
    return signals.loc[child].to_dict()


def _day(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s").strftime("%Y-%m-%d")


def _first(value):
    return None if value is None or value is pd.NA or value != value else str(value)


def _evidence(row) -> dict:
    at = row.occurred_at
    stamp = (
        at.strftime("%Y-%m-%d")
        if (at.hour, at.minute, at.second) == (0, 0, 0)
        else (at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    item = {
        "event_id": str(row.event_id),
        "agency": _first(row.agency),
        "service": _first(row.service),
        "event_type": str(row.event_type),
        "occurred_at": stamp,
        "source": str(row.source),
        "source_file": str(row.source_file),
        "source_line": int(row.source_line),
    }
    if _first(row.via_subject_id):
        item["via_subject_id"] = str(row.via_subject_id)
    if _first(row.detail):
        item["detail"] = str(row.detail)
    return item
