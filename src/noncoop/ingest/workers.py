"""Blocks of one large export mapped on every core, joined in the order they were read.

The school register is nine rows in ten of a region's records, and mapping its blocks (codes,
pupils, dates, absences and week counts) was half an ingest on one core while the other idled.
The file is still read once, in order, by the run's own process, so physical lines are counted
as before; worker processes map the blocks as they come, and the run joins each in turn, doing
in order whatever depends on earlier blocks. What is stored is what one process stores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from noncoop.sources.csvread import BLOCK_BYTES

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


def worker_count(size: int) -> int:
    """Worker processes for a file of `size` bytes: as NONCOOP_WORKERS says (1 means none),
    else one per core where the command line asked for every core; none for a small file."""
    asked = os.environ.get(WORKERS_ENV, "").strip()
    if asked.isdigit():
        count = int(asked)
    elif _EVERY_CORE[0]:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    else:
        count = 0
    return count if count > 1 and size >= MIN_BYTES else 0


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
    files, threads, locks) is shared with them."""
    if workers < 1:
        yield from ((item, None) for item in items)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, context, initializer=start, initargs=start_args)
    pending: deque[tuple[Item, Future]] = deque()
    try:
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= workers * AHEAD:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
