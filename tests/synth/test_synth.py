import hashlib

import pandas as pd
import pytest

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace
from noncoop.synth.region import PATTERNS, SynthOptions, synthesise
from noncoop.synth.scoring import load_traps, load_truth
from noncoop.synth.traps import TRAPS


def _digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))
    }


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "region"
    summary = synthesise(out, SynthOptions(children=2500, seed=3))
    ws = Workspace(out.parent / "ws")
    report = ingest(out, ws)
    return out, summary, ws, report


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    synthesise(tmp_path / "a", SynthOptions(children=150, seed=5))
    synthesise(tmp_path / "b", SynthOptions(children=150, seed=5))
    synthesise(tmp_path / "c", SynthOptions(children=150, seed=6))
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_every_pattern_family_is_planted(region):
    out, summary, _, _ = region
    truth = pd.read_csv(out / "truth.csv")
    planted = set(truth["pattern"].dropna())
    assert planted == set(PATTERNS) | set(TRAPS)
    patterns = truth.dropna(subset=["pattern"])
    assert (pd.to_datetime(patterns["window_start"]) < pd.to_datetime(patterns["window_end"])).all()
    assert summary.planted > 0


def test_malformed_rows_in_truth_are_exactly_the_quarantine(region):
    out, summary, ws, report = region
    truth = pd.read_csv(out / "truth.csv").dropna(subset=["reason_code"])
    expected = {(r.source, int(r.source_line), r.reason_code) for r in truth.itertuples()}
    q = ws.load_quarantine()
    got = {(r.source, int(r.source_line), r.reason_code) for r in q.itertuples()}
    assert got == expected
    assert len(expected) == summary.malformed
    assert report.total.rows_read == report.total.rows_accepted + report.total.rows_quarantined


def test_background_looks_like_a_region(region):
    _, _, ws, _ = region
    events = ws.load_events()
    weeks = events[events["event_type"] == "school.attendance_summary"]
    attendance = 1 - weeks["sessions_absent"].sum() / weeks["sessions_possible"].sum()
    assert 0.90 < attendance < 0.96
    outcomes = events[events["agency"] == "health"]["event_type"].value_counts()
    assert outcomes["appointment.attended"] > 10 * outcomes["appointment.missed"]
    assert set(events["agency"]) >= {"health", "education", "social_care", "police"}
    assert set(events["subject_id"].str[0]) == {"C", "A"}


def test_planted_rebook_miss_children_have_a_chain_of_misses(region):
    out, _, ws, _ = region
    truth = pd.read_csv(out / "truth.csv")
    kids = set(truth.loc[truth["pattern"] == "pattern:rebook-miss", "subject_id"])
    events = ws.load_events()
    missed = events[
        (events["event_type"] == "appointment.missed") & events["subject_id"].isin(kids)
    ]
    per_child = missed.groupby("subject_id", observed=True)["chain_id"].agg(
        lambda c: c.value_counts().max()
    )
    assert (per_child >= 4).all() and len(per_child) == len(kids)


def test_every_child_of_a_partial_hostility_household_is_seen_by_health_meanwhile(region):
    """The adult's hostility counts for each child of the household, so the truth lists them
    all; each must also have health involved in the weeks of the hostility, or the pattern
    (hostility seen by some of the agencies involved) is not there to find."""
    out, _, ws, _ = region
    truth = pd.read_csv(out / "truth.csv")
    planted = truth[truth["pattern"] == "pattern:partial-hostility"]
    events = ws.load_events()
    health = events[
        (events["agency"] == "health") & events["subject_id"].isin(planted["subject_id"])
    ]
    day = health["occurred_at"].dt.strftime("%Y-%m-%d")
    seen = health.assign(day=day).merge(planted, on="subject_id")
    inside = seen[(seen["day"] >= seen["window_start"]) & (seen["day"] <= seen["window_end"])]
    assert set(inside["subject_id"]) == set(planted["subject_id"])


def test_hostility_is_written_where_practitioners_write_it(region):
    """On the visit or call where it happened as well as in separate notes, and one incident
    recorded by social care and the police on the same day."""
    out, _, ws, _ = region
    events = ws.load_events()
    hostile = events[events["hostility_level"].notna()]
    where = set(hostile["event_type"].astype(str))
    assert {"visit.completed", "visit.refused", "visit.cut_short", "contact.call"} <= where
    assert "hostility.recorded" in where
    notes = pd.read_csv(out / "casenotes.csv", dtype=str, keep_default_na=False)
    on_visits = notes[(notes["NoteType"] == "VIS") & (notes["HostilityLevel"] != "")]
    assert len(on_visits) > 10
    violent = hostile[hostile["hostility_level"] == 4]
    day = violent["occurred_at"].dt.strftime("%Y-%m-%d")
    agencies = violent.assign(day=day).groupby(["household_id", "day"], observed=True)["agency"]
    assert (agencies.nunique() == 2).sum() > 5  # the same assault, by police and social care


def test_ordinary_family_traps_are_listed_apart_from_planted_patterns(region):
    out, _, _, _ = region
    traps = load_traps(out / "truth.csv")
    assert set(traps["pattern"]) == set(TRAPS)
    assert (traps["window_start"] < traps["window_end"]).all()
    planted = load_truth(out / "truth.csv")
    assert not planted["pattern"].str.startswith("trap:").any()
    # A trap family is an ordinary one: no planted pattern in the household.
    assert not set(traps["subject_id"]) & set(planted["subject_id"])
