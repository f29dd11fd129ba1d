"""The manifest: which files the store holds, with their hashes, counts and Parquet parts.

It is the commit record of the event store: a part belongs to the store only once a file entry
lists it, and the manifest is replaced atomically, so an ingest stopped at any point leaves the
store exactly as the last manifest describes it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class FileEntry(BaseModel):
    """One ingested file of one source, as last read."""

    source: str
    file: str  # relative to the sources folder
    sha256: str | None  # None when the file could not be read to the end: it is read again
    profile: str
    people: str
    importer: str
    bytes: int = 0
    # The file's modification time when it was read, and when its content was hashed: a file
    # whose size and time are unchanged, and last changed well before it was hashed, is not
    # hashed again (as git trusts its index, and for the same "racy" reason re-hashes a file
    # changed in the same moment it was read).
    mtime_ns: int = 0
    hashed_at_ns: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    new_events: int = 0
    quarantine: str | None = None
    parts: list[str] = Field(default_factory=list)
    run_id: str = ""
    ingested_at: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.file

    def fingerprint(self) -> dict[str, str | None]:
        """What must be the same for the file to count as already ingested."""
        return {
            "sha256": self.sha256,
            "profile": self.profile,
            "people": self.people,
            "importer": self.importer,
        }


class RunEntry(BaseModel):
    """One ingest run: where it read from, the people crosswalk it used and its counts."""

    run_id: str
    sources_dir: str
    people_sha256: str
    counts: dict[str, Any] = Field(default_factory=dict)
    finished_at: str = ""


class Manifest(BaseModel):
    """Everything the event store holds and how it came to hold it."""

    files: list[FileEntry] = Field(default_factory=list)
    runs: list[RunEntry] = Field(default_factory=list)
    withdrawn: list[str] = Field(default_factory=list)  # parts of events no longer exported
    detached: list[str] = Field(default_factory=list)  # quarantine parts from re-linking
    coverage: dict[str, tuple[str, str | None]] = Field(default_factory=dict)
    timezone: str = "Europe/London"  # the region's calendar, from sources.yaml

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.exists():
            return cls()
        return cls.model_validate_json(path.read_bytes())

    def save(self, path: Path) -> None:
        """Replace the manifest atomically so a crash never leaves half a file."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(self.model_dump_json(indent=1).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def by_file(self) -> dict[tuple[str, str], FileEntry]:
        return {f.key: f for f in self.files}

    def committed_parts(self) -> set[str]:
        """Names of the event parts the files list: the store."""
        return {name for f in self.files for name in f.parts}

    def quarantine_parts(self) -> list[str]:
        """Quarantine parts of the files as last read, and of re-linking."""
        return [*(f.quarantine for f in self.files if f.quarantine), *self.detached]

    @property
    def last_people_sha256(self) -> str | None:
        return self.runs[-1].people_sha256 if self.runs else None
