"""Stream a CSV export in blocks with pyarrow, keeping each row's physical line number.

A 2 GB export is read a block at a time; malformed lines and undecodable text are returned as
quarantine rows instead of stopping the read.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from noncoop import quarantine

BLOCK_BYTES = 32 << 20


class CsvBatch:
    """One block of rows as strings (blank cells are NA) with `_line`, plus rejected lines.

    A block as parsed (its cells as bytes, its lines numbered) becomes rows when first asked:
    where an ingest maps blocks on every core, in the worker that maps it (ingest/workers.py),
    while the run's own process reads on."""

    def __init__(
        self, rows: pd.DataFrame, rejected: pd.DataFrame, parsed: _Parsed | None = None
    ) -> None:
        self._rows, self._rejected, self._parsed = rows, rejected, parsed

    @classmethod
    def of(cls, parsed: _Parsed) -> CsvBatch:
        return cls(_no_rows(parsed.spec), quarantine.empty(), parsed)

    @property
    def rows(self) -> pd.DataFrame:
        self._settle()
        return self._rows

    @property
    def rejected(self) -> pd.DataFrame:
        self._settle()
        return self._rejected

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.rejected)

    def _settle(self) -> None:
        if self._parsed is not None:
            self._rows, self._rejected = self._parsed.rows()
            self._parsed = None


def read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """Column names from the first line; a UTF-8 byte-order mark is ignored. A name used twice
    is read as `name.1` the second time (see `header_warnings`)."""
    names = _first_line(path, encoding, delimiter)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            seen[name] += 1
            names[i] = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
    return names


def header_warnings(path: Path, encoding: str, delimiter: str) -> list[str]:
    """What the run reports about a header: column names given more than once (an extract
    selecting a column twice), of which the first is read."""
    names = _first_line(path, encoding, delimiter)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if not repeated:
        return []
    return [
        f"column(s) {', '.join(repeated)} named more than once in the header; the first is read"
    ]


OTHER_DELIMITERS = (";", "\t", "|")


def wrong_layout(
    path: Path, names: list[str], encoding: str, delimiter: str
) -> tuple[str, str] | None:
    """(code, reason) when the whole file is written other than the profile says: UTF-16 read
    as UTF-8, or a header that is one column holding another delimiter. Every row would fail
    for a reason that names only its fields; the file's reason names the cause."""
    with open(path, "rb") as fh:
        start = fh.read(4096)
    utf16 = start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or b"\x00" in start[:200]
    if utf16 and not codecs.lookup(encoding).name.startswith("utf-16"):
        return (
            "CSV-ENCODING",
            f"the file is UTF-16 text, read as {encoding}: declare encoding: utf-16 in a profile",
        )
    if len(names) == 1:
        other = next((d for d in OTHER_DELIMITERS if d in names[0] and d != delimiter), None)
        if other:
            shown = {"\t": "a tab ('\\t')"}.get(other, f"'{other}'")
            return (
                "CSV-DELIMITER",
                f"the header is one column; the file looks delimited by {shown}, not "
                f"'{delimiter}': declare delimiter in a profile",
            )
    return None


def _every_line_rejected(
    path: Path, source: str, source_file: str, code: str, reason: str
) -> Iterator[CsvBatch]:
    """Each line after the header, quarantined for the file's reason, a block at a time."""
    with open(path, "rb") as fh:
        fh.readline()
        number = 1
        while lines := fh.readlines(BLOCK_BYTES):
            numbers, texts = [], []
            for line in lines:
                number += 1
                if line.strip(b"\r\n\x00 "):
                    numbers.append(number)
                    text = line.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
                    texts.append(text.replace("\x00", ""))  # UTF-16's, read byte by byte
            n = len(numbers)
            rejected = quarantine.frame(
                source, source_file, numbers, [""] * n, [code] * n, [reason] * n, texts
            )
            yield CsvBatch(pd.DataFrame(columns=["_line"]), rejected)


def _first_line(path: Path, encoding: str, delimiter: str) -> list[str]:
    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    with open(path, encoding=enc, errors="replace", newline="") as fh:
        first = next(csv.reader(fh, delimiter=delimiter), [])
    return [c.strip() for c in first]


def _decode(
    column: pa.ChunkedArray | pa.Array, recoded: bool, plain: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Bytes to strings; returns the strings and a mask of cells that were not valid UTF-8.

    `recoded`: the file was read as Latin-1 (see `_scanned`), so each cell's original bytes
    are its text encoded back to Latin-1. `plain`: every byte is ASCII (`_plain`), so the bytes
    are taken as text without checking them again."""
    if not recoded:
        try:
            text = column.view(pa.string()) if plain else column.cast(pa.string())
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


def _scanned(path: Path) -> tuple[bool, bool]:
    """Whether the whole file decodes as UTF-8, and whether it holds a quote anywhere.

    pyarrow turns a malformed line into text before handing it over, and a line with bytes
    that are not UTF-8 then fails the whole read; such a file is read as Latin-1, where every
    byte is a character, and each value restored from it. A file without a quote has no value
    running over lines, and pyarrow reads it a quarter faster told so. A block of plain ASCII
    (a register is nothing else) needs no decoding: decoding 1.6 GB took three seconds."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    quoted = False
    try:
        with open(path, "rb") as fh:
            while block := fh.read(BLOCK_BYTES):
                quoted = quoted or b'"' in block
                if not block.isascii() or decoder.getstate()[0]:
                    decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, True
    return True, quoted


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
    wrong = wrong_layout(path, names, encoding, delimiter)
    if wrong:
        yield from _every_line_rejected(path, source, source_file, *wrong)
        return
    utf8 = codecs.lookup(encoding).name == "utf-8"
    valid, quoted = _scanned(path) if utf8 else (True, True)
    spec = _Spec(
        names,
        source,
        source_file,
        encoding,
        ("utf8" if valid else "latin-1") if utf8 else encoding,
        delimiter,
        block_bytes,
        quoted,
    )
    yield from _read(spec, path, 0)


@dataclass(frozen=True)
class _Spec:
    """How a file is read: its columns, where its rows are reported from, its encodings."""

    names: list[str]
    source: str
    source_file: str
    encoding: str  # as declared, for messages
    read_as: str  # as pyarrow reads it: latin-1 for a UTF-8 file with bytes that are not
    delimiter: str
    block_bytes: int
    quoted: bool = True  # whether the file holds a quote: a value may then run over lines

    @property
    def recoded(self) -> bool:
        return self.read_as == "latin-1" and codecs.lookup(self.encoding).name == "utf-8"


def _read(spec: _Spec, data: Path | bytes, offset: int) -> Iterator[CsvBatch]:
    """The rows of `data` (a file, or the part of one after an unclosed quote: `offset` lines
    into the file). The last record is held back until the file ends: if a quote it opened is
    never closed, it swallowed every later line, which is then read again as rows."""
    lines = _Lines(spec.recoded, offset)
    reader = pacsv.open_csv(
        data if isinstance(data, Path) else io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            column_names=spec.names,
            skip_rows=1,
            use_threads=False,
            block_size=spec.block_bytes,
            encoding=spec.read_as,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=spec.delimiter,
            invalid_row_handler=lines.on_invalid,
            ignore_empty_lines=False,
            # A note written over several lines may cross a block boundary.
            newlines_in_values=spec.quoted,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in spec.names}, strings_can_be_null=False
        ),
    )
    pending = None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        if pending is not None:
            yield pending
        pending = _batch(spec, batch, lines)
    tail = lines.number_tail()
    rejected = _malformed(tail, len(spec.names), spec) if tail else None
    last = pending if pending is not None else CsvBatch(_no_rows(spec), quarantine.empty())
    # The file's last record, where it runs over several lines: a quote left open would make it.
    unclosed, inside, as_value = lines.spanning or (None, 0, False)
    record = b""
    if unclosed is not None:
        tail, ended = _last_lines(data, inside + 1)
        # A value left open takes the file's final line end too; a malformed row's text not.
        record = b"\n".join(tail[1:] if ended and as_value else tail)
    if unclosed is not None and _quote_left_open(record, spec):
        yield from _reread_after(spec, data, unclosed, record, last, rejected)
    else:
        unclosed = None
        if rejected is not None:
            last = CsvBatch(last.rows, pd.concat([last.rejected, rejected], ignore_index=True))
        if pending is not None or rejected is not None:
            yield last
    # A malformed record whose quote closed lines later took those lines with it: they are
    # read again as the rows they are.
    for line, raw in lines.spanned:
        if line != unclosed:
            inner = raw.split("\n", 1)[1].encode(_python_codec(spec), errors="replace")
            yield from _read(spec, _header_line(data) + inner + b"\n", line - 1)


def _reread_after(
    spec: _Spec,
    data: Path | bytes,
    line: int,
    record: bytes,
    last: CsvBatch,
    rejected: pd.DataFrame | None,
) -> Iterator[CsvBatch]:
    """The record at `line` (its raw bytes `record`, to the end of the data) opened a quote
    never closed: it is quarantined, naming the line, and the lines after it are read again as
    rows."""
    first, _, rest = record.partition(b"\n")
    text = first.decode(_python_codec(spec), errors="replace").rstrip("\r")
    rows = last.rows[last.rows["_line"] != line]
    kept = [last.rejected] + ([rejected] if rejected is not None else [])
    kept = [k[k["source_line"] != line] for k in kept]
    why = quarantine.frame(
        spec.source,
        spec.source_file,
        [line],
        [""],
        ["CSV-UNCLOSED-QUOTE"],
        [f"a quote opened on line {line} is never closed; the lines after it are read again"],
        [text],
    )
    yield CsvBatch(rows.reset_index(drop=True), pd.concat([*kept, why], ignore_index=True))
    if rest:
        yield from _read(spec, _header_line(data) + rest + b"\n", line - 1)


def _quote_left_open(record: bytes, spec: _Spec) -> bool:
    """Whether a record (raw bytes, to the end of the data) runs to the end inside a quote."""
    text = record.decode(_python_codec(spec), errors="replace")
    try:
        for _ in csv.reader(io.StringIO(text), delimiter=spec.delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _last_lines(data: Path | bytes, n: int) -> tuple[list[bytes], bool]:
    """The last `n` lines of `data`, its final line end left off, and whether it had one. A file
    is read from its end: checking the last record of a 2 GB notes export costs the record's
    length, not the file's."""
    if isinstance(data, bytes):
        tail = data
    else:
        with open(data, "rb") as fh:
            pos = fh.seek(0, io.SEEK_END)
            tail = b""
            while pos > 0 and tail.rstrip(b"\r\n").count(b"\n") < n:
                step = min(1 << 16, pos)
                pos -= step
                fh.seek(pos)
                tail = fh.read(step) + tail
    ended = tail.endswith(b"\n")
    body = tail[:-1] if ended else tail
    return body.split(b"\n")[-n:], ended


def _header_line(data: Path | bytes) -> bytes:
    stream = open(data, "rb") if isinstance(data, Path) else io.BytesIO(data)  # noqa: SIM115
    with stream:
        return stream.readline()


def _python_codec(spec: _Spec) -> str:
    return "latin-1" if spec.read_as == "latin-1" else spec.encoding


def _no_rows(spec: _Spec) -> pd.DataFrame:
    return pd.DataFrame(columns=[*spec.names, "_line"])


def _batch(spec: _Spec, batch: pa.RecordBatch, lines: _Lines) -> CsvBatch:
    """One block's rows with their physical lines, and its rejected lines. Only the lines are
    numbered here (they depend on the blocks before); the cells become text when first asked."""
    inner = np.zeros(batch.num_rows, np.int64)
    for column in batch.columns:
        # Without a quote in the file, every line end ends a record: no value holds one.
        if spec.quoted and _holds_newline(column):
            inner += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    numbers = lines.number(inner)
    bad = lines.take_malformed()
    malformed = _malformed(bad, len(spec.names), spec) if bad else None
    return CsvBatch.of(_Parsed(spec, batch, numbers, malformed))


def _holds_newline(column: pa.Array) -> bool:
    """Whether any value of a column of bytes holds a line end. Its values' bytes are searched
    at once: counting value by value took a tenth of a second a block, for a register whose
    values never hold one."""
    held = _bytes_of(column)
    if held is None:
        return True
    ends, data = held
    return data[ends[0] : ends[-1]].tobytes().find(b"\n") >= 0


def _bytes_of(column: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each value of a column of bytes ends (its start before it) and the bytes the
    values are cut from; None for a column of another type."""
    wide = pa.types.is_large_binary(column.type)
    if not (wide or pa.types.is_binary(column.type)):
        return None
    _, offsets, data = column.buffers()
    ends = np.frombuffer(offsets, np.int64 if wide else np.int32)
    values = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return ends[column.offset : column.offset + len(column) + 1], values


@dataclass
class _Parsed:
    """A block as parsed: its cells as bytes, the physical line of each row, and the records
    found malformed among its lines."""

    spec: _Spec
    batch: pa.RecordBatch
    lines: np.ndarray
    malformed: pd.DataFrame | None

    def rows(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The rows as text (blank lines left out) and the rejected lines."""
        spec = self.spec
        rows, bad_text = _rows(self.batch, spec.names, self.lines, spec.recoded)
        rejected = [_undecodable(rows[bad_text], spec.source, spec.source_file, spec.encoding)]
        if self.malformed is not None:
            rejected.append(self.malformed)
        blank = rows.drop(columns="_line").isna().all(axis=1).to_numpy() & ~bad_text
        return rows[~blank & ~bad_text].reset_index(drop=True), pd.concat(rejected)


class _Lines:
    """Physical line numbers. pyarrow numbers records, not lines: a quoted value holding a
    newline spans lines, and malformed and blank lines are skipped without numbering the rows it
    yields. A row's line is its record number plus the newlines inside the records before it."""

    def __init__(self, recoded: bool = False, offset: int = 0) -> None:
        # Records pyarrow skipped: (record, fields found or -1 if blank, text, newlines inside,
        # the text as read).
        self.skipped: list[tuple[int, int, str, int, str]] = []
        # Malformed records over several lines: (line, the text as read).
        self.spanned: list[tuple[int, str]] = []
        self.numbered = 0  # skipped records given a line so far
        self.emitted = 0  # rows yielded so far
        self.inside = 0  # newlines inside the records numbered so far
        # (line, fields, text, lines spanned), not yet taken
        self.malformed: list[tuple[int, int, str, int]] = []
        # (line, newlines inside, read as a row's values) of the last record numbered, if it
        # spans lines.
        self.spanning: tuple[int, int, bool] | None = None
        self.recoded, self.offset = recoded, offset

    def on_invalid(self, row: pacsv.InvalidRow) -> str:
        text = row.text if row.text.strip() else ""
        fields = row.actual_columns if text else -1
        inside = row.text.count("\n")
        self.skipped.append((row.number or 0, fields, self._text(text), inside, row.text))
        return "skip"

    def _text(self, text: str) -> str:
        """The line as read; bytes that are not UTF-8 kept as `\\xe9` escapes."""
        if not self.recoded:
            return text
        return text.encode("latin-1").decode("utf-8", errors="backslashreplace")

    def number(self, inner: np.ndarray) -> np.ndarray:
        """The lines of the next rows yielded, given the newlines inside each."""
        records = self._records(len(inner))
        last = int(records[-1]) if len(records) else 0
        return self._place(records, inner, lambda record: record <= last)

    def number_tail(self) -> list[tuple[int, int, str, int]]:
        """Lines of the skipped records after the last row; the malformed ones, taken."""
        self._place(np.zeros(0, np.int64), np.zeros(0, np.int64), lambda record: True)
        return self.take_malformed()

    def take_malformed(self) -> list[tuple[int, int, str, int]]:
        taken, self.malformed = self.malformed, []
        return taken

    def _records(self, n: int) -> np.ndarray:
        """Record numbers of the next `n` rows: positions counting the skipped records."""
        skipped = np.array(sorted(m[0] for m in self.skipped), dtype=np.int64)
        before = skipped - 2 - np.arange(len(skipped))
        k = np.arange(self.emitted, self.emitted + n, dtype=np.int64)
        self.emitted += n
        return k + 2 + np.searchsorted(before, k, side="right")

    def _place(self, records: np.ndarray, inner: np.ndarray, due) -> np.ndarray:
        """Lines for rows (`records`, newlines `inner`) and the skipped records `due` among
        them, in record order; the newlines counted carry on to the next call."""
        extra = [m for m in self.skipped[self.numbered :] if due(m[0])]
        self.numbered += len(extra)
        order_records = np.concatenate([records, [m[0] for m in extra]]).astype(np.int64)
        order_inner = np.concatenate([inner, [m[3] for m in extra]]).astype(np.int64)
        if extra:
            order = np.argsort(order_records, kind="stable")
            before = np.empty(len(order), np.int64)
            before[order] = np.cumsum(order_inner[order]) - order_inner[order]
        else:  # the rows' records ascend: nothing to sort
            before = np.cumsum(order_inner) - order_inner
        lines = order_records + self.inside + before + self.offset
        self.inside += int(order_inner.sum())
        placed = list(zip(lines[len(records) :], extra, strict=True))
        self.malformed += [(int(line), m[1], m[2], m[3]) for line, m in placed if m[1] != -1]
        self.spanned += [(int(line), m[4]) for line, m in placed if m[1] != -1 and m[3]]
        if len(order_records):
            final = int(np.argmax(order_records))  # the last record (record numbers differ)
            inside = int(order_inner[final])
            as_value = bool(final < len(records))
            self.spanning = (int(lines[final]), inside, as_value) if inside else None
        return lines[: len(records)]


def _rows(
    batch: pa.RecordBatch, names: list[str], lines: np.ndarray, recoded: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """The batch as stripped strings (blank = NA) with `_line`, and which rows were not text."""
    cols = {}
    bad_text = np.zeros(batch.num_rows, bool)
    for name, column in zip(names, batch.columns, strict=True):
        held = _bytes_of(column)
        plain = not recoded and _plain(held)
        text, bad = _decode(column, recoded, plain)
        stripped = recoded or (not plain and _padded(held))
        if stripped:
            text = text.str.strip()
        if stripped or _some_blank(held):
            text = text.replace("", pd.NA)
        cols[name] = text
        bad_text |= bad
    rows = pd.DataFrame(cols)
    rows["_line"] = lines
    return rows, bad_text


# The three checks below take a column's bytes as `_bytes_of` gives them (None: not bytes).


def _plain(held: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Whether every byte of a column of bytes is printable ASCII other than a space: its values
    are then text as they are, with nothing to trim (a register's always are). Found by the
    least and greatest byte: looking at each value's first and last byte, and validating the
    text, took a tenth of the register's import."""
    if held is None:
        return False
    ends, values = held
    used = values[ends[0] : ends[-1]]
    return not len(used) or bool(used.min() > 0x20 and used.max() < 0x7F)


def _some_blank(held: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Whether any value of a column is blank (empty, or not bytes we can see into)."""
    return held is None or bool((np.diff(held[0]) == 0).any())


def _padded(held: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Whether any value of a column of bytes may start or end with white space: its first or
    last byte is a space, a control character or not ASCII (perhaps a no-break space). A
    register's values never do, and trimming them was half of making its text."""
    if held is None:
        return True
    ends, values = held
    starts, stops = ends[:-1], ends[1:]
    full = stops > starts
    edges = np.concatenate([values[starts[full]], values[stops[full] - 1]])
    return bool(((edges <= 0x20) | (edges >= 0x7F)).any())


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


def _malformed(items: list[tuple[int, int, str, int]], expected: int, spec: _Spec) -> pd.DataFrame:
    return quarantine.frame(
        spec.source,
        spec.source_file,
        [m[0] for m in items],
        [""] * len(items),
        ["CSV-MALFORMED"] * len(items),
        [f"expected {expected} fields, found {m[1]}" + _spanned(m) for m in items],
        [m[2].split("\n", 1)[0] for m in items],  # the lines after it are read again
    )


def _spanned(item: tuple[int, int, str, int]) -> str:
    """Where a malformed record ran over several lines: a quote closed lines later."""
    line, _, _, inside = item
    if not inside:
        return ""
    return (
        f" (a quote on line {line} is closed on line {line + inside}; the lines between are "
        "read again as rows)"
    )
