"""CSV that a spreadsheet can open safely: no cell is read as a formula.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with an
apostrophe, as OWASP advises for CSV injection; numbers are left as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """The value as it is safe to write into a CSV cell."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """Write rows (dicts) under the given columns; returns how many rows were written."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
            n += 1
    return n
