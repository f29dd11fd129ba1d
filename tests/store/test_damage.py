"""A workspace that checks itself: a missing or unreadable part, manifest or alert store is named
in one line with the way to recover, exit 1, and `noncoop repair` brings the store back from the
exports; a read-only workspace still lists; a full disk gives one line."""

import errno
import sqlite3
import sys

import pytest
from conftest import copy_region

from noncoop.alerts.store import AlertStore
from noncoop.cli.app import explained, run
from noncoop.store.workspace import Workspace


def noncoop(monkeypatch, capsys, *args) -> tuple[int, str]:
    """The installed command as cron runs it: exit code and everything printed."""
    monkeypatch.setattr(sys, "argv", ["noncoop", *map(str, args)])
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


@pytest.fixture
def scanned(tmp_path, monkeypatch, capsys):
    src = copy_region(tmp_path / "src")
    ws = Workspace(tmp_path / "ws")
    code, _ = noncoop(
        monkeypatch, capsys, "scan", src, "-w", ws.root, "--as-of", "2026-03-31", "-q"
    )
    assert code == 0
    return src, ws


def _first_part(ws):
    return sorted(ws.events_dir.glob("*.parquet"))[0]


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_a_damaged_part_stops_the_run_and_repair_reads_its_source_again(
    scanned, monkeypatch, capsys, damage
):
    src, ws = scanned
    held = ws.count_events()
    part = _first_part(ws)
    if damage == "deleted":
        part.unlink()
    else:
        part.write_bytes(part.read_bytes()[:100])
    for args in (
        ("scan", src, "-w", ws.root, "--as-of", "2026-04-01", "-q"),
        ("chronology", "C0001", "-w", ws.root),
    ):
        code, said = noncoop(monkeypatch, capsys, *args)
        assert code == 1 and "Traceback" not in said
        assert f"the workspace {ws.root} is damaged: events/{part.name} (from gp.csv)" in said
        assert "noncoop repair" in said
    code, said = noncoop(monkeypatch, capsys, "repair", src, "-w", ws.root)
    assert code == 0 and "Read again: gp" in said
    assert ws.count_events() == held
    code, _ = noncoop(monkeypatch, capsys, "scan", src, "-w", ws.root, "--as-of", "2026-04-01")
    assert code == 0


def test_an_unreadable_manifest_is_kept_aside_and_every_export_read_again(
    scanned, monkeypatch, capsys
):
    src, ws = scanned
    held = ws.count_events()
    ws.manifest_path.write_bytes(ws.manifest_path.read_bytes()[:200])
    code, said = noncoop(monkeypatch, capsys, "ingest", src, "-w", ws.root)
    assert code == 1 and "manifest.json cannot be read" in said
    code, said = noncoop(monkeypatch, capsys, "repair", src, "-w", ws.root)
    assert code == 0 and "Read again: every source" in said
    assert len(list(ws.root.glob("manifest.json.damaged-*"))) == 1
    assert ws.count_events() == held


def test_a_damaged_alert_store_is_never_rebuilt_silently(scanned, monkeypatch, capsys):
    src, ws = scanned
    ws.alerts_path.write_bytes(b"not a database at all" * 50)
    for path in ws.root.glob("alerts.sqlite-*"):
        path.unlink()
    code, said = noncoop(monkeypatch, capsys, "alerts", "-w", ws.root)
    assert code == 1 and "the alert store cannot be read" in said and "Traceback" not in said
    code, said = noncoop(monkeypatch, capsys, "repair", src, "-w", ws.root)
    assert code == 1 and "restore it from a backup" in said
    assert ws.alerts_path.read_bytes().startswith(b"not a database")  # left as it was
    code, said = noncoop(monkeypatch, capsys, "repair", src, "-w", ws.root, "--new-alert-store")
    assert code == 0 and "The next scan starts anew" in said
    assert len(list(ws.root.glob("alerts.sqlite.damaged-*"))) == 1
    code, _ = noncoop(monkeypatch, capsys, "scan", src, "-w", ws.root, "--as-of", "2026-04-01")
    assert code == 0


def test_the_listing_commands_read_a_store_they_cannot_write(scanned, monkeypatch, capsys):
    """A read-only workspace (a backup, a read-only share): SQLite cannot set up its journal,
    the store is read as it is."""
    _, ws = scanned

    def refuse(self):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(AlertStore, "connect", refuse)
    assert len(AlertStore(ws.alerts_path).list()) > 0
    code, said = noncoop(monkeypatch, capsys, "alerts", "-w", ws.root)
    assert code == 0 and "NC-" in said


def test_machine_failures_are_one_line_saying_what_to_do():
    full = explained(OSError(errno.ENOSPC, "No space left on device"))
    assert full.startswith("the disk holding the workspace is full; the store is as it was")
    assert "disk holding" in explained(sqlite3.OperationalError("database or disk is full"))
    locked = explained(OSError(errno.EROFS, "Read-only file system", "/ws/noncoop.log"))
    assert locked.startswith("cannot write /ws/noncoop.log: Read-only file system")
    assert explained(KeyError("x")) is None


def test_an_output_file_that_cannot_be_made_is_one_line_naming_it(scanned, monkeypatch, capsys):
    """A folder given for --json, or a file in a folder not there: the path given is named, not
    reported as noncoop's own failure."""
    _, ws = scanned
    folder = ws.root.parent / "a-folder"
    folder.mkdir()
    for option, path in (("--json", folder), ("--csv", folder / "not-there" / "a.csv")):
        code, said = noncoop(monkeypatch, capsys, "alerts", "-w", ws.root, option, path)
        assert code == 1, said
        # The terminal may fold a long path: compared without the spaces folding leaves.
        assert "".join(said.split()).startswith(f"errorcannotuse{path}:"), said
        assert "folder that exists" in said
        assert "unexpected" not in said and "Traceback" not in said


def test_a_mistyped_workspace_is_not_an_empty_region(tmp_path, monkeypatch, capsys):
    code, said = noncoop(monkeypatch, capsys, "alerts", "-w", tmp_path / "no-such-dir")
    assert code == 2 and "no workspace at" in said


def test_a_stored_alert_whose_state_is_not_json_stops_the_night_saying_which(
    scanned, monkeypatch, capsys
):
    """A row of the store damaged where reconciling reads it (its state before the last night)
    stops the night in one line naming the alert by id, as a damaged store does."""
    src, ws = scanned
    scan = ["scan", src, "-w", ws.root, "-q", "--as-of"]
    assert noncoop(monkeypatch, capsys, *scan, "2026-04-01")[0] == 0
    with sqlite3.connect(ws.alerts_path) as conn:
        alert_id = conn.execute("SELECT alert_id FROM alerts WHERE prior IS NOT NULL").fetchone()[0]
        conn.execute("UPDATE alerts SET prior = '{broken' WHERE alert_id = ?", (alert_id,))
    code, said = noncoop(monkeypatch, capsys, *scan, "2026-04-02")
    assert code == 1 and "Traceback" not in said
    assert f"the alert store cannot be read (alert {alert_id}: its prior is not JSON)" in said


def test_a_stored_alert_whose_evidence_is_not_json_is_named_when_listed(
    scanned, monkeypatch, capsys
):
    _, ws = scanned
    with sqlite3.connect(ws.alerts_path) as conn:
        alert_id = conn.execute(
            "SELECT alert_id FROM alerts WHERE status <> 'resolved'"
        ).fetchone()[0]
        conn.execute("UPDATE alerts SET evidence = 'not json' WHERE alert_id = ?", (alert_id,))
    for args in (["alerts", "-w", ws.root], ["alerts", "show", alert_id, "-w", ws.root]):
        code, said = noncoop(monkeypatch, capsys, *args)
        assert code == 1 and "Traceback" not in said
        assert f"the alert store cannot be read (alert {alert_id}: a list it holds" in said
