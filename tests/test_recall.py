"""A night takes back from the store the alerts it finds as they were (engine/recall.py) rather
than explaining them again, and says exactly what explaining them would: the same records, lines
and messages, even where an export came again with its records moved under their old ids."""

import json
import logging
import shutil
import sqlite3
from contextlib import closing

import numpy as np
import orjson
import pandas as pd
from conftest import REGION, ROOT, copy_region
from typer.testing import CliRunner

from noncoop.asof import calendar
from noncoop.cli.app import app
from noncoop.engine.evaluate import evaluate_timeline, pack_timeline
from noncoop.engine.recall import fingerprints, mixed, sets
from noncoop.engine.rules.load import load_rules
from noncoop.scan import scan, scan_json
from noncoop.scan.run import shipped_rules
from noncoop.store.workspace import Workspace

PACK = load_rules([shipped_rules()]).enabled()

RECALLED = "found as the store holds them, recalled"


def alerts_of(result) -> list[dict]:
    return scan_json(result)["alerts"]


def recalled(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if RECALLED in r.getMessage()]


def explained_again(ws: Workspace, dest) -> Workspace:
    """A copy of the workspace whose store holds no fingerprints, so that its next scan
    explains every alert."""
    shutil.copytree(ws.root, dest)
    copy = Workspace(dest)
    with closing(sqlite3.connect(copy.alerts_path)) as conn, conn:
        conn.execute("UPDATE alerts SET fingerprint = NULL")
    return copy


def cited_lines(result, source_file: str) -> list[int]:
    return sorted(
        e["source_line"]
        for a in alerts_of(result)
        for e in a["evidence"]
        if e["source_file"] == source_file
    )


def test_a_night_recalls_the_alerts_it_finds_as_they_were_and_says_what_explaining_says(
    tmp_path, caplog
):
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-04-28", "python", actor="test")
    again = explained_again(ws, tmp_path / "again")
    with caplog.at_level(logging.INFO, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-04-29", "python", actor="test")
    assert recalled(caplog) == ["2 alerts found as the store holds them, recalled; 0 explained"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="noncoop"):
        explained = scan(REGION, again, None, "2026-04-29", "python", actor="test")
    assert recalled(caplog) == ["0 alerts found as the store holds them, recalled; 2 explained"]
    assert alerts_of(night) == alerts_of(explained)
    assert [a["status"] for a in alerts_of(night)] == ["ongoing", "ongoing"]


def test_records_sent_again_on_other_lines_are_cited_where_they_now_are(tmp_path, caplog):
    """The case notes export comes again with a row it cannot take at the top: every record
    is the same but for its line. The alerts citing them are explained, not recalled, and
    cite the lines the records are on now."""
    sources = copy_region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    scan(sources, ws, None, "2026-04-28", "python", actor="test")
    before = scan(sources, ws, None, "2026-04-29", "python", actor="test")
    notes = sources / "casenotes.csv"
    header, *rows = notes.read_text(encoding="utf-8").splitlines(keepends=True)
    notes.write_text(header + "N0,LA-1001,not a date,REF,CP,,,x\n" + "".join(rows), "utf-8")
    again = explained_again(ws, tmp_path / "again")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="noncoop"):
        tonight = scan(sources, ws, None, "2026-04-30", "python", actor="test")
    assert recalled(caplog) == ["0 alerts found as the store holds them, recalled; 2 explained"]
    assert cited_lines(tonight, "casenotes.csv") == [
        n + 1 for n in cited_lines(before, "casenotes.csv")
    ]
    assert alerts_of(tonight) == alerts_of(scan(sources, again, None, "2026-04-30", "python"))


def test_a_night_stopped_after_keeping_its_timeline_leaves_no_alert_as_it_was(tmp_path):
    """A night takes in the case notes sent again on other lines and keeps its timeline with
    them, then stops before its alerts are stored (the store is as it was before it). The night
    run again finds the records in the kept timeline, not merged tonight: their parts still tell
    them apart, and the alerts cite the lines the records are on now."""
    sources = copy_region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    scan(sources, ws, None, "2026-04-28", "python", actor="test")
    before = scan(sources, ws, None, "2026-04-29", "python", actor="test")
    kept = tmp_path / "store before"
    shutil.copytree(ws.root, kept, ignore=shutil.ignore_patterns("events", "timeline"))
    notes = sources / "casenotes.csv"
    header, *rows = notes.read_text(encoding="utf-8").splitlines(keepends=True)
    notes.write_text(header + "N0,LA-1001,not a date,REF,CP,,,x\n" + "".join(rows), "utf-8")
    scan(sources, ws, None, "2026-04-30", "python", actor="test")
    for name in ("alerts.sqlite", "alerts.sqlite-wal", "alerts.sqlite-shm"):
        (ws.root / name).unlink(missing_ok=True)
        if (kept / name).exists():
            shutil.copy2(kept / name, ws.root / name)
    again = explained_again(ws, tmp_path / "again")
    tonight = scan(sources, ws, None, "2026-04-30", "python", actor="test")
    lines = cited_lines(before, "casenotes.csv")
    assert cited_lines(tonight, "casenotes.csv") == [n + 1 for n in lines]
    assert alerts_of(tonight) == alerts_of(scan(sources, again, None, "2026-04-30", "python"))


def night(ws: Workspace, as_of: str):
    with calendar(ws.timezone()):
        events, reader = ws.load_for_rules(pd.Timestamp(as_of))
        tl = pack_timeline(events, ws.load_subjects(), PACK, as_of, None, reader)
    return {
        (a.rule_id, a.subject_id, a.held.start): a
        for a in evaluate_timeline(tl, PACK, "python", True, False, world="test").alerts
    }


def test_an_alert_whose_message_changes_each_night_has_another_fingerprint_each_night(
    synthetic_region,
):
    """A child unseen for longer each night: the message counts the days, so the alert's
    fingerprint changes with it and it is explained again."""
    _, ws = synthetic_region
    first, second = night(ws, "2026-03-30"), night(ws, "2026-03-31")
    both = [k for k in first if k in second]
    unseen = [k for k in both if k[0] == "NC-CHILD-NOT-SEEN-SW"]
    assert unseen
    for k in unseen:
        assert first[k].explanation != second[k].explanation
        assert first[k].fingerprint != second[k].fingerprint
    # The alerts that read the same both nights mostly keep theirs: recalled the second night.
    same = [k for k in both if said(first[k]) == said(second[k])]
    kept = [k for k in same if first[k].fingerprint == second[k].fingerprint]
    assert same and len(kept) >= len(same) / 2


def said(alert) -> dict:
    """What an alert says, less the days it held (its last is the night's)."""
    return {k: v for k, v in alert.content_json().items() if k != "held"}


def test_a_fingerprint_names_a_set_of_records_and_everything_else_it_is_given():
    numbers = np.array([5, 9, 9, 5, 7], np.uint64)
    cuts = np.array([0, 2, 4, 5])  # {5, 9}, {9, 5}, {7}
    lane = np.uint64(3)
    hashed = sets(numbers, cuts, lane)
    assert hashed[0] == hashed[1] != hashed[2]
    assert len(set(mixed(np.arange(1000, dtype=np.uint64)).tolist())) == 1000
    one = fingerprints(1, [np.array([1, 2]), (hashed[:2], hashed[:2])], 2)
    assert one[0] != one[1] and len(one[0]) == 32
    assert fingerprints(2, [np.array([1, 2]), (hashed[:2], hashed[:2])], 2) != one


def laid_out_as_before(ws: Workspace, dest) -> Workspace:
    """A copy of the workspace whose store holds evidence laid out at the top level and related
    alerts on one line, as stores did before both were laid out where a scan's file holds them."""
    shutil.copytree(ws.root, dest)
    copy = Workspace(dest)
    with closing(sqlite3.connect(copy.alerts_path)) as conn, conn:
        rows = conn.execute("SELECT alert_id, evidence, related FROM alerts").fetchall()
        conn.executemany(
            "UPDATE alerts SET evidence = ?, related = ? WHERE alert_id = ?",
            [
                (
                    orjson.dumps(json.loads(evidence), option=orjson.OPT_INDENT_2).decode(),
                    orjson.dumps(json.loads(related)).decode(),
                    alert_id,
                )
                for alert_id, evidence, related in rows
                if evidence and related
            ],
        )
    return copy


def night_files(src, workspaces: list[Workspace], night: str, tmp_path) -> list[bytes]:
    """The JSON file of a scan of each workspace as of the night, by the command line."""
    files = []
    for workspace in workspaces:
        out = tmp_path / f"{workspace.root.name}.json"
        args = ["scan", str(src), "-w", str(workspace.root), "--as-of", night, "-q"]
        done = CliRunner().invoke(app, [*args, "--engine", "python", "--json", str(out)])
        assert done.exit_code == 0, done.output
        files.append(out.read_bytes())
    return files


def assert_laid_out_alike(files: list[bytes]) -> None:
    """Each file has the bytes the standard library lays its data out in, and all hold the
    same alerts."""
    data = [json.loads(f) for f in files]
    for file, read in zip(files, data, strict=True):
        assert file == json.dumps(read, indent=2, ensure_ascii=False).encode()
    assert all(d["alerts"] == data[0]["alerts"] for d in data)


def test_the_json_file_of_a_night_that_recalls_is_laid_out_as_one_that_explains(tmp_path):
    """The file of a night whose alerts come back from the store, their evidence written from
    the stored text, has the bytes of the file of a night that explains every one; so has one
    whose store laid the evidence out as stores did before."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-04-28", "python", actor="test")
    again = explained_again(ws, tmp_path / "again")
    before = laid_out_as_before(ws, tmp_path / "before")
    files = night_files(REGION, [ws, again, before], "2026-04-29", tmp_path)
    assert all(a["evidence"] for a in json.loads(files[0])["alerts"])
    assert_laid_out_alike(files)


def test_stored_records_cut_short_are_explained_again_not_written_out(tmp_path):
    """An alert whose stored evidence was cut short (a damaged or hand-edited store) is not
    written into the night's file as it stands, which would then not be JSON: it is explained
    again from its records, and the log names it."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-04-28", "python", actor="test")
    cut = tmp_path / "cut"
    shutil.copytree(ws.root, cut)
    with closing(sqlite3.connect(cut / "alerts.sqlite")) as conn, conn:
        alert_id, evidence = conn.execute(
            "SELECT alert_id, evidence FROM alerts WHERE status <> 'resolved' LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE alerts SET evidence = ? WHERE alert_id = ?", (evidence[:-9], alert_id))
    files = night_files(REGION, [ws, Workspace(cut)], "2026-04-29", tmp_path)
    assert_laid_out_alike(files)
    logged = (cut / "noncoop.log").read_text(encoding="utf-8")
    assert f"alert {alert_id}: its stored records are not whole" in logged


def test_related_alerts_come_back_from_the_store_laid_out_as_explained(synthetic_region, tmp_path):
    """Alerts listing the alerts folded into them, taken back from the store with the related
    alerts written from the stored text, give the bytes of a night that explains them; so
    does a store that kept related alerts on one line, as stores did before."""
    src, shared = synthetic_region
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(shared.root, ws.root)
    scan(src, ws, None, "2026-03-30", "python", actor="test")
    again = explained_again(ws, tmp_path / "again")
    before = laid_out_as_before(ws, tmp_path / "before")
    files = night_files(src, [ws, again, before], "2026-03-31", tmp_path)
    assert any(a.get("related") for a in json.loads(files[0])["alerts"])
    assert_laid_out_alike(files)


def test_an_alert_folded_into_a_recalled_one_is_resolved_as_folded(synthetic_region, tmp_path):
    """An analyst runs the threats rule alone one night, so its alerts stand on their own; the
    next night the whole pack folds them into the violence alerts, which come back from the
    store unexplained, with the threats alerts listed in them as before. The threats alerts'
    own rows are resolved as folded, not as no longer met, as when everything is explained."""
    src, shared = synthetic_region
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(shared.root, ws.root)
    threats = [ROOT / "rules" / "NC-THREATS-TO-WORKERS.yaml"]
    scan(src, ws, None, "2026-03-29", "python", actor="test")
    scan(src, ws, threats, "2026-03-30", "python", actor="test")
    again = explained_again(ws, tmp_path / "again")
    night = scan(src, ws, None, "2026-03-31", "python", actor="test")
    assert night.evaluation.recalled and night.evaluation.folded_recalled
    explained = scan(src, again, None, "2026-03-31", "python", actor="test")
    assert explained.evaluation.recalled == 0
    assert alerts_of(night) == alerts_of(explained)
    notes = [_notes(w) for w in (ws, again)]
    assert notes[0] == notes[1]
    assert any("folded into" in n for n in notes[0].values())


def _notes(ws: Workspace) -> dict[str, str]:
    with closing(sqlite3.connect(ws.alerts_path)) as conn:
        rows = conn.execute(
            "SELECT alert_id, note FROM alerts WHERE rule_id = 'NC-THREATS-TO-WORKERS' "
            "AND status = 'resolved' AND changed_as_of = '2026-03-31'"
        )
        return dict(rows.fetchall())
