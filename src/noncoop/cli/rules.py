"""`noncoop rules validate|test|list|explain`: for analysts writing rules."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from noncoop.alerts.store import StoreError
from noncoop.cli.errors import check_date, exits
from noncoop.cli.options import EngineOpt, ExistingWorkspaceOpt, RulesOpt, console, err_console
from noncoop.cli.views import (
    backtest_table,
    changes_table,
    diagnostic_text,
    print_config_errors,
    rule_list,
    rule_test_table,
)
from noncoop.diagnostics import CATALOGUE, describe
from noncoop.engine.backtest import PERIODS, changes, summary, totals
from noncoop.engine.rules.describe import describe_rule
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import run_rule_tests
from noncoop.reports.render.spreadsheet import write_csv
from noncoop.scan import history as run_history
from noncoop.scan import shipped_rules
from noncoop.store.workspace import DEFAULT_WORKSPACE, Workspace
from noncoop.yamlspec import ConfigInvalid

rules_app = typer.Typer(help="Validate, test, list and explain YAML rules.", no_args_is_help=True)


@rules_app.command("validate")
def rules_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    explain: Annotated[
        str | None,
        typer.Option("--explain", metavar="CODE", help="Say what a diagnostic code means."),
    ] = None,
) -> None:
    """Check rule files; every problem is listed with its code and file:line:col."""
    if explain is not None:
        _explain_code(explain)
        return
    try:
        pack = load_rules(paths or [shipped_rules()])
    except ConfigInvalid as exc:
        if output == "json":
            console.print_json(json.dumps([e.__dict__ for e in exc.errors]))
        else:
            print_config_errors(console, exc)
            console.print(
                f"[red]{len(exc.errors)} problem(s)[/red] · what a code means: "
                "noncoop rules validate --explain CODE",
                highlight=False,
            )
        raise typer.Exit(1) from None
    if output == "json":
        console.print_json(json.dumps([]))
    else:
        console.print(f"[green]{len(pack.rules)} rules valid[/green]")


def _explain_code(code: str) -> None:
    found = describe(code)
    if found is None:
        err_console.print(
            f"[red]error[/red] no diagnostic code {code}; codes: {', '.join(CATALOGUE)}",
            highlight=False,
        )
        raise typer.Exit(1)
    console.print(diagnostic_text(found), highlight=False, markup=False, soft_wrap=True)


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


Period = StrEnum("Period", {p: p for p in PERIODS})


@rules_app.command("backtest")
def rules_backtest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or folders (default: the shipped pack).")
    ] = None,
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")] = ...,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); default today.")
    ] = None,
    by: Annotated[Period, typer.Option("--by", help="Periods to count in.")] = Period.month,
    against: Annotated[
        list[Path] | None,
        typer.Option("--against", help="Another pack to compare with: alerts gained and lost."),
    ] = None,
    workspace: ExistingWorkspaceOpt = DEFAULT_WORKSPACE,
    engine: EngineOpt = "auto",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON.")
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the counts (and changes) as CSV.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Draw episodes per period per rule (PNG).")
    ] = None,
) -> None:
    """What the rules would have raised over a stretch of history, without touching the alert
    store: per rule and period, the episodes begun, the children and the median days they held;
    with --against, the children each rule gains or loses compared with another pack."""
    first = check_date(start, "--from").isoformat()
    last = (check_date(end, "--to") if end else date.today()).isoformat()
    ws = Workspace(workspace)
    with exits((StoreError, 1), (RuntimeError, 1)):
        pack = _load(paths).enabled()
        alerts = run_history(ws, pack, last, engine).alerts
        table = summary(alerts, first, last, str(by))
        whole = totals(alerts, first, last)
        changed = None
        if against:
            baseline = run_history(ws, _load(against).enabled(), last, engine).alerts
            changed = changes(alerts, baseline, first, last)
    title = f"Backtest {first} to {last}, by {by}"
    console.print(backtest_table(table, whole, title, console.width))
    if changed is not None:
        console.print(changes_table(changed))
    if json_out:
        result = {
            "from": first,
            "to": last,
            "by": str(by),
            "periods": table.to_dict("records"),
            "rules": whole.to_dict("records"),
            **({"changes": changed.to_dict("records")} if changed is not None else {}),
        }
        json_out.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if csv_out:
        write_csv(csv_out, list(table.columns), table.to_dict("records"))
        if changed is not None:
            target = csv_out.with_name(csv_out.stem + "-changes.csv")
            write_csv(target, list(changed.columns), changed.to_dict("records"))
    if plot:
        from noncoop.reports.backtest import save_backtest_figure  # matplotlib: only when drawing

        save_backtest_figure(table, f"Episodes begun per {by}, {first} to {last}", plot)
        console.print(f"Written: {plot}")


def _load(paths):
    with exits():
        return load_rules(paths or [shipped_rules()])
