"""The alert lifecycle as a table: the episode the store holds, crossed with what tonight's scan
finds, gives the status reported and stored. Pure: no SQLite, no files."""

import dataclasses

import pandas as pd
import pytest

from noncoop.alerts.lifecycle import COLUMNS, reconcile
from noncoop.alerts.model import StoredAlert
from noncoop.engine.alert import Alert, Evidence, Window, episode_id

RULE = "NC-NO-ACCESS"
VERSIONS = {RULE: "v1"}


def alert(start: str, end: str, events: tuple[str, ...] = ("e1", "e2", "e3")) -> Alert:
    evidence = tuple(
        Evidence(e, "social_care", None, "visit.no_access", start, "cp", "cp.csv", i + 2)
        for i, e in enumerate(events)
    )
    return Alert(
        alert_id=f"id-{start}",
        rule_id=RULE,
        title="Repeated no access",
        level="high",
        tags=("pattern:no-access",),
        subject_id="C1",
        household_id="H1",
        window=Window(start, end),
        explanation="3 visits with no access",
        evidence=evidence,
        guidance=("passage",),
        actions=("action",),
    )


def night(stored: pd.DataFrame, found: list[Alert], as_of: str, versions=VERSIONS):
    """One scan: the update and the store's rows afterwards."""
    update, rows, dropped = reconcile(stored.to_dict("records"), found, versions, as_of)
    kept = stored[~stored["alert_id"].isin([r["alert_id"] for r in rows] + dropped)]
    after = pd.concat([kept, pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)])
    return update, after.reset_index(drop=True)


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(COLUMNS), dtype=object)


def triaged(store: pd.DataFrame, state: str, until: str | None = None) -> pd.DataFrame:
    """The store with its one alert acknowledged, closed or snoozed, as `alerts close` does."""
    store = store.copy()
    store.loc[0, ["triage", "triage_by", "triage_at", "snoozed_until"]] = [
        state,
        "J Lead",
        "2026-03-10T09:00:00+00:00",
        until,
    ]
    store.at[0, "triage_evidence"] = [e["event_id"] for e in store.at[0, "evidence"]]
    return store


FIRST = alert("2026-03-01", "2026-03-09")


@pytest.mark.parametrize(
    ("case", "held", "tonight", "as_of", "status", "counted"),
    [
        ("nothing held, found", None, [FIRST], "2026-03-10", "new", "new"),
        ("held, found again", "new", [FIRST], "2026-03-11", "ongoing", "ongoing"),
        ("held, not found", "new", [], "2026-03-11", "resolved", "resolved"),
        (
            "resolved, back within 30 days",
            "resolved",
            [alert("2026-03-20", "2026-03-25")],
            "2026-03-25",
            "reopened",
            "reopened",
        ),
        (
            "resolved, back after 30 days",
            "resolved",
            [alert("2026-05-01", "2026-05-09")],
            "2026-05-10",
            "new",
            "new",
        ),
        ("closed, same evidence", "closed", [FIRST], "2026-03-11", "ongoing", "quiet"),
        (
            "closed, new evidence",
            "closed",
            [alert("2026-03-01", "2026-03-11", ("e1", "e2", "e3", "e4"))],
            "2026-03-12",
            "reopened",
            "reopened",
        ),
    ],
)
def test_lifecycle(case, held, tonight, as_of, status, counted):
    store = empty()
    if held is not None:
        _, store = night(store, [FIRST], "2026-03-10")
        if held == "resolved":
            _, store = night(store, [], "2026-03-11")
        elif held == "closed":
            store = triaged(store, "closed")
    update, after = night(store, tonight, as_of)
    assert update.counts[counted] == 1, case
    latest = after.sort_values("window_start").iloc[-1]
    assert latest["status"] == status, case


def test_an_episode_back_within_30_days_keeps_its_id_one_back_later_gets_a_new_one():
    _, store = night(empty(), [FIRST], "2026-03-10")
    _, store = night(store, [], "2026-03-11")
    soon, _ = night(store, [alert("2026-03-20", "2026-03-25")], "2026-03-25")
    late, _ = night(store, [alert("2026-05-01", "2026-05-09")], "2026-05-10")
    assert soon.alerts[0].alert_id == episode_id(RULE, "C1", "2026-03-10")
    assert late.alerts[0].alert_id == episode_id(RULE, "C1", "2026-05-10")


def test_a_rule_not_evaluated_tonight_leaves_its_alerts_alone():
    _, store = night(empty(), [FIRST], "2026-03-10")
    update, after = night(store, [], "2026-03-11", versions={"NC-OTHER": "v1"})
    assert update.resolved == [] and list(after["status"]) == ["new"]


def test_closed_alert_reopens_saying_why():
    _, store = night(empty(), [FIRST], "2026-03-10")
    update, _ = night(
        triaged(store, "closed"),
        [alert("2026-03-01", "2026-03-11", ("e1", "e2", "e3", "e4"))],
        "2026-03-12",
    )
    (reopened,) = update.alerts
    assert reopened.triage.state == "open"
    assert reopened.note == (
        "reopened on 2026-03-12: 1 new record(s) since closed by J Lead on 2026-03-10"
    )


def test_snooze_ends_on_its_date():
    _, store = night(empty(), [FIRST], "2026-03-10")
    store = triaged(store, "snoozed", until="2026-03-15")
    quiet, store = night(store, [FIRST], "2026-03-14")
    woken, _ = night(store, [FIRST], "2026-03-16")
    assert quiet.counts["quiet"] == 1
    assert woken.counts["quiet"] == 0 and woken.alerts[0].triage.state == "open"
    assert woken.alerts[0].note == "snooze by J Lead ended 2026-03-15"


def test_rerunning_a_night_gives_the_same_rows_and_reports_nothing_new():
    _, store = night(empty(), [FIRST], "2026-03-10")
    _, store = night(store, [FIRST], "2026-03-11")
    _, after_first = night(store, [FIRST], "2026-03-12")
    again, after_again = night(after_first, [FIRST], "2026-03-12")
    assert after_first.to_dict("records") == after_again.to_dict("records")
    assert again.counts["ongoing"] == 1 and again.counts["new"] == 0


def test_an_alert_reported_by_a_night_is_the_stored_alert_its_row_gives():
    """What a night reports for an alert (made quickly, for each of thousands) is the stored
    alert made field by field: equal, hashed alike, frozen, and its JSON the same."""
    found = alert("2026-03-01", "2026-03-20")
    update, _ = night(pd.DataFrame(columns=list(COLUMNS)), [found], "2026-03-21")
    (reported,) = update.alerts
    fields = {f.name: getattr(reported, f.name) for f in dataclasses.fields(StoredAlert)}
    made = StoredAlert(**fields)
    assert reported == made and hash(reported) == hash(made)
    assert reported.to_json() == made.to_json()
    assert reported.status == "new" and reported.explanation == found.explanation
    with pytest.raises(dataclasses.FrozenInstanceError):
        reported.status = "closed"  # type: ignore[misc]
