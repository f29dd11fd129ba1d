"""Backfill equivalence: one scan as of a date on a new workspace leaves the alert store that
scans on every night up to that date leave, alert for alert, whichever decision engine runs."""

import sqlite3

import pandas as pd
import pytest
from conftest import REGION

from noncoop.engine.decide.durable import durable_available
from noncoop.scan import scan
from noncoop.store.workspace import Workspace

ENGINES = ["python", "durable"] if durable_available() else ["python"]
NIGHTS = [f"{d:%Y-%m-%d}" for d in pd.date_range("2026-01-02", "2026-04-30")]


def stored(ws: Workspace) -> list[dict]:
    """Every stored alert, every column but the state kept for re-running its last night."""
    with sqlite3.connect(ws.alerts_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM alerts ORDER BY alert_id")]
    return [{k: v for k, v in row.items() if k != "prior"} for row in rows]


@pytest.mark.parametrize("engine", ENGINES)
def test_one_scan_leaves_the_store_of_a_scan_every_night(tmp_path, engine):
    nightly = Workspace(tmp_path / "nightly")
    for night in NIGHTS:
        scan(REGION, nightly, None, night, engine, actor="test")
    once = Workspace(tmp_path / "once")
    result = scan(REGION, once, None, NIGHTS[-1], engine, actor="test")
    assert stored(once) == stored(nightly)
    statuses = {row["status"] for row in stored(once)}
    assert "resolved" in statuses and len(result.store.history) > 0
