"""Command line: parses options and calls library functions; no logic of its own."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from noncoop import __version__
from noncoop.pipeline import ingest as run_ingest
from noncoop.pipeline import source_bytes
from noncoop.synth import SynthOptions, synthesise
from noncoop.terminal import byte_progress, ingest_table, print_config_errors, quarantine_table
from noncoop.workspace import DEFAULT_WORKSPACE, Workspace
from noncoop.yamlspec import ConfigInvalid

app = typer.Typer(
    help="Find multi-agency patterns of family non-cooperation and explain them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="Workspace folder holding the event store.")
]


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


@app.command()
def ingest(
    sources_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder with sources.yaml and the exports.", exists=True, file_okay=False
        ),
    ],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the counts as JSON.")
    ] = None,
) -> None:
    """Read every new or changed export into the workspace; bad rows go to the quarantine."""
    report = _ingest(sources_dir, Workspace(workspace))
    console.print(ingest_table(report))
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}")
    if report.total.rows_quarantined or report.people.rows_quarantined:
        console.print(f"Quarantined rows are kept: [bold]noncoop quarantine -w {workspace}[/bold]")
    if json_out:
        json_out.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")


@app.command()
def quarantine(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Show rejected rows by source and reason, with the file and line of the first few."""
    console.print(quarantine_table(Workspace(workspace).load_quarantine()))


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sources folder into.")],
    children: Annotated[int, typer.Option(min=1, help="Number of children.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    as_of: Annotated[str, typer.Option(help="Last day of the synthetic records.")] = "2026-03-31",
    months: Annotated[int, typer.Option(min=3, max=60, help="Months of history.")] = 24,
) -> None:
    """Write a synthetic multi-agency region (sources.yaml, exports, people.csv, truth.csv)."""
    options = SynthOptions(children=children, seed=seed, as_of=as_of, months=months)
    with byte_progress(console, children, "synthesising") as advance:
        summary = synthesise(out_dir, options, progress=lambda n: advance("synthesising", n))
    console.print(
        f"Wrote {summary.rows:,} rows for {children:,} children "
        f"({summary.planted:,} planted pattern instances, {summary.malformed:,} malformed rows) "
        f"to {out_dir}"
    )


@app.command()
def demo(
    children: Annotated[int, typer.Option(min=10, help="Number of synthetic children.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Synthesise a small region into a temporary folder, ingest it and show what came in."""
    with tempfile.TemporaryDirectory(prefix="noncoop-demo-") as tmp:
        sources = Path(tmp) / "sources"
        summary = synthesise(sources, SynthOptions(children=children, seed=seed))
        console.print(
            f"Synthesised {children} children: {summary.rows:,} rows in "
            f"{len(summary.files)} exports under {sources}"
        )
        ws = Workspace(Path(tmp) / "workspace")
        report = _ingest(sources, ws)
        console.print(ingest_table(report))
        console.print(quarantine_table(ws.load_quarantine()))


def _ingest(sources_dir: Path, ws: Workspace):
    try:
        total = source_bytes(sources_dir)
        with byte_progress(console, total, "ingesting") as advance:
            return run_ingest(sources_dir, ws, progress=advance)
    except ConfigInvalid as exc:
        print_config_errors(err_console, exc)
        raise typer.Exit(1) from None
