"""User-actionable errors become a message and an exit code in one place; never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import typer

from noncoop.cli.options import err_console
from noncoop.cli.views import print_config_errors
from noncoop.yamlspec import ConfigInvalid


@contextmanager
def exits(*codes: tuple[type[Exception], int]) -> Iterator[None]:
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


def check_choice(value: str, choices, option: str) -> str:
    """One of the choices (any case), or a usage error that lists them."""
    if value.lower() not in choices:
        raise typer.BadParameter(
            f"expected one of {', '.join(choices)}, got {value!r}", param_hint=option
        )
    return value.lower()


def settings(pairs: list[str], option: str) -> dict[str, str]:
    """KEY=VALUE pairs as a dict, or a usage error naming the one that is not."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        out[key.strip()] = value
    return out


def check_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a date as YYYY-MM-DD, got {value!r}", param_hint=option
        ) from None
