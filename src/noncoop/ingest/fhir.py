"""FHIR R4 `Appointment` and `Encounter` resources, as a Bundle (JSON) or bulk-export NDJSON.

Each status a resource is seen in becomes its own event (booked, then attended or missed), so a
re-export of the same appointment after it happened adds the outcome without losing the booking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from noncoop import quarantine
from noncoop.events import conform, event_ids
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.mapping import parse_times
from noncoop.sources.load import LoadedSource

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
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
    records: list[dict] = []
    rejected: list[tuple[int, str, str]] = []
    for position, resource, malformed in _resources(path):
        if malformed:
            rejected.append((position, "JSON-MALFORMED", "not valid JSON"))
            continue
        records.append(_flatten(position, resource))
        if len(records) >= BATCH:
            yield _block(records, rejected, source, source_file, people)
            records, rejected = [], []
    if records or rejected:
        yield _block(records, rejected, source, source_file, people)


def _resources(path: Path) -> Iterator[tuple[int, dict, bool]]:
    """(position, resource, malformed): NDJSON lines are numbered from 1, Bundle entries from 0.

    `.ndjson`/`.jsonl` files are read line by line; anything else is read as one JSON document
    (a Bundle or a single resource), falling back to lines if it is not one.
    """
    if path.suffix.lower() not in (".ndjson", ".jsonl"):
        try:
            document = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            if document.get("resourceType") == "Bundle":
                for index, entry in enumerate(document.get("entry") or []):
                    yield index, (entry or {}).get("resource") or {}, False
            else:
                yield 0, document, False
            return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), False
            except json.JSONDecodeError:
                yield number, {}, True


def _cancelled_by(reasons: list[str]) -> str:
    """Who cancelled, from the R4 appointment-cancellation-reason codes: `pat*` the patient (the
    family), `prov*`, `maint` and `meds-inc` the service; with no reason, or `other`/`oth-*`,
    it is not recorded, and saying the service cancelled would excuse the family."""
    if any(c.startswith("pat") for c in reasons):
        return "appointment.cancelled_by_family"
    if any(c.startswith("prov") or c in ("maint", "meds-inc") for c in reasons):
        return "appointment.cancelled_by_service"
    return "appointment.cancelled"


def _flatten(position: int, r: dict) -> dict:
    """The few fields noncoop uses from one resource."""
    kind = r.get("resourceType")
    status = r.get("status")
    identifier = _patient_identifier(r)
    if kind == "Appointment":
        when = r.get("start")
        reason = _codes(r.get("cancelationReason"))
        service = _first_text(r.get("serviceType")) or _first_text([r.get("appointmentType")])
        chain = _first_reference(r.get("basedOn")) or _first_reference(r.get("replaces"))
        event = APPOINTMENT_STATUS.get(status)
    elif kind == "Encounter":
        when = (r.get("period") or {}).get("start")
        reason = []
        service = _first_text(r.get("serviceType") and [r["serviceType"]]) or _first_text(
            r.get("type")
        )
        chain = _first_reference(r.get("basedOn")) or _first_reference(r.get("appointment"))
        event = ENCOUNTER_STATUS.get(status)
    else:
        return {
            "position": position,
            "kind": kind,
            "problem": f"resourceType {kind!r} is not Appointment or Encounter",
        }
    if event == "appointment.cancelled":
        event = _cancelled_by(reason)
    problem = ""
    if status not in NO_EVENT and event is None:
        problem = f"{kind} status {status!r} is not a FHIR R4 status"
    return {
        "position": position,
        "kind": kind,
        "key": f"{kind}/{r.get('id')}|{status}" if r.get("id") else None,
        "status": status,
        "event_type": event,
        "occurred_at": when,
        "nhs": identifier,
        "service": service.lower() if service else None,
        "chain_id": chain,
        "detail": ",".join([status or "", *reason]).strip(","),
        "skip": status in NO_EVENT,
        "problem": problem,
    }


def _patient_identifier(r: dict) -> str | None:
    """The NHS number of the patient: Appointment participant actor, or Encounter subject."""
    actors = [p.get("actor") or {} for p in r.get("participant") or []]
    candidates = [r.get("subject") or {}, *actors]
    for actor in candidates:
        if actor.get("reference", "Patient/").startswith("Patient") or "identifier" in actor:
            ident = actor.get("identifier") or {}
            if ident.get("system") == NHS_SYSTEM and ident.get("value"):
                return str(ident["value"])
    return None


def _codes(concept: dict | None) -> list[str]:
    return [c.get("code", "") for c in (concept or {}).get("coding") or []]


def _first_text(concepts: list | None) -> str | None:
    for concept in concepts or []:
        if not concept:
            continue
        for coding in concept.get("coding") or []:
            if coding.get("display") or coding.get("code"):
                return coding.get("display") or coding.get("code")
        if concept.get("text"):
            return concept["text"]
    return None


def _first_reference(refs: list | None) -> str | None:
    for ref in refs or []:
        if ref and ref.get("reference"):
            return ref["reference"]
    return None


FLAT_COLUMNS = (
    "position",
    "kind",
    "key",
    "status",
    "event_type",
    "occurred_at",
    "nhs",
    "service",
    "chain_id",
    "detail",
    "skip",
    "problem",
)


def _block(
    records: list[dict],
    rejected: list[tuple[int, str, str]],
    source: LoadedSource,
    source_file: str,
    people: Crosswalk,
) -> ImportBlock:
    frame = pd.DataFrame.from_records(records, columns=list(FLAT_COLUMNS))
    frame = frame.astype({c: "string" for c in frame.columns if c not in ("position", "skip")})
    frame["skip"] = frame["skip"].fillna(False).astype(bool)
    checks = _checks(frame)
    occurred = parse_times(frame["occurred_at"], None, "occurred_at", checks)
    who = people.link(pd.DataFrame({"id_scheme": "nhs", "id_value": frame["nhs"]}), checks)
    raw = frame.drop(columns=["problem", "skip"])
    _, bad = checks.split(raw, source.name, source_file, frame["position"], frame["key"])
    good = ~checks.failed.to_numpy() & ~frame["skip"].to_numpy()
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
                "id_scheme": "nhs",
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
    )
    quarantined = pd.concat([malformed, bad], ignore_index=True)
    return ImportBlock(events, quarantined, len(frame) + len(rejected), len(frame) - len(bad))


def _checks(frame: pd.DataFrame) -> quarantine.Checks:
    """Resources that cannot become events: a problem found while flattening, or a blank id,
    time or patient identifier (resources skipped as no event are not checked)."""
    checks = quarantine.Checks(frame.index)
    checks.add(frame["problem"].fillna("") != "", "BAD-VALUE", "{}", frame["problem"])
    wanted = ~frame["skip"] & (frame["problem"].fillna("") == "")
    checks.add(wanted & frame["key"].isna(), "MISSING-FIELD", "resource id is blank")
    checks.add(
        wanted & frame["occurred_at"].isna(),
        "MISSING-FIELD",
        "start (Appointment) or period.start (Encounter) is blank",
    )
    checks.add(
        wanted & frame["nhs"].isna(),
        "MISSING-FIELD",
        "no patient identifier with system " + NHS_SYSTEM,
    )
    return checks
