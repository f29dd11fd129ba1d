"""Two pieces of pure-Python work at once: one here, one in a forked copy of this process.

Explaining a night's alerts (messages, evidence records) is Python through and through: one core
for 20,000 alerts at 100,000 children while the other waits. A copy of the process made by fork
holds the timeline and signals as they are (nothing of ten million rows copied or pickled) and
does the other piece; only its answer comes back, pickled. Used where that is safe: on Linux
(fork without exec, as its C libraries expect) and with no other thread running, whose locks the
copy could inherit held. Where the copy cannot start, fails or is killed, its piece is done here.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

Mine = TypeVar("Mine")
Theirs = TypeVar("Theirs")


def both(mine: Callable[[], Mine], theirs: Callable[[], Theirs]) -> tuple[Mine, Theirs]:
    """`mine()` here and `theirs()` in a forked copy, at once where that is safe; their
    answers as doing both here gives them."""
    if not forkable():
        return mine(), theirs()
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or processes left for a copy
        os.close(read)
        os.close(write)
        return mine(), theirs()
    if pid == 0:
        _answer(read, write, theirs)
    os.close(write)
    try:
        done = mine()
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
    except BaseException:  # an interrupt too: the copy is not left behind
        _stop(pid, read)
        raise
    _, status = os.waitpid(pid, 0)
    if status == 0 and data:
        # Anything else, a copy killed for memory, say: its piece is done here, as it would be.
        with contextlib.suppress(
            pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError
        ):
            return done, pickle.loads(data)
    return done, theirs()


def forkable() -> bool:
    """Whether a copy may be made here: on Linux, with this the only thread."""
    return sys.platform == "linux" and threading.active_count() == 1


def _answer(read: int, write: int, work: Callable[[], object]) -> None:
    """In the copy: do the work, send the answer, and end at once (nothing of the parent's is
    flushed, closed or written twice)."""
    status = 1
    try:
        os.close(read)
        data = pickle.dumps(work(), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _stop(pid: int, read: int) -> None:
    """The copy's work is not wanted: end it and collect it."""
    with contextlib.suppress(OSError):
        os.close(read)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)
