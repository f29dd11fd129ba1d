"""Blocks of one large export mapped on every core, joined in the order they were read.

The school register is nine rows in ten of a region's records, and mapping its blocks (codes,
pupils, dates, absences and week counts) was half an ingest on one core while the other idled.
The file is still read once, in order, by the run's own process, so physical lines are counted
as before; worker processes map the blocks as they come, and the run joins each in turn, doing
in order whatever depends on earlier blocks. What is stored is what one process stores.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from noncoop.sources.csvread import BLOCK_BYTES

log = logging.getLogger("noncoop.ingest")

Item = TypeVar("Item")
Result = TypeVar("Result")

# NONCOOP_WORKERS=1 maps every block in the run's own process; =N uses N worker processes.
WORKERS_ENV = "NONCOOP_WORKERS"
# Starting workers costs a second or so and some CPU: worth it for a file of many blocks only
# (a 165 MB register took as long with two workers as without, a 1.6 GB one a quarter less).
MIN_BYTES = 16 * BLOCK_BYTES
AHEAD = 2  # blocks in flight per worker: enough to keep it busy, few held in memory


# Whether to use every core unless told: the command line turns it on. A program calling the
# library opts in with NONCOOP_WORKERS, its entry guarded by `if __name__ == "__main__"` as a
# spawned worker process imports the program's main module again.
_EVERY_CORE = [False]


# Where the file being imported keeps its events (the store's folder), for workers to write
# their blocks' events there themselves: the run then names the part rather than receiving and
# writing the events again. None: workers hand the events back.
_PARTS: list[Path | None] = [None]


@contextmanager
def writing_to(folder: Path) -> Iterator[None]:
    """While a file is imported: workers write its blocks' events into `folder`."""
    _PARTS.append(folder)
    try:
        yield
    finally:
        _PARTS.pop()


def parts_folder() -> Path | None:
    return _PARTS[-1]


def every_core() -> None:
    """Map large files on every core (NONCOOP_WORKERS may still say otherwise)."""
    _EVERY_CORE[0] = True


def asked_workers() -> int | None:
    """How many workers NONCOOP_WORKERS asks for (None: it does not say)."""
    asked = os.environ.get(WORKERS_ENV, "").strip()
    return int(asked) if asked.isdigit() else None


def worker_count(size: int) -> int:
    """Worker processes for a file of `size` bytes: as NONCOOP_WORKERS says (1 means none),
    else one per core where the command line asked for every core; none for a small file."""
    asked = asked_workers()
    if asked is not None:
        count = asked
    elif _EVERY_CORE[0]:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    else:
        count = 0
    return count if count > 1 and size >= MIN_BYTES else 0


@contextmanager
def import_pool() -> Iterator[None]:
    """Arrow's mimalloc pool while files are imported, then the one used before, and mimalloc's
    free pages back to the system. Reading CSV blocks makes and frees the same buffers over and
    over: the jemalloc pool noncoop evaluates with hands each back to the system at once and
    faults it in again, 7.6 million page faults and 17 CPU s in the kernel for the 100k region's
    ingest, where mimalloc took 2.4 million and 12 s (43 s wall to 39 s). Evaluating, jemalloc
    keeps the lower peak."""
    before = pa.default_memory_pool()
    pool = _take_import_pool()
    try:
        yield
    finally:
        if pool is not None:
            pa.set_memory_pool(before)
            pool.release_unused()


def _take_import_pool() -> pa.MemoryPool | None:
    """Make mimalloc Arrow's pool and return it; None, the pool left as it is, where
    ARROW_DEFAULT_MEMORY_POOL names one or the build has none."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return None
    try:
        pool = pa.mimalloc_memory_pool()
    except NotImplementedError:
        return None
    pa.set_memory_pool(pool)
    return pool


def _started(start: Callable[..., None], *start_args: Any) -> None:
    """A worker process set up: it only imports, so it keeps the import pool for good."""
    _take_import_pool()
    start(*start_args)


def in_workers(
    function: Callable[[Item], Result],
    start: Callable[..., None],
    start_args: tuple[Any, ...],
    items: Iterable[Item],
    workers: int,
) -> Iterator[tuple[Item, Result | None]]:
    """Each item with `function(item)` worked out in one of `workers` processes (each set up
    by `start(*start_args)`), in the items' order; with no workers, each item with None for
    the caller to work out itself. Workers start fresh (spawned): nothing the run holds (open
    files, threads, locks) is shared with them. Where workers cannot start or stop on the way
    (a machine without process semaphores, a worker killed for memory), the items not yet
    worked out come with None: the caller works them out, and the run goes on."""
    items = iter(items)
    if workers < 1:
        yield from ((item, None) for item in items)
        return
    try:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            workers, context, initializer=_started, initargs=(start, *start_args)
        )
    except (OSError, NotImplementedError, ValueError) as exc:
        log.warning("worker processes cannot start (%s): one process", type(exc).__name__)
        yield from ((item, None) for item in items)
        return
    pending: deque[tuple[Item, Future | None]] = deque()
    try:
        for item in items:
            pending.append((item, _submitted(pool, function, item)))
            if len(pending) >= workers * AHEAD:
                yield _taken(pending.popleft())
        while pending:
            yield _taken(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _submitted(pool: ProcessPoolExecutor, function: Callable, item: Any) -> Future | None:
    try:
        return pool.submit(function, item)
    except (BrokenProcessPool, RuntimeError):
        return None  # the pool has stopped: the run works the item out


def _taken(entry: tuple[Item, Future | None]) -> tuple[Item, Any]:
    item, future = entry
    if future is None:
        return item, None
    try:
        return item, future.result()
    except BrokenProcessPool:
        log.warning("a worker process stopped: the rest of the file is mapped in one process")
        return item, None
