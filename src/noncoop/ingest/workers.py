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
import pickle
import tempfile
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
# Files the workers' set-up is read from, removed when they stop (and, where a run was killed,
# by the next run: store/workspace.py).
GIVEN_PREFIX = ".worker-start-"


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


def _started(start: Callable[..., None], given: str) -> None:
    """A worker process set up from the file its arguments were written to: it only imports,
    so it keeps the import pool for good."""
    _take_import_pool()
    with open(given, "rb") as fh:
        start(*pickle.load(fh))


class Workers:
    """Worker processes for one file, each set up once by `start(*start_args)`, mapping its
    items in turn: a register's blocks, then its weekly summaries. They start on first use.

    Workers start fresh (spawned): nothing the run holds (open files, threads, locks) is shared
    with them. The set-up arguments (a register and its crosswalk, tens of megabytes) are
    written to a file each worker reads: handed through the pipe that starts a worker, the run
    waited a second for each worker to import before it could read them."""

    def __init__(self, count: int, start: Callable[..., None], start_args: tuple[Any, ...]):
        self.count, self.start, self.start_args = count, start, start_args
        self._pool: ProcessPoolExecutor | None = None
        self._given: Path | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._given is not None:
            self._given.unlink(missing_ok=True)

    def map(self, function: Callable[[Item], Result], items: Iterable[Item]) -> Iterator:
        """Each item with `function(item)` worked out in a worker, in the items' order; with
        no workers, each item with None for the caller to work out itself. Where workers cannot
        start or stop on the way (a machine without process semaphores, a worker killed for
        memory), the items not yet worked out come with None: the caller works them out, and
        the run goes on."""
        items = iter(items)
        pool = self._running() if self.count >= 1 else None
        if pool is None:
            yield from ((item, None) for item in items)
            return
        pending: deque[tuple[Item, Future | None]] = deque()
        try:
            for item in items:
                pending.append((item, _submitted(pool, function, item)))
                if len(pending) >= self.count * AHEAD:
                    yield _taken(pending.popleft())
        except Exception:
            # The items stopped coming (a file unreadable from some line on): those read before
            # are the run's, as they are in one process.
            while pending:
                yield _taken(pending.popleft())
            raise
        while pending:
            yield _taken(pending.popleft())

    def _running(self) -> ProcessPoolExecutor | None:
        """The pool, started on first use (None where it cannot start). Every worker is started
        at once, not as items come: each takes a second to import, which it spends while the
        run reads the file's first block."""
        if self._pool is None:
            try:
                self._given = _written(self.start_args)
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self.count,
                    context,
                    initializer=_started,
                    initargs=(self.start, str(self._given)),
                )
                for _ in range(self.count):
                    _submitted(self._pool, os.getpid)
            except (OSError, NotImplementedError, ValueError) as exc:
                log.warning("worker processes cannot start (%s): one process", type(exc).__name__)
                self.count = 0
        return self._pool


def _written(start_args: tuple[Any, ...]) -> Path:
    """The arguments pickled to a file only this user can read: beside the events the workers
    write where there is such a folder (it holds the same records), else the system's."""
    folder = parts_folder()
    handle, name = tempfile.mkstemp(prefix=GIVEN_PREFIX, dir=folder)
    with os.fdopen(handle, "wb") as fh:
        pickle.dump(start_args, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(name)


def _submitted(pool: ProcessPoolExecutor, function: Callable, *item: Any) -> Future | None:
    try:
        return pool.submit(function, *item)
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
