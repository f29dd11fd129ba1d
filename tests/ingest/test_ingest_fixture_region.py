"""The fixture region exercises every importer and profile with good and bad rows."""

from noncoop.events import validate_events


def _q(ws):
    q = ws.load_quarantine()
    return {(r.source, r.source_line): r.reason_code for r in q.itertuples()}


def test_counts_reconcile_per_source_and_in_total(region_ws):
    _, report = region_ws
    for name, c in report.by_source.items():
        assert c.rows_read == c.rows_accepted + c.rows_quarantined, name
    t = report.total
    assert (t.rows_read, t.rows_accepted, t.rows_quarantined) == (40, 23, 17)
    assert report.people.rows_quarantined == 1
    payload = report.to_json()
    assert payload["rows_read"] == payload["rows_accepted"] + payload["rows_quarantined"]
    assert set(payload["by_source"]) == {
        "gp",
        "health_visiting",
        "school",
        "cp_visits",
        "casenotes",
        "police",
    }


def test_stored_events_meet_the_canonical_contract(region_ws):
    ws, report = region_ws
    events = ws.load_events()
    assert validate_events(events) == []
    assert len(events) == report.total.new_events == 21


def test_health_outcome_codes_are_mapped_and_kept_in_detail(region_ws):
    ws, _ = region_ws
    gp = ws.load_events()
    gp = gp[gp["source"] == "gp"].set_index("source_line")
    assert gp.loc[2, "event_type"] == "appointment.booked"
    assert gp.loc[3, "event_type"] == "appointment.missed"
    assert gp.loc[5, "event_type"] == "appointment.missed"
    assert gp.loc[5, "detail"] == "WNB"
    assert not gp.loc[3, "child_seen"]
    assert gp.loc[12, "service"] == "audiology"
    # An NHS number written with spaces links to the same child.
    assert gp.loc[5, "subject_id"] == gp.loc[2, "subject_id"] == "C0001"
    assert gp.loc[3, "chain_id"] == "REF1"


def test_every_bad_row_is_quarantined_with_its_reason_and_line(region_ws):
    ws, _ = region_ws
    q = _q(ws)
    assert q[("gp", 6)] == "BAD-DATE"
    assert q[("gp", 7)] == "BAD-VALUE"
    assert q[("gp", 8)] == "INVALID-ID"
    assert q[("gp", 9)] == "UNLINKED-ID"
    assert q[("gp", 10)] == "CSV-MALFORMED"
    assert q[("gp", 11)] == "DUPLICATE-RECORD"
    assert q[("health_visiting", 4)] == "BAD-EVENT-TYPE"
    assert q[("health_visiting", 5)] == "MISSING-FIELD"
    assert q[("health_visiting", 6)] == "BAD-VALUE"
    assert q[("cp_visits", 5)] == "UNLINKED-ID"
    assert q[("casenotes", 6)] == "BAD-DATE"
    assert q[("police", 3)] == "ADULT-NO-HOUSEHOLD"
    assert q[("school", 7)] == "BAD-ATTENDANCE-CODE"
    assert q[("school", 10)] == "DUPLICATE-RECORD"
    assert q[("school", 11)] == "INVALID-ID"
    assert q[("school", 13)] == "BAD-VALUE"
    assert q[("people", 13)] == "INVALID-ID"


def test_quarantine_keeps_the_original_row_and_names_no_free_text(region_ws):
    ws, _ = region_ws
    q = ws.load_quarantine()
    dup = q[(q["source"] == "gp") & (q["source_line"] == 11)].iloc[0]
    assert dup["record_key"] == "G002"
    assert '"AppointmentRef": "G002"' in dup["raw"]
    assert "first at line 3" in dup["reason"]
    assert not q["reason"].str.contains("synthetic text").any()


def test_casenote_text_is_never_imported(region_ws):
    ws, _ = region_ws
    events = ws.load_events(with_trace=True)
    assert not events.astype(str).apply(lambda c: c.str.contains("synthetic")).any().any()


def test_ssd_visits_seen_and_seen_alone(region_ws):
    ws, _ = region_ws
    ev = ws.load_events()
    cp = ev[ev["source"] == "cp_visits"].set_index("source_line")
    assert cp.loc[2, "event_type"] == "visit.completed"
    assert bool(cp.loc[2, "child_seen"]) and not bool(cp.loc[2, "child_seen_alone"])
    assert cp.loc[3, "event_type"] == "visit.no_access"
    assert bool(cp.loc[4, "child_seen_alone"])


def test_casenote_and_police_hostility_levels(region_ws):
    ws, _ = region_ws
    ev = ws.load_events()
    hostile = ev[ev["event_type"] == "hostility.recorded"].sort_values("occurred_at")
    assert hostile["hostility_level"].tolist() == [2, 3, 3]
    assert set(hostile["subject_id"]) == {"A0001"}
    assert set(hostile["agency"]) == {"social_care", "police"}
    assert (hostile["subject_role"] == "adult").all()
    assert (hostile["household_id"] == "H01").all()


def test_attendance_absences_and_weekly_summaries(region_ws):
    ws, _ = region_ws
    ev = ws.load_events()
    school = ev[ev["source"] == "school"]
    absences = school[school["event_type"] == "school.absence"].sort_values("occurred_at")
    # The statutory DfE code (the contract), local sub-codes N01 and I01 read as N and I.
    assert absences["detail"].tolist() == ["N", "I", "G"]
    # The PM session sorts after the AM one of the same day.
    assert str(absences["occurred_at"].iloc[0]) == "2026-01-05 12:00:00+00:00"
    weeks = school[school["event_type"] == "school.attendance_summary"]
    c1 = weeks[weeks["subject_id"] == "C0001"].sort_values("occurred_at")
    # Week of 5 Jan: 4 possible sessions ('#' is not possible, 'ZZ' was rejected), 2 absent.
    assert c1["sessions_possible"].tolist() == [4, 1]
    assert c1["sessions_absent"].tolist() == [2, 1]
    c3 = weeks[weeks["subject_id"] == "C0003"]
    assert c3["sessions_possible"].tolist() == [2]
    assert c3["sessions_absent"].tolist() == [0]
