"""noncoop: explained alerts for multi-agency patterns of family non-cooperation."""

import contextlib
import hashlib
import os
import time
from pathlib import Path

from noncoop import heap


def _began() -> float:
    """When this process began, on `time.perf_counter`'s clock, to the system's clock tick
    (10 ms): the interpreter's own start (0.02 s) is the process's too. Where the system does
    not say (not Linux), or the process is older than its start-up could be, when noncoop was
    imported."""
    imported = time.perf_counter()
    with contextlib.suppress(OSError, ValueError, IndexError, AttributeError):
        with open("/proc/self/stat", encoding="ascii") as stat:
            # After the command's name, in brackets: the 22nd field is the start, in ticks
            # since the system booted.
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        # A process that ran for a minute before it imported noncoop (a notebook, a program
        # using it) was doing its own work: its start-up is from the import.
        if 0 <= age < 60:
            return imported - age
    return imported


_BEGAN = [_began()]


def start_up(now: float) -> float:
    """Seconds from the process's start to `now` the first time it is asked (the interpreter's
    start, the imports, the command line), 0 afterwards: a second scan in the same process has
    no start-up of its own."""
    began = _BEGAN.pop() if _BEGAN else now
    return now - began


__version__ = "0.1.0"

# Where a command keeps its workspace unless told (-w).
DEFAULT_WORKSPACE = Path("noncoop-workspace")


def code_digest(paths: list[Path]) -> str:
    """noncoop's version and the source of these modules as one digest: what was worked out by
    another build of any of them is worked out again."""
    made = hashlib.sha256(__version__.encode())
    for path in paths:
        made.update(path.read_bytes())
    return made.hexdigest()


def _no_huge_pages() -> None:
    """numpy's advice that its large arrays take huge pages off, unless NUMPY_MADVISE_HUGEPAGE
    says otherwise. Where the kernel compacts memory for such advice as it faults pages in
    (transparent_hugepage/defrag `madvise`, the usual default), each fresh array of ten million
    rows stalls on it, and a scan makes hundreds: at 100k children a next night spent 3.1 CPU s
    in the kernel with the advice and 1.65 s without (benchmarks/peer.py, alternating runs).
    Read when numpy is first imported, so set before anything imports it."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def _one_blas_thread() -> None:
    """OpenBLAS (numpy's linear algebra) on one thread, unless OPENBLAS_NUM_THREADS says
    otherwise. noncoop does no floating-point linear algebra, but on import OpenBLAS starts a
    thread per core that spins while it settles: 0.14 CPU s of every run, a tenth of a nightly
    scan at 10,000 children. Read when numpy is first imported, so set before anything does."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _memory_pool() -> None:
    """Arrow's jemalloc pool where the build has it (unless ARROW_DEFAULT_MEMORY_POOL says
    otherwise): a scan allocates and frees columns of ten million rows many times over, and
    jemalloc hands pages back to the system less eagerly than the default pool, a third less
    system time and 10% less peak memory at 100k children (measured, benchmarks/). Files are
    imported with mimalloc instead (ingest/workers.py: import_pool)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError, AttributeError):  # a build without it
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_no_huge_pages()
_one_blas_thread()
heap.configure()
_memory_pool()
