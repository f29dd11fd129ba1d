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
def workspace_path(value: str | Path) -> Path:
    """The folder -w names. An empty one (`-w "$WS"` with nothing in WS) is refused: read as
    the current folder, it wrote or read a workspace wherever the command happened to run."""
    if isinstance(value, str) and not value.strip():
        raise typer.BadParameter(
            "an empty path: give the workspace folder, or leave -w out for ./noncoop-workspace"
        )
    return Path(value)


WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder holding the event store.",
        parser=workspace_path,
    ),
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
        parser=workspace_path,
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
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Where the evaluation runs: local (this process), processes (shards of whole "
        "households on every core) or spark (shards on a Spark cluster; pip install "
        "'noncoop[spark]'). The alerts are the same; time and memory differ.",
        case_sensitive=False,
    ),
]
ShardsOpt = Annotated[
    int | None,
    typer.Option(
        "--shards",
        min=1,
        help="How many shards of whole households: processes: default one per core, each in "
        "its own worker; more than the cores lowers the memory a worker needs, as the workers "
        "take the shards in turn (each shard's timeline is then built twice). spark: default "
        "one per 5,000 children.",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="spark: the master URL (e.g. local[2], spark://host:7077, yarn); default: as "
        "spark-submit or the cluster sets it, else local[*].",
    ),
]
SparkConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="spark: a setting passed through, as KEY=VALUE (repeat for more), e.g. "
        "spark.executor.memory=8g.",
    ),
]
SparkPartsOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-parts",
        help="spark: where the cluster reads the workspace's event parts (a copy of "
        "WORKSPACE/events on storage it can reach, e.g. abfss://… or s3a://…); default: the "
        "workspace's own folder.",
    ),
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
