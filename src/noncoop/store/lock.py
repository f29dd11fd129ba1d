"""One writer per workspace: a lock file holding the pid of the run that owns it.

The kernel lock (flock) is what excludes a second run, so a run killed with SIGKILL never leaves
the workspace locked; the pid and start time written inside say who holds it, and a file still
naming a dead run is reported as a stale lock taken over.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path


class WorkspaceBusy(RuntimeError):
    """Another run holds the workspace."""


class WorkspaceLock:
    """Context manager; `took_over` says whether a dead run's lock was taken over."""

    def __init__(self, root: Path):
        self.path = Path(root) / "noncoop.store.lock"
        self.took_over: str | None = None
        self._fd: int | None = None

    def __enter__(self) -> WorkspaceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise WorkspaceBusy(
                f"another noncoop run is using the workspace {self.path.parent} "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
                f"{holder.get('started_at', '?')}); this run was not started. Try again when it "
                "has finished."
            ) from None
        previous = _holder(fd)
        if previous:
            self.took_over = (
                f"took over a stale lock left by pid {previous.get('pid', '?')} (started "
                f"{previous.get('started_at', '?')}), which is no longer running"
            )
        mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(mine).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._fd is not None
        # Emptied, not deleted: a waiting run may already hold this file open.
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _holder(fd: int) -> dict:
    raw = os.pread(fd, 4096, 0)
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {"pid": "unknown"}
