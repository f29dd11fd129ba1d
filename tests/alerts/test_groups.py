"""One fact, one alert, and one row per household: a superseded rule's alert is folded into the
superseding one and kept with it in the store; the morning list groups brothers and sisters."""

import csv
import json
import sqlite3

from conftest import ROOT
from typer.testing import CliRunner

from noncoop.alerts.store import MIGRATIONS, AlertStore
from noncoop.cli.app import app
from noncoop.scan import scan
from noncoop.store.workspace import Workspace

RULES = [ROOT / "rules" / f"{r}.yaml" for r in ("NC-NOT-SEEN-ALONE", "NC-SEEN-ALONE-RARELY")]
PEOPLE = (
    "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
    "C1,la,LA1,H1,2016-01-01,child\n"
    "C2,la,LA2,H1,2018-01-01,child\n"
    "C3,la,LA3,H2,2017-01-01,child\n"
)
runner = CliRunner()


def region(root) -> None:
    """Brother and sister C1 and C2 seen at six visits each, never alone; C3, in another
    household, alone at one of six."""
    root.mkdir()
    (root / "people.csv").write_text(PEOPLE)
    with open(root / "visits.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "record_id",
                "person_id",
                "event_type",
                "occurred_at",
                "child_seen",
                "child_seen_alone",
            ]
        )
        for n, day in enumerate(("01-06", "01-20", "02-03", "02-17", "03-03", "03-17")):
            for person in ("LA1", "LA2", "LA3"):
                alone = "Y" if person == "LA3" and n == 2 else "N"
                out.writerow(
                    [f"V{person}{n}", person, "visit.completed", f"2026-{day}", "Y", alone]
                )
    (root / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: visits, importer: contact-log, path: visits.csv, agency: social_care,"
        " service: cp_visit, id_scheme: la, covers: {from: 2025-01-01}}\n"
    )


def test_folded_alerts_are_stored_with_their_superseding_alert(tmp_path):
    region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    result = scan(tmp_path / "src", ws, RULES, "2026-03-31", "python", actor="tester")
    raised = sorted((a.subject_id, a.rule_id) for a in result.store.alerts)
    assert raised == [
        ("C1", "NC-NOT-SEEN-ALONE"),
        ("C2", "NC-NOT-SEEN-ALONE"),
        ("C3", "NC-SEEN-ALONE-RARELY"),
    ]
    stored = {a.subject_id: a for a in AlertStore(ws.alerts_path).list()}
    assert [r.rule_id for r in stored["C1"].related] == ["NC-SEEN-ALONE-RARELY"]
    assert stored["C1"].related[0].explanation.startswith("Seen alone at 0 of 6 visits")
    shown = runner.invoke(app, ["alerts", "show", stored["C1"].alert_id, "-w", str(ws.root)])
    assert "Folded into this alert" in shown.output and "NC-SEEN-ALONE-RARELY" in shown.output
    out = tmp_path / "a.json"
    runner.invoke(app, ["alerts", "-w", str(ws.root), "--json", str(out)])
    listed = {a["subject_id"]: a for a in json.loads(out.read_text())}
    assert listed["C2"]["related"][0]["rule_id"] == "NC-SEEN-ALONE-RARELY"
    assert "related" not in listed["C3"]


def test_the_morning_list_has_one_row_per_household_and_pattern(tmp_path):
    region(tmp_path / "src")
    ws = tmp_path / "ws"
    scan(tmp_path / "src", Workspace(ws), RULES, "2026-03-31", "python", actor="tester")
    grouped = runner.invoke(app, ["alerts", "-w", str(ws)], env={"COLUMNS": "200"})
    assert grouped.exit_code == 0, grouped.output
    assert "first 2 of 2 rows, 3 alerts" in grouped.output
    assert "C1, C2" in grouped.output and "+ NC-NOT-SEEN-ALONE for C2" in grouped.output
    flat = runner.invoke(app, ["alerts", "-w", str(ws), "--flat"], env={"COLUMNS": "200"})
    assert "Alerts (first 3 of 3)" in flat.output


def test_a_store_from_before_related_alerts_gains_the_column(tmp_path):
    path = tmp_path / "alerts.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
    assert AlertStore(path).list() == []
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(alerts)")}
    assert "related" in columns


def test_reports_list_the_folded_alert_and_pseudonymise_it(tmp_path, monkeypatch):
    region(tmp_path / "src")
    ws = tmp_path / "ws"
    scan(tmp_path / "src", Workspace(ws), RULES, "2026-03-31", "python", actor="tester")
    out = tmp_path / "r.md"
    args = ["report", "C1", "-w", str(ws), "--format", "md", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    plain = out.read_text()
    assert "Also met, listed with this alert: Child aged four or over seen alone" in plain
    # Services and agencies in words, in the evidence and the chronology alike.
    assert "child protection visits" in plain and "cp_visit" not in plain
    monkeypatch.setenv("NONCOOP_PSEUDONYM_KEY", "a test key that is long enough to use")
    assert runner.invoke(app, [*args, "--pseudonymise", "--shift-dates"]).exit_code == 0
    hidden = out.read_text()
    assert "Also met, listed with this alert" in hidden
    assert "VLA10" not in hidden and "C1" not in hidden and "17 Mar 2026" not in hidden
