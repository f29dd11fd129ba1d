"""FHIR R4 Appointment/Encounter import from NDJSON and from a Bundle."""

import pytest
from conftest import ROOT

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

FHIR = ROOT / "fixtures" / "fhir"


@pytest.fixture
def fhir_ws(tmp_path):
    ws = Workspace(tmp_path / "ws")
    return ws, ingest(FHIR, ws)


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
    # 13 lines: 6 events, 2 accepted without an event (proposed, entered-in-error), 5 rejected.
    assert (nd.rows_read, nd.rows_accepted, nd.rows_quarantined, nd.new_events) == (13, 8, 5, 6)
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
        10: "BAD-VALUE",
        12: "MISSING-FIELD",
    }
