"""FHIR R4 `Appointment` and `Encounter` resources, as a Bundle of any type (JSON) or bulk-export
NDJSON.

Each status a resource is seen in becomes its own event (booked, then attended or missed), and a
re-export of the same appointment after it happened adds the outcome without losing the booking.
The patient is the identifier on the participant or subject, or the Patient it references: in the
same Bundle (by `fullUrl` or `Patient/id`), in the same file, or in the source's bulk-export
Patient files. Resources of other types are read and counted by type, not quarantined.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.events import conform, event_id_numbers, event_ids
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.fhirxml import XML_TEXT, read_xml
from noncoop.ingest.plausible import check_dates
from noncoop.sources.load import LoadedSource
from noncoop.sources.mapping import parse_times

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
XML_PROBLEM = "not well-formed XML (or it declares entities, which are refused)"
JSON_PROBLEM = "not valid JSON"
NOT_RESOURCE = "not a FHIR resource (a JSON object with a resourceType)"
# The quarantine code for what stopped a record before it was read; other problems are values.
PROBLEM_CODES = {XML_PROBLEM: "XML-MALFORMED", JSON_PROBLEM: "JSON-MALFORMED"}
BATCH = 50_000

APPOINTMENT_STATUS = {
    "booked": "appointment.booked",
    "arrived": "appointment.attended",
    "checked-in": "appointment.attended",
    "fulfilled": "appointment.attended",
    "noshow": "appointment.missed",
    "cancelled": "appointment.cancelled",
}
ENCOUNTER_STATUS = {
    "planned": "appointment.booked",
    "arrived": "appointment.attended",
    "triaged": "appointment.attended",
    "in-progress": "appointment.attended",
    "finished": "appointment.attended",
    "cancelled": "appointment.cancelled",
}
# Requested but not booked, or withdrawn as a mistake: read and accepted, but not an event.
NO_EVENT = {"proposed", "pending", "waitlist", "entered-in-error", "onleave", "unknown"}


def read_fhir(
    path: Path, source: LoadedSource, source_file: str, people: Crosswalk
) -> Iterator[ImportBlock]:
    """Yield linked appointment events from a Bundle or NDJSON file, a batch at a time."""
    entries = list(_resources(path)) if _is_document(path) else None
    patients = _Patients(source, path, entries)
    records: list[dict] = []
    rejected: list[tuple[int, str, str, str]] = []
    for position, resource, problem, url, text in entries or _resources(path):
        if problem:
            rejected.append((position, PROBLEM_CODES.get(problem, "BAD-VALUE"), problem, text))
            continue
        records.append(_flatten(position, resource, patients, url, text))
        if len(records) >= BATCH:
            yield _block(records, rejected, source, source_file, people)
            records, rejected = [], []
    if records or rejected:
        yield _block(records, rejected, source, source_file, people)


def _is_document(path: Path) -> bool:
    return path.suffix.lower() not in (".ndjson", ".jsonl")


def _resources(path: Path) -> Iterator[tuple[int, dict, str, str | None, str]]:
    """(position, resource, problem, fullUrl, text): NDJSON lines are numbered from 1, Bundle
    entries from 0.

    `.ndjson`/`.jsonl` files are read line by line; anything else is read as one JSON document
    (a Bundle or a single resource), falling back to lines if it is not one.
    """
    if _is_document(path):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # nested past reading
            document = None
            if text.lstrip().startswith("<"):
                document = read_xml(path)
                if document is None:  # the whole document, not line by line
                    yield 0, {}, XML_PROBLEM, None, text[:10_000]
                    return
        if isinstance(document, dict):
            if document.get("resourceType") == "Bundle":
                for index, entry in enumerate(_listed(document.get("entry"))):
                    yield (index, *_entry(entry))
            else:
                yield 0, document, "", None, _written(document)
            return
        if document is not None:  # valid JSON, but a list or a value, not a resource
            yield 0, {}, NOT_RESOURCE, None, text[:10_000]
            return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                resource = json.loads(line)
            except (json.JSONDecodeError, RecursionError):  # nested past reading
                yield number, {}, JSON_PROBLEM, None, line.rstrip("\n")
                continue
            problem = "" if isinstance(resource, dict) else NOT_RESOURCE
            yield number, resource if not problem else {}, problem, None, line.rstrip("\n")


def _entry(entry) -> tuple[dict, str, str | None, str]:
    """(resource, problem, fullUrl, text) of one Bundle entry."""
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict):
        return {}, "the Bundle entry holds no resource", None, _text(entry)
    url = entry.get("fullUrl")
    return resource, "", url if isinstance(url, str) else None, _written(resource)


def _written(resource: dict) -> str:
    """A resource as the export wrote it: its XML for an XML file, else its JSON."""
    xml = resource.pop(XML_TEXT, None)
    return xml if isinstance(xml, str) else _text(resource)


def _text(resource) -> str:
    return json.dumps(resource, ensure_ascii=False)


class _Patients:
    """Patients a resource may reference, with their identifier (scheme, value): those in the
    same Bundle or file, and those in the source's bulk-export Patient files."""

    def __init__(self, source: LoadedSource, path: Path, entries: list | None):
        self.systems = {NHS_SYSTEM: "nhs", **source.spec.identifiers}
        self.known: dict[str, tuple[str, str]] = {}
        for other in source.files:
            if other != path and other.name.lower().startswith("patient"):
                self.known.update(_patient_file(other, self.systems))
        if entries is None:
            self.known.update(_patient_lines(path, self.systems))
        else:
            found = ((resource, url) for _, resource, _, url, _ in entries)
            self.known.update(_named_patients(found, self.systems))

    def of(self, reference: dict) -> tuple[str, str] | None:
        """The patient a reference names: its own identifier, or the Patient it points to."""
        found = _identifier(reference.get("identifier") or {}, self.systems)
        if found is not None:
            return found
        ref = str(reference.get("reference") or "")
        if ref in self.known:
            return self.known[ref]
        # An absolute URL ends with the type and id: https://server/fhir/Patient/x.
        tail = "/".join(ref.rstrip("/").split("/")[-2:])
        return self.known.get(tail)


def _identifier(identifiers: list | dict, systems: dict[str, str]) -> tuple[str, str] | None:
    """The identifier of the first known system (the NHS number before the source's own
    systems) that the resource carries."""
    values = {
        i.get("system"): str(i["value"])
        for i in _listed(identifiers)
        if isinstance(i, dict) and i.get("value")
    }
    for system, scheme in systems.items():
        if system in values:
            return scheme, values[system]
    return None


def _named_patients(resources, systems: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Patient resources, (resource, fullUrl) each, by the names a reference may give them."""
    known = {}
    for resource, url in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
            continue
        found = _identifier(resource.get("identifier"), systems)
        pid = resource.get("id")
        for name in (url, f"Patient/{pid}" if isinstance(pid, (str, int)) and pid else None):
            if found is not None and name:
                known[name] = found
    return known


def _patient_lines(path: Path, systems: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The Patients of an NDJSON file (only their lines are parsed)."""

    def patients():
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"Patient"' in line:
                    try:
                        yield json.loads(line), None
                    except (json.JSONDecodeError, RecursionError):  # nested past reading
                        continue

    return _named_patients(patients(), systems)


def _patient_file(path: Path, systems: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A bulk export's Patient file, read once for all the source's other files (by name, size
    and time). Only the folder being read is kept: memory stays small whatever the region."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(systems.items()))
    if str(path.parent) not in _PATIENT_FILES:
        _PATIENT_FILES.clear()
        _PATIENT_FILES[str(path.parent)] = {}
    cache = _PATIENT_FILES[str(path.parent)]
    if key not in cache:
        cache[key] = _patient_lines(path, systems)
    return cache[key]


_PATIENT_FILES: dict[str, dict[tuple, dict[str, tuple[str, str]]]] = {}


def _cancelled_by(reasons: list[str]) -> str:
    """Who cancelled, from the R4 appointment-cancellation-reason codes: `pat*` the patient (the
    family), `prov*`, `maint` and `meds-inc` the service; with no reason, or `other`/`oth-*`,
    it is not recorded, and saying the service cancelled would excuse the family."""
    if any(c.startswith("pat") for c in reasons):
        return "appointment.cancelled_by_family"
    if any(c.startswith("prov") or c in ("maint", "meds-inc") for c in reasons):
        return "appointment.cancelled_by_service"
    return "appointment.cancelled"


def _flatten(position: int, r: dict, patients: _Patients, url: str | None, text: str) -> dict:
    """The few fields noncoop uses from one resource; one whose fields have the wrong shape (a
    status that is an object, a period that is text) is quarantined, not the file lost."""
    kind = r.get("resourceType")
    if not isinstance(kind, str) or not kind:
        return {"position": position, "problem": NOT_RESOURCE, "raw": text}
    if kind not in ("Appointment", "Encounter"):
        # Read and counted by type (a Patient, a MessageHeader, a Slot), not an event.
        return {"position": position, "kind": kind, "skip": True, "other": True, "raw": text}
    try:
        return _read(position, kind, r, patients, url, text)
    except (AttributeError, TypeError, ValueError):
        problem = f"{kind} does not have the FHIR R4 shape: a field holds the wrong kind of value"
        return {"position": position, "kind": kind, "problem": problem, "raw": text}


def _read(position: int, kind: str, r: dict, patients: _Patients, url, text: str) -> dict:
    status = r.get("status")
    if kind == "Appointment":
        when = r.get("start")
        reason = _codes(r.get("cancelationReason"))
        service = _first_text(_listed(r.get("serviceType")))
        chain = _chain(_listed(r.get("basedOn"))) or _chain(_replaces(r))
        event = APPOINTMENT_STATUS.get(status)
    else:
        when = (r.get("period") or {}).get("start")
        reason = []
        service = _first_text(_listed(r.get("serviceType")))
        chain = _chain(_listed(r.get("basedOn"))) or _chain(_listed(r.get("appointment")))
        event = ENCOUNTER_STATUS.get(status)
    if event == "appointment.cancelled":
        event = _cancelled_by(reason)
    problem = ""
    if status not in NO_EVENT and event is None:
        problem = f"{kind} status {status!r} is not a FHIR R4 status"
    who = _patient(r, patients)
    name = f"{kind}/{r['id']}" if isinstance(r.get("id"), (str, int)) and r["id"] else url
    return {
        "position": position,
        "kind": kind,
        "name": name,
        "key": f"{name}|{status}" if name else None,
        "status": status,
        "event_type": event,
        "occurred_at": when,
        "scheme": who[0] if who else None,
        "id_value": who[1] if who else None,
        "service": service.lower() if service else None,
        "chain_id": chain,
        "detail": ",".join([status or "", *reason]).strip(","),
        "skip": status in NO_EVENT,
        "other": False,
        "problem": problem,
        "raw": text,
    }


def _patient(r: dict, patients: _Patients) -> tuple[str, str] | None:
    """The patient: Appointment participant actor, or Encounter subject."""
    actors = [p.get("actor") or {} for p in _listed(r.get("participant")) if isinstance(p, dict)]
    for actor in [r.get("subject") or {}, *actors]:
        ref = str(actor.get("reference") or "")
        if "Patient" in ref or "urn:uuid:" in ref or "identifier" in actor:
            found = patients.of(actor)
            if found is not None:
                return found
    return None


def _listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _replaces(r: dict) -> list:
    """What an appointment replaces: R5 `replaces`, or the R4 extension carrying it."""
    found = list(_listed(r.get("replaces")))
    for ext in _listed(r.get("extension")):
        if str((ext or {}).get("url", "")).endswith("Appointment.replaces"):
            found.append(ext.get("valueReference") or {})
    return found


def _codes(concept: dict | None) -> list[str]:
    return [c.get("code", "") for c in _listed((concept or {}).get("coding"))]


def _first_text(concepts: list | None) -> str | None:
    """A concept's words (a coding's display, or its text); never a bare code, which would read
    as a service of its own ("308646001")."""
    for concept in concepts or []:
        if not isinstance(concept, dict):
            continue
        for coding in _listed(concept.get("coding")):
            if (coding or {}).get("display"):
                return coding["display"]
        if concept.get("text"):
            return concept["text"]
    return None


def _chain(refs: list | None) -> str | None:
    """The first reference (or, without one, identifier value) a chain rests on."""
    for ref in refs or []:
        if not isinstance(ref, dict):
            continue
        if ref.get("reference"):
            return ref["reference"]
        ident = (_listed(ref.get("identifier")) or [{}])[0]
        if ident.get("value"):
            return f"{ident.get('system', '')}|{ident['value']}".lstrip("|")
    return None


FLAT_COLUMNS = (
    "position",
    "kind",
    "name",
    "key",
    "status",
    "event_type",
    "occurred_at",
    "scheme",
    "id_value",
    "service",
    "chain_id",
    "detail",
    "skip",
    "other",
    "problem",
    "raw",
)
# The other statuses a resource may have been exported in before: kept when already stored.
EARLIER = {"Appointment": APPOINTMENT_STATUS, "Encounter": ENCOUNTER_STATUS}


def _block(
    records: list[dict],
    rejected: list[tuple[int, str, str, str]],
    source: LoadedSource,
    source_file: str,
    people: Crosswalk,
) -> ImportBlock:
    frame = pd.DataFrame.from_records(records, columns=list(FLAT_COLUMNS))
    flags = ("position", "skip", "other")
    frame = frame.astype({c: "string" for c in frame.columns if c not in flags})
    frame["skip"] = frame["skip"].eq(True)  # NaN (not set) is not skipped
    frame["other"] = frame["other"].eq(True)
    checks = _checks(frame)
    occurred = parse_times(frame["occurred_at"], None, "occurred_at", checks, source.timezone)
    ids = pd.DataFrame({"id_scheme": frame["scheme"].fillna("nhs"), "id_value": frame["id_value"]})
    who = people.link(ids, checks)
    check_dates(occurred, who["link_code"].to_numpy(), people, source, "occurred_at", checks)
    failed = checks.failed.to_numpy()
    _, bad = checks.split(frame, source.name, source_file, frame["position"], frame["key"])
    # The reviewer sees the resource as it was written, not noncoop's reading of it.
    bad["raw"] = pd.array(frame["raw"][failed].tolist(), dtype="string")
    good = ~failed & ~frame["skip"].to_numpy()
    kept = frame[good]
    events = conform(
        pd.DataFrame(
            {
                "event_id": pd.Series(
                    event_ids(source.name, kept["key"].astype(str)),
                    index=kept.index,
                    dtype="string",
                ),
                "subject_id": who["subject_id"][good],
                "subject_role": who["subject_role"][good],
                "household_id": who["household_id"][good],
                "agency": source.spec.agency or "health",
                "service": kept["service"].fillna(source.spec.service or pd.NA),
                "event_type": kept["event_type"],
                "occurred_at": occurred[good],
                "chain_id": kept["chain_id"],
                "detail": kept["detail"],
                "source": source.name,
                "source_file": source_file,
                "source_line": kept["position"],
                "record_key": kept["key"],
                "id_scheme": who["id_scheme"][good],
                "id_value": who["id_value"][good],
            }
        )
    )
    malformed = quarantine.frame(
        source.name,
        source_file,
        [r[0] for r in rejected],
        [""] * len(rejected),
        [r[1] for r in rejected],
        [r[2] for r in rejected],
        [r[3] for r in rejected],
    )
    quarantined = pd.concat([malformed, bad], ignore_index=True)
    other = frame.loc[frame["other"], "kind"].fillna("(no resourceType)").value_counts()
    return ImportBlock(
        events,
        quarantined,
        len(frame) + len(rejected),
        len(frame) - len(bad),
        _earlier_statuses(source.name, kept),
        {str(k): int(v) for k, v in other.items()},
    )


def _earlier_statuses(source: str, kept: pd.DataFrame) -> np.ndarray:
    """The ids an appointment's other statuses had: a booking exported before, and now replaced
    in the export by the outcome, stays recorded."""
    keys = [
        f"{name}|{status}"
        for name, kind, current in zip(kept["name"], kept["kind"], kept["status"], strict=True)
        for status in EARLIER.get(str(kind), ())
        if status != current
    ]
    return event_id_numbers(pd.Series(event_ids(source, keys))) if keys else np.zeros(0, np.uint64)


def _checks(frame: pd.DataFrame) -> quarantine.Checks:
    """Resources that cannot become events: a problem found while flattening, or a blank id,
    time or patient (resources skipped as no event are not checked)."""
    checks = quarantine.Checks(frame.index)
    checks.add(frame["problem"].fillna("") != "", "BAD-VALUE", "{}", frame["problem"])
    wanted = ~frame["skip"] & (frame["problem"].fillna("") == "")
    checks.add(wanted & frame["key"].isna(), "MISSING-FIELD", "resource id and fullUrl are blank")
    checks.add(
        wanted & frame["occurred_at"].isna(),
        "MISSING-FIELD",
        "start (Appointment) or period.start (Encounter) is blank",
    )
    checks.add(
        wanted & frame["id_value"].isna(),
        "MISSING-FIELD",
        "no patient identifier with a known system (" + NHS_SYSTEM + " or the source's "
        "identifiers), inline or on the Patient referenced",
    )
    return checks
