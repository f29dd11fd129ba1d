"""Stream a CSV export in blocks with pyarrow, keeping each row's physical line number.

A 2 GB export is read a block at a time; malformed lines and undecodable text are returned as
quarantine rows instead of stopping the read.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from noncoop import quarantine

BLOCK_BYTES = 32 << 20


@dataclass
class CsvBatch:
    """One block of rows as strings (blank cells are NA) with `_line`, plus rejected lines."""

    rows: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.rejected)


def read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """Column names from the first line; a UTF-8 byte-order mark is ignored."""
    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        first = next(csv.reader(fh, delimiter=delimiter), [])
    names = [c.strip() for c in first]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            seen[name] += 1
            names[i] = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
    return names


def _decode(column: pa.ChunkedArray | pa.Array) -> tuple[pd.Series, np.ndarray]:
    """Bytes to strings; returns the strings and a mask of cells that were not valid UTF-8."""
    try:
        text = column.cast(pa.string())
        return text.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get), np.zeros(
            len(column), bool
        )
    except pa.ArrowInvalid:
        values = column.to_pylist()
        bad = np.zeros(len(values), bool)
        out = []
        for i, v in enumerate(values):
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                bad[i] = True
                out.append(None)
        return pd.Series(out, dtype="string"), bad


def read_csv_batches(
    path: Path,
    source: str,
    source_file: str,
    encoding: str = "utf-8",
    delimiter: str = ",",
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[CsvBatch]:
    """Yield the file's rows block by block; blank lines are skipped, not counted as rows."""
    names = read_header(path, encoding, delimiter)
    if not names or names == [""]:
        return
    malformed: list[tuple[int, int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.text.strip():
            malformed.append((row.number or 0, row.actual_columns, row.text))
        else:
            malformed.append((row.number or 0, -1, ""))
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1,
            use_threads=False,
            block_size=block_bytes,
            encoding="utf8" if codecs.lookup(encoding).name == "utf-8" else encoding,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names}, strings_can_be_null=False
        ),
    )
    emitted = 0
    reported = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        n = batch.num_rows
        skipped = np.array(sorted(m[0] for m in malformed), dtype=np.int64)
        before = skipped - 2 - np.arange(len(skipped))
        k = np.arange(emitted, emitted + n, dtype=np.int64)
        lines = k + 2 + np.searchsorted(before, k, side="right")
        emitted += n

        cols = {}
        bad_text = np.zeros(n, bool)
        for name, column in zip(names, batch.columns, strict=True):
            text, bad = _decode(column)
            cols[name] = text.str.strip().replace("", pd.NA)
            bad_text |= bad
        rows = pd.DataFrame(cols)
        blank = rows.isna().all(axis=1).to_numpy() & ~bad_text
        rows["_line"] = lines
        enc_rows = rows[bad_text]
        rejected = [
            quarantine.frame(
                source,
                source_file,
                enc_rows["_line"],
                [""] * len(enc_rows),
                ["CSV-ENCODING"] * len(enc_rows),
                [f"text is not valid {encoding}; declare the file's encoding in its profile"]
                * len(enc_rows),
                quarantine.raw_json(enc_rows.drop(columns="_line")),
            )
        ]
        new_bad = [
            m for m in malformed[reported:] if m[1] != -1 and m[0] <= (lines[-1] if n else 0)
        ]
        reported += len([m for m in malformed[reported:] if m[0] <= (lines[-1] if n else 0)])
        if new_bad:
            rejected.append(_malformed(new_bad, len(names), source, source_file))
        yield CsvBatch(rows[~blank & ~bad_text].reset_index(drop=True), pd.concat(rejected))
    tail = [m for m in malformed[reported:] if m[1] != -1]
    if tail:
        yield CsvBatch(
            pd.DataFrame(columns=[*names, "_line"]),
            _malformed(tail, len(names), source, source_file),
        )


def _malformed(items: list[tuple[int, int, str]], expected: int, source: str, source_file: str):
    return quarantine.frame(
        source,
        source_file,
        [m[0] for m in items],
        [""] * len(items),
        ["CSV-MALFORMED"] * len(items),
        [f"expected {expected} fields, found {m[1]}" for m in items],
        [m[2] for m in items],
    )
