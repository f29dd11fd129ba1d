"""`noncoop chronology`, `noncoop report` and `noncoop timeline`: for strategy meetings."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from noncoop.cli.errors import check_date, exits
from noncoop.cli.options import (
    ChronologyFormat,
    ExistingWorkspaceOpt,
    FromOpt,
    KeyFileOpt,
    PseudonymiseOpt,
    ReportFormat,
    ShiftOpt,
    ToOpt,
    console,
)
from noncoop.cli.views import chronology_table
from noncoop.reports.casefile import CaseFile, CaseNotFound, load_case
from noncoop.reports.chronology import chronology as build_chronology
from noncoop.reports.chronology import chronology_json
from noncoop.reports.pseudonymise import KeyMissing, Pseudonymiser, load_key
from noncoop.reports.render.markdown import chronology_markdown
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.reports.report import build_report
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace


@dataclass(frozen=True)
class CaseRequest:
    """What part of the workspace a report covers and how it may be shared."""

    workspace: Path
    start: str | None
    end: str | None
    pseudonymise: bool
    key_file: Path | None
    shift_dates: bool

    def load(self, subject: str | None, household: str | None = None) -> CaseFile:
        """The case file, pseudonymised if asked; bad dates and a missing key stop here."""
        for value, option in ((self.start, "--from"), (self.end, "--to")):
            if value is not None:
                check_date(value, option)
        if self.shift_dates and not self.pseudonymise:
            raise typer.BadParameter("--shift-dates only applies with --pseudonymise")
        with exits((CaseNotFound, 1), (KeyMissing, 1), (OSError, 1)):
            case = load_case(Workspace(self.workspace), subject, household, self.start, self.end)
            if self.pseudonymise:
                case = Pseudonymiser(load_key(self.key_file), self.shift_dates).apply(case)
        return case


CASE_OPTIONS = {
    "workspace": (ExistingWorkspaceOpt, DEFAULT_WORKSPACE),
    "start": (FromOpt, None),
    "end": (ToOpt, None),
    "pseudonymise": (PseudonymiseOpt, False),
    "key_file": (KeyFileOpt, None),
    "shift_dates": (ShiftOpt, False),
}


def case_command(command: Callable[..., None]) -> Callable[..., None]:
    """The command with the case options (workspace, dates, pseudonymising) after its own, handed
    to it as one CaseRequest named `request`: every report command takes them the same way."""
    own = [
        p
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.name != "request"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in CASE_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(**options: Any) -> None:
        request = CaseRequest(**{name: options.pop(name) for name in CASE_OPTIONS})
        command(request=request, **options)

    run.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    return run


@case_command
def chronology(
    subject: Annotated[str, typer.Argument(help="The child's subject id.")],
    fmt: Annotated[
        ChronologyFormat, typer.Option("--format", help="Output format.")
    ] = ChronologyFormat.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write to a file instead.")] = None,
    unfold: Annotated[
        bool, typer.Option("--unfold", help="One line per event, no folding.")
    ] = False,
    *,
    request: CaseRequest,
) -> None:
    """Every event of the child and household in date order, in words, with source file and line.

    Runs of routine records are folded into one line and each alert is marked where it begins.
    """
    case = request.load(subject)
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


@case_command
def report(
    subject: Annotated[str | None, typer.Argument(help="The child's subject id.")] = None,
    household: Annotated[
        str | None,
        typer.Option("--household", help="Report on every child of a household instead."),
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="md, html (self-contained) or pdf.")
    ] = ReportFormat.html,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: report-<id>.<format>).")
    ] = None,
    *,
    request: CaseRequest,
) -> None:
    """A meeting-ready report for one child or a whole household (md, html or pdf).

    People and ages, each agency and how engagement with it looks, the open alerts with their
    explanation, evidence, guidance and recommended actions, the timeline figure and the
    chronology.
    """
    if (subject is None) == (household is None):
        raise typer.BadParameter("give a SUBJECT or --household, not both")
    case = request.load(subject, household)
    from noncoop.reports.render.files import write_report  # fpdf2: only when writing

    target = out or Path(f"report-{case.subject or case.household_id}.{fmt}")
    written = write_report(build_report(case), str(fmt), target)
    console.print("Written: " + ", ".join(str(p) for p in written))


@case_command
def timeline(
    subject: Annotated[str, typer.Argument(help="The child's subject id.")],
    out: Annotated[Path, typer.Option("--out", help="PNG or SVG file to write.")],
    *,
    request: CaseRequest,
) -> None:
    """The timeline figure alone: one lane per agency, marks by kind of event, alert windows."""
    if out.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter("the figure is written as .png or .svg", param_hint="--out")
    case = request.load(subject)
    from noncoop.reports.figure import save_figure  # matplotlib: only when drawing

    console.print(f"Written: {save_figure(case, out)}")
