"""Backfill equivalence: one scan as of a date on a new workspace leaves the alert store that
scans on every night up to that date leave, alert for alert, whichever decision engine runs."""

import json
import sqlite3

import pandas as pd
import pytest
from conftest import REGION
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.engine.decide.durable import durable_available
from noncoop.scan import scan
from noncoop.store.workspace import Workspace

ENGINES = ["python", "durable"] if durable_available() else ["python"]
NIGHTS = [f"{d:%Y-%m-%d}" for d in pd.date_range("2026-01-02", "2026-04-30")]


def stored(ws: Workspace) -> list[dict]:
    """Every stored alert, every column but the state kept for re-running its last night, with
    the last night that scanned it: a live alert's rule's last scan, where that is later than
    the last night that changed the row (a night that finds an alert as it was writes nothing)."""
    with sqlite3.connect(ws.alerts_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(LAST_SCANNED)]
    # Nor the fingerprint, which names the parts of each workspace's own event store.
    unlike = ("prior", "touched_as_of", "fingerprint")
    return [{k: v for k, v in row.items() if k not in unlike} for row in rows]


LAST_SCANNED = """
    SELECT alerts.*, CASE
        WHEN status <> 'resolved' AND rule_scans.as_of > touched_as_of THEN rule_scans.as_of
        ELSE touched_as_of END AS last_scanned
    FROM alerts LEFT JOIN rule_scans USING (rule_id) ORDER BY alert_id
"""


# The python engine scans every night from 2 January; durable_rules, which other tests hold to
# the same decisions, from a first scan as of 1 March (half the suite's time for it).
@pytest.mark.parametrize(("engine", "first"), [("python", "2026-01-02"), ("durable", "2026-03-01")])
def test_one_scan_leaves_the_store_of_a_scan_every_night(tmp_path, engine, first):
    if engine not in ENGINES:
        pytest.skip("durable_rules is not installed (Python 3.13 and later)")
    nightly = Workspace(tmp_path / "nightly")
    for night in (night for night in NIGHTS if night >= first):
        scan(REGION, nightly, None, night, engine, actor="test")
    once = Workspace(tmp_path / "once")
    result = scan(REGION, once, None, NIGHTS[-1], engine, actor="test")
    assert stored(once) == stored(nightly)
    statuses = {row["status"] for row in stored(once)}
    assert "resolved" in statuses and len(result.store.history) > 0


@pytest.mark.parametrize(("since", "earlier"), [("2026-04-21", 2), ("2026-04-22", 0)])
def test_history_from_bounds_the_earlier_alerts_a_first_scan_records(tmp_path, since, earlier):
    """The threats to workers in January stopped holding on 20 April: resolved on the 21st."""
    ws, out = tmp_path / "ws", tmp_path / "scan.json"
    args = ["scan", str(REGION), "-w", str(ws), "--as-of", "2026-04-30", "--engine", "python"]
    result = CliRunner().invoke(app, [*args, "--history-from", since, "--json", str(out)])
    assert result.exit_code == 0, result.output
    alerts = json.loads(out.read_text())["alerts"]
    resolved = [a for a in alerts if a["status"] == "resolved"]
    assert [(a["rule_id"], a["resolved_on"]) for a in resolved] == [
        ("NC-THREATS-TO-WORKERS", "2026-04-21")
    ] * earlier
    assert all(a["held"] == {"start": "2026-01-15", "end": "2026-04-20"} for a in resolved)
    assert ("earlier alert(s) over the history" in result.output) == (earlier > 0)
    listed = CliRunner().invoke(app, ["alerts", "-w", str(ws), "--status", "resolved"])
    assert listed.output.count("NC-THREATS-TO-WORKERS") == earlier
    morning = CliRunner().invoke(app, ["alerts", "-w", str(ws)])
    assert "NC-THREATS-TO-WORKERS" not in morning.output and "NC-PARTIAL" in morning.output


def test_history_from_must_be_a_date(tmp_path):
    args = ["scan", str(REGION), "-w", str(tmp_path / "ws"), "--history-from", "April"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--history-from" in result.output


def test_history_from_on_a_later_scan_is_reported_as_ignored(tmp_path):
    ws = str(tmp_path / "ws")
    base = ["scan", str(REGION), "-w", ws, "--engine", "python", "--quiet"]
    first = CliRunner().invoke(
        app, [*base, "--as-of", "2026-04-29", "--history-from", "2026-01-01"]
    )
    assert first.exit_code == 0 and "ignored" not in first.output
    later = CliRunner().invoke(
        app, [*base, "--as-of", "2026-04-30", "--history-from", "2026-04-01"]
    )
    assert later.exit_code == 0, later.output
    assert "--history-from 2026-04-01 ignored" in later.output
