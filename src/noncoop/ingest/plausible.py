"""Dates no record can have, quarantined as IMPLAUSIBLE-DATE naming the bound: before the
region's earliest_date (1990 unless sources.yaml says otherwise: a year typed 1900 or 0026),
more than days_ahead after the day of the ingest (a booking is made months ahead, not years),
or before the person's date of birth in the crosswalk. Days are the region's calendar days.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from noncoop import quarantine
from noncoop.identity.crosswalk import Crosswalk
from noncoop.sources.load import LoadedSource

CODE = "IMPLAUSIBLE-DATE"


def check_dates(
    when: pd.Series,
    subjects: pd.Series,
    people: Crosswalk,
    source: LoadedSource,
    field: str,
    checks: quarantine.Checks,
) -> None:
    """Record in `checks` the rows whose `when` (UTC) no record can have for its subject."""
    day = when.dt.tz_convert(source.timezone).dt.tz_localize(None).dt.normalize()
    text = day.dt.strftime("%Y-%m-%d")
    earliest = pd.Timestamp(source.earliest_date)
    latest = pd.Timestamp(date.today()) + pd.Timedelta(days=source.days_ahead)
    checks.add(
        (day < earliest).fillna(False),
        CODE,
        f"{field} {{}} is before {earliest:%Y-%m-%d} (earliest_date in sources.yaml)",
        text,
    )
    checks.add(
        (day > latest).fillna(False),
        CODE,
        f"{field} {{}} is more than {source.days_ahead} days after today (days_ahead in "
        "sources.yaml)",
        text,
    )
    born = people.births(subjects)
    checks.add(
        (day < born).fillna(False),
        CODE,
        f"{field} {{}} is before the person's date of birth, {{}}",
        text,
        born.dt.strftime("%Y-%m-%d"),
    )
