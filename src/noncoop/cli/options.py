"""Options and console shared by every command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from noncoop.alerts.model import STATUSES, TRIAGE
from noncoop.vocab import MOST_SEVERE_FIRST

console = Console()
err_console = Console(stderr=True)

SourcesArg = Annotated[
    Path,
    typer.Argument(help="Folder with sources.yaml and the exports.", exists=True, file_okay=False),
]
WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="Workspace folder holding the event store.")
]


def existing_workspace(path: Path) -> Path:
    """A command that only reads needs a workspace that is there: a mistyped -w must not look
    like a region with no alerts."""
    if not (path / "manifest.json").exists() and not (path / "alerts.sqlite").exists():
        raise typer.BadParameter(
            f"no workspace at {path}: run `noncoop scan SOURCES -w {path}` first, or give the "
            "folder a scan wrote"
        )
    return path


ExistingWorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder holding the event store (written by a scan).",
        callback=existing_workspace,
    ),
]
AcceptWithdrawalsOpt = Annotated[
    bool,
    typer.Option(
        "--accept-withdrawals",
        help="Take new versions of exports even when they are empty or withdraw more than "
        "max_withdrawn_share of a source's stored events (refused otherwise, with a warning).",
    ),
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", "-r", help="Rule files or folders (default: the shipped pack)."),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Decision engine: durable, python, or auto (durable where installed).",
        case_sensitive=False,
    ),
]


ChronologyFormat = StrEnum("ChronologyFormat", {s: s for s in ("table", "md", "csv", "json")})
ReportFormat = StrEnum("ReportFormat", {s: s for s in ("md", "html", "pdf")})
Status = StrEnum("Status", {s: s for s in STATUSES})
Triage = StrEnum("Triage", {s: s for s in TRIAGE})
# Offered most severe first, as alerts are listed.
LevelChoice = StrEnum("LevelChoice", {str(v): str(v) for v in MOST_SEVERE_FIRST})
ByOpt = Annotated[str, typer.Option("--by", help="Who is taking this decision.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


PseudonymiseOpt = Annotated[
    bool,
    typer.Option(
        "--pseudonymise",
        help="Replace ids with keyed hashes and omit free text, for sharing outside the core "
        "group. Key: NONCOOP_PSEUDONYM_KEY or --key-file (never written into the output).",
    ),
]
KeyFileOpt = Annotated[
    Path | None, typer.Option("--key-file", help="File holding the pseudonymisation key.")
]
ShiftOpt = Annotated[
    bool,
    typer.Option("--shift-dates", help="With --pseudonymise: move dates by a per-case offset."),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First date (YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date (YYYY-MM-DD).")]
