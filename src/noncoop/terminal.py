"""Rich renderings for people at a terminal: progress while ingesting and the run summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from noncoop.pipeline import IngestReport
from noncoop.pipeline import Progress as ProgressFn
from noncoop.yamlspec import ConfigInvalid


@contextmanager
def byte_progress(console: Console, total: int, label: str) -> Iterator[ProgressFn]:
    """A progress bar over bytes of input; yields the callback the pipeline calls."""
    columns = (
        TextColumn("[bold]{task.description}", justify="left"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(description: str, done: int) -> None:
            bar.update(task, advance=done, description=description[:60])

        yield advance


def ingest_table(report: IngestReport) -> Table:
    """Per-source counts; the last row is the total, which always reconciles."""
    table = Table(title="Ingest", title_justify="left")
    for name in (
        "source",
        "files",
        "unchanged",
        "rows read",
        "accepted",
        "quarantined",
        "new events",
    ):
        table.add_column(name, justify="left" if name == "source" else "right")

    def row(name: str, c) -> list[str]:
        return [
            name,
            f"{c.files}",
            f"{c.files_unchanged}",
            f"{c.rows_read:,}",
            f"{c.rows_accepted:,}",
            f"{c.rows_quarantined:,}",
            f"{c.new_events:,}",
        ]

    for name, counts in report.by_source.items():
        table.add_row(*row(name, counts))
    table.add_section()
    table.add_row(*row("total", report.total), style="bold")
    p = report.people
    table.caption = (
        f"people.csv: {p.rows_read:,} rows, {p.rows_quarantined:,} quarantined · "
        f"{report.events_stored:,} events in the store · {report.seconds:.1f}s"
    )
    return table


def quarantine_table(rows: pd.DataFrame) -> Table:
    """Rejected rows counted by source and reason code (no row content is shown)."""
    table = Table(title="Quarantine", title_justify="left")
    for name in ("source", "reason", "rows", "first lines"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    if rows.empty:
        return table
    grouped = rows.groupby(["source", "reason_code"], sort=True)
    for (source, code), group in grouped:
        lines = ", ".join(
            f"{f}:{n}"
            for f, n in zip(group["source_file"][:3], group["source_line"][:3], strict=True)
        )
        table.add_row(str(source), str(code), f"{len(group):,}", lines)
    return table


def print_config_errors(console: Console, exc: ConfigInvalid) -> None:
    """One line per problem, file:line:col first, so editors can jump to it."""
    for err in exc.errors:
        console.print(f"[red]error[/red] {err}", highlight=False, markup=True, soft_wrap=True)
