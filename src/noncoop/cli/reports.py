"""`noncoop chronology`, `noncoop report` and `noncoop timeline`: for strategy meetings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from noncoop.cli.errors import check_date, exits
from noncoop.cli.options import (
    ChronologyFormat,
    FromOpt,
    KeyFileOpt,
    PseudonymiseOpt,
    ReportFormat,
    ShiftOpt,
    ToOpt,
    WorkspaceOpt,
    console,
)
from noncoop.cli.views import (
    chronology_table,
)
from noncoop.reports.casefile import CaseNotFound, load_case
from noncoop.reports.chronology import chronology as build_chronology
from noncoop.reports.chronology import chronology_json
from noncoop.reports.pseudonymise import KeyMissing, Pseudonymiser, load_key
from noncoop.reports.render.markdown import chronology_markdown
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.reports.report import build_report
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace


def _case(workspace: Path, subject, household, start, end, pseudonymise, key_file, shift):
    for value, option in ((start, "--from"), (end, "--to")):
        if value is not None:
            check_date(value, option)
    if shift and not pseudonymise:
        raise typer.BadParameter("--shift-dates only applies with --pseudonymise")
    with exits((CaseNotFound, 1), (KeyMissing, 1), (OSError, 1)):
        case = load_case(Workspace(workspace), subject, household, start, end)
        if pseudonymise:
            case = Pseudonymiser(load_key(key_file), shift).apply(case)
    return case


def chronology(
    subject: Annotated[str, typer.Argument(help="The child's subject id.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    start: FromOpt = None,
    end: ToOpt = None,
    fmt: Annotated[
        ChronologyFormat, typer.Option("--format", help="Output format.")
    ] = ChronologyFormat.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write to a file instead.")] = None,
    unfold: Annotated[
        bool, typer.Option("--unfold", help="One line per event, no folding.")
    ] = False,
    pseudonymise: PseudonymiseOpt = False,
    key_file: KeyFileOpt = None,
    shift_dates: ShiftOpt = False,
) -> None:
    """Every event of the child and household in date order, in words, with source file and line.

    Runs of routine records are folded into one line and each alert is marked where it begins.
    """
    case = _case(workspace, subject, None, start, end, pseudonymise, key_file, shift_dates)
    rows = build_chronology(case, fold=not unfold)
    title = f"Chronology: {case.title} (records up to {case.as_of:%Y-%m-%d})"
    if fmt == ChronologyFormat.table and out is None:
        console.print(chronology_table(rows, title))
    elif fmt == ChronologyFormat.table:
        with open(out, "w", encoding="utf-8") as fh:
            Console(file=fh, width=160).print(chronology_table(rows, title))
    elif fmt == ChronologyFormat.csv:
        write_csv(out, list(rows.columns), rows.to_dict("records"))
    else:
        text = chronology_markdown(rows) if fmt == ChronologyFormat.md else chronology_json(rows)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            print(text)


def report(
    subject: Annotated[str | None, typer.Argument(help="The child's subject id.")] = None,
    household: Annotated[
        str | None,
        typer.Option("--household", help="Report on every child of a household instead."),
    ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="md, html (self-contained) or pdf.")
    ] = ReportFormat.html,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: report-<id>.<format>).")
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    pseudonymise: PseudonymiseOpt = False,
    key_file: KeyFileOpt = None,
    shift_dates: ShiftOpt = False,
) -> None:
    """A meeting-ready report for one child or a whole household (md, html or pdf).

    People and ages, each agency and how engagement with it looks, the open alerts with their
    explanation, evidence, guidance and recommended actions, the timeline figure and the
    chronology.
    """
    if (subject is None) == (household is None):
        raise typer.BadParameter("give a SUBJECT or --household, not both")
    case = _case(workspace, subject, household, start, end, pseudonymise, key_file, shift_dates)
    from noncoop.reports.render.files import write_report  # fpdf2: only when writing

    target = out or Path(f"report-{case.subject or case.household_id}.{fmt}")
    written = write_report(build_report(case), str(fmt), target)
    console.print("Written: " + ", ".join(str(p) for p in written))


def timeline(
    subject: Annotated[str, typer.Argument(help="The child's subject id.")],
    out: Annotated[Path, typer.Option("--out", help="PNG or SVG file to write.")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    start: FromOpt = None,
    end: ToOpt = None,
    pseudonymise: PseudonymiseOpt = False,
    key_file: KeyFileOpt = None,
    shift_dates: ShiftOpt = False,
) -> None:
    """The timeline figure alone: one lane per agency, marks by kind of event, alert windows."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter("the figure is written as .png or .svg", param_hint="--out")
    case = _case(workspace, subject, None, start, end, pseudonymise, key_file, shift_dates)
    from noncoop.reports.figure import save_figure  # matplotlib: only when drawing

    console.print(f"Written: {save_figure(case, out)}")
