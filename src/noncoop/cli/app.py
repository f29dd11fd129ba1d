"""The `noncoop` command line: the app, its command groups and the commands in the order --help
lists them. Commands parse options and call the library; they hold no logic of their own.
"""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from noncoop import __version__
from noncoop.cli import alerts, demo, ingest, reports, rules, scan
from noncoop.cli.options import console, err_console
from noncoop.ingest.workers import every_core
from noncoop.store.health import WorkspaceDamaged

DEBUG = {"on": bool(os.environ.get("NONCOOP_DEBUG"))}
INTERNAL_ERROR = 70  # EX_SOFTWARE: noncoop itself failed, not the input or the options

app = typer.Typer(
    help="Find multi-agency patterns of family non-cooperation and explain them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(rules.rules_app, name="rules")
app.add_typer(alerts.alerts_app, name="alerts")
for command in (
    ingest.ingest,
    ingest.quarantine,
    ingest.repair,
    demo.synth,
    scan.scan,
    demo.demo,
    alerts.audit,
    reports.chronology,
    reports.report,
    reports.timeline,
):
    app.command()(command)


def _version(value: bool) -> None:
    if value:
        console.print(f"noncoop {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback if noncoop fails unexpectedly."),
    ] = False,
) -> None:
    """noncoop turns agency contact logs into explained alerts for strategy meetings."""
    DEBUG["on"] = DEBUG["on"] or debug


def run() -> None:
    """The `noncoop` command: an unexpected failure is reported in one line, without a
    traceback (whose values could carry personal data), unless --debug asks for it."""
    every_core()  # this entry is guarded, as worker processes need (ingest/workers.py)
    # What the imports made lives as long as the process: kept out of the cycle collector's
    # walks, the last of them at exit above all (0.1-0.2 CPU s of a nightly scan, measured).
    gc.freeze()
    try:
        app()
    except Exception as exc:
        if DEBUG["on"]:
            raise
        reason = explained(exc)
        if reason:
            err_console.print(f"[red]error[/red] {reason}")
            sys.exit(1)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "noncoop" in f.filename]
        where = f" in {_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        err_console.print(
            f"[red]error[/red] noncoop stopped on an unexpected error ({type(exc).__name__}"
            f"{where}). Run it again with --debug to see the traceback, and report it."
        )
        sys.exit(INTERNAL_ERROR)


def explained(exc: Exception) -> str | None:
    """A failure of the machine or the workspace, not of noncoop, in one line that says what to
    do (None: not one of these). The run could not complete: exit 1."""
    if isinstance(exc, WorkspaceDamaged):
        return str(exc)
    text = str(exc)
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(
        w in text for w in ("No space left", "database or disk is full")
    )
    if full:
        return (
            "the disk holding the workspace is full; the store is as it was before this run "
            "(nothing half-written is kept). Free some space and run again"
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        where = f" {exc.filename}" if exc.filename else ""
        return (
            f"cannot write{where}: {os.strerror(exc.errno)}. This command writes to the "
            "workspace; the listing commands (alerts, audit, quarantine, chronology, report) "
            "work on a read-only one"
        )
    if isinstance(exc, (IsADirectoryError, NotADirectoryError, FileNotFoundError)) and exc.filename:
        # A file named on the command line (--json, --csv, --out) in a folder not there, or a
        # folder given for a file: the user's path, not a fault of noncoop's.
        return (
            f"cannot use {exc.filename}: {os.strerror(exc.errno)}. Give the path of a file in a "
            "folder that exists"
        )
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in text:
        return "cannot write to the alert store: the workspace is read-only"
    if isinstance(exc, sqlite3.DatabaseError):
        return (
            f"the alert store cannot be read ({text}). Restore alerts.sqlite from a backup, or "
            "run `noncoop repair SOURCES -w WORKSPACE --new-alert-store` to keep it aside and "
            "start a new one"
        )
    return None


def _short(filename: str) -> str:
    """A source path from the package on, not the machine's folders."""
    parts = Path(filename).parts
    return "/".join(parts[parts.index("noncoop") :]) if "noncoop" in parts else Path(filename).name
