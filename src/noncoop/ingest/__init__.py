"""Importers, one module per input format, each turning an agency export into canonical events."""

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
