"""A timeline kept between nights.

Making the timeline (loading ten million events, spreading the household adults' records to
their children, sorting) was half of a nightly scan, though most of it is the same every night.
A scan keeps the timeline it made, one array per file (`.npy`), with the parts and rows of the
store it was made from. A later scan made from the same people, calendar and shared records
(their digest names the folder) maps those files, reads only the events the kept timeline does
not hold (a new part's, or those of the days since its as-of day) and merges their rows into
place; the records of a part gone from the store (an export sent again with changes) leave it.
Mapped, not read: the pages of a column no rule touches are never read.

What a kept timeline gives is what making it would give: the same rows in the same order (child,
time, event id), the same values. Where that cannot be had by adding and taking out records (a
scan as of an earlier day, a child first seen in the added events or left with no record of
their own), or the files cannot be read, the timeline is made again, and kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from noncoop import __version__
from noncoop.asof import end_second, to_seconds, utc_instants
from noncoop.engine import households, selections, timeline
from noncoop.engine.episodes import ranges
from noncoop.engine.timeline import (
    Feeds,
    Timeline,
    build_timeline,
    feed_days,
    feed_spans,
)
from noncoop.events import EVENT_NUMBER
from noncoop.scan.masks import KeptMasks
from noncoop.store.workspace import (
    TraceReader,
    Workspace,
    copy_rest,
    copy_trace,
    mapped_arrow,
    rest_rows,
    rows_in,
    write_arrow,
)
from noncoop.vocab import ROLES

log = logging.getLogger("noncoop.scan")

# The modules whose code makes a timeline: another build of any of them is another digest.
_MAKERS = (timeline, households, selections)
# How the files lay a timeline out: another layout is another digest, made again without a word.
_LAYOUT = 2
_META = "timeline.json"
# Kept again once the rows merged in each night reach this share of it: until then a night
# reads a few thousand more events rather than writing a gigabyte.
_REKEEP = 0.05
# New rows merged into a column by runs of old rows where they fall in at most this many places:
# a run costs the interpreter a microsecond, the other way 30 ms a column of ten million rows.
_RUNS = 20_000
# (part, its rows in the table's order; None: all of them), as a TraceReader holds them.
Segments = list[tuple[Path, np.ndarray | None]]


@dataclass(frozen=True)
class Inputs:
    """What a pack's timeline is made from besides the stored events and the as-of day."""

    subjects: Path  # the people table as resolved
    timezone: str
    shared: list[str]  # the definitions of the selections that share records between children

    @cached_property
    def digest(self) -> str:
        made = hashlib.sha256()
        made.update(self.subjects.read_bytes() if self.subjects.exists() else b"")
        made.update(f"\x1e{self.timezone}\x1e{__version__}\x1e{_LAYOUT}\x1e".encode())
        for definition in self.shared:
            made.update(f"{definition}\x1e".encode())
        for module in _MAKERS:
            made.update(Path(module.__file__).read_bytes())
        return made.hexdigest()[:32]


@dataclass
class Kept:
    """A timeline taken from the one kept: the records merged into it tonight, the segments its
    records come from, and whether it is worth keeping again (parts replaced, or enough rows
    merged in)."""

    timeline: Timeline
    added: int
    segments: Segments
    stale: bool
    masks: KeptMasks


class Keeper:
    """Keeps a timeline in a thread of its own while the evaluation reads it: writing it (a
    gigabyte at 100,000 children) is mostly the disk's time. A timeline that cannot be kept
    (a full disk) is only a warning: the next scan makes it again."""

    def __init__(self, folder: Path, inputs: Inputs, tl: Timeline, segments: Segments):
        self.place, self.rows, self.kept = folder / inputs.digest, len(tl.t), False
        self._thread = threading.Thread(
            target=self._keep, args=(folder, inputs, tl, segments), name="noncoop-keep"
        )
        self._thread.start()

    def _keep(self, folder: Path, inputs: Inputs, tl: Timeline, segments: Segments) -> None:
        try:
            keep(folder, inputs, tl, segments)
            self.kept = True
        except Exception as problem:
            # Whatever went wrong (a full disk, a column that cannot be saved), the scan's
            # alerts stand; an exception left to the thread would print a traceback instead.
            shutil.rmtree(folder / f"{inputs.digest}.partial", ignore_errors=True)
            log.warning("the timeline could not be kept (%s)", type(problem).__name__)

    def wait(self, masks: KeptMasks | None = None) -> float:
        """Seconds waited for the keeping to finish, and for the timeline's selection `masks`
        worked out tonight to be kept with it."""
        clock = time.perf_counter()
        self._thread.join()
        if self.kept and masks is not None:
            masks.keep(self.place, self.rows)
        return time.perf_counter() - clock


def segments_of(reader: TraceReader, loaded: np.ndarray | None) -> Segments:
    """The part and rows of each row of a timeline's `origin`: those of the table the reader
    knows, less the rows after the as-of day (`loaded`: the origin rows' positions in it)."""
    if loaded is None:
        return list(reader.kept)
    out = []
    for i, (part, rows) in enumerate(reader.kept):
        start, stop = reader.starts[i], reader.starts[i + 1]
        first, last = np.searchsorted(loaded, [start, stop])
        local = loaded[first:last] - start
        out.append((part, local if rows is None else rows[local]))
    return out


def keep(folder: Path, inputs: Inputs, tl: Timeline, segments: Segments) -> None:
    """Keep a timeline for later nights, with the segments its origin rows come from; the one
    kept before goes."""
    name = inputs.digest
    final, partial = folder / name, folder / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    def save(key: str, values: np.ndarray | pd.Index) -> None:
        # Each array written as soon as it is made: copies (a nullable column's values) are
        # never all held at once beside the evaluation. A category's values go to a file of
        # their own (Arrow), read back without making a Python string of each.
        if isinstance(values, pd.Index):
            _Labels.keep(partial, key, values, save)
        else:
            np.save(partial / f"{key}.npy", np.ascontiguousarray(values), allow_pickle=False)

    for key in ("subject", "t", "rows", "shared"):
        save(key, getattr(tl, key))
    meta = {
        "as_of": f"{tl.as_of:%Y-%m-%d}",
        "rows": len(tl.t),
        "columns": {},
        "order": list(tl.events.columns),
        "subjects": [str(s) for s in tl.subjects],
        "subjects_index": str(tl.subjects.dtype),
        "spans": tl.feeds.spans,
        "days": {feed: days.tolist() for feed, days in tl.feeds.days.items()},
        "parts": [],
    }
    for column, values in tl.events.items():
        if column not in ("subject_id", "subject_role"):
            meta["columns"][column] = _stored(values, f"view.{column}", save)
    origin = _whole_origin(tl)
    meta["origin"] = _stored(origin["subject_id"], "origin.subject_id", save)
    meta["origin_source"] = _stored(origin["source"], "origin.source", save)
    save("origin.occurred_at", _microseconds(origin["occurred_at"]))
    save("origin.number", origin[EVENT_NUMBER].to_numpy(np.uint64))
    for i, (part, rows) in enumerate(segments):
        count = rows_in(part) if rows is None else len(rows)
        size = part.stat().st_size
        meta["parts"].append({"name": part.name, "size": size, "all": rows is None, "count": count})
        if rows is not None:
            save(f"part.{i}", rows)
        # The rows' source lines and households, mapped when evidence is cited: decoding them
        # with every other row of their parts was a quarter of a night's explaining.
        copy_trace(part, rows, partial / _trace_copy(i))
    meta["rests"] = []
    parts = {part.name: part for part, _ in segments}
    for k, (name, rows) in enumerate(_held(segments).items()):
        if rows is not None:  # a part holding later days' records too
            save(f"rest.{k}", copy_rest(parts[name], rows, partial / f"rest.{k}.arrow"))
            meta["rests"].append({"name": name, "at": k})
    # The description last: a folder without it was never finished.
    (partial / _META).write_text(json.dumps(meta))
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    for other in folder.iterdir():
        if other != final:
            shutil.rmtree(other, ignore_errors=True)


@dataclass
class _Rows:
    """A timeline's rows before their derived columns: as kept, or with rows merged in."""

    columns: dict[str, _Column]  # the kept columns of the rows, by name
    child: np.ndarray
    t: np.ndarray
    shared: np.ndarray
    rows: np.ndarray  # each row's record in `origin`
    origin: pd.DataFrame  # the records' ORIGIN_TRACE columns and event numbers
    added: pd.DataFrame | None = None  # records merged in tonight, numbered on from `origin`
    layout: _Layout | None = None  # where tonight's rows went among the kept ones
    # `child` in the integer type pandas gives a category of that many children, merged with
    # the columns (None: made from `child` when the view is).
    codes: np.ndarray | None = None


def kept(
    workspace: Workspace,
    inputs: Inputs,
    as_of: pd.Timestamp,
    subjects: pd.DataFrame,
    coverage: dict[str, tuple[int, int]] | None,
    share: Callable[[pd.DataFrame], np.ndarray | None],
    threads: int = 1,
) -> Kept | None:
    """The kept timeline, with the events it does not hold merged in (`share` marks those of
    them shared between brothers and sisters; the columns merged in `threads` threads); None
    where there is none to use."""
    place = workspace.timeline_dir / inputs.digest
    if not (place / _META).exists():
        return None
    try:
        meta = json.loads((place / _META).read_text())
        if meta["as_of"] > f"{as_of:%Y-%m-%d}":
            return None
        segments, gone, copies = _segments(place, meta, workspace.event_parts())
        rests = _rests(place, meta, segments)
        rows = _mapped(place, meta)
        children = pd.Index(meta["subjects"], dtype=meta["subjects_index"])
        _check(rows, meta, len(gone), children)
        spans = {feed: (int(span[0]), int(span[1])) for feed, span in meta["spans"].items()}
        days = {feed: np.asarray(d, np.int64) for feed, d in meta["days"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as problem:
        kind = type(problem).__name__
        log.warning("the kept timeline cannot be read (%s): it is made again", kind)
        return None
    feeds = Feeds(dict(coverage or {}), spans, days)
    if gone.any():
        # Parts replaced since (an export sent again with changes): their records leave, and
        # the feeds are worked out again from the records held; the new parts' come below.
        rows = _without(rows, gone)
        feeds = _feeds_of(rows.origin, coverage)
    events, added = workspace.load_added(as_of, _held(segments), rests)
    if len(events):
        new = build_timeline(events, _concerned(subjects, events), as_of, share=share(events))
        rows = _merged(rows, children, new, threads)
        if rows is None:
            return None
        later = segments_of(TraceReader(added), new.loaded)
        copies.update(_rest_copies(later, rests, len(segments)))
        segments += later
        feeds = feeds.joined(new.feeds)
    if gone.any() and not _children_agree(rows, children, subjects):
        return None
    view = _view(rows, children, meta["order"])
    tl = Timeline(
        view,
        rows.child,
        children,
        rows.t,
        as_of,
        end_second(as_of),
        rows.origin,
        rows.rows,
        rows.shared,
        feeds,
        reader=TraceReader(segments, copies, _whole_counts(meta)),
        people=subjects,
        added=rows.added,
    )
    merged = len(tl.t) - meta["rows"]
    stale = bool(gone.any()) or merged > _REKEEP * meta["rows"]
    return Kept(tl, len(events), segments, stale, _masks(place, meta, rows, gone))


def _whole_counts(meta: dict) -> dict[str, int]:
    """The rows of each part the kept timeline took whole, as counted when it was kept (a part
    changed since is no segment of it)."""
    return {part["name"]: part["count"] for part in meta["parts"] if part["all"]}


def _masks(place: Path, meta: dict, rows: _Rows, gone: np.ndarray) -> KeptMasks:
    """The selection masks kept with the timeline, for its rows as merged tonight (none where
    records left it: their rows would leave the masks too)."""
    if gone.any():
        return KeptMasks()
    layout = rows.layout
    if layout is None:
        return KeptMasks.read(place, meta["rows"], rows.child)
    # Spread as the patterns ask for them, in their threads.
    return KeptMasks.read(place, meta["rows"], rows.child, layout.new, layout.at_once)


def _check(rows: _Rows, meta: dict, records: int, children: pd.Index) -> None:
    """A kept timeline whose files do not fit together (a file from another night, one cut
    short or changed) is refused here, as unreadable, before anything is built on it."""
    n = meta["rows"]
    lengths = [len(rows.child), len(rows.t), len(rows.shared), len(rows.rows)]
    lengths += [len(a) for column in rows.columns.values() for a in column.arrays]
    if any(length != n for length in lengths) or len(rows.origin) != records:
        raise ValueError("kept arrays of other lengths than the timeline's")
    if n and (int(rows.rows.max()) >= records or int(rows.child.max()) >= len(children)):
        raise ValueError("kept rows point past the records or children")
    # Each category's codes as kept and how many values they may name (not made a column here:
    # the frame makes each once).
    categories = [c for c in rows.columns.values() if c.spec["kind"] == "category"]
    coded = [(c.arrays[0], len(c.dtype.categories)) for c in categories]
    origin = (rows.origin["subject_id"].array, rows.origin["source"].array)
    coded += [(a.codes, len(a.categories)) for a in origin]
    if any(len(codes) and not -1 <= codes.min() <= codes.max() < k for codes, k in coded):
        raise ValueError("kept codes past their categories")
    if not children.is_unique:
        raise ValueError("kept children listed more than once")
    if sorted(meta["order"]) != sorted([*rows.columns, "subject_id", "subject_role"]):
        raise ValueError("kept column order naming other columns than those kept")


def _held(segments: Segments) -> dict[str, np.ndarray | None]:
    """The rows of each part a timeline holds (None: all), over all its segments: a part read
    on one night and read again for later days is in two."""
    held: dict[str, list[np.ndarray | None]] = {}
    for part, rows in segments:
        held.setdefault(part.name, []).append(rows)
    return {
        name: None if any(r is None for r in rows) else np.concatenate(rows)
        for name, rows in held.items()
    }


def _segments(
    place: Path, meta: dict, parts: list[Path]
) -> tuple[Segments, np.ndarray, dict[int, tuple[Path, None]]]:
    """The kept timeline's segments whose parts are still in the store, which of its records
    (origin rows) came from a part no longer there, and the copies of the segments' LAZY_COLUMNS
    (by place among the segments, each row its own)."""
    committed = {p.name: p for p in parts}
    segments: Segments = []
    gone = []
    copies = {}
    for i, kept_part in enumerate(meta["parts"]):
        part = committed.get(kept_part["name"])
        lost = part is None or part.stat().st_size != kept_part["size"]
        gone.append(np.full(kept_part["count"], lost))
        if not lost:
            rows = None if kept_part["all"] else np.load(place / f"part.{i}.npy")
            if (place / _trace_copy(i)).exists():
                copies[len(segments)] = (place / _trace_copy(i), None)
            segments.append((part, rows))
    return segments, np.concatenate(gone) if gone else np.zeros(0, bool), copies


def _rests(place: Path, meta: dict, segments: Segments) -> dict[str, tuple[np.ndarray, Path]]:
    """The kept rests (`copy_rest`) of parts still in the store as they were kept (those of
    the segments), by part name."""
    held = {part.name for part, _ in segments}
    return {
        rest["name"]: (
            np.load(place / f"rest.{rest['at']}.npy"),
            place / f"rest.{rest['at']}.arrow",
        )
        for rest in meta.get("rests", [])
        if rest["name"] in held
    }


def _rest_copies(
    added: Segments, rests: dict[str, tuple[np.ndarray, Path]], first: int
) -> dict[int, tuple[Path, np.ndarray]]:
    """For added segments (placed from `first` on among a reader's), the rests that hold their
    rows' LAZY_COLUMNS, with the row of the rest each of them is."""
    copies = {}
    for j, (part, rows) in enumerate(added):
        places, copy = rests.get(part.name, (np.zeros(0, np.int64), None))
        at = None if rows is None or not len(rows) else rest_rows(places, rows)
        if at is not None:
            copies[first + j] = (copy, at)
    return copies


def _trace_copy(i: int) -> str:
    return f"trace.{i}.arrow"


def _without(rows: _Rows, gone: np.ndarray) -> _Rows:
    """The rows without the records that are `gone`, the records renumbered in order."""
    keep = ~gone[rows.rows]
    child = rows.child[keep]
    renumbered = np.cumsum(~gone) - 1
    held = np.flatnonzero(~gone)
    return _Rows(
        {name: column.taken(keep) for name, column in rows.columns.items()},
        child,
        rows.t[keep],
        rows.shared[keep],
        renumbered[rows.rows[keep]],
        rows.origin.take(held).reset_index(drop=True),
    )


def _concerned(subjects: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The people a timeline of `events` is made from: those the records are about and the
    members of their households, whose children an adult's or a brother's or sister's record
    is read for. A night's few hundred records need not be matched against every household."""
    ids = subjects["subject_id"].astype(str)
    about = ids.isin(events["subject_id"].astype(str).unique())
    households = subjects["household_id"][about].dropna().unique()
    return subjects[about | subjects["household_id"].isin(households)]


def _children_agree(rows: _Rows, children: pd.Index, subjects: pd.DataFrame) -> bool:
    """Every child of the index is in the people table or has a record of their own: as the
    index of a timeline made from these records would be (records gone may take a child's
    last with them)."""
    own = np.zeros(len(children), bool)
    own[rows.child[~rows.shared]] = True
    kids = subjects.loc[subjects["role"].astype(str) == "child", "subject_id"].astype(str)
    known = children.get_indexer(kids.to_numpy())
    own[known[known >= 0]] = True
    return bool(own.all())


def _feeds_of(origin: pd.DataFrame, coverage: dict[str, tuple[int, int]] | None) -> Feeds:
    """The feeds of the records held, as making the timeline works them out."""
    seconds = to_seconds(utc_instants(origin["occurred_at"].to_numpy()))
    return Feeds(
        dict(coverage or {}),
        feed_spans(origin["source"], seconds),
        feed_days(origin[["source"]], seconds),
    )


def _mapped(place: Path, meta: dict) -> _Rows:
    def array(key: str) -> np.ndarray:
        # Read-only and mapped: a view of the file, as a plain array.
        return np.asarray(np.load(place / f"{key}.npy", mmap_mode="r", allow_pickle=False))

    def column(spec: dict, key: str) -> _Column:
        return _column(spec, key, array, lambda key: _Labels.read(place, key, array))

    columns = {name: column(spec, f"view.{name}") for name, spec in meta["columns"].items()}
    people, sources = (
        column(meta["origin"], "origin.subject_id"),
        column(meta["origin_source"], "origin.source"),
    )
    origin = _frame(
        {
            "subject_id": people.values(),
            "source": sources.values(),
            # Microseconds since 1970 (UTC), made instants for the records an alert cites only.
            "occurred_at": array("origin.occurred_at"),
            EVENT_NUMBER: array("origin.number"),
        }
    )
    return _Rows(columns, array("subject"), array("t"), array("shared"), array("rows"), origin)


def _view(rows: _Rows, children: pd.Index, order: list[str]) -> pd.DataFrame:
    """A timeline's rows from their kept columns, with the child and role, in the column order
    making it gives."""
    columns = {name: column.values() for name, column in rows.columns.items()}
    codes = rows.child if rows.codes is None else rows.codes
    columns["subject_id"] = pd.Categorical.from_codes(codes, categories=children, validate=False)
    columns["subject_role"] = pd.Categorical.from_codes(
        np.zeros(len(rows.t), np.int8), categories=ROLES, validate=False
    )
    return _frame({name: columns[name] for name in order})


def _merged(old: _Rows, children: pd.Index, new: Timeline, threads: int = 1) -> _Rows | None:
    """The rows of `new` merged into `old` in (child, time, event id) order: the rows making
    them together gives. None where a child in `new` is not in `old`. The new records stay
    apart from the kept ones (`added`): the rows number them on from the kept ones' end. Each
    column is a copy of ten million values with the new ones put in place, which numpy makes
    without the interpreter: `threads` of them at once."""
    codes = children.get_indexer(new.subjects)
    if (codes < 0).any():
        return None
    child = codes[new.subject]
    at = _places(old, len(children), new, child)
    if at is None:
        return None
    layout = _Layout.of(at, len(old.t))
    merges = [
        partial(column.with_rows, new.events[name], layout) for name, column in old.columns.items()
    ]
    # The view's child codes too, in the pool: pandas would otherwise copy the merged children
    # into that type on the scan's thread (0.11 s at 100k children, ten million rows).
    width = _width(len(children))
    merges += [
        partial(layout.spread, old.child, child),
        partial(layout.spread, old.child, child.astype(width), width),
        partial(layout.spread, old.t, new.t),
        partial(layout.spread, old.shared, new.shared),
        partial(layout.spread, old.rows, new.rows + len(old.origin)),
    ]
    with ThreadPoolExecutor(threads, thread_name_prefix="merge") as pool:
        *merged, child, codes, t, shared, rows = pool.map(lambda merge: merge(), merges)
    added = _frame(
        {
            "subject_id": new.origin["subject_id"],
            "source": new.origin["source"],
            "occurred_at": _microseconds(new.origin["occurred_at"]),
            EVENT_NUMBER: new.origin[EVENT_NUMBER].to_numpy(np.uint64),
        }
    )
    return _Rows(
        dict(zip(old.columns, merged, strict=True)),
        child,
        t,
        shared,
        rows,
        old.origin,
        added,
        layout,
        codes,
    )


def _whole_origin(tl: Timeline) -> pd.DataFrame:
    """The timeline's records, the kept ones and those added, as one table (to keep them)."""
    if tl.added is None:
        return tl.origin
    old, new = tl.origin, tl.added
    return _frame(
        {
            "subject_id": _joined(old["subject_id"], new["subject_id"]),
            "source": _joined(old["source"], new["source"]),
            "occurred_at": np.concatenate(
                [_microseconds(old["occurred_at"]), _microseconds(new["occurred_at"])]
            ),
            EVENT_NUMBER: np.concatenate(
                [old[EVENT_NUMBER].to_numpy(np.uint64), new[EVENT_NUMBER].to_numpy(np.uint64)]
            ),
        }
    )


def _microseconds(occurred: pd.Series) -> np.ndarray:
    """Times as a kept timeline holds them: microseconds since 1970 (UTC)."""
    return occurred.to_numpy() if occurred.dtype == np.int64 else occurred.array.asi8


def _places(old: _Rows, n_children: int, new: Timeline, child: np.ndarray) -> np.ndarray | None:
    """Where each of `new`'s rows goes among `old`'s (before the first later in child, time
    and event id), as `np.insert` takes it; None where the times are too far apart for one
    integer key (as households.py then sorts on three)."""
    if not len(new.t):
        return np.zeros(0, np.int64)
    # Each new row is placed among its own child's old rows: a night's few thousand rows have
    # a few hundred thousand such, where a key for each of ten million cost more than the search.
    lo = np.searchsorted(old.child, child, "left")
    hi = np.searchsorted(old.child, child, "right")
    if int((hi - lo).sum()) > len(old.t):  # many new rows of the same children: keys are cheaper
        return _keyed_places(old, n_children, new, child)
    owner, among = ranges(lo, hi)
    earlier = old.t[among] < new.t[owner]
    same = old.t[among] == new.t[owner]
    at = lo + np.bincount(owner, earlier, len(child)).astype(np.int64)
    return _tied(old, new, at, at + np.bincount(owner, same, len(child)).astype(np.int64))


def _keyed_places(
    old: _Rows, n_children: int, new: Timeline, child: np.ndarray
) -> np.ndarray | None:
    """`_places` by one integer key for (child, time) of every row."""
    times = [new.t.min(), new.t.max(), *([old.t.min(), old.t.max()] if len(old.t) else [])]
    low = int(min(times))
    if int(max(times)) - low >= 1 << 34 or n_children >= 1 << 29:
        return None
    old_key = old.child.astype(np.int64) << 34
    old_key += old.t - low
    new_key = (child.astype(np.int64) << 34) + (new.t - low)
    at = np.searchsorted(old_key, new_key, "left")
    return _tied(old, new, at, np.searchsorted(old_key, new_key, "right"))


def _tied(old: _Rows, new: Timeline, at: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The places `at`, moved on past the old rows of the same child at the same second (up to
    `right`) whose event numbers are lower: records of one moment go in event-id order."""
    tied = np.flatnonzero(right > at)
    if len(tied):
        owner, among = ranges(at[tied], right[tied])
        old_numbers = old.origin[EVENT_NUMBER].to_numpy()[old.rows[among]]
        new_numbers = new.origin[EVENT_NUMBER].to_numpy()[new.rows[tied]]
        lower = old_numbers < new_numbers[owner]
        at[tied] += np.bincount(owner, lower, len(tied)).astype(np.int64)
    return at


@dataclass(frozen=True)
class _Layout:
    """Where the rows go when new ones are merged among old: the new rows' places in the merged
    arrays; and where they fall in few places, the runs of old rows between them (`breaks`:
    where the old rows break for new ones, with their ends; `runs`: where each run of new rows
    starts, with the end)."""

    new: np.ndarray
    breaks: list[int] | None
    runs: list[int] | None
    size: int  # of the merged arrays

    @classmethod
    def of(cls, at: np.ndarray, n_old: int) -> _Layout:
        """From each new row's place among the old (`np.insert`'s), in order."""
        new = at + np.arange(len(at))
        size = n_old + len(at)
        places, starts = np.unique(at, return_index=True)
        if len(places) <= _RUNS:
            return cls(new, [0, *places.tolist(), n_old], [*starts.tolist(), len(at)], size)
        return cls(new, None, None, size)

    @cached_property
    def old(self) -> np.ndarray:
        """Which of the merged places are the old rows'."""
        old = np.ones(self.size, bool)
        old[self.new] = False
        return old

    def spread(self, old: np.ndarray, new: np.ndarray, dtype: type | None = None) -> np.ndarray:
        """The old values and the new, merged (into `dtype`, where given: one the values fit).
        A night's few thousand new rows part the old into as many runs, each copied whole
        (memory's speed); many more, as `at_once`."""
        dtype = dtype or np.result_type(old.dtype, new.dtype)
        if self.runs is None:
            return self.at_once(old, new, dtype)
        b, r = self.breaks, self.runs
        pieces = [old[b[0] : b[1]]]
        for k in range(len(r) - 1):
            pieces += (new[r[k] : r[k + 1]], old[b[k + 1] : b[k + 2]])
        return np.concatenate(pieces, dtype=dtype)

    def at_once(self, old: np.ndarray, new: np.ndarray, dtype: type | None = None) -> np.ndarray:
        """As `spread`, in one pass over the merged places, which numpy makes having let go of
        the interpreter once: for a thread beside others running Python (the patterns', beside
        the store's read-ahead making its rows). Copying runs lets go of the interpreter and
        takes it back for each run, each time waiting its turn: a selection's mask of ten
        million rows, a night's thousand runs, took 0.45-0.85 s beside a thread running Python
        (at Python's 5 ms switch interval; a scan now switches every millisecond, run.py),
        where one pass took 20 ms (and alone 1.5 ms against 5 ms: the merge keeps the runs)."""
        out = np.empty(self.size, dtype or np.result_type(old.dtype, new.dtype))
        out[self.new] = new
        out[self.old] = old
        return out


@dataclass(frozen=True)
class _Column:
    """A kept column as its arrays (a category's codes; a nullable column's values and blanks;
    or the values), mapped or merged, made a pandas column only once, for the frame."""

    spec: dict
    arrays: tuple[np.ndarray, ...]
    dtype: object = None
    labels: _Labels | None = None  # a kept category's values, to find tonight's among

    def values(self) -> object:
        if self.spec["kind"] == "category":
            return pd.Categorical.from_codes(self.arrays[0], dtype=self.dtype, validate=False)
        if self.spec["kind"] == "masked":
            return self.dtype.construct_array_type()(*self.arrays, copy=False)
        return self.arrays[0]

    def taken(self, keep: np.ndarray) -> _Column:
        """The column's rows where `keep` is True."""
        return _Column(self.spec, tuple(a[keep] for a in self.arrays), self.dtype, self.labels)

    def with_rows(self, new: pd.Series, layout: _Layout) -> _Column:
        """The column with `new`'s values merged in as `layout` places them."""
        if self.spec["kind"] == "category":
            codes, dtype = _codes_joined(self.dtype, new, self.labels)
            return _Column(self.spec, (layout.spread(self.arrays[0], codes),), dtype)
        if self.spec["kind"] == "masked":
            values, blank = self.arrays
            merged = (layout.spread(values, _values(new)), layout.spread(blank, _blanks(new)))
            return _Column(self.spec, merged, self.dtype)
        return _Column(self.spec, (layout.spread(self.arrays[0], new.to_numpy()),))


def _values(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=column.dtype.numpy_dtype, na_value=0)


def _blanks(column: pd.Series) -> np.ndarray:
    return column.isna().to_numpy()


def _codes_joined(
    dtype: pd.CategoricalDtype, new: pd.Series, labels: _Labels | None = None
) -> tuple[np.ndarray, pd.CategoricalDtype]:
    """`new`'s codes in a dtype of `dtype`'s categories followed by those only `new` has (old
    codes keep their meaning), in the integer type pandas gives that many categories. `labels`
    (the kept categories, hashed) finds `new`'s among them without hashing them all."""
    before, extra = dtype.categories, new.cat.categories
    mapping = labels.positions(extra) if labels is not None else before.get_indexer(extra)
    unknown = mapping < 0
    if unknown.any():
        # Distinct by construction: the old ones, then new ones none of them equals.
        dtype = _distinct(before.append(extra[unknown]), dtype.ordered)
        mapping[unknown] = len(before) + np.arange(int(unknown.sum()))
    mapping = np.append(mapping, -1)  # a blank (-1) stays blank
    return mapping[new.cat.codes.to_numpy()].astype(_width(len(dtype.categories))), dtype


def _width(count: int) -> type:
    """The integer type pandas keeps the codes of a category of `count` values in."""
    return next(t for t in (np.int8, np.int16, np.int32, np.int64) if count < np.iinfo(t).max)


def _joined(old: pd.Series, new: pd.Series, labels: _Labels | None = None) -> pd.Categorical:
    """Two categorical columns, one after the other."""
    codes, merged = _codes_joined(old.dtype, new, labels)
    before = old.cat.codes.to_numpy()
    joined = np.concatenate([before, codes]).astype(np.result_type(before.dtype, codes.dtype))
    return pd.Categorical.from_codes(joined, dtype=merged, validate=False)


def _distinct(categories: pd.Index, ordered: bool) -> pd.CategoricalDtype:
    """A categorical dtype on categories known to be distinct. pandas would hash them all again
    to check (0.1 s a night for a region's 700,000 appointment chains); its own constructor for
    known categories is used where this pandas has it."""
    known = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if known is None:
        return pd.CategoricalDtype(categories, ordered=ordered)
    return known(categories, ordered)


@dataclass(frozen=True)
class _Labels:
    """A kept category's values (Arrow, mapped), with their 64-bit hashes sorted and where each
    value is: tonight's values are found among hundreds of thousands by a binary search of their
    hashes and a comparison, where an index of the values would hash every one each night.
    Distinct hashes show the values distinct; the files are not trusted for more than that."""

    values: pd.Index
    hashes: np.ndarray
    order: np.ndarray

    @staticmethod
    def keep(folder: Path, key: str, values: pd.Index, save: Callable) -> None:
        texts = _texts(values)
        labels = pa.table({"value": pa.array(texts, pa.large_string())})
        write_arrow(labels, folder / f"{key}.labels.arrow")
        hashes = _hashes(texts)
        order = np.argsort(hashes, kind="stable")
        save(f"{key}.hashes", hashes[order])
        save(f"{key}.order", order)

    @staticmethod
    def read(place: Path, key: str, array: Callable[[str], np.ndarray]) -> _Labels:
        text = mapped_arrow(place / f"{key}.labels.arrow").column("value").combine_chunks()
        hashes, order = array(f"{key}.hashes"), array(f"{key}.order")
        if len(hashes) != len(text) or len(order) != len(text) or text.null_count:
            raise ValueError("kept category values blank or of other lengths than their hashes")
        if len(order) and not 0 <= order.min() <= order.max() < len(text):
            raise ValueError("kept category values' places past their values")
        try:  # pandas' own text dtype on the Arrow values as they are, where it has one
            values = pd.Index(pd.array(text, dtype="str"))
        except (TypeError, ValueError):
            values = pd.Index(text.to_pylist(), dtype=object)
        return _Labels(values, hashes, order)

    @property
    def distinct(self) -> bool:
        return bool(np.all(self.hashes[1:] > self.hashes[:-1]))

    def positions(self, wanted: pd.Index) -> np.ndarray:
        """Each wanted value's position among the values, -1 where it is none of them."""
        if not len(self.hashes) or not len(wanted):
            return np.full(len(wanted), -1, np.int64)
        text = _texts(wanted)
        hashes = _hashes(text)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        candidate = np.asarray(self.order[at], np.int64)
        same = self.hashes[at] == hashes
        same &= self.values.take(candidate).to_numpy(object) == text
        return np.where(same, candidate, -1)


def _texts(values: pd.Index) -> np.ndarray:
    return values.astype(str).to_numpy(object)


def _hashes(texts: np.ndarray) -> np.ndarray:
    """Each text's 64-bit hash (pandas', the same in every run)."""
    return pd.util.hash_array(texts, categorize=False)


def _stored(column: pd.Series, key: str, save: Callable[[str, object], None]) -> dict:
    """How a column is kept: its arrays saved, its description returned."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        save(key, column.cat.codes.to_numpy())
        save(f"{key}.categories", dtype.categories)
        return {
            "kind": "category",
            "index": str(dtype.categories.dtype),
            "ordered": bool(dtype.ordered),
        }
    if hasattr(dtype, "numpy_dtype"):  # nullable (boolean, Int8, Int32)
        save(key, _values(column))
        save(f"{key}.mask", _blanks(column))
        return {"kind": "masked", "dtype": str(dtype)}
    save(key, column.to_numpy())
    return {"kind": "plain"}


def _column(
    spec: dict,
    key: str,
    array: Callable[[str], np.ndarray],
    labels: Callable[[str], _Labels],
) -> _Column:
    """A kept column on its mapped arrays, none of them copied."""
    if spec["kind"] == "category":
        kept = labels(f"{key}.categories")
        values = kept.values
        if str(values.dtype) != spec["index"]:
            values = pd.Index(values.to_numpy(object), dtype=spec["index"])
        if kept.distinct:
            return _Column(spec, (array(key),), _distinct(values, spec["ordered"]), kept)
        return _Column(spec, (array(key),), pd.CategoricalDtype(values, ordered=spec["ordered"]))
    if spec["kind"] == "masked":
        dtype = pd.api.types.pandas_dtype(spec["dtype"])
        return _Column(spec, (array(key), array(f"{key}.mask")), dtype)
    return _Column(spec, (array(key),))


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame on the given arrays, none of them copied: plain arrays given as they are would be
    stacked into a block of their dtype (a copy of ten million rows each)."""
    return pd.DataFrame({name: pd.Series(v, copy=False) for name, v in columns.items()}, copy=False)
