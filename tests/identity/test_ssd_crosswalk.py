"""The identity crosswalk read from the Standard Safeguarding Dataset itself: ssd_person (LA ids,
dates of birth), ssd_family (households) and ssd_linked_identifiers (UPNs, NHS numbers), each
through a shipped profile."""

import shutil

from conftest import ROOT
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

FIX = ROOT / "fixtures" / "ssd-crosswalk"


def region(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIX, src)
    profiles = ROOT / "src" / "noncoop" / "profiles"
    text = (src / "sources.yaml").read_text().replace("../../src/noncoop/profiles", str(profiles))
    (src / "sources.yaml").write_text(text)
    return src


def test_a_register_keyed_by_upn_links_to_the_la_person_through_linked_identifiers(tmp_path):
    ws = Workspace(tmp_path / "ws")
    report = ingest(region(tmp_path), ws)
    events = ws.load_events()
    school = events[events["source"] == "school"]
    # The current and the former UPN both belong to LA person 1001, in family FAM-31.
    assert len(school) == 3 and set(school["subject_id"]) == {"1001"}
    assert set(events["household_id"]) == {"FAM-31"}
    assert report.by_source["school"].rows_quarantined == 0
    # A ULN has no scheme here: skipped and counted. A UPN failing its check letter is kept.
    people = report.people
    assert (people.rows_read, people.rows_quarantined) == (9, 1)
    assert people.other_kinds == {"rows skipped by the profile": 1}
    bad = ws.load_quarantine()
    bad = bad[bad["source"] == "people"]
    assert bad[["source_file", "source_line", "reason_code"]].values.tolist() == [
        ["ssd_linked_identifiers.csv", 6, "INVALID-ID"]
    ]
    subjects = ws.load_subjects().set_index("subject_id")
    assert str(subjects.loc["1002", "date_of_birth"]) == "2020-02-11"


def test_a_change_to_any_crosswalk_file_relinks_and_an_unchanged_one_does_not(tmp_path):
    src = region(tmp_path)
    ws = Workspace(tmp_path / "ws")
    ingest(src, ws)
    assert ingest(src, ws).relinked == 0  # nothing changed
    (src / "ssd_family.csv").write_text(
        "fami_table_id,fami_family_id,fami_person_id\nFT-1,FAM-31,1001\nFT-2,FAM-77,1002\n"
    )
    report = ingest(src, ws)
    assert report.relinked == 1  # the one visit of 1002 now belongs to FAM-77
    events = ws.load_events()
    assert set(events.loc[events["subject_id"] == "1002", "household_id"]) == {"FAM-77"}


def test_the_ingest_summary_names_the_skipped_rows(tmp_path):
    shown = CliRunner().invoke(app, ["ingest", str(region(tmp_path)), "-w", str(tmp_path / "w")])
    assert shown.exit_code == 0
    assert "people: 9 rows, 1 quarantined, 1 rows skipped by the profile" in shown.output
