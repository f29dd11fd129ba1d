"""What every importer hands to the pipeline: one block of linked events and rejected rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from noncoop.identity.crosswalk import Crosswalk
from noncoop.sources.load import LoadedSource


@dataclass
class ImportBlock:
    """Events from one block of a file; `rows_read = rows_accepted + len(quarantined)`.

    `kept` are ids (as numbers) of events the file's earlier versions may hold that its rows
    still vouch for, though they do not repeat them (a booking, once the appointment's outcome
    is exported in its place); `other` counts rows read and accepted that are not events, by
    kind (FHIR resource types the importer does not use)."""

    events: pd.DataFrame
    quarantined: pd.DataFrame
    rows_read: int
    rows_accepted: int
    kept: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    other: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # about the file, for the run's report
    # ids of events its deletion markers withdraw, wherever in the source they came from
    withdraw: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    # the events, written already by a worker process (`events` is then empty)
    written: Written | None = None


@dataclass
class Written:
    """A block's events already written by the worker process that mapped them, to a part in
    the store's folder under a passing name: the run names it (or writes again only the events
    the store does not hold yet). `numbers` are the events' ids as numbers, in the part's order."""

    path: Path
    numbers: np.ndarray


class Importer(Protocol):
    """Reads one file of a source into canonical, identity-linked events."""

    def __call__(
        self, path: Path, source: LoadedSource, source_file: str, people: Crosswalk
    ) -> Iterator[ImportBlock]: ...
