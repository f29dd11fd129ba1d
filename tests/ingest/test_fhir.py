"""FHIR R4 Appointment/Encounter import from NDJSON and from a Bundle."""

import shutil

import pytest
from conftest import ROOT

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

FHIR = ROOT / "fixtures" / "fhir"


def ingested(folder, tmp_path):
    ws = Workspace(tmp_path / "ws")
    return ws, ingest(folder, ws)


@pytest.fixture
def fhir_ws(tmp_path):
    return ingested(FHIR, tmp_path)


def test_statuses_map_to_event_types(fhir_ws):
    ws, _ = fhir_ws
    ev = ws.load_events()
    nd = ev[ev["source"] == "community_health"].set_index("source_line")
    assert nd.loc[1, "event_type"] == "appointment.booked"
    assert nd.loc[2, "event_type"] == "appointment.missed"
    assert nd.loc[3, "event_type"] == "appointment.cancelled_by_family"
    assert nd.loc[4, "event_type"] == "appointment.cancelled_by_service"
    # No cancellation reason: by whom is not recorded (DESIGN's `appointment.cancelled`).
    assert nd.loc[13, "event_type"] == "appointment.cancelled"
    assert nd.loc[11, "event_type"] == "appointment.attended"
    # Booking and no-show of the same appointment are two events on one chain.
    assert nd.loc[1, "chain_id"] == nd.loc[2, "chain_id"] == "ServiceRequest/sr1"
    assert nd.loc[1, "subject_id"] == "C0001" and nd.loc[11, "subject_id"] == "C0003"
    assert nd.loc[1, "service"] == "paediatrics"


def test_bundle_entries_are_indexed_from_zero(fhir_ws):
    ws, _ = fhir_ws
    ev = ws.load_events()
    bundle = ev[ev["source"] == "hospital"].set_index("source_line")
    assert bundle.loc[0, "event_type"] == "appointment.attended"
    assert bundle.loc[1, "event_type"] == "appointment.missed"
    assert set(bundle["subject_id"]) == {"C0002"}


def test_unusable_resources_are_quarantined_and_counts_reconcile(fhir_ws):
    ws, report = fhir_ws
    nd = report.by_source["community_health"]
    # 13 lines: 6 events, 2 accepted without an event (proposed, entered-in-error), a Patient
    # read and counted by type, 4 rejected.
    assert (nd.rows_read, nd.rows_accepted, nd.rows_quarantined, nd.new_events) == (13, 9, 4, 6)
    assert nd.other_kinds == {"Patient": 1}
    q = ws.load_quarantine()
    q = dict(
        zip(
            q.loc[q["source"] == "community_health", "source_line"],
            q.loc[q["source"] == "community_health", "reason_code"],
            strict=True,
        )
    )
    assert q == {
        7: "INVALID-ID",
        8: "BAD-VALUE",
        9: "JSON-MALFORMED",
        12: "MISSING-FIELD",
    }


PUBLISHED = ROOT / "fixtures" / "fhir-published"


@pytest.fixture
def published(tmp_path):
    return ingested(PUBLISHED, tmp_path)


def test_message_bundle_entries_keyed_by_full_url_and_patients_referenced(published):
    """A message Bundle: an Appointment with no id (keyed by its fullUrl) references its
    Patient by urn:uuid, another by absolute URL; the MessageHeader and Patients are read and
    counted by type, not quarantined."""
    ws, report = published
    counts = report.by_source["referrals"]
    assert (counts.rows_read, counts.rows_accepted, counts.rows_quarantined) == (5, 5, 0)
    assert counts.other_kinds == {"MessageHeader": 1, "Patient": 2}
    ev = ws.load_events()
    ev = ev[ev["source"] == "referrals"].set_index("source_line")
    assert ev.loc[2, "subject_id"] == "C0001" and ev.loc[2, "event_type"] == "appointment.booked"
    assert ev.loc[4, "subject_id"] == "C0003" and ev.loc[4, "event_type"] == "appointment.missed"
    # A bare SNOMED code is not a service: the source's declared one stands; a display is used.
    assert ev.loc[2, "service"] == "community_paediatrics"
    assert ev.loc[4, "service"] == "community paediatrics service"
    # A chain from basedOn given as an identifier (the e-Referral UBRN).
    assert ev.loc[2, "chain_id"] == "https://fhir.nhs.uk/Id/UBRN|000000070000"


def test_bulk_export_patients_are_read_from_their_own_file(published):
    ws, report = published
    counts = report.by_source["bulk"]
    # 3 Appointments, 2 Patients and a Slot read; one Appointment names a Patient nobody has.
    assert (counts.rows_read, counts.rows_accepted, counts.rows_quarantined) == (6, 5, 1)
    assert counts.other_kinds == {"Patient": 2, "Slot": 1}
    ev = ws.load_events()
    ev = ev[ev["source_file"] == "bulk/Appointment.ndjson"].set_index("source_line")
    assert ev.loc[1, "subject_id"] == "C0002"
    assert ev.loc[1, "service"] == "gp"  # appointmentType is not a service
    assert ev.loc[2, "subject_id"] == "C0003"
    assert ev.loc[2, "chain_id"] == "Appointment/g0"  # replaces
    q = ws.load_quarantine()
    (row,) = q[q["source"] == "bulk"].itertuples()
    assert row.reason_code == "MISSING-FIELD" and "Patient/unknown" in row.raw  # as written


def test_a_booking_stays_when_the_re_export_carries_the_outcome(tmp_path):
    """Re-exported after the day, the appointment's status moved from booked to noshow: the
    booking is kept (as first stored), the miss is added, nothing is withdrawn."""
    src = tmp_path / "src"
    shutil.copytree(PUBLISHED, src)
    (src / "sources.yaml").write_text(
        (PUBLISHED / "sources.yaml").read_text().replace("../region", str(ROOT / "fixtures/region"))
    )
    ws = Workspace(tmp_path / "ws")
    ingest(src, ws)
    path = src / "bulk" / "Appointment.ndjson"
    path.write_text(
        path.read_text().replace('"id":"g1","status":"booked"', '"id":"g1","status":"noshow"')
    )
    report = ingest(src, ws)
    assert report.by_source["bulk"].withdrawn_events == 0
    ev = ws.load_events()
    g1 = ev[(ev["source_file"] == "bulk/Appointment.ndjson") & (ev["source_line"] == 1)]
    assert sorted(g1["event_type"].astype(str)) == ["appointment.booked", "appointment.missed"]
    assert len(ev[ev["source"] == "bulk"]) == 3


def test_a_local_identifier_system_read_as_a_scheme(published):
    """A trust's own MRN system, named in the source as a people.csv scheme."""
    ws, report = published
    assert report.by_source["trust_mrn"].rows_quarantined == 0
    ev = ws.load_events()
    (row,) = ev[ev["source"] == "trust_mrn"].itertuples()
    assert row.subject_id == "C0003"
    assert row.service == "emergency department"


def test_fhir_xml_documents_are_read(published):
    """A searchset Bundle and a single Appointment written in FHIR XML; a file that is not
    well-formed XML is quarantined whole, not read as lines."""
    ws, report = published
    counts = report.by_source["xml"]
    assert (counts.rows_read, counts.rows_accepted, counts.rows_quarantined) == (4, 3, 1)
    assert counts.other_kinds == {"Patient": 1}
    ev = ws.load_events()
    xml = ev[ev["source"] == "xml"].set_index("source_file")
    enc = xml.loc["xml/encounters_bundle.xml"]
    assert enc["subject_id"] == "C0003" and enc["service"] == "school nursing service"
    assert enc["event_type"] == "appointment.attended"
    apt = xml.loc["xml/appointment.xml"]
    assert apt["subject_id"] == "C0001" and apt["event_type"] == "appointment.missed"


def fhir_folder(tmp_path, files: dict[str, str], sources: str):
    """A sources folder of FHIR files (people from the fixture region), ingested."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "fixtures" / "region" / "people.csv", src)
    for name, text in files.items():
        (src / name).write_text(text)
    (src / "sources.yaml").write_text("sources:\n" + sources)
    return ingested(src, tmp_path)


def test_hostile_fhir_is_quarantined_record_by_record(tmp_path):
    """Fields of the wrong shape, lines that are not resources, a Bundle entry with no resource
    and an XML entity bomb: every record is quarantined with a reason, the run goes on."""
    ws, report = fhir_folder(
        tmp_path,
        {
            "a.ndjson": '{"resourceType":"Appointment","id":"h1","status":{"x":1},'
            '"start":"2026-01-01"}\n'
            '{"resourceType":"Encounter","id":"h2","status":"finished","period":"2026-01-01"}\n'
            '{"resourceType":"Appointment","id":"h3","status":"booked","participant":"nope"}\n'
            "[1,2,3]\n"
            '{"resourceType":["Appointment"],"id":"h6"}\n',
            "b.json": '{"resourceType":"Bundle","entry":["x",{"fullUrl":{}}]}',
            "c.xml": '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]>'
            '<Appointment xmlns="http://hl7.org/fhir"><id value="&b;"/></Appointment>',
        },
        "  - {name: f, importer: fhir, path: '*.*json'}\n"
        "  - {name: x, importer: fhir, path: '*.xml'}\n",
    )
    f, x = report.by_source["f"], report.by_source["x"]
    assert (f.rows_read, f.rows_quarantined, x.rows_read, x.rows_quarantined) == (7, 7, 1, 1)
    q = ws.load_quarantine()
    codes = q.set_index(["source_file", "source_line"])["reason_code"].to_dict()
    assert codes[("a.ndjson", 1)] == "BAD-VALUE" and codes[("c.xml", 0)] == "XML-MALFORMED"
    second = q[(q["source_file"] == "a.ndjson") & (q["source_line"] == 2)]
    assert "wrong kind of value" in second["reason"].iloc[0]


def test_a_quarantined_xml_resource_keeps_its_xml(tmp_path):
    """A reviewer sees the resource as the export wrote it, not noncoop's reading of it."""
    bundle = (
        '<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/><entry>'
        '<fullUrl value="urn:uuid:5b7a0e8c-0000-4000-8000-000000000001"/><resource>'
        '<Appointment><status value="noshow"/><start value="2026-01-05T09:00:00Z"/>'
        "<participant><actor><identifier>"
        '<system value="https://fhir.nhs.uk/Id/nhs-number"/><value value="9990000115"/>'
        "</identifier></actor></participant></Appointment></resource></entry></Bundle>"
    )
    ws, report = fhir_folder(
        tmp_path, {"b.xml": bundle}, "  - {name: x, importer: fhir, path: b.xml}\n"
    )
    assert report.by_source["x"].rows_quarantined == 1
    q = ws.load_quarantine()
    (raw,) = q.loc[q["source"] == "x", "raw"]
    assert raw.startswith('<Appointment xmlns="http://hl7.org/fhir">')
    assert '<status value="noshow" />' in raw and "__xml__" not in raw


def test_json_nested_past_reading_is_quarantined_not_fatal(tmp_path):
    """A line of 100,000 nested arrays (or a Bundle of them) is one quarantined record, and the
    file's other resources and the other sources are still read."""
    deep = "[" * 100_000 + "]" * 100_000
    ws, report = fhir_folder(
        tmp_path,
        {"a.ndjson": f'null\n{deep}\n{{"resourceType":"Slot","id":"s1"}}\n', "b.json": deep},
        "  - {name: a, importer: fhir, path: a.ndjson}\n"
        "  - {name: b, importer: fhir, path: b.json}\n",
    )
    a, b = report.by_source["a"], report.by_source["b"]
    assert (a.rows_read, a.rows_quarantined, a.other_kinds) == (3, 2, {"Slot": 1})
    assert (b.rows_read, b.rows_quarantined) == (1, 1)
    q = ws.load_quarantine()
    assert set(q.loc[q["source"] != "people", "reason_code"]) == {"BAD-VALUE", "JSON-MALFORMED"}
