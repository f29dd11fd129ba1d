"""Awkward files: nothing crashes the run, nothing disappears, counts still reconcile."""

import pytest
from conftest import REGION

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
    assert reasons == {"the file has no column When named in the profile; occurred_at is blank"}


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
