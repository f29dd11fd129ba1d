"""One sources folder mixing the published formats: FHIR (a message Bundle, a bulk export), SSD
extracts from three systems, a PAS feed with deletion markers and a school register. Every row
read is accepted or quarantined, and the resource types read but not used are reported."""

import shutil

from conftest import ROOT
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

FIX = ROOT / "fixtures"
SSD_TABLES = [
    ("systemc", "cin_visits"),
    ("systemc", "cla_visits"),
    ("systemc", "contacts"),
    ("mosaic", "contacts"),
    ("systemc", "cp_reviews"),
    ("eclipse", "cp_reviews"),
    ("mosaic", "cp_reviews"),
    ("systemc", "initial_cp_conference"),
    ("systemc", "missing"),
    ("mosaic", "missing"),
    ("systemc", "address"),
    ("mosaic", "address"),
]


def mixed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIX / "fhir-published" / "people.csv", src / "people.csv")
    with open(src / "people.csv", "a") as fh:  # the SSD extracts use the LA's own person ids
        fh.write("C0001,la,1001,H01,2016-05-01,child\nC0002,la,1002,H01,2022-02-11,child\n")
    shutil.copy(FIX / "fhir-published" / "message_bundle.json", src)
    shutil.copytree(FIX / "fhir-published" / "bulk", src / "bulk")
    for name in ("systemc_ssd_cp_visits.csv", "eclipse_ssd_cp_visits.csv"):
        shutil.copy(FIX / "ssd" / name, src)
    shutil.copy(FIX / "ssd" / "mosaic_ssd_cp_visits.csv", src)
    shutil.copy(FIX / "ssd" / "mosaic_cp_visits.yaml", src)
    for name in ("op_20260110.csv", "op_20260111.csv", "pas_outpatients.yaml"):
        shutil.copy(FIX / "pas" / name, src)
    shutil.copy(FIX / "region" / "attendance_autumn.csv", src)
    profiles = ROOT / "src" / "noncoop" / "profiles"
    ssd_tables = []
    for system, table in SSD_TABLES:
        shutil.copy(FIX / "ssd" / f"{system}_ssd_{table}.csv", src)
        ssd_tables.append(
            f"  - {{name: {system}_{table}, importer: contact-log, path: {system}_ssd_{table}.csv,"
            f" profile: '{profiles / f'ssd_{table}.yaml'}'}}\n"
        )
    (src / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: referrals, importer: fhir, path: message_bundle.json, agency: health}\n"
        "  - {name: bulk, importer: fhir, path: 'bulk/*.ndjson', agency: health, service: gp}\n"
        f"  - {{name: systemc, importer: contact-log, path: systemc_ssd_cp_visits.csv,"
        f" profile: '{profiles / 'ssd_cp_visits.yaml'}'}}\n"
        f"  - {{name: eclipse, importer: contact-log, path: eclipse_ssd_cp_visits.csv,"
        f" profile: '{profiles / 'ssd_cp_visits_unanswered_n.yaml'}'}}\n"
        "  - {name: mosaic, importer: contact-log, path: mosaic_ssd_cp_visits.csv,"
        " profile: mosaic_cp_visits.yaml}\n"
        "  - {name: outpatients, importer: contact-log, path: 'op_*.csv',"
        " profile: pas_outpatients.yaml}\n"
        "  - {name: school, importer: attendance, path: attendance_autumn.csv,"
        f" profile: '{profiles / 'attendance_local.yaml'}'}}\n" + "".join(ssd_tables)
    )
    return src


def test_a_folder_mixing_every_format_reconciles(tmp_path):
    src = mixed(tmp_path)
    ws = Workspace(tmp_path / "ws")
    report = ingest(src, ws)
    for name, counts in report.by_source.items():
        assert counts.reconciles, name
        assert counts.rows_read > 0, name
    total = report.total
    assert total.rows_read == total.rows_accepted + total.rows_quarantined
    quarantined = ws.load_quarantine()
    # people.csv's own rejected rows are quarantined too, counted under people.
    assert len(quarantined[quarantined["source"] != "people"]) == total.rows_quarantined
    assert report.by_source["referrals"].other_kinds == {"MessageHeader": 1, "Patient": 2}
    assert report.by_source["bulk"].other_kinds == {"Patient": 2, "Slot": 1}
    shown = CliRunner().invoke(app, ["ingest", str(src), "-w", str(tmp_path / "ws2")])
    assert shown.exit_code == 0
    assert "read and accepted, not events" in shown.output and "Slot 1" in shown.output
