"""`noncoop alerts` (list, show, ack, close, snooze) and `noncoop audit`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from noncoop.alerts.export import ALERT_CSV_COLUMNS, alert_csv_rows
from noncoop.alerts.groups import by_household
from noncoop.alerts.model import ACTIVE
from noncoop.alerts.store import AlertStore, StoreError
from noncoop.cli.errors import check_date, exits
from noncoop.cli.jsonfile import write_json
from noncoop.cli.options import (
    ByOpt,
    ExistingWorkspaceOpt,
    LevelChoice,
    ReasonOpt,
    Status,
    Triage,
    WorkspaceOpt,
    console,
    existing_workspace,
)
from noncoop.cli.views import alert_panel, alerts_table, audit_table, groups_table
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace

alerts_app = typer.Typer(
    help="List stored alerts (filters below), show one, or acknowledge, close or snooze it."
)


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    # Checked below: with a subcommand, its own -w names the workspace.
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    status: Annotated[
        list[Status] | None,
        typer.Option(
            help="Lifecycle status; repeat for several. Default: new, ongoing, reopened.",
        ),
    ] = None,
    triage: Annotated[
        list[Triage] | None,
        typer.Option(
            help="Triage state; repeat for several. Default: open and acknowledged "
            "(closed and snoozed alerts stay quiet).",
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Every stored alert, whatever its status or triage.")
    ] = False,
    level: Annotated[
        list[LevelChoice] | None, typer.Option(help="Level; repeat for several.")
    ] = None,
    pattern: Annotated[
        str | None, typer.Option(help="Pattern tag, e.g. rebook-miss or pattern:rebook-miss.")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="One child's subject id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Raised, reopened or resolved on or after this date.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the alerts as JSON.")
    ] = None,
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Write one row per alert and evidence record, spreadsheet-safe."
        ),
    ] = None,
    flat: Annotated[
        bool,
        typer.Option("--flat", help="One row per alert, instead of one per household and pattern."),
    ] = False,
    limit: Annotated[int, typer.Option(help="Rows to list in the terminal.")] = 50,
) -> None:
    """Stored alerts that need attention, most severe first: one row per household and pattern,
    naming its children (--flat: one row per alert). --json and --csv give every alert."""
    if ctx.invoked_subcommand is not None:
        return
    existing_workspace(workspace)
    if since is not None:
        check_date(since, "--since")
    store = AlertStore(Workspace(workspace).alerts_path)
    alerts = store.list(
        status=() if everything else [str(v) for v in status or ACTIVE],
        triage=() if everything else [str(v) for v in triage or ("open", "acknowledged")],
        level=[str(v) for v in level or ()],
        pattern=pattern,
        subject=subject,
        since=since,
    )
    if json_out:
        write_json(json_out, [a.to_json() for a in alerts])
        console.print(f"{len(alerts):,} alerts written to {json_out}")
    if csv_out:
        n = write_csv(csv_out, ALERT_CSV_COLUMNS, alert_csv_rows(alerts))
        console.print(f"{len(alerts):,} alerts ({n:,} rows) written to {csv_out}")
    if not (json_out or csv_out):
        if not alerts:
            console.print("No alerts match.")
        elif flat:
            console.print(alerts_table(alerts, limit, console.width))
        else:
            console.print(groups_table(by_household(alerts), limit, console.width))


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="The alert id (from `noncoop alerts`).")],
    workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[bool, typer.Option("--json", help="Print the alert as JSON.")] = False,
) -> None:
    """One alert in full: explanation, evidence with file and line, guidance, actions, triage."""
    with exits((StoreError, 1)):
        alert = AlertStore(Workspace(workspace).alerts_path).get(alert_id)
    if json_out:
        console.print_json(json.dumps(alert.to_json(), ensure_ascii=False))
    else:
        console.print(alert_panel(alert))


def _triage(action: str, alert_id: str, workspace: Path, by: str, reason: str, until=None) -> None:
    store = AlertStore(Workspace(workspace).alerts_path)
    with exits((StoreError, 1)):
        alert = store.triage(alert_id, action, by, reason, until)
    then = {
        "ack": "it stays listed.",
        "close": "it stays quiet on later scans until new evidence arrives.",
        "snooze": f"it stays quiet until {until} unless new evidence arrives.",
    }[action]
    console.print(f"Alert {alert_id} {alert.triage.state} by {by}; {then}")


@alerts_app.command("ack")
def alerts_ack(
    alert_id: str, by: ByOpt, reason: ReasonOpt, workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE
) -> None:
    """Acknowledge: someone is dealing with it; it stays listed."""
    _triage("ack", alert_id, workspace, by, reason)


@alerts_app.command("close")
def alerts_close(
    alert_id: str, by: ByOpt, reason: ReasonOpt, workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE
) -> None:
    """Close (e.g. a reviewed false positive): quiet until new evidence arrives, then reopened."""
    _triage("close", alert_id, workspace, by, reason)


@alerts_app.command("snooze")
def alerts_snooze(
    alert_id: str,
    by: ByOpt,
    reason: ReasonOpt,
    until: Annotated[str, typer.Option("--until", help="Quiet until this date (YYYY-MM-DD).")],
    workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Snooze until a date: quiet until then unless new evidence arrives."""
    _triage("snooze", alert_id, workspace, by, reason, check_date(until, "--until"))


def audit(
    workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[bool, typer.Option("--json", help="Print the log as JSON.")] = False,
) -> None:
    """The audit log: every scan (who, when, as-of, inputs and hashes, counts) and triage action."""
    entries = AlertStore(Workspace(workspace).alerts_path).audit()
    if json_out:
        console.print_json(json.dumps([e.to_json() for e in entries], ensure_ascii=False))
    else:
        console.print(audit_table(entries) if entries else "No runs or triage actions yet.")
