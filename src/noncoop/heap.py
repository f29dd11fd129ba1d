"""The C heap of a noncoop process (glibc; elsewhere nothing here does anything).

Configured once, when noncoop is imported (`configure`). Made ready for a nightly scan while the
process is still starting (`warm`): memory a process touches for the first time costs the system
a fault and a cleared page for every 4 KB, and a night at 100,000 children makes a gigabyte of
fresh arrays (its timeline's columns with the day's records merged in, its selections' masks),
on the cores that should be working out its patterns. The imports leave the second core idle
for half a second: a thread there touches as much heap as the workspace's last scan noted its
timeline took (`remember`, in the workspace's `heap.json`), and hands it to the scan once the
ingest has handed its own memory back (`hand_back`). Paired 100k nights, with and without the
note: faster in 5 of 5 with 0.99 GB noted (median 3.85 to 3.65 s) and in 4 of 4 with 0.74 GB,
the note a scan now leaves (4.19 to 4.00 s, a busier hour); the timeline's phase 0.6-1.0 s to
0.4 s; the same page faults, CPU time and peak memory (the faults are moved to the idle core,
not added). Nothing is warmed without a note, so a workspace's first scan, and every other
command, runs as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import stat
import threading
from pathlib import Path

# glibc's mallopt parameters (malloc.h)
_TRIM_THRESHOLD, _TOP_PAD, _MMAP_THRESHOLD, _MMAP_MAX, _ARENA_MAX = -1, -2, -3, -4, -8
# What a scan writes in its workspace for the next: the bytes its timeline took.
HINT = "heap.json"
# Warmed a piece at a time: each is handed to the scan as soon as it is touched.
_PIECE = 64 << 20
_TOP_PAD_BYTES = 256 << 20


def _libc() -> ctypes.CDLL | None:
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL("libc.so.6")
        if hasattr(libc, "mallopt"):
            return libc
    return None


def _user_tuned() -> bool:
    """The user set glibc's heap by its MALLOC_* variables: noncoop leaves it as they set it."""
    return any(name.startswith("MALLOC_") for name in os.environ)


def configure() -> None:
    """The C heap keeps what a scan frees for its next arrays, unless MALLOC_* variables set it
    otherwise (glibc only). By default glibc maps each array over a few MB afresh and hands it
    back when freed, so every one of the scan's many temporaries of ten million rows faults its
    pages in again: at 100k children a next night spent 1.65 CPU s in the kernel, 1.35-1.43 s
    with large blocks kept (50 MB more at the peak). One arena serves every thread: the threads
    working out a scan's patterns then take the blocks it freed too, where an arena of their own
    mapped its arrays afresh (a next night's patterns at 100k children faulted 0.67-0.71 M pages
    in with an arena per thread, 0.44-0.48 M with one: 1.2-1.4 CPU s in the kernel to 0.7-0.9 s,
    and 0.3 GB less at the peak). The scan still trims the heap itself where it hands memory
    back, after the ingest."""
    libc = _libc()
    if libc is None or _user_tuned():
        return
    libc.mallopt(_MMAP_THRESHOLD, 32 << 20)  # glibc's largest on 64-bit systems
    libc.mallopt(_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(_TOP_PAD, _TOP_PAD_BYTES)
    libc.mallopt(_ARENA_MAX, 1)


class _Warming:
    """Pieces of heap touched in a thread; held until `release`, handed over as touched after."""

    def __init__(self, libc: ctypes.CDLL, pieces: int):
        self.libc, self.lock = libc, threading.Lock()
        self.touched: list[int] = []
        self.released = False
        self.thread = threading.Thread(
            target=self._touch, args=(pieces,), name="noncoop-heap", daemon=True
        )
        self.thread.start()

    def _touch(self, pieces: int) -> None:
        # Taken all at once, so that they lie together at the top of the heap: handed over one
        # after another, they join into one free block the scan's arrays of ten million rows fit.
        taken = [self.libc.malloc(_PIECE) for _ in range(pieces)]
        for piece in taken:
            if piece:
                # Touched outside the interpreter: the imports go on beside it.
                ctypes.memset(piece, 0, _PIECE)
            with self.lock:
                self.touched.append(piece)
                if self.released:
                    self._free()

    def _free(self) -> None:
        for piece in self.touched:
            self.libc.free(piece)
        self.touched.clear()

    def release(self) -> None:
        with self.lock:
            self.released = True
            self._free()


_WARMING: list[_Warming] = []


def warm(workspace: Path) -> None:
    """Start touching as much heap as the last scan of `workspace` noted its timeline took
    (its `heap.json`), at most half the memory the process may still take (the system's, or
    its control group's: a container's); nothing without a note, on a heap the user tuned, or
    where glibc is not the C library."""
    libc = _libc()
    noted = _hinted(workspace / HINT)
    if libc is None or _user_tuned() or noted < _PIECE or _WARMING:
        return
    size = min(noted, _available() // 2)
    if size < _PIECE:
        return
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # Every block from the heap, where the warmed pages are, and none of them handed back to
    # the system when the pieces are freed together at its top.
    libc.mallopt(_MMAP_MAX, 0)
    libc.mallopt(_TRIM_THRESHOLD, max(1 << 30, 2 * size + _TOP_PAD_BYTES))
    _WARMING.append(_Warming(libc, size // _PIECE))


def hand_back() -> None:
    """The heap's free pages back to the system (a scan's ingest's working memory), then the
    warmed heap to the scan: pieces freed before the trim would have gone back with it."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    for warming in _WARMING:
        warming.release()


def remember(workspace: Path, size: int) -> None:
    """Note `size`, the bytes a scan's timeline took, for the next scan of the workspace to
    warm (0: it evaluated elsewhere). A hint only: unwritten, nothing is lost."""
    path = workspace / HINT
    partial = path.with_name(f".{HINT}.partial")
    # Not through a pipe or a link put in its place: either is refused, and the note unwritten.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(OSError):
        with os.fdopen(os.open(partial, flags, 0o644), "w") as note:
            note.write(json.dumps({"timeline_bytes": int(size)}))
        partial.replace(path)


def _hinted(path: Path) -> int:
    """The bytes the note at `path` gives, 0 for anything else. Read only from a regular file,
    opened without waiting (a pipe put in its place must not hold the scan up), and only its
    first bytes."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(handle, "rb") as note:
            if not stat.S_ISREG(os.fstat(note.fileno()).st_mode):
                return 0
            size = json.loads(note.read(_NOTE_BYTES))["timeline_bytes"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return size if isinstance(size, int) and size > 0 else 0


_NOTE_BYTES = 4096


def _available() -> int:
    """The memory this process may still take, in bytes: what the system has available, or
    what its control group's limit leaves (a container's), whichever is less; 0 where neither
    says."""
    known = [room for room in (_system_available(), _group_room()) if room is not None]
    return min(known) if known else 0


def _system_available() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


_GROUPS = Path("/sys/fs/cgroup")
# A limit this high is no limit (control groups version 1 write "no limit" so).
_NO_LIMIT = 1 << 60


def _group_room(groups: Path = _GROUPS, listing: Path = Path("/proc/self/cgroup")) -> int | None:
    """What the limit of the process's memory control group leaves it (None: no limit found).
    The group is named in `listing` (`0::/path` in version 2, `N:...memory...:/path` in
    version 1) and its files are looked for under `groups`, at the group's path or at the root
    (a container sees its own group there)."""
    with contextlib.suppress(OSError, ValueError):
        for line in listing.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "":
                where, names = groups, ("memory.max", "memory.current")
            elif "memory" in controllers.split(","):
                where, names = groups / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes")
            else:
                continue
            for folder in (where / path.lstrip("/"), where):
                room = _room(folder, *names)
                if room is not None:
                    return room
    return None


def _room(folder: Path, limit_name: str, use_name: str) -> int | None:
    limit, use = folder / limit_name, folder / use_name
    if not (limit.is_file() and use.is_file()):
        return None
    text = limit.read_text().strip()
    if text == "max" or int(text) >= _NO_LIMIT:
        return None
    return max(int(text) - int(use.read_text()), 0)
