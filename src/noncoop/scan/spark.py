"""The spark executor: the workspace's committed event parts read by Spark, shards of whole
households judged by `groupBy(shard).applyInPandas(...)` on its executors, the alerts brought
back to this process, which records them as any scan does.

Two Spark jobs over the same cached events: the first gives each shard's part of the region's
facts (engine/shards.py), joined here into the plan; the second judges each shard with it. A
shard holds about SHARD_CHILDREN children: each group's evaluation has a fixed cost, so a few
large groups beat many small ones. Shards decide with the python engine.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from noncoop.asof import calendar, day_end
from noncoop.engine.evaluate import pack_timeline
from noncoop.engine.shards import Plan, Sharding, evaluate_shard, merge, region_part
from noncoop.events import EVENT_COLUMNS, EVENT_NUMBER, LAZY_COLUMNS, conform
from noncoop.scan.executors import Evaluated, Job

log = logging.getLogger("noncoop.scan")
SHARD_CHILDREN = 5_000
ANSWER = "shard long, data binary"
PEOPLE = "subject_id string, role string, household_id string, date_of_birth date, shard long"
# A people table smaller than this goes to every task whole for the join (no shuffle).
BROADCAST_PEOPLE = 2_000_000
_PANDAS_WARNING = "PySpark does not yet fully support pandas"
# Every canonical column: a shard's records carry their trace (ids, files, lines) with them.
COLUMNS = list(EVENT_COLUMNS)


def run_on_spark(job: Job) -> Evaluated:
    """The job's evaluation on Spark: load, facts, plan, judge, merge, timed by phase. A Spark
    job that fails stops the scan with its first line (Spark's own log holds the rest)."""
    try:
        from pyspark.errors import PySparkException
    except ImportError:
        raise RuntimeError(
            "the spark executor needs pyspark: pip install 'noncoop[spark]' (and Java 17+)"
        ) from None
    try:
        return _on_spark(job)
    except PySparkException as failure:
        first = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
        raise RuntimeError(f"the Spark job failed: {type(failure).__name__}: {first}") from None


def _on_spark(job: Job) -> Evaluated:
    from pyspark.sql import SparkSession, functions

    clock = time.perf_counter()
    spark = _session(SparkSession, job)
    started = time.perf_counter()
    subjects = job.workspace.load_subjects()
    tz = job.workspace.timezone()
    events = _events(spark, functions, job)
    if events is None:  # a store with no records: nothing to judge
        return Evaluated(merge([]), {"spark: start": started - clock}, job.engine, "spark")
    shards = job.where.shards or max(1, math.ceil(_children(subjects) / SHARD_CHILDREN))
    sharding = Sharding(subjects, shards)
    people = _people(spark, subjects, sharding)
    # Shuffled to their shards once and kept: both jobs group by shard without another shuffle.
    keyed = _with_shards(spark, functions, events, subjects, sharding)
    keyed = keyed.repartition(shards, "shard").cache()
    people = people.repartition(shards, "shard").cache()
    work: dict[str, float] = {}
    # The facts need no record's trace (id, file, line): fewer columns to hand over.
    lean = keyed.select("shard", *(c for c in COLUMNS if c not in LAZY_COLUMNS))
    facts = _step(job, tz, ("timelines", "facts"), partial(region_part, pack=job.pack))
    parts = _collected(_by_shard(lean, people).applyInPandas(facts, ANSWER), work)
    plan = Plan.of(parts, job.pack, job.as_of, engine=job.engine, ended=job.ended)
    planned = time.perf_counter()
    judge = partial(evaluate_shard, plan=plan)
    judging = _step(job, tz, ("timelines again", "judging"), judge)
    judged = _collected(_by_shard(keyed, people).applyInPandas(judging, ANSWER), work)
    evaluated = time.perf_counter()
    keyed.unpersist()
    people.unpersist()
    merged = merge(judged)
    timings = {
        "spark: start": started - clock,
        "spark: load, timelines, facts": planned - started,
        "spark: evaluation": evaluated - planned,
        "merge": time.perf_counter() - evaluated,
    }
    log.info(
        "spark: %d shards; seconds inside them, summed: %s",
        len(judged),
        ", ".join(f"{k} {v:.1f}" for k, v in work.items()),
    )
    return Evaluated(merged, timings, job.engine, "spark", work=work)


def _session(builder_of, job: Job):
    """The Spark session: one already running (spark-submit's, a managed cluster's) taken as it
    is, with the settings asked for; else one made with the master asked for, its workers on
    this Python."""
    options = job.where.spark
    # pyspark warns that it does not fully support pandas 3, in this process and in every
    # worker: the columns it hands over here are plain (text, numbers, one binary).
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{_PANDAS_WARNING}:FutureWarning")
    warnings.filterwarnings("ignore", _PANDAS_WARNING, FutureWarning)
    running = builder_of.getActiveSession()
    if running is not None and options.master is None:
        for key, value in options.conf.items():
            running.conf.set(key, value)
        return running
    builder = builder_of.builder.appName("noncoop scan")
    if options.master:
        builder = builder.master(options.master)
    for key, value in options.conf.items():
        builder = builder.config(key, value)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if (options.master or "local").startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no warning about the host name
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _events(spark, functions, job: Job):
    """The committed parts (those the manifest lists, at the location the cluster reads), the
    canonical columns, up to the end of the as-of day. Times go over as microseconds since 1970
    (UTC), which no session time zone changes on the way to pandas."""
    where = (job.where.spark.parts or str(job.workspace.events_dir)).rstrip("/")
    # The workspace checks its own copy first: a part it lists and lacks is named as damage.
    names = [part.name for part in job.workspace.event_parts()]
    if not names:
        return None
    frame = spark.read.parquet(*(f"{where}/{name}" for name in names)).select(*COLUMNS)
    with calendar(job.workspace.timezone()):
        end = int(day_end(job.as_of).value // 1000)  # microseconds
    micros = frame.withColumn("occurred_at", functions.unix_micros("occurred_at"))
    return micros.where(functions.col("occurred_at") < functions.lit(end))


def _children(subjects: pd.DataFrame) -> int:
    return int((subjects["role"].astype(str) == "child").sum())


def _people(spark, subjects: pd.DataFrame, sharding: Sharding):
    """The people table on Spark, each person with their shard: each shard is handed its own
    people with its records, so no task carries the whole table."""
    frame = subjects[["subject_id", "role", "household_id", "date_of_birth"]].astype(object)
    frame = frame.where(frame.notna(), None).assign(shard=sharding.of(subjects["subject_id"]))
    return spark.createDataFrame(frame, PEOPLE)


def _with_shards(spark, functions, events, subjects: pd.DataFrame, sharding: Sharding):
    """Each record with its shard: its person's in the people table, or (for anyone the records
    name that the table does not hold, usually nobody) worked out here."""
    ids = subjects["subject_id"].astype(object)
    known = pd.DataFrame({"subject_id": ids, "shard": sharding.of(ids)}).drop_duplicates()
    mapping = spark.createDataFrame(known, "subject_id string, shard long")
    named = events.select("subject_id").distinct()
    strangers = named.join(mapping, "subject_id", "left_anti").toPandas()["subject_id"]
    if len(strangers):
        extra = pd.DataFrame({"subject_id": strangers, "shard": sharding.of(strangers)})
        mapping = mapping.unionByName(spark.createDataFrame(extra, "subject_id string, shard long"))
    if len(sharding.people) < BROADCAST_PEOPLE:
        mapping = functions.broadcast(mapping)
    return events.join(mapping, "subject_id")


def _by_shard(records, people):
    """Each shard's records with its people, for one call per shard."""
    return records.groupBy("shard").cogroup(people.groupBy("shard"))


def _collected(frame, work: dict[str, float]) -> list:
    """The shards' answers, back in this process, in shard order; the seconds they spent on
    each step added to `work`."""
    rows = frame.toPandas().sort_values("shard")
    answers = []
    for data in rows["data"]:
        value, seconds = pickle.loads(data)
        answers.append(value)
        for step, spent in seconds.items():
            work[step] = work.get(step, 0.0) + spent
    return answers


def _step(job: Job, tz: str, names, then) -> Callable:
    """What runs on each shard's records and people: its timeline, then `then` of it; the
    answer with the seconds each took, under `names`. A shard with people and no records has
    nothing to say."""
    pack, as_of, coverage = job.pack, job.as_of, job.coverage

    def on_shard(records: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
        if not len(records):
            return pd.DataFrame({"shard": pd.Series([], dtype="int64"), "data": []})
        shard, clock = int(records["shard"].iat[0]), time.perf_counter()
        with calendar(tz):
            tl = _timeline(records, people.drop(columns="shard"), pack, as_of, coverage)
            timeline_s = time.perf_counter() - clock
            value = then(tl)
        seconds = {names[0]: timeline_s, names[1]: time.perf_counter() - clock - timeline_s}
        return _answer(shard, value, seconds)

    return on_shard


def _timeline(records, people, pack, as_of, coverage):
    """A shard's timeline from the records Spark hands over: in canonical dtypes (whatever
    order they came in: the engine's order does not depend on it), with the shard's people."""
    given = [c for c in COLUMNS if c in records]
    records["occurred_at"] = pd.to_datetime(records["occurred_at"], unit="us", utc=True)
    events = conform(records, trace=False, only=given)
    if "event_id" not in events:
        # Handed over without ids, for the region's facts: earliest, latest and every day,
        # which no order of records recorded at one moment changes.
        events[EVENT_NUMBER] = np.zeros(len(events), np.uint64)
    return pack_timeline(events, people, pack, as_of, coverage)


def _answer(shard: int, value, seconds: dict[str, float]) -> pd.DataFrame:
    """One shard's answer: one row, its value and seconds pickled (plain columns only, which
    every pyspark and pandas pair hands over alike)."""
    return pd.DataFrame({"shard": [shard], "data": [pickle.dumps((value, seconds))]})
