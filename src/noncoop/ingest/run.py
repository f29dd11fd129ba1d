"""Ingest: every new or changed file of a sources folder into the workspace's event store.

The order of the steps is what makes an ingest safe to stop at any point:

1. Load sources.yaml, its profiles and people.csv (the resolved subjects are kept).
2. Delete parts that no manifest lists: left by an ingest that stopped before committing.
3. If people.csv changed, re-link every stored event (relink.py).
4. For each file whose content, profile, people or importer changed, write its events to new
   parts and its rejected rows to a new quarantine part (file.py); never over a committed part.
5. Commit: write the new manifest atomically. From this moment the new parts are the store.
6. Only then delete the parts of the files' earlier versions.

A run stopped before step 5 leaves the previous manifest, which still lists the previous parts.
Counts reconcile per source and in total: rows_read = rows_accepted + rows_quarantined.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.events import event_id_numbers
from noncoop.identity.crosswalk import load_people
from noncoop.ingest.counts import Counts, IngestReport, Progress
from noncoop.ingest.file import FileResult, RunContext, import_file
from noncoop.ingest.relink import relink_store
from noncoop.ingest.workers import import_pool
from noncoop.sources.load import LoadedSource, Sources, file_hash, load_sources
from noncoop.store.keyset import KeySet
from noncoop.store.manifest import FileEntry, RunEntry
from noncoop.store.workspace import Workspace

# A new version withdrawing this many events or fewer is taken whatever their share: a small
# feed's corrections are not a truncated export.
WITHDRAWAL_FLOOR = 10


def ingest(
    sources_dir: Path,
    workspace: Workspace,
    progress: Progress | None = None,
    accept_withdrawals: bool = False,
) -> IngestReport:
    """Ingest every new or changed file of a sources folder into the workspace.

    A new version of a file that is empty, or that would withdraw more than the region's
    `max_withdrawn_share` of its source's stored events, is refused (its previous version
    stays, with a warning) unless `accept_withdrawals`."""
    started = time.perf_counter()
    with import_pool(), _Hashes() as hashes:
        run = _Run(load_sources(Path(sources_dir)), workspace.create(), progress, hashes)
        run.accept_withdrawals = accept_withdrawals
        for source in run.sources.sources:
            run.source(source)
        run.commit(Path(sources_dir), started)
    return run.report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Run:
    """One ingest run: the manifest it started from and the one it will commit."""

    def __init__(self, sources: Sources, ws: Workspace, progress: Progress | None, hashes: _Hashes):
        self.sources, self.ws, self.hashes = sources, ws, hashes
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.report = IngestReport(run_id)
        self.manifest = ws.manifest()
        ws.check(self.manifest)  # a store short of a part is repaired, never built on
        self.people_hash = sources.people_hash()
        unchanged = (
            self.manifest.last_people_sha256 == self.people_hash and ws.subjects_path.exists()
        )
        if unchanged:  # read only if a changed export needs it; its counts are the last run's
            self.report.people = Counts(**self.manifest.runs[-1].counts.get("people", {}))
        ws.remove_orphans(self.manifest)
        self.done = self.manifest.by_file()
        for source in sources.sources:
            for path in source.files:
                with contextlib.suppress(OSError):  # gone: the run says so when it comes to it
                    if _same_file(self._previous(source, path), path.stat()) is None:
                        hashes.ahead(path)
        self.detached = quarantine.empty()
        # Read on first use, after any re-link: unchanged inputs never need them.
        self.ctx = RunContext(
            ws, run_id, lambda: load_people(sources.people), KeySet(ws.event_numbers), progress
        )
        if not unchanged:
            people = self.ctx.people
            self.report.people = Counts(
                rows_read=people.rows_read,
                rows_accepted=people.rows_read - len(people.quarantined),
                rows_quarantined=len(people.quarantined),
            )
            if people.skipped:
                self.report.people.add_other({"rows skipped by the profile": people.skipped})
            ws.write_people(people.subjects, people.quarantined)
            if self.manifest.last_people_sha256 not in (None, self.people_hash):
                self.report.relinked, self.detached = relink_store(ws, people)
        self.accept_withdrawals = False
        # Parts of files' earlier versions, deleted once the manifest no longer lists them.
        self.obsolete: list[Path] = []

    def source(self, source: LoadedSource) -> None:
        counts = self.report.by_source.setdefault(source.name, Counts())
        if not source.files:
            self.report.warnings.append(
                f"source '{source.name}': no file matches path '{source.spec.path}'"
            )
        for path in source.files:
            self.file(source, path, counts)

    def _previous(self, source: LoadedSource, path: Path) -> FileEntry | None:
        return self.done.get((source.name, path.relative_to(self.sources.root).as_posix()))

    def file(self, source: LoadedSource, path: Path, counts: Counts) -> None:
        rel = path.relative_to(self.sources.root).as_posix()
        previous = self._previous(source, path)
        stat = path.stat()
        known = _same_file(previous, stat)
        sha256, hashed_at = (known, previous.hashed_at_ns) if known else self.hashes.of(path, stat)
        entry = FileEntry(
            source=source.name,
            file=rel,
            sha256=sha256,
            profile=source.profile_hash,
            people=self.people_hash,
            importer=source.spec.importer,
            bytes=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            hashed_at_ns=hashed_at,
            run_id=self.ctx.run_id,
        )
        if previous and previous.fingerprint() == entry.fingerprint():
            counts.files_unchanged += 1
            if self.ctx.progress:
                self.ctx.progress(f"{source.name}: {rel} (unchanged)", entry.bytes)
            return
        old_parts = [self.ws.events_dir / n for n in previous.parts] if previous else []
        result = import_file(self.ctx, source, path, rel, self.ws.part_numbers(old_parts))
        refused = self._refused(source, result) if previous else None
        if refused:
            # An empty or truncated export: nothing it read is stored, its last version stays.
            self.report.warnings.append(f"source '{source.name}', {rel}: {refused}")
            counts.files += 1
            counts.files_refused += 1
            self._discard(result)
            return
        counts.add(result.counts)
        self.report.warnings += [f"source '{source.name}', {rel}: {w}" for w in result.warnings]
        if not result.complete and previous:
            # A changed file that could not be read to the end: its last version stays.
            self._discard(result)
            return
        if len(result.carried):
            # Events the new version vouches for without repeating (a booking, now that the
            # outcome is exported): their stored records move to the new version as they were.
            name = self.ctx.next_name("-c")
            self.ws.write_events(_rows_with_ids(old_parts, result.carried), name)
            result.parts.append(f"{name}.parquet")
        counts.withdrawn_events += self._withdraw(old_parts, result.withdrawn)
        self.obsolete += old_parts
        if previous and previous.quarantine:
            (self.ws.quarantine_dir / previous.quarantine).unlink(missing_ok=True)
        self.done[entry.key] = self._entry(entry, result)
        counts.withdrawn_events += self._withdraw_marked(source.name, result.withdraw)

    def _refused(self, source: LoadedSource, result: FileResult) -> str | None:
        """Why a file's new version is not taken (None: it is): it is empty, or it would
        withdraw more of the source's stored events than the region allows in one run."""
        gone = len(result.withdrawn)
        if self.accept_withdrawals or not gone or not result.complete:
            return None
        again = "; if the export is right, run again with --accept-withdrawals"
        if result.counts.rows_read == 0:
            return f"the new version is empty; its {gone:,} stored event(s) are kept{again}"
        held = self._held(source.name)
        share = self.sources.max_withdrawn_share
        if gone <= share * held or gone <= WITHDRAWAL_FLOOR:
            return None
        return (
            f"the new version would withdraw {gone:,} of the source's {held:,} stored events "
            f"({gone / held:.0%}, more than max_withdrawn_share {share:.0%}); refused, its "
            f"previous version is kept{again}"
        )

    def _held(self, source: str) -> int:
        """Events the source's files hold in the store, as the run found them."""
        parts = [n for f in self.done.values() if f.source == source for n in f.parts]
        return self.ws.count_parts([self.ws.events_dir / n for n in parts])

    def _discard(self, result: FileResult) -> None:
        for name in result.parts:
            (self.ws.events_dir / name).unlink(missing_ok=True)
        if result.quarantine:
            (self.ws.quarantine_dir / result.quarantine).unlink(missing_ok=True)

    def _entry(self, entry: FileEntry, result: FileResult) -> FileEntry:
        c = result.counts
        return entry.model_copy(
            update={
                # Read only in part: the file is read again next run, what was read counts now.
                "sha256": entry.sha256 if result.complete else None,
                "rows_read": c.rows_read,
                "rows_accepted": c.rows_accepted,
                "rows_quarantined": c.rows_quarantined,
                "new_events": c.new_events,
                "quarantine": result.quarantine,
                "parts": result.parts,
                "ingested_at": _now(),
            }
        )

    def _withdraw(self, old_parts: list[Path], ids: np.ndarray) -> int:
        """Records gone from a file's new version leave the store but are kept, with their file."""
        if not len(ids):
            return 0
        name = self.ws.write_withdrawn(_rows_with_ids(old_parts, ids), self.ctx.next_name("-w"))
        self.manifest.withdrawn.append(name.name)
        return len(ids)

    def _withdraw_marked(self, source: str, ids: np.ndarray) -> int:
        """Records a file's deletion markers name, withdrawn from the source's files (its own,
        where the record came in an earlier block of it): their parts are written again without
        them, and the records kept with the withdrawn."""
        if not len(ids):
            return 0
        found = 0
        for key, entry in list(self.done.items()):
            if entry.source != source:
                continue
            parts = [self.ws.events_dir / n for n in entry.parts]
            held = {p: self.ws.part_numbers([p]) for p in parts}
            hit = [p for p in parts if np.isin(held[p], ids).any()]
            if not hit:
                continue
            stored = np.concatenate([held[p] for p in hit])
            found += self._withdraw(hit, ids[np.isin(ids, stored)])
            kept = []
            for part in hit:
                events = pd.read_parquet(part)
                name = self.ctx.next_name("-r")
                self.ws.write_events(events[~np.isin(held[part], ids)], name)
                kept.append(f"{name}.parquet")
            names = [n for n in entry.parts if self.ws.events_dir / n not in hit] + kept
            self.done[key] = entry.model_copy(update={"parts": names})
            self.obsolete += hit
        return found

    def commit(self, sources_dir: Path, started: float) -> None:
        """Write the manifest (the commit), then delete what it no longer lists."""
        self._keep_detached()
        self.manifest.files = sorted(self.done.values(), key=lambda f: f.key)
        self.report.events_stored = self.ws.count_events(self.manifest)
        self.report.seconds = round(time.perf_counter() - started, 3)
        self.manifest.coverage = {
            s.name: s.spec.covers.period() for s in self.sources.sources if s.spec.covers
        }
        self.manifest.timezone = self.sources.timezone
        self.manifest.runs.append(
            RunEntry(
                run_id=self.ctx.run_id,
                sources_dir=str(sources_dir.resolve()),
                people_sha256=self.people_hash,
                counts=self.report.to_json(),
                finished_at=_now(),
            )
        )
        self.ws.save_manifest(self.manifest)
        for path in self.obsolete:
            path.unlink(missing_ok=True)

    def _keep_detached(self) -> None:
        """Rows detached by a relink come back through the re-read of their file where it is
        still there (quarantined again, or linked anew); the rest are kept in the quarantine."""
        detached = self.detached
        self.report.detached = len(detached)
        reread = {key for key, f in self.done.items() if f.run_id == self.ctx.run_id}
        origin = pd.Series(
            list(zip(detached["source"], detached["source_file"], strict=True)), dtype=object
        )
        kept = detached[~origin.isin(reread).to_numpy(bool)] if len(detached) else detached
        if len(kept):
            name = self.ws.write_quarantine(kept, f"{self.ctx.run_id}-relink-q")
            self.manifest.detached.append(name.name)


# A file changed within this long of being hashed may have changed again unseen ("racy").
RACY_NS = 2_000_000_000


class _Hashes:
    """Files' SHA-256, each worked out in a thread before the run comes to import the file:
    hashing the 1.6 GB register kept a core busy for two seconds while the other waited. A hash
    stands only for the file as it was when the hashing began (its size and time)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="hash")
        self._ahead: dict[Path, Future] = {}

    def __enter__(self) -> _Hashes:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def ahead(self, path: Path) -> None:
        self._ahead[path] = self._pool.submit(_hashed, path)

    def of(self, path: Path, stat: os.stat_result) -> tuple[str, int]:
        """The file's hash and when its hashing began, for the file as `stat` finds it."""
        early = self._ahead.pop(path, None)
        if early is not None:
            seen, began, digest = early.result()
            if (seen.st_size, seen.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                return digest, began
        _, began, digest = _hashed(path)
        return digest, began


def _hashed(path: Path) -> tuple[os.stat_result, int, str]:
    """A file's size and time, when its hashing began, and its hash."""
    stat, began = path.stat(), time.time_ns()
    return stat, began, file_hash(path)


def _same_file(previous: FileEntry | None, stat) -> str | None:
    """The hash recorded for a file whose size and modification time are as they were, and
    which had not changed for a while when it was hashed (None: hash it)."""
    if previous is None or previous.sha256 is None:
        return None
    same = previous.bytes == stat.st_size and previous.mtime_ns == stat.st_mtime_ns
    settled = stat.st_mtime_ns < previous.hashed_at_ns - RACY_NS
    return previous.sha256 if same and settled else None


def _rows_with_ids(parts: list[Path], numbers: np.ndarray) -> pd.DataFrame:
    """The stored events (with their trace) whose ids are among the given numbers."""
    frames = []
    for part in parts:
        events = pd.read_parquet(part)
        frames.append(events[np.isin(event_id_numbers(events["event_id"]), numbers)])
    return pd.concat(frames, ignore_index=True)
