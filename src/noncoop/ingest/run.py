"""Ingest: sources folder -> importers -> identity -> event store, with counts that reconcile.

Stages run in a fixed order and collect rejected rows instead of raising; a file already ingested
with the same content, profile and people crosswalk is skipped, and events already stored are not
added again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from noncoop import quarantine
from noncoop.events import conform, event_id_numbers
from noncoop.identity.crosswalk import Crosswalk, load_people
from noncoop.ingest import IMPORTERS
from noncoop.sources.csvread import BLOCK_BYTES
from noncoop.sources.model import LoadedSource, file_hash, load_sources
from noncoop.store.keyset import KeySet
from noncoop.store.workspace import Workspace

Progress = Callable[[str, int], None]
"""Called with a description and a number of bytes just processed."""


@dataclass
class Counts:
    """Rows and events for one source; rows_read always equals accepted plus quarantined."""

    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    new_events: int = 0
    withdrawn_events: int = 0
    files: int = 0
    files_unchanged: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined


@dataclass
class IngestReport:
    """What one ingest run did, per source and in total."""

    run_id: str
    by_source: dict[str, Counts] = field(default_factory=dict)
    people: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    events_stored: int = 0
    warnings: list[str] = field(default_factory=list)
    relinked: int = 0
    detached: int = 0

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.by_source.values():
            total.add(counts)
        return total

    def to_json(self) -> dict:
        """The `ingest` block of the scan JSON contract, plus people and run details."""
        t = self.total
        return {
            "rows_read": t.rows_read,
            "rows_accepted": t.rows_accepted,
            "rows_quarantined": t.rows_quarantined,
            "new_events": t.new_events,
            "withdrawn_events": t.withdrawn_events,
            "by_source": {
                name: {
                    "rows_read": c.rows_read,
                    "rows_accepted": c.rows_accepted,
                    "rows_quarantined": c.rows_quarantined,
                    "new_events": c.new_events,
                    "withdrawn_events": c.withdrawn_events,
                    "files": c.files,
                    "files_unchanged": c.files_unchanged,
                }
                for name, c in self.by_source.items()
            },
            "people": {
                "rows_read": self.people.rows_read,
                "rows_accepted": self.people.rows_accepted,
                "rows_quarantined": self.people.rows_quarantined,
            },
            "run_id": self.run_id,
            "events_stored": self.events_stored,
            "warnings": self.warnings,
            "identity": {"relinked_events": self.relinked, "detached_events": self.detached},
        }


def source_bytes(sources_dir: Path) -> int:
    """Total size of the files a sources folder names, for sizing a progress bar."""
    loaded = load_sources(sources_dir)
    return sum(p.stat().st_size for s in loaded.sources for p in s.files)


def ingest(
    sources_dir: Path, workspace: Workspace, progress: Progress | None = None
) -> IngestReport:
    """Ingest every new or changed file of a sources folder into the workspace."""
    started = time.perf_counter()
    sources = load_sources(Path(sources_dir))
    ws = workspace.create()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = IngestReport(run_id)
    people = load_people(sources.people)
    people_hash = file_hash(sources.people)
    report.people = Counts(
        rows_read=people.rows_read,
        rows_accepted=people.rows_read - len(people.quarantined),
        rows_quarantined=len(people.quarantined),
    )
    ws.write_people(people.subjects, people.quarantined)

    manifest = _with_parts(ws, ws.manifest())
    ws.remove_orphans(manifest)
    done = {(f["source"], f["file"]): f for f in manifest["files"]}
    last_people = manifest["runs"][-1]["people_sha256"] if manifest["runs"] else people_hash
    detached = quarantine.empty()
    if last_people != people_hash:
        report.relinked, detached = relink_store(ws, people)
    known = KeySet()
    known.add(ws.event_numbers())
    part = 0
    # Parts of files' earlier versions, deleted once the manifest no longer lists them.
    obsolete: list[Path] = []
    for source in sources.sources:
        counts = report.by_source.setdefault(source.name, Counts())
        if not source.files:
            report.warnings.append(
                f"source '{source.name}': no file matches path '{source.spec.path}'"
            )
        for path in source.files:
            rel = path.relative_to(sources.root).as_posix()
            size = path.stat().st_size
            fingerprint = {
                "sha256": file_hash(path),
                "profile": source.profile_hash,
                "people": people_hash,
                "importer": source.spec.importer,
            }
            previous = done.get((source.name, rel))
            if previous and all(previous.get(k) == v for k, v in fingerprint.items()):
                counts.files_unchanged += 1
                if progress:
                    progress(f"{source.name}: {rel} (unchanged)", size)
                continue
            old_parts = [ws.events_dir / n for n in previous["parts"]] if previous else []
            result = _ingest_file(
                path,
                rel,
                source,
                people,
                ws,
                run_id,
                part,
                known,
                progress,
                size,
                ws.part_numbers(old_parts),
            )
            file_counts, part = result.counts, result.next_part
            counts.add(file_counts)
            if not result.complete and previous:
                # A changed file that could not be read to the end: its last version stays.
                for name in result.parts:
                    (ws.events_dir / name).unlink(missing_ok=True)
                continue
            if len(result.withdrawn):
                # Records gone from the new version leave the store but are kept, with their file.
                name = ws.write_withdrawn(
                    _rows_with_ids(old_parts, result.withdrawn), f"{run_id}-{part:05d}-w"
                )
                manifest.setdefault("withdrawn", []).append(name.name)
                counts.withdrawn_events += len(result.withdrawn)
            obsolete += old_parts
            if previous and previous.get("quarantine"):
                (ws.quarantine_dir / previous["quarantine"]).unlink(missing_ok=True)
            done[(source.name, rel)] = {
                "source": source.name,
                "file": rel,
                **fingerprint,
                # Read only in part: the file is read again next run, what was read counts now.
                **({"sha256": None} if not result.complete else {}),
                "bytes": size,
                "rows_read": file_counts.rows_read,
                "rows_accepted": file_counts.rows_accepted,
                "rows_quarantined": file_counts.rows_quarantined,
                "new_events": file_counts.new_events,
                "quarantine": result.quarantine,
                "parts": result.parts,
                "run_id": run_id,
                "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
    # Rows detached by the relink come back through the re-read of their file where it is still
    # there (quarantined again, or linked anew); the rest are kept here.
    reread = {key for key, f in done.items() if f["run_id"] == run_id}
    from_reread = pd.Series(
        list(zip(detached["source"], detached["source_file"], strict=True)), dtype=object
    ).isin(reread)
    kept = detached[~from_reread.to_numpy(bool)] if len(detached) else detached
    report.detached = len(detached)
    if len(kept):
        name = ws.write_quarantine(kept, f"{run_id}-relink-q")
        manifest.setdefault("detached", []).append(name.name)
    manifest["files"] = sorted(done.values(), key=lambda f: (f["source"], f["file"]))
    report.events_stored = ws.count_events(manifest)
    report.seconds = round(time.perf_counter() - started, 3)
    manifest["coverage"] = {
        s.name: [s.spec.covers.from_.isoformat(), s.spec.covers.to and s.spec.covers.to.isoformat()]
        for s in sources.sources
        if s.spec.covers
    }
    manifest["runs"].append(
        {
            "run_id": run_id,
            "sources_dir": str(Path(sources_dir).resolve()),
            "people_sha256": people_hash,
            "counts": report.to_json(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    ws.save_manifest(manifest)
    for path in obsolete:
        path.unlink(missing_ok=True)
    return report


def _with_parts(ws: Workspace, manifest: dict) -> dict:
    """A manifest whose files list the event parts holding their events (older workspaces did
    not; their parts are assigned by the file their rows came from)."""
    if all("parts" in f for f in manifest["files"]):
        return manifest
    owners: dict[tuple[str, str], list[str]] = {}
    for part in sorted(ws.events_dir.glob("*.parquet")):
        origin = ws.part_origin(part)
        if origin is not None:
            owners.setdefault(origin, []).append(part.name)
    for f in manifest["files"]:
        f.setdefault("parts", owners.get((f["source"], f["file"]), []))
    return manifest


def _rows_with_ids(parts: list[Path], numbers: np.ndarray) -> pd.DataFrame:
    """The stored events (with their trace) whose ids are among the given numbers."""
    frames = []
    for part in parts:
        events = pd.read_parquet(part)
        frames.append(events[np.isin(event_id_numbers(events["event_id"]), numbers)])
    return pd.concat(frames, ignore_index=True)


def relink_store(ws: Workspace, people: Crosswalk) -> tuple[int, pd.DataFrame]:
    """Re-resolve the identity of every stored event after people.csv changed.

    Events whose identifier still links take the subject, role and household it links to now;
    events whose identifier no longer links are taken out of the store and returned as
    quarantine rows, so no record stays attached to the wrong child and none is lost.
    """
    changed, detached = 0, []
    for part in ws.event_parts():
        events = pd.read_parquet(part)
        checks = quarantine.Checks(events.index)
        who = people.link(events[["id_scheme", "id_value"]], checks)
        bad = checks.failed
        moved = ~bad & (
            (who["subject_id"] != events["subject_id"]).fillna(True)
            | (who["household_id"].fillna("") != events["household_id"].fillna(""))
            | (who["subject_role"].astype(str) != events["subject_role"].astype(str))
        )
        if not bad.any() and not moved.any():
            continue
        changed += int(moved.sum())
        for column in ("subject_id", "household_id", "subject_role"):
            events[column] = who[column].where(~bad, events[column].astype(who[column].dtype))
        detached.append(
            quarantine.frame(
                events["source"][bad],
                events["source_file"][bad],
                events["source_line"][bad],
                events["record_key"][bad].fillna(""),
                checks.codes[bad],
                "identifier no longer links after people.csv changed: " + checks.reasons[bad],
                quarantine.raw_json(events[bad].astype(str)),
            )
        )
        ws.write_events(conform(events[~bad.to_numpy()]), part.stem)
    return changed, pd.concat(detached, ignore_index=True) if detached else quarantine.empty()


@dataclass
class FileResult:
    counts: Counts
    next_part: int
    parts: list[str]
    quarantine: str | None
    complete: bool
    withdrawn: np.ndarray  # ids of the file's previous events that its new version no longer has


def _ingest_file(
    path: Path,
    rel: str,
    source: LoadedSource,
    people: Crosswalk,
    ws: Workspace,
    run_id: str,
    part: int,
    known: KeySet,
    progress: Progress | None,
    size: int,
    previous: np.ndarray,
) -> FileResult:
    """Import one file: store its events, keep its rejected rows; returns counts.

    A new version of a file replaces the previous one: all its events are written again (so a
    corrected record replaces the old one), and events of the previous version that the new one
    no longer has are returned as withdrawn. `previous` holds the previous version's event ids.
    """
    counts = Counts(files=1)
    earlier = KeySet()
    earlier.add(previous)
    complete = True
    rejected = []
    parts: list[str] = []
    written = KeySet()
    seen = KeySet()  # a re-read's event ids, written or not, to find what it no longer has
    reported = 0
    importer = IMPORTERS[source.spec.importer]
    try:
        for block in importer(path, source, rel, people):
            counts.rows_read += block.rows_read
            counts.rows_accepted += block.rows_accepted
            counts.rows_quarantined += len(block.quarantined)
            rejected.append(block.quarantined)
            events = block.events
            if len(events):
                numbers = event_id_numbers(events["event_id"])
                if len(previous):
                    seen.add(numbers)
                again = earlier.contains(numbers)
                fresh = ~known.contains(numbers)
                if again.any():  # a re-read: this version's copy of an event is written once
                    fresh = (fresh | again) & ~written.contains(numbers)
                if fresh.any():
                    name = f"{run_id}-{part:05d}"
                    ws.write_events(events[fresh], name)
                    parts.append(f"{name}.parquet")
                    part += 1
                    written.add(numbers[fresh & again])
                    known.add(numbers[fresh & ~again])
                counts.new_events += int((fresh & ~again).sum())
            if progress and block.rows_read:
                step = min(size - reported, BLOCK_BYTES)
                progress(f"{source.name}: {rel}", step)
                reported += step
    except (OSError, pa.ArrowInvalid) as exc:
        # The file could not be read to the end: keep what was read, and record the failure at the
        # first unread line so the counts still reconcile and the file is retried next run.
        rejected.append(
            quarantine.frame(
                source.name,
                rel,
                [0],
                [""],
                ["FILE-UNREADABLE"],
                [f"file could not be read: {type(exc).__name__}"],
            )
        )
        counts.rows_read += 1
        counts.rows_quarantined += 1
        complete = False
    if progress:
        progress(f"{source.name}: {rel}", size - reported)
    q = pd.concat(rejected, ignore_index=True) if rejected else quarantine.empty()
    q_path = ws.write_quarantine(q, f"{run_id}-{source.name}-{part:05d}-q")
    withdrawn = previous[~seen.contains(previous)] if complete else previous[:0]
    return FileResult(counts, part, parts, q_path.name if q_path else None, complete, withdrawn)
