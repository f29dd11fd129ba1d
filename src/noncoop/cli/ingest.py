"""`noncoop ingest` and `noncoop quarantine`: reading exports, and the rows kept back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from noncoop.alerts.store import AlertStore
from noncoop.cli.errors import exits
from noncoop.cli.options import (
    AcceptWithdrawalsOpt,
    ExistingWorkspaceOpt,
    SourcesArg,
    WorkspaceOpt,
    console,
    err_console,
)
from noncoop.cli.views import byte_progress, ingest_table, quarantine_table
from noncoop.ingest.repair import repair as run_repair
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


def repair(
    sources_dir: SourcesArg,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    new_alert_store: Annotated[
        bool,
        typer.Option(
            "--new-alert-store",
            help="Move a damaged alert store aside (kept) so the next scan starts a new one; "
            "its triage and audit are not carried over. Without it a damaged store is only "
            "reported.",
        ),
    ] = False,
) -> None:
    """Check the workspace and read again the exports its damaged parts came from.

    Exit 0 when the store is whole afterwards, 1 when the alert store is damaged and was left
    as it is (restore it from a backup, or use --new-alert-store)."""
    ws = Workspace(workspace)
    store = AlertStore(ws.alerts_path)
    with exits((WorkspaceBusy, 1)), WorkspaceLock(ws.root):
        result = run_repair(sources_dir, ws)
        broken = store.damage()
        kept = store.move_aside() if broken and new_alert_store else None
    for d in result.damage:
        console.print(f"[yellow]damaged[/yellow] {d.what}")
    if result.manifest_kept_as:
        console.print(f"manifest.json could not be read; kept as {result.manifest_kept_as.name}")
    if result.sources_reread:
        console.print("Read again: " + ", ".join(result.sources_reread))
    elif not result.damage:
        console.print("The event store is whole: nothing to read again.")
    console.print(ingest_table(result.ingest))
    if broken and kept:
        console.print(f"The alert store {broken}; kept as {kept.name}. The next scan starts anew.")
    elif broken:
        err_console.print(
            f"[red]error[/red] the alert store {broken}. It holds triage and the audit log, "
            "which cannot be rebuilt from the exports: restore it from a backup, or run repair "
            "with --new-alert-store to keep it aside and start a new one."
        )
        raise typer.Exit(1)


def quarantine(
    workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE,
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
