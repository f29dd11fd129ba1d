"""Where a scan's evaluation runs: `local` (the whole region in this process), `processes`
(shards of it in worker processes, one per core) or `spark` (shards on a Spark cluster; the
`noncoop[spark]` extra). Each runs the engine's steps for shards (engine/shards.py) and gives
the alerts one process gives; only the time and the memory they take differ.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from multiprocessing.connection import Connection

import pandas as pd

from noncoop.asof import DAY, calendar, zone
from noncoop.engine.evaluate import Evaluation, evaluate_timeline, pack_timeline
from noncoop.engine.horizon import Horizon, Since
from noncoop.engine.recall import Recall
from noncoop.engine.rules.pack import RulePack
from noncoop.engine.selections import shared_definitions, shared_records
from noncoop.engine.shards import Plan, Sharding, evaluate_shard, merge, region_part
from noncoop.engine.timeline import Timeline
from noncoop.ingest.workers import asked_workers
from noncoop.scan.kept import Inputs, Keeper, kept, segments_of
from noncoop.scan.masks import KeptMasks
from noncoop.store.workspace import Workspace

log = logging.getLogger("noncoop.scan")


@dataclass(frozen=True)
class SparkOptions:
    """How to reach Spark: its master URL, settings passed through, and where a cluster reads
    the workspace's event parts (default: the workspace's own folder)."""

    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    parts: str | None = None


@dataclass(frozen=True)
class Where:
    """Where the evaluation runs: `local`, `processes` (`shards` of them, default one per
    core) or `spark` (`shards` default: one per 5,000 children)."""

    executor: str = "local"
    shards: int | None = None
    spark: SparkOptions = field(default_factory=SparkOptions)


@dataclass(frozen=True)
class Job:
    """One evaluation of a workspace's stored events: the pack, the date and what to record."""

    workspace: Workspace
    pack: RulePack
    as_of: pd.Timestamp
    engine: str
    coverage: dict[str, tuple[int, int]]
    ended: bool = True
    where: Where = field(default_factory=Where)
    # What the alert store says of the episodes a night tells (None: a first scan's, every one).
    since: Since | None = None
    # The store's live alerts by fingerprint, for those found as they were (engine/recall.py):
    # in this process only (local), never sent to shard workers.
    recall: Recall | None = field(default=None, compare=False)


@dataclass
class Evaluated:
    """An executor's answer: the evaluation, the phases it took, what it did not do as asked."""

    evaluation: Evaluation
    timings: dict[str, float]
    engine: str
    executor: str
    warnings: list[str] = field(default_factory=list)
    work: dict[str, float] = field(default_factory=dict)  # seconds inside shards, summed
    # The timeline's keeping, under way: called, it waits for it and gives the seconds waited.
    kept: Callable[[], float] | None = None
    # Bytes its timeline took in this process, for the next scan to warm (heap.py).
    made: int = 0


def run_local(job: Job) -> Evaluated:
    """The whole region in this process: with the timeline kept by an earlier scan where the
    stored events and all else it is made from are as they were (scan/kept.py)."""
    with calendar(job.workspace.timezone()):
        tl, timings, keep, masks, world = _local_timeline(job)
        clock = time.perf_counter()
        horizon = _horizon(job, tl)
        reach_s = time.perf_counter() - clock
        evaluation = evaluate_timeline(
            tl,
            job.pack,
            job.engine,
            True,
            job.ended,
            timings.pop("timeline"),
            threads(),
            masks,
            horizon,
            job.recall,
            world,
        )
        # How far back the patterns read is a part of working out the episodes.
        evaluation.timings["episodes"] += reach_s
        _log_horizon(evaluation.beyond_horizon)
        if job.recall is not None:
            log.info(
                "%d alerts found as the store holds them, recalled; %d explained",
                evaluation.recalled,
                len(evaluation.alerts) - evaluation.recalled,
            )
        # Kept once the evaluation is done, beside what follows (the alert store's work, on
        # one core): kept beside the evaluation, its thread took CPU from the patterns'
        # threads and kept the explaining from sharing its work with a copy of the process
        # (forked.py: a copy is made only where no other thread runs).
        keeper = keep() if keep is not None else None
    # The phases in the order they ran.
    ran = {"load": timings.pop("load"), "timeline": evaluation.timings.pop("timeline")}
    ran.update(evaluation.timings)
    waited = partial(keeper.wait, masks) if keeper is not None else None
    return Evaluated(evaluation, ran, job.engine, "local", kept=waited, made=_made(tl))


def _made(tl: Timeline) -> int:
    """The bytes a night makes afresh of a timeline like `tl` before its patterns: its columns
    with the day's records merged in, and each row's day. Not what the patterns make after (the
    selections' masks, their working): warmed too, they were no faster at 100k children, and a
    pack of six rules, making less, held 0.17 GB more at its peak."""
    columns = int(tl.events.memory_usage(index=False).sum())
    arrays = tl.t.nbytes + tl.subject.nbytes + tl.rows.nbytes + tl.shared.nbytes
    day = tl.t.nbytes  # each row's day, as wide as its time (Timeline.day)
    return columns + arrays + day


def _horizon(job: Job, tl: Timeline) -> Horizon | None:
    """How far back a night's patterns read, from what the store says and the records merged
    into a kept timeline tonight (`added`: numbered on from those it held), whose days may be
    earlier."""
    if job.since is None or job.ended:
        return None
    since = job.since
    if tl.added is not None and len(tl.added):
        merged = tl.rows >= len(tl.origin)
        since = since.with_records_from(int(tl.t[merged].min()) // DAY)
    return Horizon.of(job.pack.rules, job.pack.superseders(), since)


def _log_horizon(beyond: list[str] | None) -> None:
    if beyond:
        log.info(
            "%s told episodes begun before the night's horizon: the patterns were worked out "
            "again over the whole history",
            ", ".join(beyond),
        )
    elif beyond is not None:
        log.info("the patterns read the records from the night's horizon on")


def _local_timeline(
    job: Job,
) -> tuple[Timeline, dict[str, float], Callable[[], Keeper] | None, KeptMasks, str]:
    """The region's timeline, kept or made, the phases it took, what starts its keeping (None:
    it is kept already), its selections' masks as kept with it, and the world it was made in:
    all it is made from besides the events (people, calendar, the records shared in households,
    the code making it, the feeds' declared periods), as a digest (engine/recall.py)."""
    clock = time.perf_counter()
    workspace = job.workspace
    subjects = workspace.load_subjects()
    selected = [s for r in job.pack.rules for s in r.rule.selections()]
    inputs = Inputs(workspace.subjects_path, zone(), shared_definitions(selected))
    share = partial(shared_records, selections=selected)
    found = kept(workspace, inputs, job.as_of, subjects, job.coverage, share, threads())
    if found is not None:
        log.info("timeline kept from an earlier scan, %d records added", found.added)
        tl, segments, again, masks = found.timeline, found.segments, found.stale, found.masks
        timings = {"load": 0.0, "timeline": time.perf_counter() - clock}
    else:
        events, reader = workspace.load_for_rules(job.as_of)
        loaded = time.perf_counter()
        tl = pack_timeline(events, subjects, job.pack, job.as_of, job.coverage, reader)
        segments, again = segments_of(reader, tl.loaded), len(tl.origin) > 0
        timings = {"load": loaded - clock, "timeline": time.perf_counter() - loaded}
        masks = KeptMasks()
    keep = partial(Keeper, workspace.timeline_dir, inputs, tl, segments) if again else None
    # The periods as declared: an open one ends each night on the night's day.
    declared = sorted(workspace.declared_coverage().items())
    world = f"{inputs.digest}:{json.dumps(declared)}"
    return tl, timings, keep, masks, world


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads() -> int:
    """Threads working out the patterns of an evaluation in this process: one per core, or as
    many as NONCOOP_WORKERS says (1: one core, as for the ingest)."""
    asked = asked_workers()
    return cores() if asked is None else max(asked, 1)


def run_processes(job: Job) -> Evaluated:
    """Shards of whole households in worker processes, one per core unless told. Each loads
    only its own people's events and builds their timeline; the region's facts are joined from
    all of them before any shard is judged. With more shards than cores, the workers take them
    in turn (each timeline built once for the facts, once to judge). Where workers cannot start
    or one stops (killed for memory), the region is evaluated in this process, with a warning."""
    shards = max(job.where.shards or cores(), 1)
    workers = min(shards, cores())
    clock = time.perf_counter()
    try:
        if shards <= workers:
            evaluations, planned = _held(job, shards)
        else:
            evaluations, planned = _in_turns(job, shards, workers)
    except (OSError, EOFError, BrokenProcessPool) as failure:
        log.warning("shard workers stopped (%s): the evaluation runs in one process", failure)
        done = run_local(job)
        done.warnings.append(
            f"the evaluation ran in one process: shard workers stopped ({failure})"
        )
        return done
    except _ShardFailed as failure:
        raise RuntimeError(f"the evaluation stopped: {failure}") from None
    evaluated = time.perf_counter()
    merged = merge(evaluations)
    timings = {
        "shards: load, timelines, facts": planned - clock,
        "shards: evaluation": evaluated - planned,
        "merge": time.perf_counter() - evaluated,
    }
    return Evaluated(merged, timings, job.engine, "processes")


def _held(job: Job, shards: int) -> tuple[list[Evaluation], float]:
    """One worker per shard, each holding its timeline from the facts to the judging."""
    context = multiprocessing.get_context("spawn")
    links: list[Connection] = []
    workers = []
    try:
        for shard in range(shards):
            mine, theirs = context.Pipe()
            worker = context.Process(
                target=_shard_worker, args=(theirs, job, shard, shards), daemon=True
            )
            worker.start()
            theirs.close()
            links.append(mine)
            workers.append(worker)
        parts = [_answer(link) for link in links]
        plan = Plan.of(parts, job.pack, job.as_of, engine=job.engine, ended=job.ended)
        planned = time.perf_counter()
        for link in links:
            link.send(plan)
        evaluations = [_answer(link) for link in links]
    except BaseException:
        for worker in workers:
            worker.kill()
        raise
    finally:
        for link in links:
            link.close()
    for worker in workers:
        worker.join()
    return evaluations, planned


def _in_turns(job: Job, shards: int, workers: int) -> tuple[list[Evaluation], float]:
    """More shards than workers: the workers take them in turn, first for the facts, then to
    judge them with the plan."""
    context = multiprocessing.get_context("spawn")
    every = range(shards)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        facts = partial(region_part, pack=job.pack)
        parts = list(pool.map(_shard_task, repeat(job), every, repeat(shards), repeat(facts)))
        plan = Plan.of(parts, job.pack, job.as_of, engine=job.engine, ended=job.ended)
        planned = time.perf_counter()
        judge = partial(evaluate_shard, plan=plan)
        tasks = pool.map(_shard_task, repeat(job), every, repeat(shards), repeat(judge))
        return list(tasks), planned


class _ShardFailed(RuntimeError):
    """A shard worker raised: its message (ids only) comes back to the run."""


def _answer(link: Connection):
    answer = link.recv()
    if isinstance(answer, _ShardFailed):
        raise answer
    return answer


def _shard_worker(link: Connection, job: Job, shard: int, shards: int) -> None:
    """One shard in a worker process: its timeline and part of the region's facts, then (once
    the plan comes) its alerts."""
    try:
        with calendar(job.workspace.timezone()):
            tl = _shard_loaded(job, shard, shards)
            link.send(region_part(tl, job.pack))
            plan = link.recv()
            link.send(evaluate_shard(tl, plan))
    except Exception as error:
        link.send(_failed(shard, error))
    finally:
        link.close()


def _shard_task(job: Job, shard: int, shards: int, then: Callable[[Timeline], object]):
    """`then` of one shard's timeline, in a worker taking shards in turn."""
    try:
        with calendar(job.workspace.timezone()):
            return then(_shard_loaded(job, shard, shards))
    except Exception as error:
        raise _failed(shard, error) from None


def _failed(shard: int, error: Exception) -> _ShardFailed:
    """What the run is told: the kind of error, never its text, which could quote a record."""
    return _ShardFailed(
        f"shard {shard}: {type(error).__name__} (run with --executor local --debug to see it)"
    )


def _shard_loaded(job: Job, shard: int, shards: int) -> Timeline:
    """A shard's timeline: its people's events only, read from the workspace's parts."""
    subjects = job.workspace.load_subjects()
    sharding = Sharding(subjects, shards)
    events, reader = job.workspace.load_for_rules(
        job.as_of, people=lambda ids: sharding.of(ids) == shard
    )
    mine = sharding.people_of(subjects, shard)
    return pack_timeline(events, mine, job.pack, job.as_of, job.coverage, reader)


def run_spark(job: Job) -> Evaluated:
    """Shards on Spark (the `noncoop[spark]` extra)."""
    from noncoop.scan.spark import run_on_spark  # pyspark is heavy and optional

    return run_on_spark(job)


EXECUTORS: dict[str, Callable[[Job], Evaluated]] = {
    "local": run_local,
    "processes": run_processes,
    "spark": run_spark,
}
