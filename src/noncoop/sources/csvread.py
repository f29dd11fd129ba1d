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
    """Column names from the first line; a UTF-8 byte-order mark is ignored. A name used twice
    is read as `name.1` the second time (see `repeated_names`)."""
    names = _first_line(path, encoding, delimiter)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            seen[name] += 1
            names[i] = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
    return names


def repeated_names(path: Path, encoding: str, delimiter: str) -> list[str]:
    """Column names the header gives more than once (an extract selecting a column twice)."""
    names = _first_line(path, encoding, delimiter)
    return sorted({n for n in names if names.count(n) > 1})


def _first_line(path: Path, encoding: str, delimiter: str) -> list[str]:
    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        first = next(csv.reader(fh, delimiter=delimiter), [])
    return [c.strip() for c in first]


def _decode(column: pa.ChunkedArray | pa.Array, recoded: bool) -> tuple[pd.Series, np.ndarray]:
    """Bytes to strings; returns the strings and a mask of cells that were not valid UTF-8.

    `recoded`: the file was read as Latin-1 (see `_valid_utf8`), so each cell's original bytes
    are its text encoded back to Latin-1."""
    if not recoded:
        try:
            text = column.cast(pa.string())
            strings = text.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
            return strings, np.zeros(len(column), bool)
        except pa.ArrowInvalid:
            pass  # some cells are not UTF-8: find them one by one
    values = column.to_pylist()
    bad = np.zeros(len(values), bool)
    out = []
    for i, v in enumerate(values):
        try:
            out.append(_original(v, recoded).decode("utf-8"))
        except UnicodeDecodeError:
            bad[i] = True
            out.append(None)
    return pd.Series(out, dtype="string"), bad


def _original(cell: bytes, recoded: bool) -> bytes:
    return cell.decode("utf-8").encode("latin-1") if recoded else cell


def _valid_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8. pyarrow turns a malformed line into text before
    handing it over, and a line with bytes that are not UTF-8 then fails the whole read; such a
    file is read as Latin-1, where every byte is a character, and each value restored from it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


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
    utf8 = codecs.lookup(encoding).name == "utf-8"
    recoded = utf8 and not _valid_utf8(path)
    lines = _Lines(recoded)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=names,
            skip_rows=1,
            use_threads=False,
            block_size=block_bytes,
            encoding="latin-1" if recoded else "utf8" if utf8 else encoding,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=lines.on_invalid, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names}, strings_can_be_null=False
        ),
    )
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        numbers = lines.of_batch(batch.num_rows)
        rows, bad_text = _rows(batch, names, numbers, recoded)
        rejected = [_undecodable(rows[bad_text], source, source_file, encoding)]
        bad = lines.malformed_up_to(numbers[-1] if len(numbers) else 0)
        if bad:
            rejected.append(_malformed(bad, len(names), source, source_file))
        blank = rows.drop(columns="_line").isna().all(axis=1).to_numpy() & ~bad_text
        yield CsvBatch(rows[~blank & ~bad_text].reset_index(drop=True), pd.concat(rejected))
    tail = lines.malformed_up_to(None)
    if tail:
        yield CsvBatch(
            pd.DataFrame(columns=[*names, "_line"]),
            _malformed(tail, len(names), source, source_file),
        )


class _Lines:
    """Physical line numbers: pyarrow skips malformed and blank lines without numbering the rows
    it yields, so each row's line is its position plus the skipped lines before it."""

    def __init__(self, recoded: bool = False) -> None:
        self.skipped: list[tuple[int, int, str]] = []  # (line, fields found or -1 if blank, text)
        self.emitted = 0
        self.reported = 0
        self.recoded = recoded

    def on_invalid(self, row: pacsv.InvalidRow) -> str:
        if row.text.strip():
            self.skipped.append((row.number or 0, row.actual_columns, self._text(row.text)))
        else:
            self.skipped.append((row.number or 0, -1, ""))
        return "skip"

    def _text(self, text: str) -> str:
        """The line as read; bytes that are not UTF-8 kept as `\\xe9` escapes."""
        if not self.recoded:
            return text
        return text.encode("latin-1").decode("utf-8", errors="backslashreplace")

    def of_batch(self, n: int) -> np.ndarray:
        """The lines of the next `n` rows yielded."""
        skipped = np.array(sorted(m[0] for m in self.skipped), dtype=np.int64)
        before = skipped - 2 - np.arange(len(skipped))
        k = np.arange(self.emitted, self.emitted + n, dtype=np.int64)
        self.emitted += n
        return k + 2 + np.searchsorted(before, k, side="right")

    def malformed_up_to(self, last: int | None) -> list[tuple[int, int, str]]:
        """Malformed (not blank) lines up to `last` (None: all) not reported yet."""
        pending = [m for m in self.skipped[self.reported :] if last is None or m[0] <= last]
        self.reported += len(pending)
        return [m for m in pending if m[1] != -1]


def _rows(
    batch: pa.RecordBatch, names: list[str], lines: np.ndarray, recoded: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """The batch as stripped strings (blank = NA) with `_line`, and which rows were not text."""
    cols = {}
    bad_text = np.zeros(batch.num_rows, bool)
    for name, column in zip(names, batch.columns, strict=True):
        text, bad = _decode(column, recoded)
        cols[name] = text.str.strip().replace("", pd.NA)
        bad_text |= bad
    rows = pd.DataFrame(cols)
    rows["_line"] = lines
    return rows, bad_text


def _undecodable(rows: pd.DataFrame, source: str, source_file: str, encoding: str) -> pd.DataFrame:
    n = len(rows)
    return quarantine.frame(
        source,
        source_file,
        rows["_line"],
        [""] * n,
        ["CSV-ENCODING"] * n,
        [f"text is not valid {encoding}; declare the file's encoding in its profile"] * n,
        quarantine.raw_json(rows.drop(columns="_line")),
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
