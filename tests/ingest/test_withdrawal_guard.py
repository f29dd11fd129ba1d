"""An empty or truncated export never takes a source's records out of the store without a word:
its new version is refused, the previous version stays, and the run says so in the table, the
JSON and the one-line summary, until told --accept-withdrawals."""

import json

from conftest import copy_region
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace


def _gp(ws):
    events = ws.load_events()
    return events[events["source"] == "gp"]


def test_an_empty_export_is_refused_and_its_events_kept(tmp_path):
    src = copy_region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    ingest(src, ws)
    held = len(_gp(ws))
    (src / "gp.csv").write_bytes(b"")  # the extract job failed
    report = ingest(src, ws)
    gp = report.by_source["gp"]
    assert (gp.files_refused, gp.withdrawn_events) == (1, 0)
    assert len(_gp(ws)) == held
    assert any("gp.csv: the new version is empty" in w for w in report.warnings)
    # Night after night, until the export is right or the withdrawal accepted.
    assert ingest(src, ws).by_source["gp"].files_refused == 1
    accepted = ingest(src, ws, accept_withdrawals=True)
    assert accepted.by_source["gp"].withdrawn_events == held and len(_gp(ws)) == 0


def test_a_truncated_export_withdrawing_most_events_is_refused(tmp_path):
    src = copy_region(tmp_path / "src")
    header = "AppointmentRef,NHSNumber,ApptDate,Clinic,ReferralRef,Outcome\n"
    rows = [f"G{n:03},4000000012,{n % 28 + 1:02}/01/2026,GP,REF{n},5\n" for n in range(30)]
    (src / "gp.csv").write_text(header + "".join(rows))
    ws = Workspace(tmp_path / "ws")
    ingest(src, ws)
    (src / "gp.csv").write_text(header + "".join(rows[:12]))  # cut off after 12 rows
    report = ingest(src, ws)
    assert report.by_source["gp"].files_refused == 1 and len(_gp(ws)) == 30
    assert any(
        "would withdraw 18 of the source's 30 stored events (60%" in w for w in report.warnings
    )
    # A region allowing more in one run takes it.
    sources = src / "sources.yaml"
    sources.write_text("max_withdrawn_share: 0.75\n" + sources.read_text())
    assert ingest(src, ws).by_source["gp"].withdrawn_events == 18


def test_a_small_correction_is_taken_whatever_its_share(tmp_path):
    src = copy_region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    ingest(src, ws)
    lines = (src / "gp.csv").read_text().splitlines()
    (src / "gp.csv").write_text("\n".join(lines[:3]) + "\n")  # 3 of 5 appointments taken out
    report = ingest(src, ws)
    assert report.by_source["gp"].withdrawn_events == 3 and not report.warnings


def test_the_scan_says_so_in_the_quiet_line_and_the_json(tmp_path):
    src = copy_region(tmp_path / "src")
    runner = CliRunner()
    ws, out = str(tmp_path / "ws"), tmp_path / "scan.json"
    args = ["scan", str(src), "-w", ws, "--quiet"]
    assert runner.invoke(app, [*args, "--as-of", "2026-03-31"]).exit_code == 0
    (src / "gp.csv").write_bytes(b"")
    shown = runner.invoke(app, [*args, "--as-of", "2026-04-01", "--json", str(out)])
    assert shown.exit_code == 0
    assert "1 file(s) refused (empty or truncated, see warnings)" in shown.output
    assert "gp.csv: the new version is empty" in shown.output
    data = json.loads(out.read_text())
    assert data["ingest"]["by_source"]["gp"]["files_refused"] == 1
    assert any("gp.csv" in w for w in data["ingest"]["warnings"])
