"""The nightly scan: ingest what is new, evaluate the rule pack as of a date, report.

`scan` is what `noncoop scan` runs; `scan_json` is the alert JSON contract of DESIGN.md.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa

from noncoop.engine.evaluate import Evaluation, evaluate, resolve_engine
from noncoop.engine.rules import RulePack, load_rules
from noncoop.pipeline import IngestReport, Progress, ingest
from noncoop.workspace import Workspace


def shipped_rules() -> Path:
    """The rule pack that ships with noncoop."""
    return Path(str(resources.files("noncoop") / "rulepack"))


@dataclass
class ScanResult:
    as_of: pd.Timestamp
    pack: RulePack
    ingest: IngestReport
    evaluation: Evaluation
    engine: str
    timings: dict[str, float] = field(default_factory=dict)


def scan(
    sources_dir: Path,
    workspace: Workspace,
    rules: list[Path] | None = None,
    as_of: str | None = None,
    engine: str = "auto",
    progress: Progress | None = None,
) -> ScanResult:
    """Ingest, then evaluate every enabled rule for every child as of the date (default today)."""
    day = pd.Timestamp(as_of or pd.Timestamp.now(tz="UTC").date()).normalize()
    pack = load_rules(rules or [shipped_rules()]).enabled()
    engine = resolve_engine(engine)
    clock = time.perf_counter()
    report = ingest(sources_dir, workspace, progress)
    ingest_s = time.perf_counter() - clock
    # Hand the ingest's working memory back before the evaluation needs its own.
    gc.collect()
    pa.default_memory_pool().release_unused()
    clock = time.perf_counter()
    events = workspace.load_events(as_of=day)
    subjects = workspace.load_subjects()
    load_s = time.perf_counter() - clock
    coverage = declared_coverage(workspace.declared_coverage(), day)
    evaluation = evaluate(events, subjects, pack, day, engine, coverage)
    timings = {"ingest": ingest_s, "load": load_s, **evaluation.timings}
    return ScanResult(day, pack, report, evaluation, engine, timings)


def declared_coverage(
    periods: dict[str, tuple[str, str | None]], as_of: pd.Timestamp
) -> dict[str, tuple[int, int]]:
    """Declared feed periods in timeline seconds; an open end runs to the close of the as-of day."""
    day = pd.Timedelta(days=1)
    seconds = lambda d: int(pd.Timestamp(d).timestamp())  # noqa: E731
    return {
        name: (seconds(start), seconds(pd.Timestamp(end or as_of).normalize() + day) - 1)
        for name, (start, end) in periods.items()
    }


def scan_json(result: ScanResult) -> dict:
    """The alert JSON contract, plus run details (engine, timings, rule pack hash)."""
    ingest_block = result.ingest.to_json()
    return {
        "as_of": result.as_of.strftime("%Y-%m-%d"),
        "rules": len(result.pack.rules),
        "events": result.evaluation.events,
        "ingest": ingest_block,
        "alerts": result.evaluation.alerts,
        "engine": result.engine,
        "rule_pack_sha256": result.pack.digest,
        "insufficient_data": result.evaluation.insufficient,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }
