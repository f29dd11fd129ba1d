"""The `noncoop` command line: the app, its command groups and the commands in the order --help
lists them. Commands parse options and call the library; they hold no logic of their own.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from noncoop import __version__
from noncoop.cli import alerts, demo, ingest, reports, rules, scan
from noncoop.cli.options import console, err_console

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
    try:
        app()
    except Exception as exc:
        if DEBUG["on"]:
            raise
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "noncoop" in f.filename]
        where = f" in {_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        err_console.print(
            f"[red]error[/red] noncoop stopped on an unexpected error ({type(exc).__name__}"
            f"{where}). Run it again with --debug to see the traceback, and report it."
        )
        sys.exit(INTERNAL_ERROR)


def _short(filename: str) -> str:
    """A source path from the package on, not the machine's folders."""
    parts = Path(filename).parts
    return "/".join(parts[parts.index("noncoop") :]) if "noncoop" in parts else Path(filename).name
