"""The `noncoop` command line: the app, its command groups and the commands in the order --help
lists them. Commands parse options and call the library; they hold no logic of their own.
"""

from __future__ import annotations

from typing import Annotated

import typer

from noncoop import __version__
from noncoop.cli import alerts, demo, ingest, reports, rules, scan
from noncoop.cli.options import console

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
) -> None:
    """noncoop turns agency contact logs into explained alerts for strategy meetings."""
