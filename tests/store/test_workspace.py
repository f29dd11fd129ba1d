import shutil

import pandas as pd
from conftest import REGION, copy_region
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.events import EVENT_NUMBER, event_numbers
from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace


def test_second_ingest_adds_nothing(region_ws):
    ws, first = region_ws
    second = ingest(REGION, ws)
    assert second.total.new_events == 0
    assert second.total.files_unchanged == 6
    assert second.total.rows_read == 0
    assert len(ws.load_events()) == first.total.new_events
    # The quarantine is still there, not duplicated.
    assert len(ws.load_quarantine()) == first.total.rows_quarantined + first.people.rows_quarantined


def test_changed_export_adds_only_its_new_rows(tmp_path):
    sources = tmp_path / "sources"
    copy_region(sources)
    ws = Workspace(tmp_path / "ws")
    first = ingest(sources, ws)
    with open(sources / "police.csv", "a", encoding="utf-8") as fh:
        fh.write("P4,PN-77,20/02/2026 09:00,ASSAULT-WORKER\n")
    second = ingest(sources, ws)
    police = second.by_source["police"]
    assert (police.rows_read, police.new_events, police.files_unchanged) == (4, 1, 0)
    assert second.total.files_unchanged == 5
    assert len(ws.load_events()) == first.total.new_events + 1
    # The re-read file's quarantine replaces its old one rather than adding to it.
    q = ws.load_quarantine()
    assert len(q[q["source"] == "police"]) == 2


def test_manifest_records_each_file_with_hash_and_counts(region_ws):
    ws, _ = region_ws
    manifest = ws.manifest()
    files = {f.file: f for f in manifest.files}
    assert set(files) == {
        "gp.csv",
        "health_visiting.csv",
        "attendance_autumn.csv",
        "cp_visits.csv",
        "casenotes.csv",
        "police.csv",
    }
    gp = files["gp.csv"]
    assert len(gp.sha256) == 64
    assert gp.rows_read == gp.rows_accepted + gp.rows_quarantined == 11
    assert len(manifest.runs) == 1


def test_as_of_excludes_later_events(region_ws):
    ws, _ = region_ws
    events = ws.load_events(as_of="2026-01-10")
    assert events["occurred_at"].max().strftime("%Y-%m-%d") == "2026-01-10"
    assert len(events) < len(ws.load_events())


def test_new_workspace_has_no_events_or_quarantine(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert ws.load_events().empty
    assert ws.load_quarantine().empty


def test_people_change_relinks_stored_events_and_detaches_unlinked(tmp_path):
    sources = tmp_path / "sources"
    copy_region(sources)
    ws = Workspace(tmp_path / "ws")
    ingest(sources, ws)
    people = (sources / "people.csv").read_text(encoding="utf-8")
    # C0003 moves to household H01; C0001's local authority id is withdrawn.
    people = people.replace(",H02,", ",H01,").replace("C0001,la,LA-1001,H01,2016-05-01,child\n", "")
    (sources / "people.csv").write_text(people, encoding="utf-8")
    report = ingest(sources, ws)

    events = ws.load_events()
    assert set(events.loc[events["subject_id"] == "C0003", "household_id"]) == {"H01"}
    assert report.relinked == len(events[events["subject_id"] == "C0003"])
    # C0001's social care events came through LA-1001: out of the store, into the quarantine once.
    assert report.detached == 4
    assert not ((events["subject_id"] == "C0001") & (events["agency"] == "social_care")).any()
    q = ws.load_quarantine()
    cp = q[q["source"] == "cp_visits"].sort_values("source_line")
    assert cp["source_line"].tolist() == [2, 3, 4, 5]
    assert set(cp["reason_code"]) == {"UNLINKED-ID"}
    # Nothing lost: stored events plus quarantined rows still account for every row.
    assert len(events) == 21 - 4


def _copied_region(tmp_path):
    sources = tmp_path / "sources"
    copy_region(sources)
    return sources, Workspace(tmp_path / "ws")


def test_record_removed_from_a_resent_export_is_withdrawn_and_kept(tmp_path):
    sources, ws = _copied_region(tmp_path)
    first = ingest(sources, ws)
    police = sources / "police.csv"
    police.write_text(police.read_text().replace("P1,PN-77,15/01/2026 20:00,THREAT-WORKER\n", ""))
    second = ingest(sources, ws)
    counts = second.by_source["police"]
    assert (counts.rows_read, counts.new_events, counts.withdrawn_events) == (2, 0, 1)
    assert counts.reconciles
    assert second.events_stored == first.events_stored - 1
    withdrawn = ws.load_withdrawn()
    assert withdrawn["source_file"].tolist() == ["police.csv"]
    assert withdrawn["source_line"].tolist() == [2]
    assert len(ws.load_events()) == second.events_stored
    shown = CliRunner().invoke(app, ["quarantine", "-w", str(ws.root)])
    assert "1 stored event(s) withdrawn" in shown.output and "police.csv 1" in shown.output
    # Sent again with the record back: it returns to the store.
    police.write_text(police.read_text() + "P1,PN-77,15/01/2026 20:00,THREAT-WORKER\n")
    third = ingest(sources, ws)
    assert third.events_stored == first.events_stored
    assert third.by_source["police"].withdrawn_events == 0


def test_corrected_record_replaces_the_old_one(tmp_path):
    sources, ws = _copied_region(tmp_path)
    ingest(sources, ws)
    police = sources / "police.csv"
    police.write_text(police.read_text().replace("15/01/2026 20:00", "14/01/2026 19:00"))
    report = ingest(sources, ws)
    assert report.by_source["police"].new_events == 0
    events = ws.load_events()
    p1 = events[(events["source"] == "police") & (events["source_line"] == 2)]
    assert p1["occurred_at"].dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2026-01-14 19:00"]
    assert events["event_id"].is_unique


def test_parts_left_by_a_stopped_ingest_are_not_in_the_store(tmp_path):
    sources, ws = _copied_region(tmp_path)
    first = ingest(sources, ws)
    stray = ws.events_dir / "stopped-run-00000.parquet"
    shutil.copy(ws.event_parts()[0], stray)
    assert len(ws.load_events()) == first.events_stored
    again = ingest(sources, ws)
    assert not stray.exists() and again.events_stored == first.events_stored


def test_an_unchanged_export_is_not_hashed_again_but_a_racy_one_is(tmp_path, monkeypatch):
    """A next night with unchanged exports does not read 1.7 GB to hash them: a file whose size
    and modification time are as recorded, and which had settled before it was hashed, keeps its
    hash. A file rewritten in the moment it was read (same size, the same time on a coarse clock)
    is hashed again, so the change is seen."""
    import os
    import time

    from noncoop.ingest import run as ingest_run

    sources, ws = _copied_region(tmp_path)
    police = sources / "police.csv"
    settled = police.stat().st_mtime_ns - 10_000_000_000
    os.utime(police, ns=(settled, settled))
    fresh = time.time_ns()  # written the moment before the ingest reads it
    os.utime(sources / "gp.csv", ns=(fresh, fresh))
    ingest(sources, ws)
    hashed = []
    real = ingest_run.file_hash
    monkeypatch.setattr(ingest_run, "file_hash", lambda p: hashed.append(p.name) or real(p))
    assert ingest(sources, ws).total.files_unchanged == 6
    assert "police.csv" not in hashed  # settled: trusted
    assert "gp.csv" in hashed  # changed as it was read: hashed again until it has settled
    # Same size, same recorded time, new content, written right after a read: seen.
    gp = sources / "gp.csv"
    stamp = gp.stat().st_mtime_ns
    gp.write_text(
        gp.read_text().replace("G001,4000000012,03/01/2026", "G001,4000000012,04/01/2026")
    )
    os.utime(gp, ns=(stamp, stamp))
    report = ingest(sources, ws)
    assert report.by_source["gp"].files_unchanged == 0


def test_a_file_rewritten_after_it_was_hashed_ahead_is_recorded_as_it_was_imported(
    tmp_path, monkeypatch
):
    """Files are hashed in a thread before the run imports them. An export rewritten in between
    is hashed again: the manifest's hash is that of the rows stored."""
    from noncoop.ingest import run as ingest_run
    from noncoop.sources.load import file_hash

    sources, ws = _copied_region(tmp_path)
    gp = sources / "gp.csv"
    rewritten = gp.read_text().replace("G001,4000000012,03/01/2026", "G001,4000000012,04/01/2026")
    real = ingest_run.file_hash

    def hashed_then_rewritten(path):
        digest = real(path)
        if path == gp and gp.read_text() != rewritten:
            gp.write_text(rewritten + "\n")  # the export replaced once its hash is taken
        return digest

    monkeypatch.setattr(ingest_run, "file_hash", hashed_then_rewritten)
    ingest(sources, ws)
    entry = next(f for f in ws.manifest().files if f.file == "gp.csv")
    assert entry.sha256 == file_hash(gp)
    assert entry.bytes == gp.stat().st_size


def test_unchanged_people_are_not_read_again_and_their_counts_still_shown(tmp_path, monkeypatch):
    from noncoop.ingest import run as ingest_run

    sources, ws = _copied_region(tmp_path)
    first = ingest(sources, ws)
    reads = []
    real = ingest_run.load_people
    monkeypatch.setattr(ingest_run, "load_people", lambda p: reads.append(1) or real(p))
    again = ingest(sources, ws)
    assert reads == [] and again.people == first.people
    (sources / "police.csv").write_text((sources / "police.csv").read_text() + "\n")
    ingest(sources, ws)  # a changed export needs the crosswalk: read then
    assert reads == [1]


def test_each_stored_event_carries_its_number_and_older_parts_still_load(region_ws):
    ws, _ = region_ws
    events, _ = ws.load_for_rules(pd.Timestamp("2026-04-30"))
    stored = pd.concat([pd.read_parquet(p) for p in ws.event_parts()], ignore_index=True)
    assert (stored[EVENT_NUMBER].to_numpy() == event_numbers(stored["event_id"])).all()
    # A part written before events were numbered: the numbers are worked out from the ids.
    for part in ws.event_parts():
        pd.read_parquet(part).drop(columns=EVENT_NUMBER).to_parquet(part, index=False)
    again, _ = ws.load_for_rules(pd.Timestamp("2026-04-30"))
    assert again[EVENT_NUMBER].tolist() == events[EVENT_NUMBER].tolist()
    assert sorted(again[EVENT_NUMBER]) == sorted(event_numbers(stored["event_id"]))
