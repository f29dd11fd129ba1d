"""A workspace that checks itself: every part the manifest lists is there and readable, and the
manifest itself can be read. Damage is named, with the way to recover, never worked around: a
store silently short of a part would miss alerts night after night.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from noncoop.store.manifest import Manifest


@dataclass(frozen=True)
class Damage:
    """One damaged piece: what it is, and the export file it came from (None: not from one)."""

    what: str
    source: str | None = None
    file: str | None = None


class WorkspaceDamaged(RuntimeError):
    """The workspace's store is not whole; the message says what and how to recover."""

    def __init__(self, root: Path, damage: list[Damage]):
        self.root, self.damage = root, damage
        more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
        super().__init__(
            f"the workspace {root} is damaged: {damage[0].what}{more}. Run `noncoop repair "
            f"SOURCES -w {root}` to read again the exports the damaged parts came from"
        )


def part_readable(path: Path) -> str | None:
    """Why a Parquet part cannot be used (None: it can)."""
    if not path.exists():
        return "is missing"
    try:
        pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        return f"cannot be read ({type(exc).__name__})"
    return None


def store_damage(root: Path, manifest: Manifest) -> list[Damage]:
    """Every listed part of the store that is missing or unreadable, with the file it holds."""
    found = []
    for entry in manifest.files:
        names = [("events", n) for n in entry.parts]
        names += [("quarantine", entry.quarantine)] if entry.quarantine else []
        for folder, name in names:
            why = part_readable(root / folder / name)
            if why:
                what = f"{folder}/{name} (from {entry.file}) {why}"
                found.append(Damage(what, entry.source, entry.file))
    for name in manifest.withdrawn:
        why = part_readable(root / "withdrawn" / name)
        if why:
            found.append(Damage(f"withdrawn/{name} {why}"))
    return found
