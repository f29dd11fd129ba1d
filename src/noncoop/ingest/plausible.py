"""Dates no record can have, quarantined as IMPLAUSIBLE-DATE naming the bound: before the
region's earliest_date (1990 unless sources.yaml says otherwise: a year typed 1900 or 0026),
more than days_ahead after the day of the ingest (a booking is made months ahead, not years),
or before the person's date of birth in the crosswalk. Days are the region's calendar days.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.identity.crosswalk import Crosswalk
from noncoop.sources.load import LoadedSource

CODE = "IMPLAUSIBLE-DATE"


def check_dates(
    when: pd.Series,
    links: np.ndarray,
    people: Crosswalk,
    source: LoadedSource,
    field: str,
    checks: quarantine.Checks,
) -> None:
    """Record in `checks` the rows whose `when` (UTC) no record can have for the person its
    link code (Crosswalk.resolve) names.

    Exports repeat the same days many times (a register: every session of every pupil), so
    each distinct time is worked out once."""
    codes, times = pd.factorize(when)
    days = pd.DatetimeIndex(times).tz_convert(source.timezone).tz_localize(None).normalize()
    day = _take(days.to_numpy(), codes)
    born = people.births(np.asarray(links))
    earliest = np.datetime64(source.earliest_date, "ns")
    latest = np.datetime64(date.today(), "ns") + np.timedelta64(source.days_ahead, "D")
    text = _Text(day, when.index)
    for mask, template in (
        (
            day < earliest,
            f"{field} {{}} is before {earliest!s:.10} (earliest_date in sources.yaml)",
        ),
        (
            day > latest,
            f"{field} {{}} is more than {source.days_ahead} days after today (days_ahead in "
            "sources.yaml)",
        ),
    ):
        if mask.any():
            checks.add(pd.Series(mask, index=when.index), CODE, template, text.of(mask))
    before = day < born
    if before.any():
        checks.add(
            pd.Series(before, index=when.index),
            CODE,
            f"{field} {{}} is before the person's date of birth, {{}}",
            text.of(before),
            _Text(born, when.index).of(before),
        )


def _take(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """values[codes], NaT where the code is -1 (a blank)."""
    padded = np.append(values.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    return padded[np.where(codes >= 0, codes, len(values))]


class _Text:
    """Days as YYYY-MM-DD for the rows a check names, written only for those rows."""

    def __init__(self, days: np.ndarray, index: pd.Index):
        self.days, self.index = days, index

    def of(self, mask: np.ndarray) -> pd.Series:
        text = pd.Series("", index=self.index, dtype=object)
        text[mask] = np.datetime_as_string(self.days[mask], unit="D")
        return text
