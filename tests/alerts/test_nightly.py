"""Nightly operations: the alert store's lifecycle, triage, audit, locking and crash safety."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import date

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from noncoop.alerts import store as store_module
from noncoop.alerts.store import AlertStore
from noncoop.cli.app import app
from noncoop.scan import run as scan_run
from noncoop.scan import scan
from noncoop.store.lock import WorkspaceBusy, WorkspaceLock
from noncoop.store.workspace import Workspace

NO_ACCESS = [ROOT / "rules" / "NC-NO-ACCESS.yaml"]
PEOPLE = (
    "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
    "C1,la,LA1,H1,2018-01-01,child\n"
    "C2,la,LA2,H2,2019-01-01,child\n"
)


def write_region(root, visits: list[tuple], people: str = PEOPLE) -> None:
    """A one-feed region: social care visits as (record, person, type, date, detail)."""
    root.mkdir(exist_ok=True)
    (root / "people.csv").write_text(people)
    with open(root / "visits.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["record_id", "person_id", "event_type", "occurred_at", "detail"])
        out.writerows(visits)
    (root / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: visits, importer: contact-log, path: visits.csv, agency: social_care,"
        " service: cp_visits, id_scheme: la, covers: {from: 2025-01-01}}\n"
    )


NO_ACCESS_C1 = [
    ("V1", "LA1", "visit.no_access", "2026-02-01", ""),
    ("V2", "LA1", "visit.no_access", "2026-02-15", ""),
    ("V3", "LA1", "visit.refused", "2026-03-01", ""),
]


def run(src, ws, as_of, rules=NO_ACCESS):
    return scan(src, ws, rules, as_of, "python", actor="tester")


def store_rows(ws, fingerprints: bool = True) -> list[tuple]:
    """The store's rows; without `fingerprints`, as two workspaces compare: an alert's names
    the parts of its own workspace's event store its records were read from."""
    with sqlite3.connect(ws.alerts_path) as conn:
        rows = conn.execute("SELECT * FROM alerts ORDER BY alert_id").fetchall()
        names = [c[0] for c in conn.execute("SELECT * FROM alerts LIMIT 0").description]
    kept = [i for i, name in enumerate(names) if fingerprints or name != "fingerprint"]
    return [tuple(row[i] for i in kept) for row in rows]


@pytest.fixture
def region(tmp_path):
    src, ws = tmp_path / "src", Workspace(tmp_path / "ws")
    write_region(src, NO_ACCESS_C1)
    return src, ws


def test_second_scan_has_no_new_alerts_only_ongoing(region):
    src, ws = region
    first = run(src, ws, "2026-03-10")
    second = run(src, ws, "2026-03-11")
    assert first.store.counts["new"] == 1
    assert second.store.counts["new"] == 0 and second.store.counts["ongoing"] == 1
    assert first.store.alerts[0].alert_id == second.store.alerts[0].alert_id
    # The first scan saw the history: the alert was raised the day the third visit was refused.
    assert second.store.alerts[0].first_as_of == "2026-03-01"


def test_rerunning_the_same_night_changes_nothing(region):
    src, ws = region
    run(src, ws, "2026-03-10")
    run(src, ws, "2026-03-11")
    before = store_rows(ws)
    again = run(src, ws, "2026-03-11")
    assert store_rows(ws) == before
    assert again.store.counts["ongoing"] == 1 and again.store.counts["new"] == 0
    # The re-run is itself audited.
    assert [e.as_of for e in AlertStore(ws.alerts_path).audit()] == [
        "2026-03-10",
        "2026-03-11",
        "2026-03-11",
    ]


def test_a_rerun_of_a_first_night_reports_nothing_new_and_keeps_the_store(region):
    src, ws = region
    first = run(src, ws, "2026-03-10").store
    before = store_rows(ws)
    again = run(src, ws, "2026-03-10").store
    assert (first.counts["new"], again.counts["new"], again.counts["ongoing"]) == (1, 0, 1)
    assert again.alerts[0].alert_id == first.alerts[0].alert_id
    assert store_rows(ws) == before
    # In the store the alert is as that night's first run left it: ongoing since 1 March, the
    # day its records first met the rule, as nightly scans since then would have it.
    stored = AlertStore(ws.alerts_path).list()[0]
    assert (stored.status, stored.first_as_of) == ("ongoing", "2026-03-01")


def test_backfilling_in_order_matches_nightly_runs(region, tmp_path):
    src, ws = region
    nights = ["2026-02-20", "2026-03-05", "2026-03-10", "2026-05-20"]
    for night in nights:
        run(src, ws, night)
    # The same nights scanned one by one in a second workspace, as cron would have done.
    other = Workspace(tmp_path / "nightly")
    for night in nights:
        run(src, other, night)
    assert store_rows(ws, False) == store_rows(other, False)
    refused = CliRunner().invoke(
        app, ["scan", str(src), "-w", str(ws.root), "--as-of", "2026-03-01", "-q"]
    )
    assert refused.exit_code == 2
    assert "forward in date order" in refused.output


def test_evidence_withdrawn_resolves_and_its_return_reopens(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    # The records turn out not to be this child's: the identifier is withdrawn from people.csv.
    write_region(src, NO_ACCESS_C1, PEOPLE.replace("C1,la,LA1,H1,2018-01-01,child\n", ""))
    gone = run(src, ws, "2026-03-11")
    assert gone.store.resolved == [alert_id]
    assert AlertStore(ws.alerts_path).get(alert_id).status == "resolved"
    # Linked again: the same episode comes back, reopened, not a new alert.
    write_region(src, NO_ACCESS_C1)
    back = run(src, ws, "2026-03-12")
    assert back.store.counts["reopened"] == 1 and back.store.counts["new"] == 0
    assert back.store.alerts[0].alert_id == alert_id
    assert "reopened on 2026-03-12" in back.store.alerts[0].note


def test_an_episode_back_after_nights_resolved_stores_the_evidence_it_returns_with(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    write_region(src, NO_ACCESS_C1, PEOPLE.replace("C1,la,LA1,H1,2018-01-01,child\n", ""))
    run(src, ws, "2026-03-11")
    run(src, ws, "2026-03-12")  # a night with the episode resolved and untouched
    write_region(src, [*NO_ACCESS_C1, ("V4", "LA1", "visit.no_access", "2026-03-12", "")])
    back = run(src, ws, "2026-03-13")
    assert back.store.counts["reopened"] == 1 and back.store.alerts[0].alert_id == alert_id
    stored = AlertStore(ws.alerts_path).get(alert_id)
    assert len(stored.evidence) == 4 and stored.evidence == back.store.alerts[0].evidence


def test_record_removed_from_the_export_resolves_and_its_return_reopens(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    # The agency re-sends its export without the refused visit (it was recorded in error).
    write_region(src, NO_ACCESS_C1[:2])
    gone = run(src, ws, "2026-03-11")
    assert gone.ingest.total.withdrawn_events == 1
    assert gone.store.resolved == [alert_id]
    # Scanned again the same night: already resolved, so not reported again; nothing changes.
    before = store_rows(ws)
    assert run(src, ws, "2026-03-11").store.resolved == []
    assert store_rows(ws) == before
    write_region(src, NO_ACCESS_C1)
    back = run(src, ws, "2026-03-12").store
    assert back.counts["reopened"] == 1 and back.alerts[0].alert_id == alert_id


def test_pattern_that_stops_holding_resolves_then_a_new_episode_starts(region):
    src, ws = region
    first = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    # A year on, the three visits are out of the rule's look-back: resolved.
    assert run(src, ws, "2027-03-05").store.resolved == [first]
    write_region(
        src,
        [
            *NO_ACCESS_C1,
            ("V4", "LA1", "visit.no_access", "2027-03-01", ""),
            ("V5", "LA1", "visit.no_access", "2027-03-08", ""),
            ("V6", "LA1", "visit.refused", "2027-03-09", ""),
        ],
    )
    later = run(src, ws, "2027-03-10").store
    assert later.counts["new"] == 1 and later.alerts[0].alert_id != first


def test_closed_alert_stays_quiet_until_new_evidence(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    runner = CliRunner()
    closed = runner.invoke(
        app,
        ["alerts", "close", alert_id, "-w", str(ws.root), "--by", "J Lead", "--reason", "known"],
    )
    assert closed.exit_code == 0, closed.output
    quiet = run(src, ws, "2026-03-11").store
    assert quiet.counts["quiet"] == 1 and quiet.counts["new"] == quiet.counts["reopened"] == 0
    listed = runner.invoke(app, ["alerts", "-w", str(ws.root), "--json", str(ws.root / "a.json")])
    assert listed.exit_code == 0 and json.loads((ws.root / "a.json").read_text()) == []
    # Another refused visit: new evidence, so the alert speaks again and says why.
    write_region(src, [*NO_ACCESS_C1, ("V4", "LA1", "visit.refused", "2026-03-12", "")])
    back = run(src, ws, "2026-03-13").store.alerts[0]
    assert back.status == "reopened" and back.triage.state == "open"
    assert back.note.startswith("reopened on 2026-03-13: 1 new record(s) since closed by J Lead")


def test_snooze_ends_on_its_date(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    store = AlertStore(ws.alerts_path)
    store.triage(alert_id, "snooze", "J Lead", "awaiting strategy meeting", until=date(2026, 3, 12))
    assert run(src, ws, "2026-03-12").store.counts["quiet"] == 1
    woken = run(src, ws, "2026-03-13").store.alerts[0]
    assert woken.triage.state == "open" and "snooze by J Lead ended" in woken.note


def test_triage_needs_a_reason_and_is_audited(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    runner = CliRunner()
    missing = runner.invoke(app, ["alerts", "ack", alert_id, "-w", str(ws.root), "--by", "J"])
    assert missing.exit_code == 2 and "--reason" in missing.output
    blank = runner.invoke(
        app, ["alerts", "ack", alert_id, "-w", str(ws.root), "--by", "J", "--reason", " "]
    )
    assert blank.exit_code == 1 and "reason" in blank.output
    unknown = runner.invoke(
        app, ["alerts", "ack", "nope", "-w", str(ws.root), "--by", "J", "--reason", "r"]
    )
    assert unknown.exit_code == 1 and "no alert nope" in unknown.output
    ok = runner.invoke(
        app, ["alerts", "ack", alert_id, "-w", str(ws.root), "--by", "J", "--reason", "on it"]
    )
    assert ok.exit_code == 0, ok.output
    log = runner.invoke(app, ["audit", "-w", str(ws.root), "--json"])
    entries = json.loads(log.output)
    assert [e["action"] for e in entries] == ["scan", "ack"]
    assert entries[0]["details"]["rule_pack_sha256"] and entries[0]["details"]["sources"]
    assert entries[1]["actor"] == "J" and entries[1]["details"]["reason"] == "on it"
    shown = runner.invoke(app, ["alerts", "show", alert_id, "-w", str(ws.root)])
    assert "acknowledged" in shown.output and "on it" in shown.output
    with sqlite3.connect(ws.alerts_path) as conn, pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM audit")


def test_csv_export_neutralises_formulas(region):
    src, ws = region
    payload = '=HYPERLINK("http://example.invalid/x","click")'
    write_region(src, [(*NO_ACCESS_C1[0][:4], payload), *NO_ACCESS_C1[1:]])
    run(src, ws, "2026-03-10")
    out = ws.root / "alerts.csv"
    result = CliRunner().invoke(app, ["alerts", "-w", str(ws.root), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3
    details = [r["detail"] for r in rows if r["detail"]]
    assert details == ["'" + payload]
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())


def test_second_concurrent_scan_is_refused_and_stale_lock_taken_over(region):
    src, ws = region
    ws.root.mkdir(parents=True)
    with WorkspaceLock(ws.root):
        with pytest.raises(WorkspaceBusy, match=f"pid {os.getpid()}"):
            run(src, ws, "2026-03-10")
        busy = CliRunner().invoke(app, ["scan", str(src), "-w", str(ws.root), "-q"])
        assert busy.exit_code == 1 and "another noncoop run" in busy.output
    # A lock file left by a process that died: taken over, and said so.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    (ws.root / "noncoop.store.lock").write_text(json.dumps({"pid": int(dead), "started_at": "x"}))
    result = run(src, ws, "2026-03-10")
    assert result.lock_note and f"pid {dead}" in result.lock_note
    assert result.store.counts["new"] == 1


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from noncoop.alerts import store as alertstore
    real = alertstore._write_alerts

    def dying(conn, rows, *before):
        real(conn, rows[: len(rows) // 2], *before)
        os.kill(os.getpid(), signal.SIGKILL)

    alertstore._write_alerts = dying
    from noncoop.cli.app import app
    app(sys.argv[1:])
    """
)


def test_scan_killed_mid_write_leaves_the_store_as_before(tmp_path):
    src, ws = tmp_path / "src", Workspace(tmp_path / "ws")
    write_region(
        src,
        [
            *NO_ACCESS_C1,
            *[(f"W{i}", "LA2", "visit.no_access", f"2026-03-0{i}", "") for i in (1, 2, 3)],
        ],
    )
    run(src, ws, "2026-03-09")
    before = store_rows(ws)
    audit_before = AlertStore(ws.alerts_path).audit()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            "scan",
            str(src),
            "-w",
            str(ws.root),
            "--as-of",
            "2026-03-10",
            "-q",
            "--rules",
            str(NO_ACCESS[0]),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL
    assert store_rows(ws) == before
    assert AlertStore(ws.alerts_path).audit() == audit_before
    # The next night's scan takes the dead run's lock over and completes.
    after = run(src, ws, "2026-03-10")
    assert "stale lock" in after.lock_note
    assert after.store.counts["ongoing"] == 2


def test_quiet_scan_prints_one_line_and_exit_codes(region, tmp_path):
    src, ws = region
    runner = CliRunner()
    ok = runner.invoke(app, ["scan", str(src), "-w", str(ws.root), "--as-of", "2026-03-10", "-q"])
    assert ok.exit_code == 0
    assert ok.output.count("\n") == 1 and "1 new" in ok.output
    bad_date = runner.invoke(app, ["scan", str(src), "-w", str(ws.root), "--as-of", "10/03/2026"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output
    log = (ws.root / "noncoop.log").read_text()
    assert "rule=NC-NO-ACCESS subject=C1" in log


def test_alert_filters(tmp_path):
    src, ws = tmp_path / "src", Workspace(tmp_path / "ws")
    c2 = [(f"W{i}", "LA2", "visit.no_access", f"2026-03-0{i}", "") for i in (1, 2, 3)]
    write_region(src, [*NO_ACCESS_C1, *c2])
    run(src, ws, "2026-03-10", rules=[ROOT / "rules"])
    store = AlertStore(ws.alerts_path)
    everything = store.list(status=(), triage=())
    assert {a.subject_id for a in everything} == {"C1", "C2"}
    assert [a.subject_id for a in store.list(subject="C2")] == ["C2"] * len(
        [a for a in everything if a.subject_id == "C2"]
    )
    no_access = store.list(pattern="no-access")
    assert {a.rule_id for a in no_access} == {"NC-NO-ACCESS"} and len(no_access) == 2
    assert store.list(level=["critical"]) == [a for a in everything if a.level == "critical"]
    assert store.list(since="2026-03-11") == [] and store.list(status=["resolved"]) == []
    table = CliRunner().invoke(
        app, ["alerts", "-w", str(ws.root), "--pattern", "no-access", "--subject", "C1"]
    )
    assert table.exit_code == 0 and "C1" in table.output and "C2" not in table.output
    bad = CliRunner().invoke(app, ["alerts", "-w", str(ws.root), "--status", "gone"])
    assert bad.exit_code == 2


def test_a_night_that_finds_an_alert_as_it_was_writes_nothing_yet_shows_it_scanned(region):
    src, ws = region
    for night in ("2026-03-10", "2026-03-11", "2026-03-12"):  # new, then ongoing, then settled
        alert_id = run(src, ws, night).store.alerts[0].alert_id
    before = store_rows(ws)
    night = run(src, ws, "2026-03-13")
    assert store_rows(ws) == before  # the row is as it was: not rewritten to move a date on
    assert (night.store.counts["ongoing"], night.store.alerts[0].last_as_of) == (1, "2026-03-13")
    store = AlertStore(ws.alerts_path)
    assert store.get(alert_id).last_as_of == "2026-03-13"
    assert [a.last_as_of for a in store.list()] == ["2026-03-13"]
    # Re-running that night starts from the same state and changes nothing either.
    assert run(src, ws, "2026-03-13").store.counts["ongoing"] == 1
    assert store_rows(ws) == before


def test_a_store_from_before_rule_scans_reads_as_it_was_and_gains_them(region, monkeypatch):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    with sqlite3.connect(ws.alerts_path) as conn:  # as written before rule scans were kept
        conn.execute("DROP TABLE rule_scans")
        conn.execute("ALTER TABLE alerts DROP COLUMN fingerprint")
        conn.execute("DROP INDEX alerts_live")
        conn.execute("PRAGMA user_version = 2")

    def refuse(self):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    with monkeypatch.context() as read_only:  # a backup: cannot be brought up to date
        read_only.setattr(AlertStore, "connect", refuse)
        assert [a.last_as_of for a in AlertStore(ws.alerts_path).list()] == ["2026-03-10"]
    for night in ("2026-03-11", "2026-03-12", "2026-03-13"):
        run(src, ws, night)
    assert AlertStore(ws.alerts_path).get(alert_id).last_as_of == "2026-03-13"


def test_a_run_with_part_of_the_pack_leaves_other_rules_alerts_alone(region):
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    other = [ROOT / "rules" / "NC-ISOLATION.yaml"]
    assert run(src, ws, "2026-03-11", rules=other).store.resolved == []
    alert = AlertStore(ws.alerts_path).get(alert_id)
    assert (alert.status, alert.last_as_of) == ("ongoing", "2026-03-10")


def test_nights_go_on_when_alerts_of_different_ages_are_stored(region):
    src, ws = region
    run(src, ws, "2026-03-10")
    # A second child's pattern appears on the next night; the store now holds rows of both ages.
    c2 = [(f"W{i}", "LA2", "visit.no_access", f"2026-03-0{i}", "") for i in (1, 2, 3)]
    write_region(src, [*NO_ACCESS_C1, *c2])
    second = run(src, ws, "2026-03-11").store
    assert (second.counts["new"], second.counts["ongoing"]) == (1, 1)
    store = AlertStore(ws.alerts_path)
    c1 = next(a.alert_id for a in second.alerts if a.subject_id == "C1")
    store.triage(c1, "snooze", "J Lead", "meeting booked", until=date(2026, 3, 20))
    for night in ("2026-03-12", "2026-03-13", "2026-03-13"):
        later = run(src, ws, night).store
        assert (later.counts["quiet"], later.counts["new"], later.counts["ongoing"]) == (1, 0, 1)
    statuses = {a.subject_id: a.status for a in store.list(triage=())}
    assert statuses == {"C1": "ongoing", "C2": "ongoing"}
    assert run(src, ws, "2026-03-21").store.counts["ongoing"] == 2  # the snooze has ended


def read_ahead_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "store read-ahead":
            thread.join()


def test_a_night_reads_the_stored_alerts_while_it_evaluates(region, monkeypatch):
    src, ws = region
    run(src, ws, "2026-03-10")
    readers = []
    reading = store_module._read_rows
    monkeypatch.setattr(
        store_module,
        "_read_rows",
        lambda *a: readers.append(threading.current_thread().name) or reading(*a),
    )
    assert run(src, ws, "2026-03-11").store.counts["ongoing"] == 1
    assert readers == ["store read-ahead"]  # read once, beside the evaluation


def test_an_alert_closed_while_a_night_evaluates_stays_closed(region, monkeypatch):
    """The rows read ahead are stale once someone closes an alert: the night reads them again
    rather than writing the alert back open."""
    src, ws = region
    alert_id = run(src, ws, "2026-03-10").store.alerts[0].alert_id
    evaluate = scan_run._evaluate

    def closed_meanwhile(*args):
        done = evaluate(*args)
        read_ahead_done()
        AlertStore(ws.alerts_path).triage(alert_id, "close", "J Lead", "known to service")
        return done

    monkeypatch.setattr(scan_run, "_evaluate", closed_meanwhile)
    night = run(src, ws, "2026-03-11").store
    assert night.counts["quiet"] == 1 and night.alerts[0].triage.state == "closed"
    assert AlertStore(ws.alerts_path).get(alert_id).triage.state == "closed"


def test_a_night_whose_read_ahead_fails_reads_the_alerts_itself(region, monkeypatch):
    src, ws = region
    run(src, ws, "2026-03-10")
    parse = store_module._rows

    def fails_in_the_thread(stored):
        if threading.current_thread().name == "store read-ahead":
            raise ValueError("a damaged row")
        return parse(stored)

    monkeypatch.setattr(store_module, "_rows", fails_in_the_thread)
    uncaught = []  # a thread's exception left to the hook: its traceback on the terminal
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    night = run(src, ws, "2026-03-11").store
    assert night.counts["ongoing"] == 1 and night.alerts[0].status == "ongoing"
    assert uncaught == []
