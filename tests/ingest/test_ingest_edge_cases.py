"""Awkward files: nothing crashes the run, nothing disappears, counts still reconcile."""

import shutil

import pytest
from conftest import PROFILES, REGION, ROOT

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

PEOPLE = (REGION / "people.csv").read_text(encoding="utf-8")


def _region(tmp_path, sources: str, files: dict[str, bytes]):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (folder / "sources.yaml").write_text(sources, encoding="utf-8")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    ws = Workspace(tmp_path / "ws")
    return ws, ingest(folder, ws)


CANONICAL = (
    "sources:\n"
    "  - {name: hv, importer: contact-log, path: 'hv*.csv', id_scheme: nhs, agency: health}\n"
)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (b"R2,4000000012,visit.completed,2026-01-06,caf\xe9", "CSV-ENCODING"),
        # pyarrow decodes a malformed line before handing it over: this one failed the file.
        (b"R2,4000000012,visit.no_access,2026-02-02,caf\xe9,extra", "CSV-MALFORMED"),
    ],
)
def test_a_row_with_bytes_that_are_not_utf8_is_quarantined_and_the_rest_imported(
    tmp_path, row, reason
):
    data = (
        b"record_id,person_id,event_type,occurred_at,detail\n"
        b"R1,4000000012,visit.completed,2026-01-05,ok\n" + row + b"\n"
        b"R3,4000000012,visit.no_access,2026-01-07,caf\xc3\xa9\n"
    )
    ws, report = _region(tmp_path, CANONICAL, {"hv.csv": data})
    hv = report.by_source["hv"]
    assert (hv.rows_read, hv.rows_accepted, hv.rows_quarantined) == (3, 2, 1)
    q = ws.load_quarantine().query("source == 'hv'")
    assert q[["reason_code", "source_line"]].values.tolist() == [[reason, 3]]
    # The good rows keep their exact text.
    assert sorted(ws.load_events()["detail"].dropna()) == ["caf\u00e9", "ok"]


def test_column_named_in_profile_but_missing_quarantines_every_row(tmp_path):
    profile = (
        "importer: contact-log\nfields:\n  record_id: Ref\n  person_id: NHS\n"
        "  event_type: {value: visit.completed}\n  occurred_at: When\n"
        "  id_scheme: {value: nhs}\n  agency: {value: health}\n"
    )
    sources = "sources:\n  - {name: hv, importer: contact-log, path: hv.csv, profile: p.yaml}\n"
    folder_files = {
        "hv.csv": b"Ref,NHS,Date\nR1,4000000012,2026-01-05\nR2,4000000012,2026-01-06\n",
        "p.yaml": profile.encode(),
    }
    ws, report = _region(tmp_path, sources, folder_files)
    hv = report.by_source["hv"]
    assert (hv.rows_read, hv.rows_quarantined) == (2, 2)
    reasons = set(ws.load_quarantine().query("source == 'hv'")["reason"])
    assert reasons == {"the file has no column When"}


def test_header_only_and_empty_files_and_unmatched_paths(tmp_path):
    sources = CANONICAL + "  - {name: gone, importer: contact-log, path: nothing-here.csv}\n"
    _ws, report = _region(
        tmp_path,
        sources,
        {
            "hv1.csv": b"record_id,person_id,event_type,occurred_at\n",
            "hv2.csv": b"",
        },
    )
    assert report.by_source["hv"].files == 2
    assert report.total.rows_read == 0
    assert report.warnings == ["source 'gone': no file matches path 'nothing-here.csv'"]


def test_overlapping_exports_do_not_duplicate_events(tmp_path):
    rows = [f"R{i},4000000012,visit.completed,2026-01-{i:02d}\n" for i in range(1, 11)]
    header = "record_id,person_id,event_type,occurred_at\n"
    ws, report = _region(
        tmp_path,
        CANONICAL,
        {
            "hv-jan-a.csv": (header + "".join(rows[:7])).encode(),
            "hv-jan-b.csv": (header + "".join(rows[4:])).encode(),
        },
    )
    hv = report.by_source["hv"]
    assert (hv.rows_read, hv.rows_accepted, hv.new_events) == (13, 13, 10)
    assert len(ws.load_events()) == 10


@pytest.mark.parametrize("with_level_column", [True, False])
def test_hostility_level_written_on_the_visit_or_call_is_read(tmp_path, with_level_column):
    """The shipped case-note profile reads a hostility level from the note type (HOS1-4) or,
    where that gives none, from the level written on the visit or call; an extract without
    that column keeps its rows, with the note types' levels only."""
    profile = PROFILES / "casenotes.yaml"
    head = "NoteID,PersonRef,NoteDate,NoteType,Team,Seen,SeenAlone,HostilityLevel,NoteText\n"
    rows = [
        "N1,LA-1001,05/01/2026 10:00,VIS,CP,Seen,,3,x",
        "N2,LA-1001,06/01/2026 10:00,HOS2,CP,,,,x",
        "N3,LA-1001,07/01/2026 10:00,TEL,CP,,,2,x",
        "N4,LA-1001,08/01/2026 10:00,VIS,CP,Seen,,,x",
    ]
    if not with_level_column:
        head = head.replace("HostilityLevel,", "")
        rows = [",".join(r.split(",")[:7] + r.split(",")[8:]) for r in rows]
    sources = "sources:\n  - {name: notes, importer: contact-log, path: n.csv, profile: c.yaml}\n"
    files = {"n.csv": (head + "\n".join(rows) + "\n").encode(), "c.yaml": profile.read_bytes()}
    ws, report = _region(tmp_path, sources, files)
    assert report.by_source["notes"].rows_quarantined == 0
    events = ws.load_events().set_index("source_line")  # N1 is on line 2
    levels = events["hostility_level"].dropna().astype(int).to_dict()
    assert levels == ({2: 3, 3: 2, 4: 2} if with_level_column else {3: 2})
    assert events.loc[4, "event_type"] == "contact.call"


def test_a_record_key_made_of_several_columns(tmp_path):
    """A feed with no appointment id (as the national outpatient flow): keyed by patient and
    time together, two patients booked into the same slot are two records, not a duplicate."""
    profile = (
        "importer: contact-log\nfields:\n"
        "  record_id: {columns: [NHS, When]}\n  person_id: NHS\n"
        "  event_type: {value: appointment.attended}\n  occurred_at: When\n"
        "  id_scheme: {value: nhs}\n  agency: {value: health}\n"
    )
    sources = "sources:\n  - {name: op, importer: contact-log, path: op.csv, profile: p.yaml}\n"
    files = {
        "op.csv": b"NHS,When\n4000000012,2026-01-05T09:00\n4000000020,2026-01-05T09:00\n"
        b"4000000012,2026-01-05T09:00\n",
        "p.yaml": profile.encode(),
    }
    ws, report = _region(tmp_path, sources, files)
    op = report.by_source["op"]
    # The third row repeats the first patient's slot: that one is the duplicate.
    assert (op.rows_read, op.rows_accepted, op.rows_quarantined) == (3, 2, 1)
    assert set(ws.load_events()["subject_id"].astype(str)) == {"C0001", "C0002"}


def test_register_codes_read_as_on_the_day_they_were_recorded(tmp_path):
    """Before the August 2024 guidance J (interview) was an approved educational activity and F
    an agreed extended family holiday; '-' is a session with no mark recorded."""
    sources = "sources:\n  - {name: school, importer: attendance, path: r.csv, agency: education}\n"
    register = (
        "upn,date,session,code\n"
        "H801200001001,2024-06-03,AM,J\n"  # present then
        "H801200001001,2024-06-03,PM,F\n"  # authorised absence
        "H801200001001,2024-06-04,AM,-\n"  # no mark: neither possible nor absent
        "H801200001001,2024-06-04,PM,/\n"
        "H801200001001,2024-09-09,AM,J\n"  # after the guidance: authorised absence
        "H801200001001,2024-09-09,PM,/\n"
    )
    ws, report = _region(tmp_path, sources, {"r.csv": register.encode()})
    assert report.by_source["school"].rows_quarantined == 0
    ev = ws.load_events()
    absences = ev[ev["event_type"] == "school.absence"].sort_values("occurred_at")
    assert absences["detail"].tolist() == ["F", "J"]
    weeks = ev[ev["event_type"] == "school.attendance_summary"].sort_values("occurred_at")
    assert weeks["sessions_possible"].tolist() == [3, 2]
    assert weeks["sessions_absent"].tolist() == [1, 1]


def test_a_register_in_date_order_sums_each_pupils_week_over_every_line(tmp_path):
    """A register exported day by day, not pupil by pupil, holds one pupil's week in several
    runs of lines, with marks and sessions in lower case: each week is summed whole."""
    sources = "sources:\n  - {name: school, importer: attendance, path: r.csv, agency: education}\n"
    register = (
        "upn,date,session,code\n"
        "H801200001001,2025-03-03,am,/\n"  # line 2: the first of C0001's week
        "X801200001002,2025-03-03,AM,n\n"
        "H801200001001,2025-03-03,PM,o\n"
        "X801200001002,2025-03-03,pm,/\n"
        "H801200001001,2025-03-04,AM,/\n"
        "X801200001002,2025-03-04,AM,/\n"  # line 7
        "H801200001001,2025-03-04,PM,/\n"
        "H801200001001,2025-03-10,AM,N\n"  # the next week
    )
    ws, report = _region(tmp_path, sources, {"r.csv": register.encode()})
    assert report.by_source["school"].rows_quarantined == 0
    ev = ws.load_events()
    weeks = ev[ev["event_type"] == "school.attendance_summary"]
    weeks = weeks.sort_values(["subject_id", "occurred_at"])
    assert weeks["subject_id"].tolist() == ["C0001", "C0001", "C0003"]
    assert weeks["sessions_possible"].tolist() == [4, 1, 3]
    assert weeks["sessions_absent"].tolist() == [1, 1, 1]
    assert weeks["source_line"].tolist() == [2, 9, 3]
    assert weeks["detail"].tolist() == [
        "3 of 4 sessions attended",
        "0 of 1 sessions attended",
        "2 of 3 sessions attended",
    ]
    absences = ev[ev["event_type"] == "school.absence"].sort_values("source_line")
    assert absences["detail"].tolist() == ["N", "O", "N"]


def test_a_register_without_its_session_column_quarantines_every_row(tmp_path):
    """Found by the property test: a header with a column misnamed left every session blank."""
    sources = "sources:\n  - {name: school, importer: attendance, path: r.csv, agency: education}\n"
    register = (
        "upn,date,ession,code\nH801200001001,2025-03-03,AM,/\nH801200001001,2025-03-03,PM,N\n"
    )
    ws, report = _region(tmp_path, sources, {"r.csv": register.encode()})
    school = report.by_source["school"]
    assert (school.rows_read, school.rows_accepted, school.rows_quarantined) == (2, 0, 2)
    assert ws.load_quarantine().query("source == 'school'")["source_line"].tolist() == [2, 3]


def test_deletion_markers_withdraw_their_record_and_trailers_are_skipped(tmp_path):
    """A trust feed's daily files: a later file's Deleted row withdraws the appointment an
    earlier file imported (it no longer counts as attended), a record deleted within its own
    file never becomes an event, trailer rows are read and counted, not quarantined."""
    ws = Workspace(tmp_path / "ws")
    report = ingest(ROOT / "fixtures" / "pas", ws)
    op = report.by_source["outpatients"]
    assert (op.rows_read, op.rows_accepted, op.rows_quarantined) == (8, 8, 0)
    assert op.other_kinds == {"rows skipped by the profile": 2, "deletion markers": 2}
    assert op.withdrawn_events == 1
    ev = ws.load_events()
    assert sorted(ev["source_line"].astype(int)) == [3, 3]  # OP-2 (first file), OP-3 (second)
    assert set(ev["event_type"].astype(str)) == {"appointment.missed", "appointment.attended"}
    withdrawn = ws.load_withdrawn()
    assert list(withdrawn["source_line"]) == [2] and list(withdrawn["source_file"]) == [
        "op_20260110.csv"
    ]
    again = ingest(ROOT / "fixtures" / "pas", ws)  # unchanged files: nothing moves
    assert again.by_source["outpatients"].withdrawn_events == 0 and len(ws.load_events()) == 2


def test_a_deletion_marker_blocks_after_its_record_in_one_file_withdraws_it(tmp_path, monkeypatch):
    """A large daily file read in several blocks: the Deleted row for an appointment read in an
    earlier block still withdraws it."""
    from functools import partial

    from noncoop.ingest import contact_log
    from noncoop.sources.csvread import read_csv_batches

    monkeypatch.setattr(contact_log, "read_csv_batches", partial(read_csv_batches, block_bytes=256))
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "fixtures" / "pas" / "pas_outpatients.yaml", src)
    shutil.copy(ROOT / "fixtures" / "region" / "people.csv", src)
    rows = ["RecordType,AppointmentID,NHSNumber,Clinic,ApptDateTime,AttendStatus,DataUpdateStatus"]
    rows.append("D,OP-9,4000000012,PAED,2026-01-09 10:00,5,New")
    rows += [f"D,OP-{n},4000000020,PAED,2026-01-1{n % 9} 09:30,5,New" for n in range(10, 40)]
    rows.append("D,OP-9,,,,,Deleted")
    (src / "op.csv").write_text("\n".join(rows) + "\n")
    (src / "sources.yaml").write_text(
        "sources:\n  - {name: op, importer: contact-log, path: op.csv,"
        " profile: pas_outpatients.yaml}\n"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest(src, ws)
    op = report.by_source["op"]
    assert op.withdrawn_events == 1 and op.reconciles
    assert 2 not in set(ws.load_events()["source_line"])  # OP-9
    assert list(ws.load_withdrawn()["source_line"]) == [2]
    assert len(ws.load_events()) == 30
    again = ingest(src, ws)  # unchanged: nothing moves
    assert again.by_source["op"].withdrawn_events == 0 and len(ws.load_events()) == 30


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (
            b"record_id;person_id;event_type;occurred_at\nR1;4000000012;visit.completed;2026-01-05\n",
            "CSV-DELIMITER",
            "the file looks delimited by ';', not ','",
        ),
        (
            "record_id,person_id,event_type,occurred_at\nR1,4000000012,visit.completed,2026-01-05\n".encode(
                "utf-16"
            ),
            "CSV-ENCODING",
            "the file is UTF-16 text, read as utf-8: declare encoding: utf-16",
        ),
        (
            b"record_id,person_id,event_type,when\nR1,4000000012,visit.completed,2026-01-05\n",
            "MISSING-FIELD",
            "the file has no column occurred_at",
        ),
    ],
)
def test_a_file_written_otherwise_is_quarantined_for_its_cause(tmp_path, data, code, says):
    """A whole file in another delimiter or encoding, or without a canonical column: every row
    is kept with the reason that names the cause, not a list of blank fields."""
    ws, report = _region(tmp_path, CANONICAL, {"hv.csv": data})
    assert (report.by_source["hv"].rows_read, report.by_source["hv"].rows_quarantined) == (1, 1)
    (row,) = ws.load_quarantine().query("source == 'hv'").itertuples()
    assert (row.reason_code, row.source_line) == (code, 2)
    assert says in row.reason
    assert "is blank" not in row.reason


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("1900-01-05", "occurred_at 1900-01-05 is before 1990-01-01 (earliest_date"),
        ("0026-01-05", "occurred_at: '0026-01-05' is a date no record can have"),
        ("2099-01-05", "occurred_at 2099-01-05 is more than 400 days after today"),
        ("2015-01-05", "occurred_at 2015-01-05 is before the person's date of birth, 2016-05-01"),
    ],
)
def test_dates_no_record_can_have_are_quarantined(tmp_path, when, says):
    row = f"record_id,person_id,event_type,occurred_at\nR1,4000000012,visit.completed,{when}\n"
    ws, report = _region(tmp_path, CANONICAL, {"hv.csv": row.encode()})
    assert report.by_source["hv"].rows_quarantined == 1
    (found,) = ws.load_quarantine().query("source == 'hv'").itertuples()
    assert found.reason_code == "IMPLAUSIBLE-DATE" and found.reason.startswith(says)


def test_a_register_naming_a_column_twice_is_reported_and_braces_in_names_are_plain_text(
    tmp_path,
):
    profile = (
        "importer: attendance\nfields:\n  upn: 'Pupil{UPN}'\n"
        "  date: {column: D, format: '%d/%m/%Y'}\n  session: S\n  code: {column: 'Mark{0}'}\n"
    )
    sources = "sources:\n  - {name: school, importer: attendance, path: r.csv, profile: p.yaml}\n"
    register = "Pupil{UPN},D,S,Mark{0},D\nH801200001001,05/01/2026,AM,ZZ,x\n"
    ws, report = _region(
        tmp_path, sources, {"r.csv": register.encode(), "p.yaml": profile.encode()}
    )
    assert any("column(s) D named more than once" in w for w in report.warnings)
    (row,) = ws.load_quarantine().query("source == 'school'").itertuples()
    assert row.reason_code == "BAD-ATTENDANCE-CODE" and "code 'ZZ'" in row.reason


def test_a_malformed_row_in_a_cp1252_file_leaves_the_good_rows_read(tmp_path):
    """The whole file was unreadable at line 0 (rows_read 1), its good rows neither stored nor
    quarantined, with 'Exception ignored' printed."""
    profile = b"importer: contact-log\nencoding: cp1252\n"
    sources = (
        "sources:\n  - {name: hv, importer: contact-log, path: hv.csv, id_scheme: nhs,"
        " agency: health, profile: p.yaml}\n"
    )
    rows = b"record_id,person_id,event_type,occurred_at,detail\n"
    rows += b"".join(
        b"B%d,4000000012,visit.completed,2026-01-0%d,caf\xe9\n" % (i, i % 9 + 1) for i in range(10)
    )
    rows += b"B99,4000000012,visit.completed\n"
    ws, report = _region(tmp_path, sources, {"hv.csv": rows, "p.yaml": profile})
    hv = report.by_source["hv"]
    assert (hv.rows_read, hv.rows_accepted, hv.rows_quarantined) == (11, 10, 1)
    assert set(ws.load_events()["detail"]) == {"café"}
    (bad,) = ws.load_quarantine().query("source == 'hv'").itertuples()
    assert (bad.source_line, bad.reason_code) == (12, "CSV-MALFORMED")
