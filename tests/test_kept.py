"""A timeline kept between nights gives what making it gives: the same rows, in the same order,
with the same values and evidence, whatever was added to the store since it was kept."""

import json
import logging
import shutil
import sqlite3
from contextlib import closing
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import REGION, copy_region

from noncoop.asof import calendar, zone
from noncoop.engine.evaluate import pack_timeline
from noncoop.engine.rules.load import load_rules
from noncoop.engine.selections import (
    definition,
    shared_definitions,
    shared_records,
    timeline_mask,
)
from noncoop.events import EVENT_NUMBER
from noncoop.ingest.run import ingest
from noncoop.scan import kept as kept_module
from noncoop.scan import scan, scan_json
from noncoop.scan.kept import Inputs, kept
from noncoop.scan.run import shipped_rules
from noncoop.store import workspace as workspace_module
from noncoop.store.workspace import Workspace, read_part

PACK = load_rules([shipped_rules()]).enabled()
SELECTED = [s for r in PACK.rules for s in r.rule.selections()]
KEPT = "timeline kept from an earlier scan"


def kept_and_made(ws: Workspace, night: str):
    """The kept timeline (None where there is none) and the one made, as of the night."""
    found = kept_of(ws, night)
    day = pd.Timestamp(night)
    with calendar(ws.timezone()):
        events, reader = ws.load_for_rules(day)
        made = pack_timeline(events, ws.load_subjects(), PACK, day, None, reader)
    return (found.timeline if found else None), made


def kept_of(ws: Workspace, night: str):
    """The kept timeline as of the night, with what was merged into it (None: none to use),
    its columns merged in three threads."""
    with calendar(ws.timezone()):
        inputs = Inputs(ws.subjects_path, zone(), shared_definitions(SELECTED))
        share = partial(shared_records, selections=SELECTED)
        return kept(ws, inputs, pd.Timestamp(night), ws.load_subjects(), None, share, 3)


def without_timeline(ws: Workspace, dest) -> Workspace:
    """A copy of the workspace as it is, whose next scan makes its timeline again."""
    shutil.copytree(ws.root, dest)
    shutil.rmtree(dest / "timeline")
    return Workspace(dest)


def scanned(tmp_path, night: str) -> tuple[Workspace, Workspace, object]:
    """A workspace scanned as of the night, a copy of it whose next scan makes its timeline
    again, and the folder its timeline is kept in."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, night, "python", actor="test")
    remade = without_timeline(ws, tmp_path / "remade")
    (folder,) = ws.timeline_dir.iterdir()
    return ws, remade, folder


def arrow_file(path) -> pa.Table:
    """A kept Arrow file read into memory, not mapped: it is written over next."""
    return pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()


def texts(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), "<blank>").to_numpy()


def assert_same(kept_tl, made) -> None:
    assert kept_tl.subjects.equals(made.subjects)
    for name in ("subject", "t", "shared"):
        assert np.array_equal(getattr(kept_tl, name), getattr(made, name)), name
    # Each row's record: its number and whose it is, whether kept or merged in tonight.
    for name in (EVENT_NUMBER, "subject_id"):
        records = [texts(tl.origin_rows([name], tl.rows)[name]) for tl in (kept_tl, made)]
        assert np.array_equal(*records), name
    assert list(kept_tl.events.columns) == list(made.events.columns)
    for name in made.events.columns:
        assert np.array_equal(texts(kept_tl.events[name]), texts(made.events[name])), name
        # Equal values, equal codes: a value merged in as a category of its own would part
        # one appointment chain in two.
        if isinstance(kept_tl.events[name].dtype, pd.CategoricalDtype):
            assert kept_tl.events[name].cat.categories.is_unique, name
    assert kept_tl.feeds.spans == made.feeds.spans
    assert kept_tl.feeds.days.keys() == made.feeds.days.keys()
    for feed, days in made.feeds.days.items():
        assert np.array_equal(kept_tl.feeds.days[feed], days)
    assert kept_tl.feeds.sighted is None and made.feeds.sighted is None
    every = list(range(len(made.t)))
    cited, traced = kept_tl.trace(every), made.trace(every)
    for name in traced.columns:
        assert np.array_equal(texts(cited[name]), texts(traced[name])), name


def test_each_night_the_kept_timeline_with_the_days_since_is_the_one_made(tmp_path):
    """The fixture region holds records after every night up to the end of April: each night
    reads only those of the days since the timeline was kept and merges them into place."""
    ws = Workspace(tmp_path / "ws")
    nights = [f"{d:%Y-%m-%d}" for d in pd.date_range("2026-01-04", "2026-04-30", freq="12D")]
    scan(REGION, ws, None, "2026-01-03", "python", actor="test")
    for night in nights:
        kept_tl, made = kept_and_made(ws, night)
        assert kept_tl is not None, night
        assert_same(kept_tl, made)
        scan(REGION, ws, None, night, "python", actor="test")


def masks_of(tl, recall=None) -> dict[str, np.ndarray]:
    """Every selection's mask over the timeline, by definition: worked out whole, or from the
    masks kept (`recall`, which must know each of them)."""
    chosen = {definition(s): s for r in PACK.rules for s in r.rule.select.values()}
    out = {}
    for text, selection in chosen.items():
        recalled = recall(text) if recall else None
        assert recall is None or recalled is not None, text
        out[text] = timeline_mask(tl, selection, recalled)
    return out


def test_each_night_the_masks_kept_with_the_timeline_are_the_ones_worked_out(tmp_path):
    """The selections' masks kept with the timeline, with each night's records merged in and
    judged, are the masks worked out whole on the timeline made that night."""
    ws = Workspace(tmp_path / "ws")
    nights = [f"{d:%Y-%m-%d}" for d in pd.date_range("2026-01-04", "2026-04-30", freq="12D")]
    scan(REGION, ws, None, "2026-01-03", "python", actor="test")
    for night in nights:
        found = kept_of(ws, night)
        _, made = kept_and_made(ws, night)
        recalled, whole = masks_of(found.timeline, found.masks.recall), masks_of(made)
        for text, mask in whole.items():
            assert np.array_equal(recalled[text], mask), (night, text)
        scan(REGION, ws, None, night, "python", actor="test")


def test_a_late_health_record_puts_right_the_kept_mask_of_its_childs_absence(tmp_path):
    """A GP appointment the child attended the day before a medical absence from school, sent
    in a later export: when the masks were kept, health had not seen the child that week and
    the absence counted; tonight it is care, and the kept mask says so for that older row."""
    sources = copy_region(tmp_path / "src")
    listed = sources / "sources.yaml"
    listed.write_text(listed.read_text().replace("path: gp.csv", "path: gp*.csv"))
    ws = Workspace(tmp_path / "ws")
    scan(sources, ws, None, "2026-04-29", "python", actor="test")
    (sources / "gp_late.csv").write_text(
        "AppointmentRef,NHSNumber,ApptDate,Clinic,ReferralRef,Outcome\n"
        "G100,4000000012,05/01/2026,GP,REF9,5\n",
        encoding="utf-8",
    )
    ingest(sources, ws)
    found = kept_of(ws, "2026-04-30")
    isolation = next(r for r in PACK.rules if r.id == "NC-ISOLATION")
    absent = isolation.rule.select["absent"]
    recalled = found.masks.recall(definition(absent))
    tl = found.timeline
    medical = np.flatnonzero(
        (tl.subjects[tl.subject] == "C0001")
        & (tl.events["event_type"].astype(str).to_numpy() == "school.absence")
        & (tl.events["detail"].astype(str).to_numpy() == "I")
    )
    assert len(medical) == 1 and recalled.mask[medical].all()  # as kept: counted
    mask = timeline_mask(tl, absent, recalled)
    assert not mask[medical].any()  # tonight: health saw the child the day before
    _, made = kept_and_made(ws, "2026-04-30")
    assert np.array_equal(mask, timeline_mask(made, absent))


def test_records_of_a_new_export_are_merged_into_the_kept_timeline(tmp_path, caplog):
    """A night that brings a new register export (a new part of the store; the region reads
    `attendance*.csv`) scans as a new workspace does, on the kept timeline with its rows."""
    sources = copy_region(tmp_path / "src")
    nightly = Workspace(tmp_path / "nightly")
    scan(sources, nightly, None, "2026-04-29", "python", actor="test")
    remade = without_timeline(nightly, tmp_path / "remade")
    marks = ["O", "/", "N", "O", "O", "/", "G", "O"]
    rows = [
        f"H801200001001,{day:02d}/04/2026,{session},{mark}"
        for day, (session, mark) in zip(
            range(20, 28),
            [("AM", m) if i % 2 else ("PM", m) for i, m in enumerate(marks)],
            strict=True,
        )
    ]
    spring = sources / "attendance_spring.csv"
    spring.write_text("UPN,Date,Session,Mark\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="noncoop"):
        tonight = scan(sources, nightly, None, "2026-04-30", "python", actor="test")
    assert any(
        KEPT in r.getMessage() and "8 records added" in r.getMessage() for r in caplog.records
    )
    kept_tl, made = kept_and_made(nightly, "2026-04-30")
    assert_same(kept_tl, made)
    again = scan(sources, remade, None, "2026-04-30", "python", actor="test")
    assert alerts_of(tonight) == alerts_of(again)
    assert alerts_of(tonight)


def test_evidence_is_cited_from_the_kept_copies_without_decoding_the_parts(tmp_path):
    """The source file, line and household of every kept row are copied beside the kept
    timeline, as are those of the rows of later days it does not hold yet: citing evidence maps
    them, where it decoded every row of the parts before. With the store's parts moved away
    after the timeline is mapped, every row is still traced, those merged in since too."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-01-10", "python", actor="test")
    kept_tl, made = kept_and_made(ws, "2026-02-27")
    assert len(kept_tl.t) > len(kept_of(ws, "2026-01-10").timeline.t)
    every = list(range(len(made.t)))
    traced = made.trace(every)
    ws.events_dir.rename(tmp_path / "elsewhere")
    cited = kept_tl.trace(every)
    for name in traced.columns:
        assert np.array_equal(texts(cited[name]), texts(traced[name])), name


def test_records_of_the_days_since_are_taken_from_the_kept_rest(tmp_path, monkeypatch):
    """The rows of a part that the kept timeline does not hold yet (records of later days, as
    appointments booked ahead) are copied beside it: a later night opens such a part for its
    times only, and takes the rows of its days from the copy, as reading the part gives them."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-01-10", "python", actor="test")
    asked = []

    def spied(part, columns, *args, **kwargs):
        asked.append(list(columns))
        return read_part(part, columns, *args, **kwargs)

    monkeypatch.setattr(workspace_module, "read_part", spied)
    found = kept_of(ws, "2026-02-27")
    assert found.added > 0
    assert asked and all(columns == ["occurred_at"] for columns in asked)
    monkeypatch.undo()
    _, made = kept_and_made(ws, "2026-02-27")
    assert_same(found.timeline, made)


@pytest.mark.parametrize("tamper", ["cut short", "places out of order", "rows in another order"])
def test_a_kept_rest_that_does_not_hold_the_records_is_passed_over(tmp_path, caplog, tamper):
    """A copy of a part's later records that does not fit the part (edited, or from another
    workspace) is refused with a warning: the part is read instead, and the night's alerts are
    the same."""
    ws, remade, folder = scanned(tmp_path, "2026-01-10")
    rests = list(folder.glob("rest.*.arrow"))
    assert rests
    for rest in rests:
        later = arrow_file(rest)
        if tamper == "places out of order":
            places = rest.with_suffix(".npy")
            np.save(places, np.load(places)[::-1])
            continue
        if tamper == "cut short":
            later = later.slice(0, len(later) // 2)
        else:
            later = later.take(pa.array(range(len(later) - 1, -1, -1)))
        with pa.OSFile(str(rest), "wb") as sink, pa.ipc.new_file(sink, later.schema) as out:
            out.write_table(later)
    with caplog.at_level(logging.WARNING, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-02-27", "python", actor="test")
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
    again = scan(REGION, remade, None, "2026-02-27", "python", actor="test")
    assert alerts_of(night) == alerts_of(again)
    assert alerts_of(night)


def alerts_of(result) -> list[dict]:
    return [a for a in scan_json(result)["alerts"]]


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_damaged_kept_timeline_is_made_again(tmp_path, caplog, damage):
    ws, remade, folder = scanned(tmp_path, "2026-02-27")
    column = folder / "view.event_type.npy"
    if damage == "truncated":
        column.write_bytes(column.read_bytes()[:90])
    else:
        column.unlink()
    with caplog.at_level(logging.INFO, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-02-28", "python", actor="test")
    assert not any(KEPT in r.getMessage() for r in caplog.records)
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
    again = scan(REGION, remade, None, "2026-02-28", "python", actor="test")
    assert alerts_of(night) == alerts_of(again)
    kept_tl, made = kept_and_made(ws, "2026-02-28")  # kept again, whole
    assert_same(kept_tl, made)


@pytest.mark.parametrize("damage", ["a mask cut short", "the list not JSON", "another row count"])
def test_damaged_kept_masks_are_worked_out_again(tmp_path, caplog, damage):
    """Kept selections that cannot be read are worked out whole, with a warning: the kept
    timeline is still used and the night's alerts are those of a workspace made again."""
    ws, remade, folder = scanned(tmp_path, "2026-02-27")
    listed = folder / "masks.json"
    if damage == "a mask cut short":
        mask = next((folder / "masks").iterdir())
        mask.write_bytes(mask.read_bytes()[:-1])
    elif damage == "the list not JSON":
        listed.write_text("{not json", encoding="utf-8")
    else:
        index = json.loads(listed.read_text(encoding="utf-8"))
        listed.write_text(json.dumps({**index, "rows": index["rows"] + 8}), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-02-28", "python", actor="test")
    messages = [r.getMessage() for r in caplog.records]
    assert any(KEPT in m for m in messages)
    assert any("kept selections and decisions cannot be read" in m for m in messages)
    again = scan(REGION, remade, None, "2026-02-28", "python", actor="test")
    assert alerts_of(night) == alerts_of(again)
    assert alerts_of(night)


def test_an_export_sent_again_with_changes_replaces_its_records(tmp_path, caplog):
    """Exports are often sent whole every night: the police export comes again with two more
    incidents and one corrected. Its old part leaves the store and a new one comes: the kept
    timeline drops the old part's records and merges the new part's, as making it would."""
    sources = copy_region(tmp_path / "src")
    police = sources / "police.csv"
    lines = police.read_text(encoding="utf-8").splitlines(keepends=True)
    police.write_text("".join(lines[:2]), encoding="utf-8")
    nightly = Workspace(tmp_path / "nightly")
    scan(sources, nightly, None, "2026-04-29", "python", actor="test")
    remade = without_timeline(nightly, tmp_path / "remade")
    corrected = lines[1].replace("15/01/2026 20:00", "15/01/2026 21:30")
    assert corrected != lines[1]
    police.write_text(lines[0] + corrected + "".join(lines[2:]), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="noncoop"):
        tonight = scan(sources, nightly, None, "2026-04-30", "python", actor="test")
    assert any(KEPT in r.getMessage() for r in caplog.records)
    assert not any("could not be kept" in r.getMessage() for r in caplog.records)
    # Kept again after the replacement, the records merged in tonight with the others.
    metas = list(nightly.timeline_dir.glob("*/timeline.json"))
    assert [json.loads(m.read_text())["as_of"] for m in metas] == ["2026-04-30"]
    again = scan(sources, remade, None, "2026-04-30", "python", actor="test")
    assert alerts_of(tonight) == alerts_of(again)
    kept_tl, made = kept_and_made(nightly, "2026-04-30")
    assert_same(kept_tl, made)
    assert (made.events["source"] == "police").sum() > 0


def test_a_night_opens_no_part_the_kept_timeline_holds_whole(tmp_path, monkeypatch):
    """Their rows were counted when the timeline was kept: reading the footers of some seventy
    parts again took a twentieth of a second of every night at 100,000 children."""
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-02-27", "python", actor="test")
    (folder,) = ws.timeline_dir.iterdir()
    parts = json.loads((folder / "timeline.json").read_text())["parts"]
    whole = {part["name"] for part in parts if part["all"]}
    opened, real = [], workspace_module.pq.ParquetFile

    def recorded(source, *args, **kwargs):
        opened.append(Path(source).name)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(workspace_module.pq, "ParquetFile", recorded)
    found = kept_of(ws, "2026-02-28")
    monkeypatch.undo()
    assert whole and found is not None and not whole & set(opened)
    assert_same(found.timeline, kept_and_made(ws, "2026-02-28")[1])


def test_a_part_gone_is_dropped_but_other_people_make_it_again(tmp_path):
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-02-27", "python", actor="test")
    (folder,) = ws.timeline_dir.iterdir()
    meta = folder / "timeline.json"
    text = meta.read_text()
    first = json.loads(text)["parts"][0]["name"]
    meta.write_text(text.replace(first, "replaced.parquet"))  # a part the store no longer lists
    kept_tl, made = kept_and_made(ws, "2026-02-28")  # its records read again, as a new part's
    assert_same(kept_tl, made)
    meta.write_text(text)
    ws.subjects_path.write_bytes(ws.subjects_path.read_bytes())  # the same people: still kept
    assert kept_and_made(ws, "2026-02-28")[0] is not None
    people = pd.read_parquet(ws.subjects_path)
    people.loc[people["subject_id"] == "C0002", "household_id"] = "H99"
    people.to_parquet(ws.subjects_path)  # a child moved household: every shared record moves
    assert kept_and_made(ws, "2026-02-28")[0] is None


def test_a_timeline_that_cannot_be_kept_leaves_the_scan_as_it_was(tmp_path, caplog):
    """Where the workspace cannot hold it (here `timeline` is a file; a full disk alike), the
    scan says so and gives its alerts; the next scan makes the timeline again."""
    ws = Workspace(tmp_path / "ws")
    ws.create()
    ws.timeline_dir.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-02-28", "python", actor="test")
    assert any("could not be kept" in r.getMessage() for r in caplog.records)
    fresh = scan(REGION, Workspace(tmp_path / "fresh"), None, "2026-02-28", "python")
    assert alerts_of(night) == alerts_of(fresh) and alerts_of(night)


def test_masks_that_cannot_be_kept_leave_the_timeline_kept(tmp_path, caplog, monkeypatch):
    """A full disk while the masks are written: a warning, no list of masks (so none is read
    half written), the timeline kept; the next night works them out whole, alerts the same."""
    real_save = np.save

    def full(path, *args, **kwargs):
        if Path(path).parent.name == "masks":  # the kept selections only
            raise OSError(28, "No space left on device")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(np, "save", full)
    ws = Workspace(tmp_path / "ws")
    with caplog.at_level(logging.WARNING, logger="noncoop"):
        scan(REGION, ws, None, "2026-02-27", "python", actor="test")
    assert any(
        "selections and decisions could not be kept" in r.getMessage() for r in caplog.records
    )
    monkeypatch.undo()
    (folder,) = ws.timeline_dir.iterdir()
    assert (folder / "timeline.json").exists() and not (folder / "masks.json").exists()
    remade = without_timeline(ws, tmp_path / "remade")
    found = kept_of(ws, "2026-02-28")
    assert found is not None and not found.masks.known
    night = scan(REGION, ws, None, "2026-02-28", "python", actor="test")
    again = scan(REGION, remade, None, "2026-02-28", "python", actor="test")
    assert alerts_of(night) == alerts_of(again) and alerts_of(night)


@pytest.mark.parametrize("runs", [20_000, 0], ids=["by runs", "row by row"])
def test_new_rows_go_where_inserting_them_puts_them(monkeypatch, runs):
    """However a column is merged (by runs of old rows between the places of a night's few new
    ones, or row by row where they are many or where a pattern's thread spreads a selection's
    mask at once), each value lands where `np.insert` puts it, in the type both columns'
    values fit."""
    monkeypatch.setattr(kept_module, "_RUNS", runs)
    rng = np.random.default_rng(7)
    for _ in range(300):
        n, k = int(rng.integers(0, 40)), int(rng.integers(0, 12))
        at = np.sort(rng.integers(0, n + 1, k))  # several new rows may share a place
        old = rng.integers(-100, 100, n).astype(np.int8)
        new = rng.integers(-1000, 1000, k).astype(np.int16)
        layout = kept_module._Layout.of(at, n)
        for merged in (layout.spread(old, new), layout.at_once(old, new)):
            assert merged.dtype == np.int16
            assert np.array_equal(merged, np.insert(old.astype(np.int16), at, new)), (n, at)
        # Into a narrower type the values fit (a view's child codes, from 64-bit children).
        wide = old.astype(np.int64)
        for merged in (layout.spread(wide, new, np.int16), layout.at_once(wide, new, np.int16)):
            assert merged.dtype == np.int16
            assert np.array_equal(merged, np.insert(old.astype(np.int16), at, new)), (n, at)


@pytest.mark.parametrize("count", [1, 126, 127, 128, 32766, 32767, 32768, 100_000])
def test_a_views_child_codes_are_merged_in_the_type_pandas_keeps_them_in(count):
    """Merged in the type pandas gives a category of that many children, so that making the
    view's child column copies none of a night's ten million codes."""
    codes = np.zeros(3, kept_module._width(count))
    column = pd.Categorical.from_codes(codes, categories=range(count), validate=False)
    assert column.codes.dtype == codes.dtype
    assert np.shares_memory(column.codes, codes)


def test_records_at_the_same_moment_as_kept_ones_go_in_event_id_order():
    """A late record (a new export of an old day) at the same second as kept records of the
    same child goes among them by event id, as making the timeline would put it."""
    from types import SimpleNamespace

    from noncoop.scan.kept import _places, _Rows

    numbers = np.array([5, 9, 2], np.uint64)  # kept records, by origin position
    old = _Rows(
        {},
        child=np.array([0, 0, 1]),
        t=np.array([100, 100, 100]),
        shared=np.zeros(3, bool),
        rows=np.array([0, 1, 2]),  # child 0 at second 100: numbers 5 then 9
        origin=pd.DataFrame({EVENT_NUMBER: numbers}),
    )
    new = SimpleNamespace(
        t=np.array([50, 100, 100, 100, 100]),
        rows=np.arange(5),
        origin=pd.DataFrame({EVENT_NUMBER: np.array([1, 3, 7, 11, 1], np.uint64)}),
    )
    at = _places(old, 2, new, child=np.array([0, 0, 0, 0, 1]))
    assert at.tolist() == [0, 0, 1, 2, 2]  # before 5; between 5 and 9; after 9; before 2


@pytest.mark.parametrize(
    "tamper",
    [
        "rows from another night",
        "a row past the records",
        "feeds not a mapping",
        "not json",
        "category values cut short",
        "a blank category value",
        "a child listed twice",
        "columns named otherwise",
        "a code past its categories",
        "a value's place past the values",
        "source lines cut short",
        "households past their values",
    ],
)
def test_a_kept_timeline_that_does_not_hold_together_is_made_again(tmp_path, caplog, tamper):
    """A kept timeline's files changed behind its back (copied from another workspace, edited,
    cut short) are refused with a warning, never a traceback; the scan's alerts are the same."""
    ws, remade, folder = scanned(tmp_path, "2026-02-27")
    meta_file = folder / "timeline.json"
    meta = json.loads(meta_file.read_text())
    if tamper == "rows from another night":
        np.save(folder / "t.npy", np.zeros(meta["rows"] + 3, np.int64))
    elif tamper == "a row past the records":
        rows = np.load(folder / "rows.npy")
        rows[0] = 10**9
        np.save(folder / "rows.npy", rows)
    elif tamper in ("category values cut short", "a blank category value"):
        labels = folder / "view.event_type.categories.labels.arrow"
        values = arrow_file(labels)
        if tamper == "category values cut short":
            values = values.slice(0, 1)
        else:
            blank = pa.array([None, *values["value"].to_pylist()[1:]], values.schema[0].type)
            values = pa.table({"value": blank}, schema=values.schema)
        with pa.OSFile(str(labels), "wb") as sink, pa.ipc.new_file(sink, values.schema) as out:
            out.write_table(values)
    elif tamper in ("a code past its categories", "a value's place past the values"):
        name = "view.event_type" + ("" if tamper.startswith("a code") else ".categories.order")
        codes = np.load(folder / f"{name}.npy")
        codes[0] = 100
        np.save(folder / f"{name}.npy", codes)
    elif tamper in ("source lines cut short", "households past their values"):
        for copy in folder.glob("trace.*.arrow"):
            lines = arrow_file(copy)
            if tamper == "source lines cut short":
                lines = lines.slice(0, len(lines) // 2)
            else:
                homes = lines["household_id"].combine_chunks()
                codes = pa.array(np.full(len(homes), 10**6, np.int32))
                past = pa.DictionaryArray.from_arrays(codes, homes.dictionary, safe=False)
                at = lines.column_names.index("household_id")
                lines = lines.set_column(at, "household_id", past)
            with pa.OSFile(str(copy), "wb") as sink, pa.ipc.new_file(sink, lines.schema) as out:
                out.write_table(lines)
        # The copies are read for the records of alerts explained tonight: none would be, the
        # store's being found as they were (recall.py), but for their fingerprints gone.
        with closing(sqlite3.connect(ws.alerts_path)) as conn, conn:
            conn.execute("UPDATE alerts SET fingerprint = NULL")
    elif tamper == "a child listed twice":
        twice = [meta["subjects"][0], *meta["subjects"][:-1]]  # as many, one of them twice
        meta_file.write_text(json.dumps({**meta, "subjects": twice}))
    elif tamper == "columns named otherwise":
        meta_file.write_text(json.dumps({**meta, "order": [*meta["order"][:-1], "nonsense"]}))
    elif tamper == "feeds not a mapping":
        meta_file.write_text(json.dumps({**meta, "spans": ["gp"]}))
    else:
        meta_file.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="noncoop"):
        night = scan(REGION, ws, None, "2026-02-28", "python", actor="test")
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
    again = scan(REGION, remade, None, "2026-02-28", "python", actor="test")
    assert alerts_of(night) == alerts_of(again)
