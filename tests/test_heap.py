"""A scan's heap, made ready while the process starts from what the workspace's last scan noted:
the same alerts, the memory kept for the scan, nothing warmed without a note."""

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REGION

from noncoop import DEFAULT_WORKSPACE, heap
from noncoop.__main__ import scanned_workspace
from noncoop.scan import scan
from noncoop.store.workspace import Workspace


def _glibc_figures() -> bool:
    """glibc 2.33 or later, which gives its heap's figures (mallinfo2)."""
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


glibc = pytest.mark.skipif(not _glibc_figures(), reason="glibc's heap and its figures")


@pytest.mark.parametrize(
    ("args", "workspace"),
    [
        (["scan", "region", "-w", "ws"], Path("ws")),
        (["scan", "region", "--workspace", "ws", "-q"], Path("ws")),
        (["scan", "--workspace=ws", "region"], Path("ws")),
        (["scan", "-wws", "region"], Path("ws")),
        (["--debug", "scan", "region", "-w", "ws"], Path("ws")),
        (["scan", "region", "--as-of", "2026-04-01"], DEFAULT_WORKSPACE),
        (["scan", "region", "-w"], None),  # the command line will say what is missing
        (["scan", "region", "--", "-w", "ws"], DEFAULT_WORKSPACE),
        (["scan", "--help", "-w", "ws"], None),  # nothing to scan
        (["alerts", "-w", "ws"], None),
        (["ingest", "region", "-w", "ws"], None),
        ([], None),
    ],
)
def test_the_workspace_a_scan_command_line_names(args, workspace):
    assert scanned_workspace(args) == workspace


def test_a_scan_notes_the_memory_its_timeline_took(tmp_path):
    ws = Workspace(tmp_path / "ws")
    done = scan(REGION, ws, as_of="2026-03-31", engine="python")
    noted = json.loads((ws.root / heap.HINT).read_text())["timeline_bytes"]
    # At least the records' times and the children they are of: 16 bytes an event.
    assert noted >= 16 * done.evaluation.events


_WARMED = """
import ctypes, sys, time
from pathlib import Path
from noncoop import heap

NAMES = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in NAMES.split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
heap.warm(Path(sys.argv[1]))
warming = heap._WARMING
if warming:
    warming[0].thread.join()
held = libc.mallinfo2().uordblks
heap.hand_back()
info = libc.mallinfo2()
print(len(warming), held, info.fordblks, info.arena)
"""


@glibc
@pytest.mark.parametrize(
    ("hint", "warmed"),
    [
        ({"timeline_bytes": 192 << 20}, True),
        ({"timeline_bytes": 1 << 20}, False),  # less than a piece is worth warming
        ({"timeline_bytes": "a lot"}, False),
        ({}, False),
        (None, False),  # no note: the workspace's first scan
        ("fifo", False),  # a pipe in its place, no writer: never waited on
        ("folder", False),
    ],
)
def test_the_heap_is_warmed_for_a_scan_and_kept_for_it(tmp_path, hint, warmed):
    """Warmed, the memory is held until the ingest has handed its own back, then left free in
    the heap for the scan's arrays, not handed back to the system; never without a note."""
    note = tmp_path / heap.HINT
    if hint == "fifo":
        os.mkfifo(note)
    elif hint == "folder":
        note.mkdir()
    elif hint is not None:
        note.write_text(json.dumps(hint))
    done = subprocess.run(
        [sys.executable, "-c", _WARMED, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    started, held, free, arena = map(int, done.stdout.split())
    assert started == warmed
    if warmed:
        assert held >= 192 << 20 and free >= 192 << 20 and arena >= 192 << 20


def test_a_night_with_its_heap_warmed_finds_what_one_without_does(tmp_path):
    """The same night, run as the command runs, from the same first scan: once with the note
    a scan leaves (a quarter of a gigabyte, far more than this region's), once without."""
    first = tmp_path / "first"
    scan(REGION, Workspace(first), as_of="2026-03-31", engine="python")
    outputs = []
    for name, hint in (("cold", None), ("warm", 256 << 20)):
        ws = tmp_path / name
        shutil.copytree(first, ws)
        (ws / heap.HINT).unlink()
        if hint is not None:
            (ws / heap.HINT).write_text(json.dumps({"timeline_bytes": hint}))
        out = tmp_path / f"{name}.json"
        command = [sys.executable, "-m", "noncoop", "scan", str(REGION), "-w", str(ws)]
        command += ["--as-of", "2026-04-01", "--engine", "python", "-q", "--json", str(out)]
        subprocess.run(command, check=True, capture_output=True)
        outputs.append(json.loads(out.read_text())["alerts"])
        # The night notes its own for the next.
        assert json.loads((ws / heap.HINT).read_text())["timeline_bytes"] > 0
    assert outputs[0] == outputs[1] and outputs[0]


def test_a_note_is_never_written_through_a_pipe_or_a_link_put_in_its_place(tmp_path):
    """Hostile workspaces: the scan neither waits on a pipe nor writes where a link points."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("kept")
    for planted in ("pipe", "link"):
        ws = tmp_path / planted
        ws.mkdir()
        partial = ws / f".{heap.HINT}.partial"
        if planted == "pipe":
            os.mkfifo(partial)
        else:
            partial.symlink_to(target)
        code = f"import pathlib, noncoop.heap as h; h.remember(pathlib.Path({str(ws)!r}), 5)"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
        assert not (ws / heap.HINT).exists()
    assert target.read_text() == "kept"


@pytest.mark.parametrize(
    ("listing", "files", "room"),
    [
        # version 2: the group's limit less its use
        ("0::/nightly\n", {"nightly/memory.max": "3000", "nightly/memory.current": "1000"}, 2000),
        ("0::/nightly\n", {"nightly/memory.max": "max", "nightly/memory.current": "1000"}, None),
        # a container sees its own group at the root
        ("0::/\n", {"memory.max": "5000", "memory.current": "4500"}, 500),
        # version 1, the memory controller among others; over its limit leaves nothing
        (
            "4:memory:/batch\n0::/\n",
            {
                "memory/batch/memory.limit_in_bytes": "100",
                "memory/batch/memory.usage_in_bytes": "150",
            },
            0,
        ),
        (
            "4:memory:/batch\n",
            {
                "memory/batch/memory.limit_in_bytes": str(2**63 - 4096),
                "memory/batch/memory.usage_in_bytes": "1",
            },
            None,
        ),
        ("4:cpu:/batch\n", {}, None),  # no memory controller: no limit known
        ("not a listing", {}, None),
    ],
)
def test_a_control_groups_limit_bounds_the_warming(tmp_path, listing, files, room):
    """In a container, half of what its memory limit leaves is the most warmed, not half of
    the machine's."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "cgroup").write_text(listing)
    assert heap._group_room(tmp_path, tmp_path / "cgroup") == room
