"""UK calendar days: times stay UTC in the store, naive times are UK local time, and every day
(the as-of cut, windows, chronology dates) is a local day, across both clock changes."""

import pandas as pd
from conftest import REGION

from noncoop.asof import calendar, to_seconds
from noncoop.ingest.run import ingest
from noncoop.reports.casefile import load_case
from noncoop.reports.chronology import chronology
from noncoop.store.workspace import Workspace

LOG = (
    "record_id,id_scheme,person_id,agency,event_type,occurred_at\n"
    "R1,nhs,4000000012,health,appointment.attended,2025-10-26T01:30:00\n"  # repeated hour
    "R2,nhs,4000000012,health,appointment.attended,2026-03-29T01:30:00\n"  # skipped hour
    "R3,nhs,4000000012,health,appointment.attended,2026-03-30T00:30:00\n"  # BST, no offset
    "R4,nhs,4000000012,health,appointment.attended,2026-04-01T00:30:00+01:00\n"  # with offset
    "R5,nhs,4000000012,health,appointment.attended,2026-01-15\n"  # a day
)


def region(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "people.csv").write_text((REGION / "people.csv").read_text())
    (src / "log.csv").write_text(LOG)
    (src / "sources.yaml").write_text(
        "sources:\n  - {name: log, importer: contact-log, path: log.csv}\n"
    )
    ws = Workspace(tmp_path / "ws")
    report = ingest(src, ws)
    assert report.by_source["log"].rows_quarantined == 0
    return ws


def test_naive_times_are_uk_local_and_stored_as_utc(tmp_path):
    ws = region(tmp_path)
    ev = ws.load_events().sort_values("source_line")
    utc = [t.isoformat() for t in ev["occurred_at"]]
    assert utc == [
        "2025-10-26T01:30:00+00:00",  # the repeated hour read as GMT, its second passing
        "2026-03-29T01:00:00+00:00",  # a time the clocks skipped, moved to 02:00 BST
        "2026-03-29T23:30:00+00:00",
        "2026-03-31T23:30:00+00:00",
        "2026-01-15T00:00:00+00:00",
    ]
    with calendar("Europe/London"):
        days = pd.Series(to_seconds(ev["occurred_at"]) // 86400).map(
            lambda d: str(pd.Timestamp(d, unit="D").date())
        )
    assert days.tolist() == ["2025-10-26", "2026-03-29", "2026-03-30", "2026-04-01", "2026-01-15"]


def test_a_scan_as_of_a_day_cuts_at_local_midnight(tmp_path):
    ws = region(tmp_path)
    # 00:30 BST on 1 April is 23:30 UTC on 31 March: not in a scan as of 31 March.
    with calendar(ws.timezone()):
        lines = sorted(ws.load_events(as_of=pd.Timestamp("2026-03-31"))["source_line"])
    assert lines == [2, 3, 4, 6]


def test_chronology_dates_are_local_days(tmp_path):
    ws = region(tmp_path)
    rows = chronology(load_case(ws, "C0001"), fold=False)
    assert "2026-03-30" in set(rows["date"]) and "2026-04-01" in set(rows["date"])
    assert "2026-03-29" in set(rows["date"])


def test_another_calendar_can_be_named(tmp_path):
    ws = region(tmp_path)
    with calendar("UTC"):
        days = to_seconds(ws.load_events().sort_values("source_line")["occurred_at"]) // 86400
    assert str(pd.Timestamp(days[2], unit="D").date()) == "2026-03-29"


def test_an_unknown_timezone_is_a_config_error(tmp_path):
    import pytest

    from noncoop.sources.load import load_sources
    from noncoop.yamlspec import ConfigInvalid

    (tmp_path / "people.csv").write_text((REGION / "people.csv").read_text())
    (tmp_path / "sources.yaml").write_text(
        "timezone: Mars/Olympus\nsources:\n  - {name: log, importer: contact-log, path: x.csv}\n"
    )
    with pytest.raises(ConfigInvalid) as caught:
        load_sources(tmp_path)
    assert "Mars/Olympus" in str(caught.value.errors[0])


def test_local_seconds_are_right_however_far_apart_the_records():
    stamps = pd.Series(
        pd.to_datetime(["1900-06-01T12:00Z", "2026-07-01T23:30Z", "2400-01-01T00:00Z"], utc=True)
    )
    with calendar("Europe/London"):
        local = to_seconds(stamps)
    expected = stamps.dt.tz_convert("Europe/London").dt.tz_localize(None)
    assert (local == expected.to_numpy(dtype="datetime64[s]").astype("int64")).all()
    with calendar("Europe/London"):
        near = to_seconds(stamps[1:2])
    assert str(pd.Timestamp(int(near[0]), unit="s")) == "2026-07-02 00:30:00"


def test_a_local_format_ending_in_a_year_is_not_read_as_an_offset():
    from noncoop.quarantine import Checks
    from noncoop.sources.mapping import parse_times

    values = pd.Series(["23:30 05-07-2026", "10:00 05-01-2026"], dtype="string")
    parsed = parse_times(values, "%H:%M %d-%m-%Y", "occurred_at", Checks(values.index))
    assert [t.isoformat() for t in parsed] == [
        "2026-07-05T22:30:00+00:00",  # BST
        "2026-01-05T10:00:00+00:00",  # GMT
    ]
