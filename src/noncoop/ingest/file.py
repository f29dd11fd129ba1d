"""One file of one source into the store: its events into new Parquet parts, its rejected rows
into a quarantine part, and what its new version no longer has.

Nothing written here is part of the store until the run commits the manifest (run.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from noncoop import quarantine
from noncoop.events import event_id_numbers
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest import IMPORTERS
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.counts import Counts, Progress
from noncoop.ingest.workers import writing_to
from noncoop.sources.csvread import BLOCK_BYTES
from noncoop.sources.load import LoadedSource
from noncoop.store.keyset import KeySet
from noncoop.store.workspace import Workspace


@dataclass
class RunContext:
    """What every file of one ingest run shares: where to write, who is who, what is stored."""

    ws: Workspace
    run_id: str
    crosswalk: Callable[[], Crosswalk]  # read on first use: unchanged inputs never need it
    known: KeySet  # ids of every event in the store or written by this run
    progress: Progress | None = None
    part: int = 0  # number of the next part this run writes

    @cached_property
    def people(self) -> Crosswalk:
        return self.crosswalk()

    def next_name(self, suffix: str = "") -> str:
        """Name for the next part: run id and part number, taken as the name is given, so parts
        (events, carried, rewritten or withdrawn) never overwrite each other."""
        self.part += 1
        return f"{self.run_id}-{self.part - 1:05d}{suffix}"


@dataclass
class FileResult:
    counts: Counts
    parts: list[str]
    quarantine: str | None
    complete: bool
    withdrawn: np.ndarray  # ids of the file's previous events that its new version no longer has
    # ids of previous events the new version vouches for without repeating: copied over.
    carried: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    warnings: list[str] = field(default_factory=list)
    # ids its deletion markers withdraw from the source's other files
    withdraw: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))


@dataclass
class _Versions:
    """A re-read file's event ids: those of its previous version, and those seen again now."""

    previous: np.ndarray
    earlier: KeySet = field(default_factory=KeySet)
    written: KeySet = field(default_factory=KeySet)
    seen: KeySet = field(default_factory=KeySet)
    kept: KeySet = field(default_factory=KeySet)

    def __post_init__(self) -> None:
        self.earlier.add(self.previous)

    def gone(self) -> np.ndarray:
        return self.previous[
            ~self.seen.contains(self.previous) & ~self.kept.contains(self.previous)
        ]

    def carried(self) -> np.ndarray:
        """Previous events not repeated but vouched for: copied into the new version."""
        return self.previous[~self.seen.contains(self.previous) & self.kept.contains(self.previous)]


def import_file(
    ctx: RunContext, source: LoadedSource, path: Path, rel: str, previous: np.ndarray
) -> FileResult:
    """Import one file: store its events, keep its rejected rows; returns counts.

    A new version of a file replaces the previous one: all its events are written again (so a
    corrected record replaces the old one), and events of the previous version that the new one
    no longer has are returned as withdrawn. `previous` holds the previous version's event ids.
    """
    counts, parts, rejected, warnings, withdraw = Counts(files=1), [], [], [], []
    versions = _Versions(previous)
    complete, size, reported = True, path.stat().st_size, 0
    try:
        with writing_to(ctx.ws.events_dir):
            for block in IMPORTERS[source.spec.importer](path, source, rel, ctx.people):
                _count(counts, block)
                warnings += [w for w in block.warnings if w not in warnings]
                withdraw.append(block.withdraw)
                if len(versions.previous) and len(block.kept):
                    versions.kept.add(block.kept)
                rejected.append(block.quarantined)
                counts.new_events += _store(ctx, block, versions, parts)
                if ctx.progress and block.rows_read:
                    step = min(size - reported, BLOCK_BYTES)
                    ctx.progress(f"{source.name}: {rel}", step)
                    reported += step
    except (OSError, pa.ArrowInvalid) as exc:
        # The file could not be read to the end: keep what was read, and record the failure at the
        # first unread line so the counts still reconcile and the file is retried next run.
        rejected.append(_unreadable(source.name, rel, exc))
        counts.rows_read += 1
        counts.rows_quarantined += 1
        complete = False
    if ctx.progress:
        ctx.progress(f"{source.name}: {rel}", size - reported)
    q = pd.concat(rejected, ignore_index=True) if rejected else quarantine.empty()
    q_path = ctx.ws.write_quarantine(q, ctx.next_name(f"-{source.name}-q"))
    withdrawn = versions.gone() if complete else previous[:0]
    carried = versions.carried() if complete else previous[:0]
    q_name = q_path.name if q_path else None
    marked = np.unique(np.concatenate(withdraw)) if withdraw else previous[:0]
    return FileResult(counts, parts, q_name, complete, withdrawn, carried, warnings, marked)


def _count(counts: Counts, block: ImportBlock) -> None:
    counts.rows_read += block.rows_read
    counts.rows_accepted += block.rows_accepted
    counts.rows_quarantined += len(block.quarantined)
    counts.add_other(block.other)


def _store(ctx: RunContext, block: ImportBlock, versions: _Versions, parts: list[str]) -> int:
    """Write a block's events that the store does not hold yet; returns how many are new.

    On a re-read, this version's copy of an event already stored is written once, so the new
    version's parts hold the file's whole record. Events a worker wrote already keep its part
    where all of them are to be written; otherwise the part is read back for those that are."""
    written, events = block.written, block.events
    if written is None and not len(events):
        return 0
    numbers = written.numbers if written is not None else event_id_numbers(events["event_id"])
    if len(versions.previous):
        versions.seen.add(numbers)
    again = versions.earlier.contains(numbers)
    fresh = ~ctx.known.contains(numbers)
    if again.any():
        fresh = (fresh | again) & ~versions.written.contains(numbers)
    if fresh.any():
        name = ctx.next_name()
        if written is not None and fresh.all():
            ctx.ws.name_part(written.path, name)
        else:
            if written is not None:
                events = pd.read_parquet(written.path)
            ctx.ws.write_events(events[fresh], name)
        parts.append(f"{name}.parquet")
        # Neither is in the set it joins: both were just asked.
        versions.written.add(numbers[fresh & again], new=True)
        ctx.known.add(numbers[fresh & ~again], new=True)
    if written is not None:
        written.path.unlink(missing_ok=True)  # where it was not named a part
    return int((fresh & ~again).sum())


def _unreadable(source: str, rel: str, exc: Exception) -> pd.DataFrame:
    reason = f"file could not be read: {type(exc).__name__}"
    return quarantine.frame(source, rel, [0], [""], ["FILE-UNREADABLE"], [reason])
