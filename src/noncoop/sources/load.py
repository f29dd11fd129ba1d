"""Loading a sources folder: sources.yaml, every profile it names and the files each path
matches, with every problem reported at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from noncoop.sources.model import Profile, SourcesFile, SourceSpec
from noncoop.yamlspec import ConfigError, ConfigInvalid, load_model


@dataclass(frozen=True)
class LoadedSource:
    """A source with its profile loaded and the files its path matches."""

    spec: SourceSpec
    profile: Profile
    profile_hash: str
    files: list[Path]
    timezone: str = "Europe/London"  # the region's calendar (sources.yaml)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Sources:
    """A sources folder, fully loaded and validated."""

    root: Path
    people: Path
    sources: list[LoadedSource]
    timezone: str = "Europe/London"

    def total_bytes(self) -> int:
        """Size of every file the sources name, for sizing a progress bar."""
        return sum(p.stat().st_size for s in self.sources for p in s.files)


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed so large exports do not load into memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_profile(path: Path) -> Profile:
    """Load and validate one mapping profile."""
    return load_model(path, Profile, "PROFILE")


def load_sources(folder: Path) -> Sources:
    """Load sources.yaml and every profile it names, reporting all problems together."""
    folder = Path(folder)
    sources_file = folder / "sources.yaml"
    if not sources_file.exists():
        raise ConfigInvalid([_missing(sources_file, "SOURCES-MISSING", "no sources.yaml here")])
    spec = load_model(sources_file, SourcesFile, "SOURCES")
    errors = []
    loaded = []
    for src in spec.sources:
        if src.profile:
            profile_path = folder / src.profile
            try:
                profile = load_profile(profile_path)
                digest = file_hash(profile_path)
            except ConfigInvalid as exc:
                errors.extend(exc.errors)
                continue
            if profile.importer != src.importer:
                errors.append(
                    _missing(
                        profile_path,
                        "PROFILE-IMPORTER",
                        f"profile is for importer '{profile.importer}' but source "
                        f"'{src.name}' uses '{src.importer}'",
                    )
                )
                continue
        else:
            profile, digest = Profile(importer=src.importer), "canonical"
        files = sorted(p for p in folder.glob(src.path) if p.is_file())
        loaded.append(LoadedSource(src, profile, digest, files, spec.timezone))
    people = folder / spec.people
    if not people.exists():
        errors.append(
            _missing(sources_file, "SOURCES-PEOPLE", f"people file {spec.people} not found")
        )
    if errors:
        raise ConfigInvalid(errors)
    return Sources(folder, people, loaded, spec.timezone)


def _missing(path: Path, code: str, message: str) -> ConfigError:
    return ConfigError(str(path), 1, 1, code, message)
