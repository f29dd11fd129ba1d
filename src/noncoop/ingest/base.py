"""What every importer hands to the pipeline: one block of linked events and rejected rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from noncoop.identity.crosswalk import Crosswalk
from noncoop.sources.load import LoadedSource


@dataclass
class ImportBlock:
    """Events from one block of a file; `rows_read = rows_accepted + len(quarantined)`."""

    events: pd.DataFrame
    quarantined: pd.DataFrame
    rows_read: int
    rows_accepted: int


class Importer(Protocol):
    """Reads one file of a source into canonical, identity-linked events."""

    def __call__(
        self, path: Path, source: LoadedSource, source_file: str, people: Crosswalk
    ) -> Iterator[ImportBlock]: ...
