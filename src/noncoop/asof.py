"""Days and the as-of cut, read one way everywhere.

Days are the partnership's calendar days (UK local time by default, `timezone` in sources.yaml):
an encounter at 00:30 BST on 1 April is on 1 April, whatever offset it was written with. The
store keeps UTC instants; the engine works in integer seconds of local wall-clock time, so a day
is `seconds // DAY` everywhere (windows, gaps, the as-of cut, chronology dates). A scan as of D
uses the events that occurred on or before D, local time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

DAY = 86_400  # seconds
TIMEZONE = "Europe/London"  # the default calendar; sources.yaml may name another
_zone = [TIMEZONE]


@contextmanager
def calendar(timezone: str | None) -> Iterator[None]:
    """Days read in this timezone while the block runs (a scan of one region)."""
    _zone.append(timezone or TIMEZONE)
    try:
        yield
    finally:
        _zone.pop()


def zone() -> str:
    """The timezone days are read in."""
    return _zone[-1]


def as_of_day(value: str | date | pd.Timestamp | None = None) -> pd.Timestamp:
    """The as-of day as a naive midnight; today (UTC) when none is given."""
    day = pd.Timestamp(value if value is not None else pd.Timestamp.now(tz="UTC").date())
    if day.tzinfo is not None:
        day = day.tz_convert("UTC").tz_localize(None)
    return day.normalize()


def day_end(value: str | date | pd.Timestamp) -> pd.Timestamp:
    """The first instant (UTC) after the local day: events before it count as of that day."""
    local = (as_of_day(value) + pd.Timedelta(days=1)).tz_localize(
        zone(), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC")


def start_second(value: str | date | pd.Timestamp) -> int:
    """The first second (UTC) of the day, since 1970."""
    return int(as_of_day(value).value // 10**9)


def end_second(value: str | date | pd.Timestamp) -> int:
    """`day_end` in seconds since 1970."""
    return start_second(value) + DAY


def to_seconds(values: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 seconds of local wall-clock time (see the module), whatever
    resolution pandas stored them in."""
    utc = utc_seconds(values)
    if not len(utc):
        return utc
    # Offsets change only on the hour: each hour of the span is converted once (a few thousand
    # over years of records), not ten million timestamps.
    first = int(utc.min()) // 3600
    if int(utc.max()) // 3600 - first > 2_000_000:  # records centuries apart: convert each
        local = values.dt.tz_convert(zone()).dt.tz_localize(None)
        return local.to_numpy(dtype="datetime64[s]").astype(np.int64)
    hours = pd.date_range(
        pd.Timestamp(first * 3600, unit="s", tz="UTC"),
        periods=int(utc.max()) // 3600 - first + 1,
        freq="h",
    )
    offset = (hours.tz_convert(zone()).tz_localize(None) - hours.tz_localize(None)).total_seconds()
    # In place where it can be: each pass over ten million seconds is a fresh array otherwise.
    hour = utc // 3600
    hour -= first
    local = offset.to_numpy(np.int64)[hour]
    local += utc
    return local


def utc_seconds(values: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 seconds since 1970 (UTC), floored; NaT stays NaT's integer. From
    the stored integers in one division: converting ten million timestamps to seconds through
    numpy's datetime types made three more copies of them."""
    if not len(values):
        return np.array([], np.int64)
    stamps = values.dt.tz_convert("UTC").array
    ticks = stamps.asi8
    seconds = ticks // TICKS[stamps.unit]
    seconds[ticks == NAT] = NAT
    return seconds


def utc_instants(micros: np.ndarray) -> pd.Series:
    """Microseconds since 1970 (UTC), as a kept timeline holds its records' times, made the
    store's UTC instants again."""
    return pd.Series(np.asarray(micros, np.int64).view("M8[us]")).dt.tz_localize("UTC")


NAT = np.iinfo(np.int64).min
TICKS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def iso_day(seconds: int) -> str:
    """`2026-01-04`."""
    return _iso(int(seconds) // DAY)


def long_day(value: int | np.integer | str | pd.Timestamp) -> str:
    """`4 Jan 2026`, from seconds since 1970 or a date."""
    if isinstance(value, (int, np.integer)):
        return _long(int(value) // DAY)
    if isinstance(value, str):
        return _long_text(value)
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {MONTHS[stamp.month - 1]} {stamp.year}"


# Dates are written for every alert many times over: each day is formatted once (a night's scan
# names a few thousand days for tens of thousands of alerts), by the standard library.
EPOCH = date(1970, 1, 1)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=1 << 16)
def _iso(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()


@lru_cache(maxsize=1 << 16)
def _long(day: int) -> str:
    when = EPOCH + timedelta(days=day)
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}"


@lru_cache(maxsize=1 << 16)
def _long_text(value: str) -> str:
    """An alert's window day (`2026-01-04`), as every message names it."""
    stamp = pd.Timestamp(value)
    return f"{stamp.day} {MONTHS[stamp.month - 1]} {stamp.year}"
