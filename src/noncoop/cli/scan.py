"""`noncoop scan`: the nightly run."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Annotated

import typer

from noncoop.alerts.store import StoreError
from noncoop.cli.errors import check_choice, check_date, exits, settings
from noncoop.cli.jsonfile import write_json
from noncoop.cli.options import (
    AcceptWithdrawalsOpt,
    EngineOpt,
    ExecutorOpt,
    RulesOpt,
    ShardsOpt,
    SourcesArg,
    SparkConfOpt,
    SparkMasterOpt,
    SparkPartsOpt,
    WorkspaceOpt,
    console,
    err_console,
)
from noncoop.cli.runlog import configure_logging
from noncoop.cli.views import (
    alerts_summary,
    alerts_table,
    byte_progress,
    ingest_table,
    refused_note,
    timings_line,
)
from noncoop.scan import ScanResult, collector_paused, scan_json
from noncoop.scan import scan as run_scan
from noncoop.scan.executors import EXECUTORS, SparkOptions
from noncoop.scan.run import Where
from noncoop.sources.load import load_sources
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace


def scan(
    sources_dir: SourcesArg,
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
    executor: ExecutorOpt = "local",
    shards: ShardsOpt = None,
    spark_master: SparkMasterOpt = None,
    spark_conf: SparkConfOpt = None,
    spark_parts: SparkPartsOpt = None,
    limit: Annotated[int, typer.Option(help="Alerts to list in the terminal.")] = 20,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="For cron: no progress or tables, one line.")
    ] = False,
    accept_withdrawals: AcceptWithdrawalsOpt = False,
    history_from: Annotated[
        str | None,
        typer.Option(
            "--history-from",
            help="First scan of a workspace: record alerts that ended before the as-of date only "
            "if they ended on or after this date (YYYY-MM-DD). Default: the whole history.",
        ),
    ] = None,
) -> None:
    """Ingest what is new, evaluate every enabled rule, update the alert store, print a summary.

    Exit 0 when the run completed (even with quarantined rows), 1 when it could not complete,
    2 for usage errors.
    """
    for value, option in ((as_of, "--as-of"), (history_from, "--history-from")):
        if value is not None:
            check_date(value, option)
    where = Where(
        check_choice(executor, EXECUTORS, "--executor"),
        shards,
        SparkOptions(spark_master, settings(spark_conf or [], "--spark-conf"), spark_parts),
    )
    ws = Workspace(workspace)
    configure_logging(ws)
    started = time.perf_counter()
    args = (sources_dir, ws, rules, as_of, engine, quiet, history_from, accept_withdrawals, where)
    # The collector stays paused while the scan's millions of objects are made and used (turned
    # on, it walked them all once more: 0.17 s at 100k). The last scan's result is then left for
    # the end of the process to free: the command ends without taking objects apart one by one
    # (noncoop.__main__.leave), and freeing a night's alerts, evidence and arrays as the scan
    # returned cost 0.08 CPU s at 100k children. One result is left at a time. It is frozen out
    # of the collector's walks before the collector is on again: the collector's first pass
    # then walked every object the scan had made (0.25 s at 100k). A later command in the same
    # process (a test's) thaws it first, so that its cycles are still collected in the end.
    gc.unfreeze()
    with collector_paused():
        _LEFT[:] = [_scan_and_report(args, json_out, quiet, limit, started)]
        gc.freeze()


_LEFT: list[ScanResult] = []


def _scan_and_report(
    scan_args: tuple, json_out: Path | None, quiet: bool, limit: int, started: float
) -> ScanResult:
    result = scan_with_progress(*scan_args)
    for note in (result.lock_note, *result.ingest.warnings, *result.warnings):
        if note:
            err_console.print(f"[yellow]warning[/yellow] {note}")
    if json_out:
        _write_alerts_json(json_out, result)
    if quiet:
        console.print(
            f"noncoop scan as of {result.as_of:%Y-%m-%d}: alerts "
            + result.store.summary()
            + f"; {result.ingest.total.rows_quarantined:,} rows quarantined; "
            + refused_note(result.ingest)
            + f"{time.perf_counter() - started:.0f} s",
            highlight=False,
            soft_wrap=True,
        )
        return result
    print_scan(result, limit)
    if json_out:
        console.print(f"Alerts written to {json_out}")
    return result


def _write_alerts_json(path: Path, result: ScanResult) -> None:
    """The alert JSON, its making timed as the run's `output` phase: in the summary, and in the
    file as far as the file can tell. Its timings are encoded last, once the rest is, so they
    hold all but the writing of the bytes (0.01 s of a 95 MB file at 100,000 children)."""
    clock = time.perf_counter()
    data = scan_json(result, laid_out=True)
    timings = data.pop("timings_s")

    def timed() -> tuple[str, dict[str, float]]:
        timings["output"] = round(time.perf_counter() - clock, 3)
        return "timings_s", timings

    untimed = lambda: {k: v for k, v in scan_json(result).items() if k != "timings_s"}  # noqa: E731
    write_json(path, data, plain=untimed, last=timed)
    result.timings["output"] = time.perf_counter() - clock


def scan_with_progress(
    sources_dir: Path,
    ws: Workspace,
    rules,
    as_of,
    engine,
    quiet: bool,
    history_from=None,
    accept_withdrawals: bool = False,
    where: Where | None = None,
) -> ScanResult:
    # A scan dated before the last one is a usage error (2); anything else stops the run (1).
    options = {
        "history_from": history_from,
        "accept_withdrawals": accept_withdrawals,
        "where": where,
    }
    with exits((StoreError, 2), (RuntimeError, 1)):
        if quiet:
            return run_scan(sources_dir, ws, rules, as_of, engine, **options)
        total = load_sources(sources_dir).total_bytes()
        with byte_progress(console, total, "ingesting") as advance:
            return run_scan(sources_dir, ws, rules, as_of, engine, advance, **options)


def print_scan(result: ScanResult, limit: int) -> None:
    console.print(ingest_table(result.ingest))
    alerts = result.store.alerts
    console.print(alerts_summary(alerts))
    if alerts:
        console.print(alerts_table(alerts, limit, console.width))
    console.print(f"Alert store: {result.store.summary()}")
    if result.store.history:
        console.print(
            f"{len(result.store.history):,} earlier alert(s) over the history, recorded as "
            "resolved on the day after they last held: noncoop alerts --status resolved"
        )
    for rule_id, n in result.evaluation.insufficient.items():
        console.print(
            f"[yellow]insufficient data[/yellow] {rule_id}: {n} child(ren) not judged: "
            "the feeds that record the child being seen do not cover the period"
        )
    console.print(
        f"As of {result.as_of:%Y-%m-%d} with {len(result.pack.rules)} rules "
        f"({result.engine} engine, {result.executor}) · "
        + timings_line(result.timings, result.evaluation.events)
    )
