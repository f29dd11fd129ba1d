"""`noncoop ingest` and `noncoop quarantine`: reading exports, and the rows kept back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from noncoop.cli.errors import exits
from noncoop.cli.options import AcceptWithdrawalsOpt, SourcesArg, WorkspaceOpt, console
from noncoop.cli.views import byte_progress, ingest_table, quarantine_table
from noncoop.ingest.run import ingest as run_ingest
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.sources.load import load_sources
from noncoop.store.lock import WorkspaceBusy, WorkspaceLock
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace


def ingest(
    sources_dir: SourcesArg,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the counts as JSON.")
    ] = None,
    accept_withdrawals: AcceptWithdrawalsOpt = False,
) -> None:
    """Read every new or changed export into the workspace; bad rows go to the quarantine."""
    report = _ingest(sources_dir, Workspace(workspace), accept_withdrawals)
    console.print(ingest_table(report))
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}")
    if report.total.rows_quarantined or report.people.rows_quarantined:
        console.print(f"Quarantined rows are kept: [bold]noncoop quarantine -w {workspace}[/bold]")
    if json_out:
        json_out.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")


def quarantine(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", help="Write every rejected row (reason, file, line, original row)."),
    ] = None,
) -> None:
    """Show rejected rows by source and reason, with the file and line of the first few."""
    ws = Workspace(workspace)
    rows = ws.load_quarantine()
    if csv_out:
        n = write_csv(csv_out, list(rows.columns), rows.to_dict("records"))
        console.print(f"{n:,} quarantined rows written to {csv_out}")
        return
    console.print(quarantine_table(rows))
    withdrawn = ws.load_withdrawn()
    if len(withdrawn):
        by_file = withdrawn.groupby(withdrawn["source_file"].astype(str)).size()
        console.print(
            f"{len(withdrawn):,} stored event(s) withdrawn because their record is no longer "
            "in the latest export (kept under withdrawn/): "
            + ", ".join(f"{f} {n:,}" for f, n in by_file.items())
        )


def _ingest(sources_dir: Path, ws: Workspace, accept_withdrawals: bool):
    with exits((WorkspaceBusy, 1)):
        total = load_sources(sources_dir).total_bytes()
        with WorkspaceLock(ws.root), byte_progress(console, total, "ingesting") as advance:
            return run_ingest(sources_dir, ws, advance, accept_withdrawals)
