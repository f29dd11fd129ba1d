"""Command line: parses options and calls library functions; no logic of its own."""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from noncoop import __version__
from noncoop.alerts.export import ALERT_CSV_COLUMNS, alert_csv_rows
from noncoop.alerts.model import ACTIVE, STATUSES, TRIAGE
from noncoop.alerts.store import AlertStore, StoreError
from noncoop.cli.views import (
    alert_panel,
    alerts_summary,
    alerts_table,
    audit_table,
    byte_progress,
    chronology_table,
    ingest_table,
    print_config_errors,
    quarantine_table,
    rule_list,
    rule_test_table,
    timings_line,
)
from noncoop.engine.rules.describe import describe_rule
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import run_rule_tests
from noncoop.ingest.run import ingest as run_ingest
from noncoop.reports.casefile import CaseNotFound, load_case
from noncoop.reports.chronology import chronology as build_chronology
from noncoop.reports.chronology import chronology_json
from noncoop.reports.pseudonymise import KeyMissing, Pseudonymiser, load_key
from noncoop.reports.render.markdown import chronology_markdown
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.reports.report import build_report
from noncoop.scan import ScanResult, scan_json, shipped_rules
from noncoop.scan import scan as run_scan
from noncoop.sources.load import load_sources
from noncoop.store.lock import WorkspaceBusy, WorkspaceLock
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace
from noncoop.synth.region import SynthOptions, synthesise
from noncoop.vocab import Level
from noncoop.yamlspec import ConfigInvalid

app = typer.Typer(
    help="Find multi-agency patterns of family non-cooperation and explain them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Validate, test, list and explain YAML rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
alerts_app = typer.Typer(
    help="List stored alerts (filters below), show one, or acknowledge, close or snooze it."
)
app.add_typer(alerts_app, name="alerts")
console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="Workspace folder holding the event store.")
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
ByOpt = Annotated[str, typer.Option("--by", help="Who is taking this decision.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


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
def scan(
    sources_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder with sources.yaml and the exports.", exists=True, file_okay=False
        ),
    ],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    rules: RulesOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Evaluate as of this date (YYYY-MM-DD); only events up to it count. "
            "Default: today. Back-fill by running earlier dates in order.",
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write alerts as JSON.")] = None,
    engine: EngineOpt = "auto",
    limit: Annotated[int, typer.Option(help="Alerts to list in the terminal.")] = 20,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="For cron: no progress or tables, one line.")
    ] = False,
) -> None:
    """Ingest what is new, evaluate every enabled rule, update the alert store, print a summary.

    Exit 0 when the run completed (even with quarantined rows), 1 when it could not complete,
    2 for usage errors.
    """
    if as_of is not None:
        _check_date(as_of, "--as-of")
    ws = Workspace(workspace)
    _configure_logging(ws)
    started = time.perf_counter()
    result = _scan(sources_dir, ws, rules, as_of, engine, quiet)
    if result.lock_note:
        err_console.print(f"[yellow]warning[/yellow] {result.lock_note}")
    if json_out:
        json_out.write_text(
            json.dumps(scan_json(result), indent=2, ensure_ascii=False), encoding="utf-8"
        )
    if quiet:
        console.print(
            f"noncoop scan as of {result.as_of:%Y-%m-%d}: alerts "
            + result.store.summary()
            + f"; {result.ingest.total.rows_quarantined:,} rows quarantined; "
            f"{time.perf_counter() - started:.0f} s",
            highlight=False,
            soft_wrap=True,
        )
        return
    _print_scan(result, limit)
    if json_out:
        console.print(f"Alerts written to {json_out}")


@app.command()
def demo(
    children: Annotated[int, typer.Option(min=10, help="Number of synthetic children.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    engine: EngineOpt = "auto",
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep", help="Keep the synthetic sources and workspace in this folder to explore."
        ),
    ] = None,
) -> None:
    """Synthesise a small region, scan it, and explain one alert (in a temporary folder unless
    --keep is given)."""
    with tempfile.TemporaryDirectory(prefix="noncoop-demo-") as tmp:
        root = keep or Path(tmp)
        sources = root / "sources"
        options = SynthOptions(children=children, seed=seed)
        summary = synthesise(sources, options)
        console.print(
            f"Synthesised {children} children: {summary.rows:,} rows in "
            f"{len(summary.files)} exports under {sources}"
        )
        ws = Workspace(root / "workspace")
        result = _scan(sources, ws, None, options.as_of, engine, quiet=False)
        _print_scan(result, limit=15)
        alerts = result.store.alerts
        if alerts:
            console.print(alert_panel(alerts[0]))
        if keep and alerts:
            child = alerts[0].subject_id
            console.print(
                "Next: "
                f"noncoop alerts -w {ws.root} · noncoop chronology {child} -w {ws.root} · "
                f"noncoop report {child} -w {ws.root} --format html --out {child}.html",
                highlight=False,
                soft_wrap=True,
            )


@rules_app.command("validate")
def rules_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check rule files; every problem is listed with its code and file:line:col."""
    try:
        pack = load_rules(paths or [shipped_rules()])
    except ConfigInvalid as exc:
        if output == "json":
            console.print_json(json.dumps([e.__dict__ for e in exc.errors]))
        else:
            print_config_errors(console, exc)
            console.print(f"[red]{len(exc.errors)} problem(s)[/red]")
        raise typer.Exit(1) from None
    if output == "json":
        console.print_json(json.dumps([]))
    else:
        console.print(f"[green]{len(pack.rules)} rules valid[/green]")


@rules_app.command("test")
def rules_test(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
    engine: EngineOpt = "auto",
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rule ids.")] = None,
) -> None:
    """Run every rule's inline tests; exits 1 if any case fails."""
    from noncoop.engine.decide import resolve_engine

    pack = _load(paths)
    results = run_rule_tests(pack, resolve_engine(engine), set(rule) if rule else None)
    console.print(rule_test_table(results))
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("list")
def rules_list(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
) -> None:
    """The rules with level, status and pattern."""
    console.print(rule_list(_load(paths)))


@rules_app.command("explain")
def rules_explain(
    rule_id: Annotated[str, typer.Argument(help="A rule id, e.g. NC-REBOOK-MISS.")],
    rules: RulesOpt = None,
) -> None:
    """The rule in plain English: what it looks for, thresholds, what it cites."""
    pack = _load(rules)
    try:
        rule = pack.get(rule_id.upper())
    except KeyError:
        err_console.print(f"[red]error[/red] no rule {rule_id}; see `noncoop rules list`")
        raise typer.Exit(1) from None
    console.print(describe_rule(rule), highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _exits(*codes: tuple[type[Exception], int]) -> Iterator[None]:
    """Errors a user can act on become a message and an exit code, never a traceback: invalid
    configuration exits 1 with every located error; the others exit with the code given."""
    try:
        yield
    except ConfigInvalid as exc:
        print_config_errors(err_console, exc)
        raise typer.Exit(1) from None
    except Exception as exc:
        code = next((c for kind, c in codes if isinstance(exc, kind)), None)
        if code is None:
            raise
        err_console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(code) from None


def _load(paths):
    with _exits():
        return load_rules(paths or [shipped_rules()])


def _scan(sources_dir: Path, ws: Workspace, rules, as_of, engine, quiet: bool) -> ScanResult:
    # A scan dated before the last one is a usage error (2); anything else stops the run (1).
    with _exits((StoreError, 2), (RuntimeError, 1)):
        if quiet:
            return run_scan(sources_dir, ws, rules, as_of, engine)
        total = load_sources(sources_dir).total_bytes()
        with byte_progress(console, total, "ingesting") as advance:
            return run_scan(sources_dir, ws, rules, as_of, engine, progress=advance)


def _check_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a date as YYYY-MM-DD, got {value!r}", param_hint=option
        ) from None


def _configure_logging(ws: Workspace) -> None:
    """Run log in the workspace (ids and counts only, never names or free text)."""
    logger = logging.getLogger("noncoop")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    ws.root.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(ws.root / "noncoop.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _print_scan(result: ScanResult, limit: int) -> None:
    console.print(ingest_table(result.ingest))
    alerts = result.store.alerts
    console.print(alerts_summary(alerts))
    if alerts:
        console.print(alerts_table(alerts, limit, console.width))
    console.print(f"Alert store: {result.store.summary()}")
    for rule_id, n in result.evaluation.insufficient.items():
        console.print(
            f"[yellow]insufficient data[/yellow] {rule_id}: {n} child(ren) not judged: "
            "the feeds that record the child being seen do not cover the period"
        )
    console.print(
        f"As of {result.as_of:%Y-%m-%d} with {len(result.pack.rules)} rules "
        f"({result.engine} engine) · " + timings_line(result.timings, result.evaluation.events)
    )


def _ingest(sources_dir: Path, ws: Workspace):
    with _exits((WorkspaceBusy, 1)):
        total = load_sources(sources_dir).total_bytes()
        with WorkspaceLock(ws.root), byte_progress(console, total, "ingesting") as advance:
            return run_ingest(sources_dir, ws, progress=advance)


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
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
    level: Annotated[list[Level] | None, typer.Option(help="Level; repeat for several.")] = None,
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
    limit: Annotated[int, typer.Option(help="Alerts to list in the terminal.")] = 50,
) -> None:
    """Stored alerts that need attention, most severe first."""
    if ctx.invoked_subcommand is not None:
        return
    if since is not None:
        _check_date(since, "--since")
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
        json_out.write_text(
            json.dumps([a.to_json() for a in alerts], indent=2, ensure_ascii=False),
            encoding="utf-8",
        )
        console.print(f"{len(alerts):,} alerts written to {json_out}")
    if csv_out:
        n = write_csv(csv_out, ALERT_CSV_COLUMNS, alert_csv_rows(alerts))
        console.print(f"{len(alerts):,} alerts ({n:,} rows) written to {csv_out}")
    if not (json_out or csv_out):
        console.print(alerts_table(alerts, limit, console.width) if alerts else "No alerts match.")


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="The alert id (from `noncoop alerts`).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[bool, typer.Option("--json", help="Print the alert as JSON.")] = False,
) -> None:
    """One alert in full: explanation, evidence with file and line, guidance, actions, triage."""
    with _exits((StoreError, 1)):
        alert = AlertStore(Workspace(workspace).alerts_path).get(alert_id)
    if json_out:
        console.print_json(json.dumps(alert.to_json(), ensure_ascii=False))
    else:
        console.print(alert_panel(alert))


def _triage(action: str, alert_id: str, workspace: Path, by: str, reason: str, until=None) -> None:
    store = AlertStore(Workspace(workspace).alerts_path)
    with _exits((StoreError, 1)):
        alert = store.triage(alert_id, action, by, reason, until)
    then = {
        "ack": "it stays listed.",
        "close": "it stays quiet on later scans until new evidence arrives.",
        "snooze": f"it stays quiet until {until} unless new evidence arrives.",
    }[action]
    console.print(f"Alert {alert_id} {alert.triage.state} by {by}; {then}")


@alerts_app.command("ack")
def alerts_ack(
    alert_id: str, by: ByOpt, reason: ReasonOpt, workspace: WorkspaceOpt = DEFAULT_WORKSPACE
) -> None:
    """Acknowledge: someone is dealing with it; it stays listed."""
    _triage("ack", alert_id, workspace, by, reason)


@alerts_app.command("close")
def alerts_close(
    alert_id: str, by: ByOpt, reason: ReasonOpt, workspace: WorkspaceOpt = DEFAULT_WORKSPACE
) -> None:
    """Close (e.g. a reviewed false positive): quiet until new evidence arrives, then reopened."""
    _triage("close", alert_id, workspace, by, reason)


@alerts_app.command("snooze")
def alerts_snooze(
    alert_id: str,
    by: ByOpt,
    reason: ReasonOpt,
    until: Annotated[str, typer.Option("--until", help="Quiet until this date (YYYY-MM-DD).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Snooze until a date: quiet until then unless new evidence arrives."""
    _triage("snooze", alert_id, workspace, by, reason, _check_date(until, "--until"))


@app.command()
def audit(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    json_out: Annotated[bool, typer.Option("--json", help="Print the log as JSON.")] = False,
) -> None:
    """The audit log: every scan (who, when, as-of, inputs and hashes, counts) and triage action."""
    entries = AlertStore(Workspace(workspace).alerts_path).audit()
    if json_out:
        console.print_json(json.dumps([e.to_json() for e in entries], ensure_ascii=False))
    else:
        console.print(audit_table(entries) if entries else "No runs or triage actions yet.")


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


def _case(workspace: Path, subject, household, start, end, pseudonymise, key_file, shift):
    for value, option in ((start, "--from"), (end, "--to")):
        if value is not None:
            _check_date(value, option)
    if shift and not pseudonymise:
        raise typer.BadParameter("--shift-dates only applies with --pseudonymise")
    with _exits((CaseNotFound, 1), (KeyMissing, 1), (OSError, 1)):
        case = load_case(Workspace(workspace), subject, household, start, end)
        if pseudonymise:
            case = Pseudonymiser(load_key(key_file), shift).apply(case)
    return case


@app.command()
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


@app.command()
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


@app.command()
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
