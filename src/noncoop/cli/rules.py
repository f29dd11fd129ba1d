"""`noncoop rules validate|test|list|explain`: for analysts writing rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from noncoop.cli.errors import exits
from noncoop.cli.options import EngineOpt, RulesOpt, console, err_console
from noncoop.cli.views import diagnostic_text, print_config_errors, rule_list, rule_test_table
from noncoop.diagnostics import CATALOGUE, describe
from noncoop.engine.rules.describe import describe_rule
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import run_rule_tests
from noncoop.scan import shipped_rules
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


def _load(paths):
    with exits():
        return load_rules(paths or [shipped_rules()])
