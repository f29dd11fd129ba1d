"""Loading a sources folder: sources.yaml, every profile it names and the files each path
matches, with every problem reported at once.
"""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass
from datetime import date
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
    earliest_date: date = date(1990, 1, 1)  # sources.yaml: dates no record can have
    days_ahead: int = 400

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class LoadedPeople:
    """One file of the identity crosswalk, with the profile it is read through."""

    path: Path
    profile: Profile
    profile_hash: str


@dataclass(frozen=True)
class Sources:
    """A sources folder, fully loaded and validated."""

    root: Path
    people: list[LoadedPeople]
    sources: list[LoadedSource]
    timezone: str = "Europe/London"
    max_withdrawn_share: float = 0.5

    def people_hash(self) -> str:
        """One digest of the crosswalk's files and profiles: when it changes, stored events are
        re-linked. A single people.csv keeps its file's own digest."""
        if len(self.people) == 1 and self.people[0].profile_hash == "canonical":
            return file_hash(self.people[0].path)
        h = hashlib.sha256()
        for p in self.people:
            h.update(f"{p.path.name}:{file_hash(p.path)}:{p.profile_hash};".encode())
        return h.hexdigest()

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
    errors: list[ConfigError] = []
    loaded = []
    for src in spec.sources:
        found = _profile(folder, src.profile, src.importer, f"source '{src.name}'", errors)
        if found is None:
            continue
        files = _files(folder, src, sources_file, errors)
        loaded.append(
            LoadedSource(src, *found, files, spec.timezone, spec.earliest_date, spec.days_ahead)
        )
    _shared(loaded, sources_file, errors)
    people = []
    for entry in spec.people:
        path = folder / entry.path
        if not path.is_file():
            errors.append(
                _missing(sources_file, "SOURCES-PEOPLE", f"people file {entry.path} not found")
            )
            continue
        found = _profile(folder, entry.profile, "people", f"people file {entry.path}", errors)
        if found is not None:
            people.append(LoadedPeople(path, *found))
    if errors:
        raise ConfigInvalid(errors)
    return Sources(folder, people, loaded, spec.timezone, spec.max_withdrawn_share)


def _files(
    folder: Path, src: SourceSpec, sources_file: Path, errors: list[ConfigError]
) -> list[Path]:
    """The files a source's path matches: inside the sources folder, links followed, unless the
    source allows outside."""
    pattern = Path(src.path)
    if pattern.is_absolute():
        if not src.allow_outside:
            message = (
                f"source '{src.name}': path {src.path} is outside the sources folder; give a "
                "path inside it, or set allow_outside: true on the source"
            )
            errors.append(_missing(sources_file, "SOURCES-OUTSIDE", message))
            return []
        found = [Path(p) for p in glob.glob(src.path)]
    else:
        found = list(folder.glob(src.path))
    inside = folder.resolve()
    files = []
    for path in sorted(p for p in found if p.is_file()):
        if not src.allow_outside and not path.resolve().is_relative_to(inside):
            message = (
                f"source '{src.name}': {path.name} leads outside the sources folder (a link or "
                "'..'); it is not read unless the source sets allow_outside: true"
            )
            errors.append(_missing(sources_file, "SOURCES-OUTSIDE", message))
            continue
        files.append(path)
    return files


def _shared(loaded: list[LoadedSource], sources_file: Path, errors: list[ConfigError]) -> None:
    """One file read by two sources would store each of its records twice."""
    readers: dict[Path, list[str]] = {}
    for source in loaded:
        for path in source.files:
            readers.setdefault(path.resolve(), []).append(source.name)
    for path, names in readers.items():
        if len(names) > 1:
            message = (
                f"{path.name} is read by sources {', '.join(names)}: each record would be stored "
                "twice; point each file at one source"
            )
            errors.append(_missing(sources_file, "SOURCES-SHARED-FILE", message))


def _profile(
    folder: Path, name: str | None, importer: str, user: str, errors: list[ConfigError]
) -> tuple[Profile, str] | None:
    """The profile a source or people file names and its digest (the canonical layout when it
    names none); None, with the problem added to `errors`, when it cannot be used."""
    if not name:
        return Profile(importer=importer), "canonical"
    path = folder / name
    try:
        profile = load_profile(path)
        digest = file_hash(path)
    except ConfigInvalid as exc:
        errors.extend(exc.errors)
        return None
    if profile.importer != importer:
        message = f"profile is for importer '{profile.importer}' but {user} uses '{importer}'"
        errors.append(_missing(path, "PROFILE-IMPORTER", message))
        return None
    return profile, digest


def _missing(path: Path, code: str, message: str) -> ConfigError:
    return ConfigError(str(path), 1, 1, code, message)
