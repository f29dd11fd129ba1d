"""`python -m noncoop`, and the `noncoop` command: the command line."""

import atexit
import contextlib
import gc
import os
import sys
import threading
from pathlib import Path


def main() -> None:
    """Import the command line with the cycle collector off, then run it. The imports make a
    few hundred thousand objects that live as long as the process: the collector walked them
    over and over while they were made (0.03-0.04 CPU s of every run, measured), and `run`
    then keeps them out of its walks for good. A scan's heap is warmed beside the imports."""
    scanned = scanned_workspace(sys.argv[1:])
    if scanned is not None:
        from noncoop import heap

        heap.warm(scanned)
    gc.disable()
    try:
        from noncoop.cli.app import run
    finally:
        gc.enable()
    try:
        run()
    except SystemExit as done:
        leave(done.code)
    leave(0)


def scanned_workspace(args: list[str]) -> Path | None:
    """The workspace a `scan` command line names (-w, --workspace, or the default), read
    before the command line is imported to parse it, so that its heap is warmed while it is
    (noncoop/heap.py); None for any other command. Only a hint is read from it: a line read
    amiss here costs the warming, never the scan."""
    words = [a for a in args if a not in _GLOBAL_FLAGS]
    if not words or words[0] != "scan" or "--help" in words:
        return None
    for i, word in enumerate(words[1:], start=1):
        if word == "--":
            break
        if word in ("-w", "--workspace"):
            return Path(words[i + 1]) if i + 1 < len(words) else None
        for prefix in ("--workspace=", "-w"):
            if word.startswith(prefix) and len(word) > len(prefix):
                return Path(word[len(prefix) :])
    from noncoop import DEFAULT_WORKSPACE

    return DEFAULT_WORKSPACE


# Options of the `noncoop` command itself, given before the command's name (cli/app.py).
_GLOBAL_FLAGS = ("--debug",)


def leave(code: object) -> None:
    """End the process as `sys.exit(code)` would, less the interpreter's teardown: everything
    is written and closed by now, exit handlers still run, and what is left is taking apart a
    night's millions of objects one by one for the system to free anyway (0.05-0.12 CPU s,
    measured). Where another thread still runs, the ordinary exit waits for it."""
    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away, a stream already closed: nothing more can be written.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()  # logging's last flush, worker pools' shutdown
    os._exit(status)


if __name__ == "__main__":  # not when a worker process starts from this module (ingest)
    main()
