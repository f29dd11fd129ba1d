"""Standard Safeguarding Dataset extracts as SystemC, Eclipse and Mosaic write them."""

import pytest
from conftest import ROOT

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

SSD = ROOT / "fixtures" / "ssd"


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ssd") / "ws")
    report = ingest(SSD, ws)
    events = ws.load_events()
    return report, events


def visits(events, source):
    return events[events["source"] == source].set_index("source_line")


def test_systemc_visits_keep_a_blank_seen_flag_as_unknown(ssd):
    report, events = ssd
    assert report.by_source["systemc_cp_visits"].rows_quarantined == 0
    v = visits(events, "systemc_cp_visits")
    assert v.loc[2, "event_type"] == "visit.completed" and bool(v.loc[2, "child_seen_alone"])
    assert v.loc[3, "event_type"] == "visit.no_access"
    # The seen flag is nullable in the source: the visit stays, seen unknown.
    assert v.loc[4, "event_type"] == "visit.completed" and v.isna().loc[4, "child_seen"]
    assert v.loc[2, "detail"] == "Y"  # cppv_cp_visit_bedroom, as every SSD variant names it
    assert v.loc[2, "chain_id"] == "5001"  # the CP plan


def test_eclipse_n_for_unanswered_is_unknown_not_no_access(ssd):
    _, events = ssd
    v = visits(events, "eclipse_cp_visits")
    assert set(v["event_type"].astype(str)) == {"visit.completed"}
    assert bool(v.loc[2, "child_seen"]) and v.isna().loc[3, "child_seen"]


def test_mosaic_person_from_the_workflow_step_and_a_repeated_column_reported(ssd):
    report, events = ssd
    v = visits(events, "mosaic_cp_visits")
    assert list(v["subject_id"].astype(str)) == ["C0001", "C0002"]
    assert any(
        "mosaic_cp_visits" in w and "cppv_cp_visit_id named more than once" in w
        for w in report.warnings
    )


def test_an_optional_column_a_file_lacks_keeps_its_rows(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "people.csv").write_text((SSD / "people.csv").read_text())
    (src / "v.csv").write_text(
        "cppv_cp_visit_id,cppv_person_id,cppv_cp_visit_date,cppv_cp_visit_seen,"
        "cppv_cp_visit_seen_alone\n1,1001,2026-01-08,Y,N\n"
    )
    profile = ROOT / "src" / "noncoop" / "profiles" / "ssd_cp_visits.yaml"
    (src / "sources.yaml").write_text(
        f"sources:\n  - {{name: v, importer: contact-log, path: v.csv, profile: '{profile}'}}\n"
    )
    report = ingest(src, Workspace(tmp_path / "ws"))
    assert (report.by_source["v"].rows_read, report.by_source["v"].rows_accepted) == (1, 1)


def test_cin_and_cla_visits(ssd):
    report, events = ssd
    for name in ("systemc_cin_visits", "systemc_cla_visits"):
        assert report.by_source[name].rows_quarantined == 0, name
    cin = visits(events, "systemc_cin_visits")
    assert cin["event_type"].astype(str).tolist() == ["visit.completed", "visit.no_access"]
    assert set(cin["service"].astype(str)) == {"cin_visit"}
    cla = visits(events, "systemc_cla_visits")
    assert bool(cla.loc[2, "child_seen_alone"]) and cla.isna().loc[3, "child_seen"]
    assert set(cla["subject_id"].astype(str)) == {"C0002"}


def kinds(events, source):
    return visits(events, source)["event_type"].astype(str).tolist()


def test_contacts_are_concerns_at_the_front_door_from_any_system(ssd):
    report, events = ssd
    for name in ("systemc_contacts", "mosaic_contacts"):
        assert report.by_source[name].rows_quarantined == 0, name
        assert set(kinds(events, name)) == {"concern.raised"}
    systemc = visits(events, "systemc_contacts")
    # Who made the contact: the description, else the code; the outcome JSON is never read.
    assert systemc["detail"].tolist() == ["Police", "SCHOOLS"]
    assert set(systemc["service"].astype(str)) == {"front_door"}
    mosaic = visits(events, "mosaic_contacts")  # Mosaic leaves the date column as STARTED_ON
    assert str(mosaic.loc[2, "occurred_at"].date()) == "2026-02-14"


def test_conferences_and_reviews_are_held_meetings_with_the_childs_participation(ssd):
    report, events = ssd
    for name in ("systemc_cp_reviews", "eclipse_cp_reviews", "mosaic_cp_reviews", "systemc_icpc"):
        assert report.by_source[name].rows_quarantined == 0, name
        # The SSD says a conference was held, not who of the family came: never "missed".
        assert set(kinds(events, name)) == {"meeting.held"}, name
    eclipse = visits(events, "eclipse_cp_reviews")
    assert bool(eclipse.loc[2, "child_seen"]) and eclipse.loc[2, "detail"] == "PN1"
    assert not bool(eclipse.loc[3, "child_seen"]) and eclipse.loc[3, "detail"] == "PN7"
    assert eclipse.isna().loc[4, "child_seen"]
    # SystemC's placeholder '0' and Mosaic's answer text are no participation code: unknown.
    assert visits(events, "systemc_cp_reviews").isna().loc[2, "child_seen"]
    assert visits(events, "mosaic_cp_reviews").isna().loc[2, "child_seen"]
    icpc = visits(events, "systemc_icpc")
    assert icpc["detail"].tolist() == ["plan made", "no plan"]
    assert icpc.loc[2, "chain_id"] == "5001" and icpc.isna().loc[3, "chain_id"]


def test_missing_episodes_and_addresses(ssd):
    report, events = ssd
    for name in ("systemc_missing", "mosaic_missing", "systemc_address", "mosaic_address"):
        assert report.by_source[name].rows_quarantined == 0, name
    assert visits(events, "systemc_missing")["detail"].tolist() == ["missing"]
    assert visits(events, "mosaic_missing")["detail"].tolist() == ["absent"]
    assert kinds(events, "systemc_address") == ["address.change", "address.change"]
    # Mosaic's extract names the person column add_person_id.
    assert visits(events, "mosaic_address")["subject_id"].tolist() == ["C0002"]
    # The address itself is never read.
    assert events.loc[events["source"].str.endswith("address"), "detail"].isna().all()


def test_eclipse_cin_visits_n_for_any_answer_but_yes_is_unknown(ssd):
    report, events = ssd
    assert report.by_source["eclipse_cin_visits"].rows_quarantined == 0
    v = visits(events, "eclipse_cin_visits")
    assert kinds(events, "eclipse_cin_visits") == ["visit.completed", "visit.completed"]
    assert bool(v.loc[2, "child_seen"]) and v.isna().loc[3, "child_seen"]
