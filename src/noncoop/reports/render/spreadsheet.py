"""CSV that a spreadsheet can open safely: no cell is read as a formula.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with an
apostrophe, as OWASP advises for CSV injection; numbers are left as numbers.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """The value as it is safe to write into a CSV cell."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def write_csv(path: Path | None, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """Write rows (dicts) under the given columns to a file, or to standard output when no path
    is given; returns how many rows were written."""
    if path is None:
        return _write(sys.stdout, columns, rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        return _write(fh, columns, rows)


def _write(fh: TextIO, columns: Sequence[str], rows: Iterable[dict]) -> int:
    writer = csv.writer(fh)
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
        n += 1
    return n
