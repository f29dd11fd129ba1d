"""The nightly scan: ingest what is new, evaluate the rule pack as of a date, record the alerts.

`scan` is what `noncoop scan` runs; `scan_json` is the alert JSON contract of DESIGN.md. A scan
holds the workspace lock throughout and records its alerts and its audit entry in one
transaction.
"""

from __future__ import annotations

import contextlib
import gc
import getpass
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import orjson
import pandas as pd
import pyarrow as pa

from noncoop import heap, start_up
from noncoop.alerts.model import StoredAlert, StoreUpdate
from noncoop.alerts.store import AlertStore, ReadAhead
from noncoop.asof import DAY, as_of_day, calendar, end_second, start_second
from noncoop.engine.alert import LAID_OUT
from noncoop.engine.decide import resolve_engine
from noncoop.engine.evaluate import Evaluation
from noncoop.engine.horizon import Since
from noncoop.engine.recall import Recall
from noncoop.engine.rules.load import load_rules
from noncoop.engine.rules.pack import RulePack
from noncoop.ingest.counts import IngestReport, Progress
from noncoop.ingest.run import ingest
from noncoop.scan.executors import EXECUTORS, Job, Where, run_local
from noncoop.store.lock import WorkspaceLock
from noncoop.store.workspace import Workspace

log = logging.getLogger("noncoop.scan")


def shipped_rules() -> Path:
    """The rule pack that ships with noncoop."""
    return Path(str(resources.files("noncoop.rulepack")))


@dataclass
class ScanResult:
    """What a scan did: its ingest, its evaluation and what it changed in the alert store."""

    as_of: pd.Timestamp
    pack: RulePack
    ingest: IngestReport
    evaluation: Evaluation
    engine: str
    timings: dict[str, float] = field(default_factory=dict)
    executor: str = "local"  # where the evaluation ran (after any fallback)
    store: StoreUpdate = field(default_factory=lambda: StoreUpdate([], []))
    lock_note: str | None = None
    warnings: list[str] = field(default_factory=list)  # what the run did not do as asked
    # The timeline's keeping, under way: called, it waits for it and gives the seconds waited.
    kept: Callable[[], float] | None = None


def scan(
    sources_dir: Path,
    workspace: Workspace,
    rules: list[Path] | None = None,
    as_of: str | None = None,
    engine: str = "auto",
    progress: Progress | None = None,
    actor: str | None = None,
    history_from: str | None = None,
    accept_withdrawals: bool = False,
    where: Where | None = None,
) -> ScanResult:
    """Ingest, evaluate every enabled rule for every child as of the date (default today), and
    record the alerts in the workspace's alert store.

    The first scan of a workspace evaluates the whole history: alerts that ended before the date
    are recorded as resolved on the day they stopped holding (those resolved before
    `history_from` left out), as nightly scans would have recorded them."""
    began = time.perf_counter()
    day = as_of_day(as_of)
    pack = load_rules(rules or [shipped_rules()]).enabled()
    where = where or Where()
    engine, engine_note = _engine_for(engine, where.executor)
    rules_s = time.perf_counter() - began
    # The store's phase: opening it and reading ahead, then recording, closing and logging.
    clock = time.perf_counter()
    store = AlertStore(workspace.alerts_path)
    with WorkspaceLock(workspace.root) as lock, collector_paused(), ExitStack() as stack:
        stack.enter_context(switching_often())
        if lock.took_over:
            log.warning(lock.took_over)
        iso = f"{day:%Y-%m-%d}"
        store.check_as_of(iso)
        last = store.last_as_of()
        first = last is None
        # A night's stored alerts are read while it evaluates (a first scan reads none).
        ahead = None if first else stack.enter_context(store.reading_ahead(iso))
        since = None if first else _since(store, last)
        opened = time.perf_counter() - clock
        # A first scan records the alerts that ended earlier too; a later one needs only those
        # still holding: the same content a first scan as of tonight would store, so back-filled
        # and nightly stores agree.
        result = _evaluate(
            sources_dir,
            workspace,
            pack,
            day,
            engine,
            progress,
            first,
            accept_withdrawals,
            where,
            since,
            ahead.recalled if ahead is not None else None,
        )
        # The timeline is kept while the alerts are stored, and is whole before the lock goes.
        stack.callback(_kept, result)
        result.lock_note = lock.took_over
        result.warnings += engine_note
        # Every second of the run in a named phase: process start (imports) and the rules too.
        result.timings = {"start": start_up(began), "rules": rules_s, **result.timings}
        clock = time.perf_counter()
        _record(store, result, iso, first, history_from, actor, sources_dir, workspace, ahead)
        result.timings["store"] = opened + time.perf_counter() - clock
        clock = time.perf_counter()
    _log_changes(result)
    # Closing it too, less the wait for the timeline's keeping (a phase of its own).
    waited = result.timings.get("timeline kept", 0.0)
    result.timings["store"] += time.perf_counter() - clock - waited
    return result


def _record(
    store: AlertStore,
    result: ScanResult,
    iso: str,
    first: bool,
    history_from: str | None,
    actor: str | None,
    sources_dir: Path,
    workspace: Workspace,
    ahead: ReadAhead | None,
) -> None:
    """The evaluation's alerts recorded in the store: a first scan's history, or a night's."""
    versions = {r.id: r.digest[:12] for r in result.pack.rules}
    run = {**_run_details(result, sources_dir, workspace), "rules": versions}
    alerts, actor = result.evaluation.alerts, actor or getpass.getuser()
    folded = [*result.evaluation.folded, *result.evaluation.folded_recalled]
    if first:
        result.store = store.record_first_scan(
            alerts, versions, iso, history_from, run, actor, folded
        )
        return
    result.store = store.record_scan(alerts, versions, iso, run, actor, folded, ahead)
    if history_from is not None:
        result.warnings.append(
            f"--history-from {history_from} ignored: the history is recorded by a "
            "workspace's first scan only (back-fill into a new workspace to change it)"
        )


def _engine_for(asked: str, executor: str) -> tuple[str, list[str]]:
    """The decision engine: shards decide with the python engine (durable_rules keeps memory
    per session, which long-lived shard workers would pile up); the decisions are the same, as
    the tests hold both engines to."""
    if executor == "local":
        return resolve_engine(asked), []
    if asked == "durable":
        return "python", [f"--engine durable ignored: {executor} shards decide with python"]
    return "python", []


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a scan runs: it walked every object made so far each
    time a few hundred more were made, a fifth of the time spent explaining and storing 13,000
    alerts at 100k children (a second a night). The scan collects by hand where it hands memory
    back, after the ingest."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# How often the scan's threads hand the interpreter on to one another, in seconds.
_SWITCH_S = 0.001


@contextlib.contextmanager
def switching_often() -> Iterator[None]:
    """The interpreter handed on between threads every millisecond while a scan runs, rather
    than every 5 (Python's default). A thread working out patterns lets go of the interpreter
    for each numpy step and must have it back before the next, while the store's read-ahead
    runs Python beside it: at each step it waited up to the whole interval. Paired nights at
    100k children, 16 pairs: faster in 13, median wall 0.05-0.2 s less, no more CPU time."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_S)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _evaluate(
    sources_dir: Path,
    workspace: Workspace,
    pack: RulePack,
    day: pd.Timestamp,
    engine: str,
    progress: Progress | None,
    ended: bool,
    accept_withdrawals: bool,
    where: Where,
    since: Since | None,
    recall: Recall | None = None,
) -> ScanResult:
    clock = time.perf_counter()
    report = ingest(sources_dir, workspace, progress, accept_withdrawals)
    _hand_back_memory()
    ingest_s = time.perf_counter() - clock
    # Shard workers explain every alert: the store's rows stay in this process.
    local = recall if where.executor == "local" else None
    done = EXECUTORS[where.executor](_job(workspace, pack, day, engine, ended, where, since, local))
    heap.remember(workspace.root, done.made)
    timings = {"ingest": ingest_s, **done.timings}
    result = ScanResult(day, pack, report, done.evaluation, done.engine, timings, done.executor)
    result.warnings += done.warnings
    result.kept = done.kept
    return result


def _since(store: AlertStore, last: str) -> Since:
    """What the store says of the episodes a night tells: when each rule's live alerts began,
    and the first night after the last scan, `last` (a night's patterns read from there:
    horizon.py)."""
    day = lambda iso: start_second(iso) // DAY  # noqa: E731
    live = {rule_id: day(first) for rule_id, first in store.live_since().items()}
    return Since(live, day(last) + 1)


def _kept(result: ScanResult) -> None:
    """The seconds waited for the timeline's keeping, once the alerts are stored."""
    if result.kept is not None:
        result.timings["timeline kept"] = result.kept()


def _job(
    workspace: Workspace,
    pack: RulePack,
    day: pd.Timestamp,
    engine: str,
    ended: bool,
    where: Where | None = None,
    since: Since | None = None,
    recall: Recall | None = None,
) -> Job:
    # Days are the region's calendar days, as its sources.yaml names them.
    with calendar(workspace.timezone()):
        coverage = declared_coverage(workspace.declared_coverage(), day)
    return Job(workspace, pack, day, engine, coverage, ended, where or Where(), since, recall)


def _hand_back_memory() -> None:
    """The ingest's working memory back to the system before the evaluation needs its own:
    cycles collected, Arrow's pool emptied, and the C heap's free pages returned (glibc; nothing
    elsewhere), which it would otherwise keep through the evaluation, adding to its peak. With
    the collector paused since the scan began, everything the ingest made is in the youngest
    generation: only that is walked, not the hundreds of thousands of objects the imports made
    (a full collection took 0.05 s of every night, a twentieth of one at 10,000 children)."""
    gc.collect(0)
    pa.default_memory_pool().release_unused()
    heap.hand_back()  # and the heap warmed for the evaluation, to it


def history(
    workspace: Workspace, pack: RulePack, as_of: str | None = None, engine: str = "auto"
) -> Evaluation:
    """Every episode the pack finds in a workspace's stored events up to a date (default today),
    explained; the alert store is not read or written."""
    day = as_of_day(as_of)
    done = run_local(_job(workspace, pack, day, resolve_engine(engine), True))
    if done.kept is not None:
        done.kept()
    return done.evaluation


def _run_details(result: ScanResult, sources_dir: Path, workspace: Workspace) -> dict:
    """What the audit keeps of a run: inputs with their hashes, the rule pack, the counts."""
    files = workspace.manifest().files
    return {
        "run_id": result.ingest.run_id,
        "sources_dir": str(Path(sources_dir).resolve()),
        "sources": [{"source": f.source, "file": f.file, "sha256": f.sha256} for f in files],
        "rule_pack_sha256": result.pack.digest,
        "engine": result.engine,
        "executor": result.executor,
        "events": result.evaluation.events,
        "ingest": {k: v for k, v in result.ingest.to_json().items() if k != "by_source"},
    }


def _log_changes(result: ScanResult) -> None:
    """Ids only: the log never carries names or free text."""
    update = result.store
    for alert in update.alerts:
        if alert.status != "ongoing":
            log.info(
                "alert %s %s rule=%s subject=%s",
                alert.alert_id,
                alert.status,
                alert.rule_id,
                alert.subject_id,
            )
    for alert_id in update.resolved:
        log.info("alert %s resolved", alert_id)
    log.info(
        "scan as of %s: %s; %d rows quarantined",
        f"{result.as_of:%Y-%m-%d}",
        update.summary(),
        result.ingest.total.rows_quarantined,
    )


def declared_coverage(
    periods: dict[str, tuple[str, str | None]], as_of: pd.Timestamp
) -> dict[str, tuple[int, int]]:
    """Declared feed periods in timeline seconds; an open end runs to the close of the as-of day."""
    return {
        name: (start_second(start), end_second(end or as_of) - 1)
        for name, (start, end) in periods.items()
    }


def scan_json(result: ScanResult, laid_out: bool = False) -> dict:
    """The alert JSON contract, plus run details (engine, timings, rule pack hash). For a file
    indented by two spaces (`laid_out`), an alert taken back from the store gives its evidence
    and related alerts as the stored text, laid out where the file holds them."""
    ingest_block = result.ingest.to_json()
    alerts = (*result.store.alerts, *result.store.history)
    return {
        "as_of": result.as_of.strftime("%Y-%m-%d"),
        "rules": len(result.pack.rules),
        "events": result.evaluation.events,
        "ingest": ingest_block,
        "alerts": [a.to_json(*_laid_out(a) if laid_out else ()) for a in alerts],
        "resolved": result.store.resolved,
        "lifecycle": result.store.counts,
        "engine": result.engine,
        "executor": result.executor,
        "rule_pack_sha256": result.pack.digest,
        "insufficient_data": result.evaluation.insufficient,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }


def _laid_out(alert: StoredAlert) -> tuple[orjson.Fragment | None, orjson.Fragment | None]:
    """A stored alert's evidence and related alerts as its stored text, where a scan's file
    holds them (in an alert of its "alerts" list)."""
    return alert.laid_out("evidence", LAID_OUT), alert.laid_out("related", LAID_OUT)
