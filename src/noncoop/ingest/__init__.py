"""Stage 4, ingest: agency exports into the event store. One module per importer (contact log,
attendance register, FHIR) behind the IMPORTERS registry, profiles applied (mapping.py), each file
imported into new parts (file.py), re-linking after people change (relink.py), and the run that
commits it all in a crash-safe order (run.py).

May import: sources, identity, store and the shared modules.
"""

from noncoop.ingest.attendance import read_attendance
from noncoop.ingest.base import ImportBlock, Importer
from noncoop.ingest.contact_log import read_contact_log
from noncoop.ingest.fhir import read_fhir

IMPORTERS: dict[str, Importer] = {
    "contact-log": read_contact_log,
    "attendance": read_attendance,
    "fhir": read_fhir,
}

__all__ = ["IMPORTERS", "ImportBlock", "Importer"]
