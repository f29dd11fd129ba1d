"""`noncoop repair`: bring a damaged store back from the exports it was read from.

Damage is found the way every run finds it (store/health.py). The files of every source with a
damaged part are forgotten and read again, all of them, so deletion markers and bookings
carried between a source's files come out as they did; a manifest that cannot be read is kept
aside and every export read again. The alert store is not touched here: it holds triage and the
audit log, which no export can give back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from noncoop.ingest.counts import IngestReport
from noncoop.ingest.run import ingest
from noncoop.store.health import Damage, WorkspaceDamaged, part_readable, store_damage
from noncoop.store.manifest import Manifest
from noncoop.store.workspace import Workspace


@dataclass
class Repair:
    """What repair found and did."""

    damage: list[Damage] = field(default_factory=list)
    sources_reread: list[str] = field(default_factory=list)
    manifest_kept_as: Path | None = None  # the unreadable manifest, moved aside
    ingest: IngestReport | None = None


def repair(sources_dir: Path, ws: Workspace) -> Repair:
    """Forget what is damaged, then ingest: the damaged sources are read again."""
    result = Repair()
    try:
        manifest = ws.manifest()
    except WorkspaceDamaged as exc:
        result.damage = exc.damage
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        result.manifest_kept_as = ws.manifest_path.with_name(f"manifest.json.damaged-{stamp}")
        ws.manifest_path.replace(result.manifest_kept_as)
        result.sources_reread = ["every source"]
    else:
        result.damage = store_damage(ws.root, manifest)
        if result.damage:
            ws.save_manifest(_forget(manifest, result, ws))
    result.ingest = ingest(sources_dir, ws)
    return result


def _forget(manifest: Manifest, result: Repair, ws: Workspace) -> Manifest:
    """The manifest without the files of the damaged sources (their parts left for the ingest to
    remove as orphans) and without withdrawn parts that cannot be read."""
    damaged = sorted({d.source for d in result.damage if d.source})
    result.sources_reread = damaged
    files = [f for f in manifest.files if f.source not in damaged]
    withdrawn = [n for n in manifest.withdrawn if part_readable(ws.withdrawn_dir / n) is None]
    return manifest.model_copy(update={"files": files, "withdrawn": withdrawn})
