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

from noncoop.asof import iso_day
from noncoop.engine.decide.conjunctions import (
    SignalTable,
    decide_durable,
    decide_python,
    durable_available,
)
from noncoop.engine.explain import render_message
from noncoop.engine.patterns import KINDS
from noncoop.engine.patterns import base as patterns
from noncoop.engine.rules.pack import LoadedRule, RulePack
from noncoop.engine.selections import selection_mask
from noncoop.engine.timeline import Timeline, build_timeline
from noncoop.vocab import level_rank

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
    found: dict[str, patterns.Signals] = {}
    decide = decide_durable if resolve_engine(engine) == "durable" else decide_python
    pattern_time = decision_time = 0.0
    pending: list[dict] = []
    for stratum in pack.strata():
        clock = time.perf_counter()
        for rule in stratum:
            masks = {name: selection_mask(tl.events, sel) for name, sel in rule.rule.select.items()}
            for pname, pattern in rule.rule.patterns.items():
                out = KINDS[pattern.kind].evaluate(pattern.spec, masks, tl)
                name = rule.signal(pname)
                found[name] = out
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
            support = _support(rule, child, members, found, tl)
            pending.append(support)
            if rule.rule.conclude:
                concluded.setdefault(rule.rule.conclude, []).append(
                    {
                        "subject": child,
                        "start": support["start"],
                        "end": support["end"],
                        "values": None,
                        "evidence": support["positions"],
                    }
                )
        for name, rows in concluded.items():
            frame = pd.DataFrame(rows, columns=list(patterns.SIGNAL_COLUMNS)).sort_values(
                "subject", ignore_index=True
            )
            found[name] = patterns.Signals(frame)
            table.add(
                name,
                frame["subject"].to_numpy(np.int64),
                frame["start"].to_numpy(np.int64),
                frame["end"].to_numpy(np.int64),
            )
    clock = time.perf_counter()
    book = _evidence_book(tl, sorted({p for s in pending for p in s["positions"]}))
    result.alerts = [_alert(s, book, tl) for s in pending]
    result.timings["explanations"] = time.perf_counter() - clock
    result.timings["patterns"] = pattern_time
    result.timings["decisions"] = decision_time
    result.alerts.sort(key=lambda a: (level_rank(a["level"]), a["rule_id"], a["subject_id"]))
    return result


def _support(
    rule: LoadedRule, child: int, members: tuple, found: dict[str, patterns.Signals], tl: Timeline
) -> dict:
    """What supports one decision: its window, evidence positions and message values."""
    rows = [found[name].row(child) for name in members]
    positions = sorted({int(p) for r in rows for p in r["evidence"]}, key=lambda p: (tl.t[p], p))
    values = {}
    for pname in rule.rule.patterns:
        signals = found.get(rule.signal(pname))
        row = signals.row(child) if signals is not None else None
        values[pname] = signals.values(child, np.asarray(row["evidence"])) if row else {}
    return {
        "rule": rule,
        "child": child,
        "positions": positions,
        "values": values,
        "start": min(int(r["start"]) for r in rows),
        "end": max(int(r["end"]) for r in rows),
    }


def _alert(support: dict, book: dict[int, dict], tl: Timeline) -> dict:
    rule, positions = support["rule"], support["positions"]
    window = {"start": iso_day(support["start"]), "end": iso_day(support["end"])}
    subject_id = str(tl.subjects[support["child"]])
    evidence = [book[p] for p in positions]
    household = book[positions[0]]["_household"] if positions else None
    digest = hashlib.sha256(f"{rule.id}|{subject_id}|{window['start']}".encode()).hexdigest()
    return {
        "alert_id": digest[:16],
        "rule_id": rule.id,
        "title": rule.rule.title,
        "level": rule.rule.level,
        "tags": list(rule.rule.tags),
        "subject_id": subject_id,
        "household_id": household,
        "window": window,
        "explanation": render_message(rule.rule.message, support["values"], window),
        "evidence": [{k: v for k, v in e.items() if k != "_household"} for e in evidence],
        "guidance": [
            f"{g.document}, {g.section}: \u201c{g.passage.strip()}\u201d"
            for g in rule.rule.guidance
        ],
        "actions": list(rule.rule.actions),
        "status": "new",
    }


def _evidence_book(tl: Timeline, positions: list[int]) -> dict[int, dict]:
    """Evidence records for every cited timeline row, built in one pass over those rows."""
    if not positions:
        return {}
    ev = tl.events.iloc[positions]
    at = ev["occurred_at"].dt.tz_convert("UTC")
    midnight = (at.dt.hour == 0) & (at.dt.minute == 0) & (at.dt.second == 0)
    stamp = at.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(~midnight, at.dt.strftime("%Y-%m-%d"))
    frame = pd.DataFrame(
        {
            "event_id": ev["event_id"].astype(str).to_numpy(),
            "agency": ev["agency"].astype(object).to_numpy(),
            "service": ev["service"].astype(object).to_numpy(),
            "event_type": ev["event_type"].astype(str).to_numpy(),
            "occurred_at": stamp.to_numpy(),
            "source": ev["source"].astype(str).to_numpy(),
            "source_file": ev["source_file"].astype(str).to_numpy(),
            "source_line": ev["source_line"].astype("int64").to_numpy(),
            "via_subject_id": ev["via_subject_id"].astype(object).to_numpy(),
            "detail": ev["detail"].astype(object).to_numpy(),
            "_household": ev["household_id"].astype(object).to_numpy(),
        }
    )
    frame = frame.astype(object).where(frame.notna(), None)
    book = {}
    for position, record in zip(positions, frame.to_dict("records"), strict=True):
        record["source_line"] = int(record["source_line"])
        for optional in ("via_subject_id", "detail"):
            if record[optional] is None:
                del record[optional]
        book[position] = record
    return book
