"""The workspace folder: the event store (Parquet parts), the quarantine, the people table and a
manifest of every file ingested, so re-running an ingest adds only what is new.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from noncoop import DEFAULT_WORKSPACE, quarantine
from noncoop.asof import day_end
from noncoop.events import (
    EVENT_COLUMNS,
    EVENT_NUMBER,
    LAZY_COLUMNS,
    SPELLED,
    TRACE_COLUMNS,
    conform,
    empty_events,
    event_id_numbers,
    event_numbers,
    numbered,
    spelled_ids,
)
from noncoop.store.health import Damage, WorkspaceDamaged, store_damage
from noncoop.store.manifest import Manifest

log = logging.getLogger("noncoop.store")

# Text columns rules read, loaded for them as categories (in the canonical columns' order).
CODED = ("subject_id", "chain_id", "detail")
# The columns rules read, in the canonical order: the others (LAZY_COLUMNS) only for evidence.
LEAN = [c for c in EVENT_COLUMNS if c not in LAZY_COLUMNS]


class Workspace:
    """A folder holding one region's ingested events and their provenance."""

    def __init__(self, root: Path | str = DEFAULT_WORKSPACE):
        self.root = Path(root)
        self.events_dir = self.root / "events"
        self.quarantine_dir = self.root / "quarantine"
        self.manifest_path = self.root / "manifest.json"
        self.subjects_path = self.root / "subjects.parquet"
        self.alerts_path = self.root / "alerts.sqlite"
        self.withdrawn_dir = self.root / "withdrawn"
        # A copy of the last scan's timeline (scan/kept.py), safe to delete at any time.
        self.timeline_dir = self.root / "timeline"

    def create(self) -> Workspace:
        """Make the folders if they are not there yet."""
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        return self

    # manifest -----------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """What has been ingested: files with hashes and counts, and the runs."""
        try:
            return Manifest.load(self.manifest_path)
        except (ValueError, UnicodeDecodeError):  # truncated, or not the manifest at all
            damage = Damage("manifest.json cannot be read (truncated or not a manifest)")
            raise WorkspaceDamaged(self.root, [damage]) from None

    def check(self, manifest: Manifest | None = None) -> None:
        """Refuse to go on with a store that is not whole (WorkspaceDamaged)."""
        damage = store_damage(self.root, self.manifest() if manifest is None else manifest)
        if damage:
            raise WorkspaceDamaged(self.root, damage)

    def save_manifest(self, manifest: Manifest) -> None:
        """Commit: the parts the manifest lists are the store from now on."""
        manifest.save(self.manifest_path)

    def timezone(self) -> str:
        """The region's calendar, as its last ingest recorded it."""
        return self.manifest().timezone

    def declared_coverage(self) -> dict[str, tuple[str, str | None]]:
        """Periods the sources declare they cover (ISO dates; no end = up to the scan date)."""
        return dict(self.manifest().coverage)

    # events -------------------------------------------------------------------------------
    def event_parts(self, manifest: Manifest | None = None) -> list[Path]:
        """The committed parts of the event store: those the manifest lists for its files.

        A part on disk that no file lists is left over from an ingest that stopped before it
        finished; it is not part of the store (the next ingest removes it)."""
        listed = (self.manifest() if manifest is None else manifest).committed_parts()
        parts = [p for p in sorted(self.events_dir.glob("*.parquet")) if p.name in listed]
        if len(parts) < len(listed):  # a part the manifest lists has gone: the store is short
            self.check(manifest)
        return parts

    def part_numbers(self, parts: list[Path]) -> np.ndarray:
        """The event ids held in the given parts, as 64-bit numbers."""
        columns = [pq.read_table(p, columns=["event_id"]).column(0) for p in parts]
        return np.concatenate(
            [event_id_numbers(chunk) for c in columns for chunk in c.chunks]
            or [np.array([], np.uint64)]
        )

    def event_numbers(self) -> np.ndarray:
        """Every stored event id as a 64-bit number, for de-duplicating a new import."""
        return self.part_numbers(self.event_parts())

    def remove_orphans(self, manifest: Manifest) -> int:
        """Delete event and withdrawn parts that no manifest entry lists, and files its
        workers were set up from (left by a stopped run)."""
        listed = manifest.committed_parts()
        kept = set(manifest.withdrawn)
        orphans = [p for p in self.events_dir.glob("*.parquet") if p.name not in listed]
        orphans += [p for p in self.withdrawn_dir.glob("*.parquet") if p.name not in kept]
        orphans += list(self.events_dir.glob(".worker-start-*"))  # ingest/workers.py
        for path in orphans:
            path.unlink(missing_ok=True)
        return len(orphans)

    def write_withdrawn(self, events: pd.DataFrame, name: str) -> Path:
        """Keep events whose record is no longer in the latest version of its file."""
        self.withdrawn_dir.mkdir(parents=True, exist_ok=True)
        return write_parquet(events, self.withdrawn_dir / f"{name}.parquet")

    def load_withdrawn(self) -> pd.DataFrame:
        parts = [pd.read_parquet(self.withdrawn_dir / n) for n in self.manifest().withdrawn]
        return pd.concat(parts, ignore_index=True) if parts else empty_events()

    def count_events(self, manifest: Manifest | None = None) -> int:
        """Number of stored events, from the Parquet footers alone."""
        return self.count_parts(self.event_parts(manifest))

    @staticmethod
    def count_parts(parts: list[Path]) -> int:
        """Rows in the given parts, from their footers."""
        return sum(pq.ParquetFile(p).metadata.num_rows for p in parts if p.exists())

    def write_events(self, events: pd.DataFrame, name: str) -> Path:
        """Write one part of the event store."""
        return write_parquet(numbered(events), self.events_dir / f"{name}.parquet")

    def name_part(self, path: Path, name: str) -> Path:
        """A part written under a passing name (by an ingest worker), named as the run's own."""
        return path.replace(self.events_dir / f"{name}.parquet")

    def load_events(
        self,
        as_of: pd.Timestamp | None = None,
        with_trace: bool = False,
        subjects: list[str] | None = None,
    ) -> pd.DataFrame:
        """All stored events (optionally only those on or before `as_of`, or only of some
        subjects), canonical dtypes.

        Columns and filters are applied while reading, so only what is needed is ever held in
        memory."""
        return self._load(as_of, with_trace, subjects)[0]

    def load_for_rules(
        self, as_of: pd.Timestamp, people: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> tuple[pd.DataFrame, TraceReader]:
        """The events on or before `as_of` without the columns no rule reads (LAZY_COLUMNS: event
        ids, files, lines, households), and a reader that fetches those for the rows alerts cite.
        Ten million event ids are never turned into Python strings to cite a few thousand.

        With `people`, only the events of the people it picks (given ids, it marks those to
        keep): asked once per person, not per event."""
        return self._load(as_of, False, None, lean=True, people=people)

    def _load(
        self,
        as_of,
        with_trace: bool,
        subjects: list[str] | None,
        lean: bool = False,
        people: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[pd.DataFrame, TraceReader]:
        parts = self.event_parts()
        columns = [*EVENT_COLUMNS, *(TRACE_COLUMNS if with_trace else ())]
        if lean:
            columns = [c for c in columns if c not in LAZY_COLUMNS]
        tables, kept = [], []
        for part in parts:
            # For rules, the text columns as categories: a hundred thousand people and a few dozen
            # details (absence codes), not ten million strings each for every test to compare.
            table = self._read_part(part, columns, CODED if lean else (), numbered=lean)
            keep = None
            if as_of is not None:
                keep = _before(table["occurred_at"], as_of)
                # Most parts hold nothing after the as-of date: copying every column of every
                # row to drop none was the largest cost of loading.
                keep = None if pc.all(keep).as_py() else keep
            if subjects is not None:
                chosen = pc.is_in(table["subject_id"], pa.array(subjects, pa.string()))
                keep = chosen if keep is None else pc.and_(keep, chosen)
            if people is not None:
                chosen = _picked(table["subject_id"], people)
                keep = chosen if keep is None else pc.and_(keep, chosen)
            if keep is not None:
                table = table.filter(keep)
            kept.append((part, None if keep is None else np.flatnonzero(keep.to_numpy(False))))
            tables.append(table.cast(_unified(table.schema)))
        return _frame(tables, columns, lean, with_trace), TraceReader(kept)

    def load_added(
        self,
        as_of: pd.Timestamp,
        held: dict[str, np.ndarray | None],
        rests: dict[str, tuple[np.ndarray, Path]] | None = None,
    ) -> tuple[pd.DataFrame, list[tuple[Path, np.ndarray]]]:
        """The events on or before `as_of` that a table loaded before does not hold, lean as
        `load_for_rules` loads them, with the part and rows of the part each came from. `held`
        names each part that table read: None where it held all its rows, else the rows it
        held. A part held whole is not opened; of the others, only the times are read first,
        and the rows chosen are taken from the part's rest (`copy_rest`: the rows it did not
        hold when kept, by part name, with their places) where there is one."""
        tables, added = [], []
        for part in self.event_parts():
            rows = held.get(part.name, np.zeros(0, np.int64))
            if rows is None:
                continue
            rest = (rests or {}).get(part.name)
            # With a rest, the rows' numbers too: what it holds is checked against them.
            keys = self._read_part(part, ["occurred_at"], numbered=rest is not None)
            wanted = _before(keys["occurred_at"], as_of).to_numpy(zero_copy_only=False)
            wanted[rows] = False
            if not wanted.any():
                continue
            chosen = np.flatnonzero(wanted)
            table = _from_rest(rest, chosen, keys)
            if table is None:
                table = self._read_part(part, LEAN, CODED, numbered=True).take(pa.array(chosen))
            tables.append(_compact(table).cast(_unified(table.schema)))
            added.append((part, chosen))
        return _frame(tables, LEAN, True, False), added

    def _read_part(
        self,
        part: Path,
        columns: list[str],
        dictionary: tuple[str, ...] = (),
        numbered: bool = False,
    ) -> pa.Table:
        """One part of the store; one that cannot be read is named as damage, with its file.
        With `numbered`, each row's EVENT_NUMBER too: stored beside it, or (in a part written
        before it was) worked out from its id."""
        try:
            return read_part(part, columns, dictionary, numbered)
        except (OSError, ValueError):
            self.check()
            raise WorkspaceDamaged(
                self.root, [Damage(f"events/{part.name} cannot be read")]
            ) from None

    # quarantine ---------------------------------------------------------------------------
    def write_quarantine(self, rows: pd.DataFrame, name: str) -> Path | None:
        """Write the rejected rows of one file; nothing is written when there are none."""
        if rows.empty:
            return None
        return write_parquet(rows, self.quarantine_dir / f"{name}.parquet")

    def load_quarantine(self) -> pd.DataFrame:
        """Rejected rows of the files as last ingested."""
        names = [*self.manifest().quarantine_parts(), self.people_quarantine.name]
        parts = [p for p in (self.quarantine_dir / n for n in names) if p.exists()]
        if not parts:
            return quarantine.empty()
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)

    # people -------------------------------------------------------------------------------
    @property
    def people_quarantine(self) -> Path:
        return self.quarantine_dir / "people.parquet"

    def write_people(self, subjects: pd.DataFrame, rejected: pd.DataFrame) -> None:
        """Keep the resolved subjects (role, household, date of birth) and rejected people rows."""
        write_parquet(subjects, self.subjects_path)
        self.people_quarantine.unlink(missing_ok=True)
        self.write_quarantine(rejected, "people")

    def load_subjects(self) -> pd.DataFrame:
        if not self.subjects_path.exists():
            return pd.DataFrame(columns=["subject_id", "role", "household_id", "date_of_birth"])
        return pd.read_parquet(self.subjects_path)


def rows_in(part: Path, known: dict[str, int] | None = None) -> int:
    """How many rows a part of the store holds: as `known` (by part name) where it says, else
    from the part's footer."""
    if known and part.name in known:
        return known[part.name]
    return pq.ParquetFile(part).metadata.num_rows


class TraceReader:
    """The LAZY_COLUMNS columns of rows of a loaded event table, read from the parts they came from:
    `kept` lists each part with the rows of it the table holds (None: all of them). `copies`
    names, by place in `kept`, an uncompressed file holding those rows' columns (`copy_trace`,
    `copy_rest`) with the row of it each of them is (None: the same): its rows are taken from
    the mapped file, not decoded with the whole part. `counts` gives the rows of parts held
    whole where they are known already (by name): those parts are not opened to count them (a
    nightly scan's kept timeline holds some seventy parts whole)."""

    def __init__(
        self,
        kept: list[tuple[Path, np.ndarray | None]],
        copies: dict[int, tuple[Path, np.ndarray | None]] | None = None,
        counts: dict[str, int] | None = None,
    ):
        self.kept = kept
        self.copies = copies or {}
        sizes = [len(rows) if rows is not None else rows_in(part, counts) for part, rows in kept]
        self.starts = np.cumsum([0, *sizes])
        digests = [hashlib.blake2b(path.name.encode(), digest_size=8).digest() for path, _ in kept]
        self._named = np.array([int.from_bytes(d, "big") for d in digests], np.uint64)

    def parts(self, positions: np.ndarray) -> np.ndarray:
        """For the table's rows at `positions`, the part each came from, as a 64-bit digest of
        its name: a part is written once and never changed, so a record sent again (with
        changes, or on other lines) comes from another part under its old id."""
        which = np.searchsorted(self.starts, np.asarray(positions, np.int64), "right") - 1
        return self._named[which]

    def read(self, positions: np.ndarray, numbers: np.ndarray | None = None) -> pd.DataFrame:
        """The LAZY_COLUMNS columns for the table's rows at `positions`, in that order. Given
        the rows' event `numbers`, a part whose ids are their numbers' digits (SPELLED) is not
        read for its ids: ten million of them were most of the time spent citing evidence."""
        positions = np.asarray(positions, np.int64)
        which = np.searchsorted(self.starts, positions, "right") - 1
        pieces, order = [], []
        for i in np.unique(which):
            at = np.flatnonzero(which == i)
            local = positions[at] - self.starts[i]
            given = None if numbers is None else numbers[at]
            table = self._copied(int(i), local, given)
            if table is None:
                table = self._from_part(int(i), local, given)
            pieces.append(table.cast(_unified(table.schema)))
            order.append(at)
        if not pieces:
            return conform(
                pd.DataFrame(columns=list(LAZY_COLUMNS)), trace=False, only=list(LAZY_COLUMNS)
            )
        frame = pa.concat_tables(pieces).to_pandas()
        frame.index = np.concatenate(order)
        return conform(frame.sort_index(), trace=False, only=list(LAZY_COLUMNS))

    def _from_part(self, i: int, local: np.ndarray, numbers: np.ndarray | None) -> pa.Table:
        part, rows = self.kept[i]
        local = local if rows is None else rows[local]
        # Ids are left out only where they can be spelled from the numbers given.
        return _traced(_lazy(part, spell=numbers is not None).take(pa.array(local)), numbers)

    def _copied(self, i: int, local: np.ndarray, numbers: np.ndarray | None) -> pa.Table | None:
        """The rows from the segment's copy; None where it has none, or one that does not fit
        its part (the part is read instead, for the same values)."""
        if i not in self.copies:
            return None
        copy, index = self.copies[i]
        try:
            table = mapped_arrow(copy)
            rows = self.starts[i + 1] - self.starts[i]
            fits = table.num_rows == rows if index is None else index.max() < table.num_rows
            names = [c for c in LAZY_COLUMNS if c in table.column_names]
            if not fits or not set(_TRACED) <= set(names):
                raise ValueError("a copy of other rows")
            at = local if index is None else index[local]
            taken = table.select(names).take(pa.array(at))
            taken.validate(full=True)  # codes past their values: refused, never read
            if index is not None and not _same_records(table, at, numbers):
                raise ValueError("a rest of other records")
        except (OSError, ValueError, pa.ArrowException) as problem:
            _refused(copy, problem)
            del self.copies[i]
            return None
        return _traced(taken, numbers)


def _traced(table: pa.Table, numbers: np.ndarray | None) -> pa.Table | None:
    """Rows of LAZY_COLUMNS as a part's plain read gives them, their ids spelled from their
    numbers where the ids were left out; None where they were and no numbers are given."""
    table = _plain(table, "household_id", pa.large_string())
    table = _plain(table, "source_line", pa.int64())
    if "event_id" in table.column_names:
        return table
    return None if numbers is None else _with_ids(table, numbers)


def _same_records(rest: pa.Table, at: np.ndarray, numbers: np.ndarray | None) -> bool:
    """Whether the rows of a part's rest are the records with these event numbers."""
    if numbers is None or EVENT_NUMBER not in rest.column_names:
        return False
    return np.array_equal(rest[EVENT_NUMBER].take(pa.array(at)).to_numpy(), numbers)


# The LAZY_COLUMNS every copy holds (the ids only where they are not their numbers' digits).
_TRACED = ("household_id", "source_file", "source_line")


def read_part(
    part: Path, columns: list[str], dictionary: tuple[str, ...] = (), numbered: bool = False
) -> pa.Table:
    """Columns of one part (`dictionary`: those read as codes and their values). With
    `numbered`, each row's EVENT_NUMBER too: stored beside it, or (in a part written before it
    was) worked out from its id."""
    with pq.ParquetFile(part, read_dictionary=list(dictionary)) as file:
        if not numbered:
            return file.read(columns=columns)
        if EVENT_NUMBER in file.schema_arrow.names:
            return file.read(columns=[*columns, EVENT_NUMBER])
        table = file.read(columns=[*columns, "event_id"])
    numbers = pa.array(event_numbers(table["event_id"]), pa.uint64())
    return table.drop_columns(["event_id"]).append_column(EVENT_NUMBER, numbers)


def copy_rest(part: Path, held: np.ndarray, dest: Path) -> np.ndarray:
    """Write the rows of a part that a kept timeline does not hold (`held`: those it does) as
    `load_added` reads them, with their LAZY_COLUMNS for citing them, uncompressed to `dest`;
    their places in the part are returned. Later nights take the rows of their days from it,
    where they decoded the whole part."""
    with pq.ParquetFile(part) as file:
        later = np.ones(file.metadata.num_rows, bool)
    later[held] = False
    rest = np.flatnonzero(later)
    table = read_part(part, LEAN, CODED, numbered=True)
    lazy = _lazy(part)
    for name in lazy.column_names:
        table = table.append_column(name, lazy[name])
    write_arrow(_compact(table.take(pa.array(rest))), dest)
    return rest


def rest_rows(places: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """Where each of a part's `rows` is in its rest, whose `places` in the part are listed in
    order; None where one is not there (or the places are not in order)."""
    if not len(places) or (np.diff(places) <= 0).any():
        return None
    at = np.minimum(np.searchsorted(places, rows), len(places) - 1)
    return at if (places[at] == rows).all() else None


def _from_rest(
    rest: tuple[np.ndarray, Path] | None, chosen: np.ndarray, keys: pa.Table
) -> pa.Table | None:
    """The chosen rows of a part from its rest; None where it has none, or one that does not
    hold them as the part does (`keys`: the part's times and event numbers; the part is read
    instead, for the same values)."""
    if rest is None:
        return None
    places, copy = rest
    try:
        table = mapped_arrow(copy)
        at = rest_rows(places, chosen)
        if at is None or table.num_rows != len(places):
            raise ValueError("a rest without the rows")
        taken = table.take(pa.array(at)).select([*LEAN, EVENT_NUMBER])
        taken.validate(full=True)  # codes past their values: refused, never read
        if not taken.select(keys.column_names).equals(keys.take(pa.array(chosen))):
            raise ValueError("a rest of other records")
    except (OSError, ValueError, KeyError, pa.ArrowException) as problem:
        _refused(copy, problem)
        return None
    return taken


def copy_trace(part: Path, rows: np.ndarray | None, dest: Path) -> None:
    """Write the LAZY_COLUMNS of a part's `rows` (None: all) uncompressed to `dest`, for
    TraceReader to map: households as codes and lines as 32-bit numbers where they fit, a
    fifth of the bytes."""
    table = _lazy(part)
    if rows is not None:
        table = table.take(pa.array(rows))
    lines = table["source_line"]
    if len(lines) and pc.max(lines).as_py() < 1 << 31 and pc.min(lines).as_py() >= -(1 << 31):
        table = table.set_column(
            table.column_names.index("source_line"), "source_line", lines.cast(pa.int32())
        )
    write_arrow(table, dest)


def _lazy(part: Path, spell: bool = True) -> pa.Table:
    """A part's LAZY_COLUMNS, households as codes; with `spell`, ids that are their event
    numbers' digits are left out (spelled again from the numbers). Read through ParquetFile:
    a tenth less than read_table's dataset."""
    with pq.ParquetFile(part, read_dictionary=["household_id"]) as file:
        spelled = spell and _spelled(file.schema_arrow.metadata)
        return file.read(columns=[c for c in LAZY_COLUMNS if not (spelled and c == "event_id")])


def write_arrow(table: pa.Table, dest: Path) -> None:
    """A table as an uncompressed Arrow file, to be mapped (`mapped_arrow`)."""
    with pa.OSFile(str(dest), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
        out.write_table(table)


def mapped_arrow(path: Path) -> pa.Table:
    """An uncompressed Arrow file, mapped: its rows are read only where taken."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _refused(copy: Path, problem: Exception) -> None:
    log.warning(
        "the kept copy %s cannot be read (%s): its part is read instead",
        copy.name,
        type(problem).__name__,
    )


def _plain(table: pa.Table, name: str, kind: pa.DataType) -> pa.Table:
    """The column as a part's read gives it."""
    i = table.column_names.index(name)
    return table.set_column(i, name, table.column(i).cast(kind))


def _with_ids(table: pa.Table, numbers: np.ndarray) -> pa.Table:
    """The rows with their event ids spelled from their numbers, first."""
    return table.add_column(0, "event_id", pa.array(spelled_ids(numbers), pa.large_string()))


def _before(times: pa.ChunkedArray, as_of: pd.Timestamp) -> pa.ChunkedArray:
    """Which of a part's event times are on or before the as-of day (the region's calendar)."""
    return pc.less(times, pa.scalar(day_end(as_of), type=times.type))


def _compact(table: pa.Table) -> pa.Table:
    """A few rows taken from a part, each text column's dictionary cut down to the values they
    hold: a taken column keeps its part's whole dictionary (the part's every chain id)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            plain = table.column(i).cast(field.type.value_type)
            table = table.set_column(i, field.name, pc.dictionary_encode(plain))
    return table


def _spelled(metadata: dict[bytes, bytes] | None) -> bool:
    """Whether every event id of a part is its event number's digits, as its writer found (a
    part's metadata that cannot be read says nothing: its ids are read)."""
    try:
        attrs = json.loads((metadata or {}).get(b"PANDAS_ATTRS", b"{}"))
    except ValueError:
        return False
    return isinstance(attrs, dict) and attrs.get(SPELLED) is True


def _frame(tables: list[pa.Table], columns: list[str], lean: bool, trace: bool) -> pd.DataFrame:
    """Parts read, as one event table: for rules (`lean`), the CODED text as categories and
    each row's EVENT_NUMBER beside the columns; else in the canonical dtypes."""
    if not tables:
        empty = empty_events()[columns]
        if lean:
            empty[EVENT_NUMBER] = np.zeros(0, np.uint64)
        return empty
    table = pa.concat_tables(tables)
    del tables[:]
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    if not lean:
        return conform(frame, trace=trace)
    plain = conform(frame, trace=False, only=[c for c in columns if c not in CODED])
    # One frame made from its columns, not columns inserted one by one (each insert into ten
    # million rows cost a tenth of a second).
    lean_columns = {c: frame[c] if c in CODED else plain[c] for c in columns}
    lean_columns[EVENT_NUMBER] = frame[EVENT_NUMBER].to_numpy(np.uint64)
    return pd.DataFrame(lean_columns, copy=False)


def _picked(ids: pa.ChunkedArray, people: Callable[[np.ndarray], np.ndarray]) -> pa.Array:
    """Which rows' people `people` picks, asked of each distinct id once."""
    ids = ids.combine_chunks()
    if not pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_encode()
    picked = np.asarray(people(ids.dictionary.to_numpy(zero_copy_only=False)), bool)
    return pa.array(picked[ids.indices.to_numpy(zero_copy_only=False)])


def _unified(schema: pa.Schema) -> pa.Schema:
    """Dictionary columns with one index type and plain strings as large strings, so parts
    written at different times concatenate."""
    fields = []
    for f in schema:
        if pa.types.is_dictionary(f.type):
            f = f.with_type(pa.dictionary(pa.int32(), pa.large_string()))
        elif pa.types.is_string(f.type):
            f = f.with_type(pa.large_string())
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


# Columns of one value a row: a dictionary of their values is never smaller than them, and
# trying one cost a quarter of writing a part.
UNIQUE = ("event_id", "record_key", EVENT_NUMBER)


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write a frame of the workspace as every one is written: to a temporary file first."""
    tmp = path.with_suffix(".tmp")
    coded = [c for c in frame.columns if c not in UNIQUE]
    frame.to_parquet(tmp, index=False, use_dictionary=coded)
    os.replace(tmp, path)
    return path
