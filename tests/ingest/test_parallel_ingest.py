"""A school register mapped in worker processes stores exactly what one process stores: the same
events, the same rejected rows on the same physical lines, the same counts."""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

import pytest

from noncoop.ingest import attendance, workers
from noncoop.ingest.run import ingest
from noncoop.sources.csvread import read_csv_batches
from noncoop.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
PUPILS = ("H801200001001", "X801200001002")


def _register(src: Path) -> None:
    """Six weeks of marks for two pupils in the layout of the local register profile, with what
    a real export carries: a session marked twice in a row, one marked again weeks later (in a
    later block), an unknown code, a malformed pupil number and a blank line."""
    rows = ["UPN,Date,Session,Mark"]
    for day in range(5, 31):
        for upn in PUPILS:
            for session, mark in (("AM", "/"), ("PM", "N01" if day % 4 == 0 else "/")):
                rows.append(f"{upn},{day:02d}/01/2026,{session},{mark}")
    rows.insert(9, rows[8])  # the same session twice, one line after the other
    rows.append(f"{PUPILS[0]},06/01/2026,PM,O")  # again, much later in the file
    rows.insert(40, f"{PUPILS[1]},12/01/2026,AM,QQ")
    rows.insert(60, "")
    rows.append("T999999999999,07/01/2026,AM,N")
    (src / "register.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture()
def region(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "fixtures" / "region" / "people.csv", src)
    shutil.copy(ROOT / "src" / "noncoop" / "profiles" / "attendance_local.yaml", src)
    _register(src)
    (src / "sources.yaml").write_text(
        "people: people.csv\nsources:\n  - {name: school, importer: attendance,"
        " path: register.csv, profile: attendance_local.yaml}\n"
    )
    return src


def _stored(ws: Workspace) -> tuple[list, list, tuple]:
    events = ws.load_events().sort_values("event_id")
    kept = ["event_id", "event_type", "occurred_at", "detail", "source_line", "sessions_absent"]
    rejected = ws.load_quarantine().query("source == 'school'").sort_values("source_line")
    entry = ws.manifest().files[0]
    return (
        events[kept].astype(str).values.tolist(),
        rejected[["source_line", "reason_code"]].astype(str).values.tolist(),
        (entry.rows_read, entry.rows_accepted, entry.rows_quarantined, entry.new_events),
    )


def test_a_register_mapped_in_workers_stores_what_one_process_stores(region, tmp_path, monkeypatch):
    # Blocks of a few lines each, and workers for a file of any size.
    monkeypatch.setattr(attendance, "read_csv_batches", partial(read_csv_batches, block_bytes=300))
    monkeypatch.setattr(workers, "MIN_BYTES", 0)
    monkeypatch.setenv(workers.WORKERS_ENV, "1")
    alone = Workspace(tmp_path / "one")
    one = ingest(region, alone)
    monkeypatch.setenv(workers.WORKERS_ENV, "2")
    assert workers.worker_count(1) == 2
    shared = Workspace(tmp_path / "two")
    two = ingest(region, shared)

    assert one.by_source["school"].reconciles and two.by_source["school"].reconciles
    events, rejected, counts = _stored(alone)
    assert _stored(shared) == (events, rejected, counts)
    # Workers wrote the blocks' events themselves; every part is named as the run's own.
    assert not list(shared.events_dir.glob("worker-*"))
    assert not list(shared.events_dir.glob(workers.GIVEN_PREFIX + "*"))  # the workers' set-up
    assert len(list(shared.events_dir.glob("*.parquet"))) == len(shared.event_parts())
    # Both repeats are caught, the one in a later block too (joined in order by the run).
    # Physical lines, the blank line counted.
    assert rejected == [
        ["10", "DUPLICATE-RECORD"],
        ["41", "BAD-ATTENDANCE-CODE"],
        ["109", "DUPLICATE-RECORD"],
        ["110", "INVALID-ID"],
    ]


def test_small_files_one_core_and_library_callers_are_read_in_the_run_s_own_process(
    monkeypatch,
):
    monkeypatch.delenv(workers.WORKERS_ENV, raising=False)
    monkeypatch.setattr(workers, "_EVERY_CORE", [False])
    assert workers.worker_count(10 * workers.MIN_BYTES) == 0  # a program opts in
    workers.every_core()  # as the command line does
    cores = len(os.sched_getaffinity(0))
    assert workers.worker_count(10 * workers.MIN_BYTES) == (cores if cores > 1 else 0)
    assert workers.worker_count(workers.MIN_BYTES - 1) == 0
    monkeypatch.setenv(workers.WORKERS_ENV, "1")
    assert workers.worker_count(10 * workers.MIN_BYTES) == 0
    with workers.Workers(0, print, ()) as none:
        items = list(none.map(len, ["ab", "c"]))
    assert items == [("ab", None), ("c", None)]


def _stops_on_two(item: int) -> int:
    if item == 2:
        os._exit(1)  # a worker killed (for memory, say) while mapping a block
    return item * 10


def _nothing() -> None:
    return None


def test_every_worker_starts_before_the_file_s_first_block_is_read():
    """Each worker spends its second of start-up while the run reads the first block."""
    import multiprocessing

    started = []

    def blocks():
        started.append(len(multiprocessing.active_children()))
        yield from ("ab", "c")

    with workers.Workers(2, _nothing, ()) as two:
        assert list(two.map(len, blocks())) == [("ab", 2), ("c", 1)]
    assert started == [2]


def test_a_worker_that_stops_leaves_the_blocks_not_yet_mapped_to_the_run():
    with workers.Workers(2, _nothing, ()) as two:
        got = list(two.map(_stops_on_two, range(6)))
        # The pool has stopped: what is mapped after (the summaries) is left to the run too.
        assert list(two.map(_stops_on_two, [7, 8])) == [(7, None), (8, None)]
    assert [item for item, _ in got] == list(range(6))  # every item, in order
    assert got[2][1] is None  # the run maps it itself
    assert all(result in (None, item * 10) for item, result in got)


def _pool_name(_item: int) -> str:
    import pyarrow as pa

    return pa.default_memory_pool().backend_name


def test_files_are_imported_with_mimalloc_and_evaluation_keeps_its_own_pool(monkeypatch):
    import pyarrow as pa

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    try:
        pa.mimalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow is built without mimalloc")
    before = pa.default_memory_pool().backend_name
    with workers.import_pool():
        assert pa.default_memory_pool().backend_name == "mimalloc"
    assert pa.default_memory_pool().backend_name == before
    with workers.Workers(2, _nothing, ()) as two:
        names = [name for _, name in two.map(_pool_name, [1, 2, 3])]
    assert names == ["mimalloc"] * 3  # kept for the worker's life, not only while it starts


def test_a_pool_the_environment_names_is_used_to_import_too(monkeypatch):
    import pyarrow as pa

    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    before = pa.default_memory_pool().backend_name
    with workers.import_pool():
        assert pa.default_memory_pool().backend_name == before


def test_the_workers_set_up_left_by_a_killed_run_is_removed_by_the_next(region, tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest(region, ws)
    left = ws.events_dir / (workers.GIVEN_PREFIX + "x1y2")
    left.write_bytes(b"a register and its crosswalk, pickled")
    ingest(region, ws)
    assert not left.exists()


def test_a_register_unreadable_from_some_line_keeps_in_workers_what_one_process_keeps(
    region, tmp_path, monkeypatch
):
    # A quote opened and never closed, more than a block before the end: the reader fails
    # there (a value straddling blocks). The blocks read before it, in workers' hands, are
    # stored as one process stores them, and the failure is recorded.
    register = region / "register.csv"
    lines = register.read_text().splitlines()
    lines.insert(70, f'{PUPILS[0]},06/02/2026,"PM,O')
    register.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(attendance, "read_csv_batches", partial(read_csv_batches, block_bytes=300))
    monkeypatch.setattr(workers, "MIN_BYTES", 0)
    kept = []
    for count in ("1", "2"):
        monkeypatch.setenv(workers.WORKERS_ENV, count)
        ws = Workspace(tmp_path / count)
        ingest(region, ws)
        kept.append(_stored(ws))
    assert kept[0] == kept[1]
    _, rejected, (read, accepted, quarantined, new) = kept[0]
    assert ["0", "FILE-UNREADABLE"] in rejected
    assert read == accepted + quarantined and read > 50 and new  # what was read before is kept
