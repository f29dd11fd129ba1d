"""noncoop: explained alerts for multi-agency patterns of family non-cooperation."""

import contextlib
import os
import time

_IMPORTED = [time.perf_counter()]


def start_up(now: float) -> float:
    """Seconds from noncoop's import to `now` the first time it is asked (a process's start-up,
    the imports), 0 afterwards: a second scan in the same process has no start-up of its own."""
    imported = _IMPORTED.pop() if _IMPORTED else now
    return now - imported


__version__ = "0.1.0"


def _memory_pool() -> None:
    """Arrow's jemalloc pool where the build has it (unless ARROW_DEFAULT_MEMORY_POOL says
    otherwise): a scan allocates and frees columns of ten million rows many times over, and
    jemalloc hands pages back to the system less eagerly than the default pool, a third less
    system time and 10% less peak memory at 100k children (measured, benchmarks/)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError, AttributeError):  # a build without it
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_memory_pool()
