"""Apply a mapping profile to a block of source rows, producing canonical fields as text.

Shared by every CSV importer: renames, constants, defaults and value maps are declared in YAML,
so a new agency system needs a profile, not code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from noncoop.asof import TIMEZONE
from noncoop.quarantine import Checks
from noncoop.sources.model import FieldSpec, Profile, RowFilter

TRUE_WORDS = {"yes", "y", "true", "t", "1"}
FALSE_WORDS = {"no", "n", "false", "f", "0"}


def missing_columns(
    profile: Profile, fields: tuple[str, ...], header: list[str], required: tuple[str, ...] = ()
) -> list[str]:
    """Source columns the profile names that the file does not have, then the `required`
    canonical columns it lacks where the profile names none for them."""
    named = {
        column
        for name, spec in resolved_specs(profile, fields, header).items()
        if name in profile.fields and not spec.optional
        for column in spec.source_columns
        if column not in header
    }
    canonical = [f for f in required if f not in profile.fields and f not in header]
    return sorted(named) + canonical


def fields_without_columns(
    profile: Profile, fields: tuple[str, ...], header: list[str]
) -> set[str]:
    """Canonical fields a file cannot give: a column they need is not in its header."""
    specs = resolved_specs(profile, fields, header)
    return {
        name
        for name in fields
        if (spec := specs.get(name)) is None
        or (not spec.optional and any(c not in header for c in spec.source_columns))
    }


def reject_missing_columns(checks: Checks, absent: list[str]) -> None:
    """Every row is rejected when the file lacks a column its profile (or the canonical
    layout) needs."""
    if absent:
        checks.add(
            pd.Series(True, index=checks.index),
            "MISSING-FIELD",
            f"the file has no column {', '.join(absent)}",
        )


def resolved_specs(
    profile: Profile, fields: tuple[str, ...], header: list[str]
) -> dict[str, FieldSpec]:
    """The profile's field specs, plus identity mappings for canonical columns present as-is."""
    specs = dict(profile.fields)
    for name in fields:
        if name not in specs and name in header:
            specs[name] = FieldSpec(column=name)
    return specs


def apply_fields(
    rows: pd.DataFrame, profile: Profile, fields: tuple[str, ...], checks: Checks
) -> pd.DataFrame:
    """Canonical fields (text, NA for blank) for each row; rejected values go to `checks`."""
    specs = resolved_specs(profile, fields, list(rows.columns))
    out = {}
    for name in fields:
        spec = specs.get(name)
        if spec is None:
            out[name] = pd.Series(pd.NA, index=rows.index, dtype="string")
            continue
        out[name] = _field(rows, spec, name, checks)
    return pd.DataFrame(out, index=rows.index)


def _field(rows: pd.DataFrame, spec: FieldSpec, name: str, checks: Checks) -> pd.Series:
    """One canonical field from its spec: a constant, or a column mapped and defaulted, with
    the `otherwise` column's value where that gives none."""
    if spec.value is not None:
        return pd.Series(_text(spec.value), index=rows.index, dtype="string")
    if not all(c in rows for c in spec.source_columns):
        # An optional column the file lacks reads as blank: its default, or the `otherwise`
        # column (the same field under another system's column name).
        col = pd.Series(pd.NA, index=rows.index, dtype="string")
    elif spec.columns:
        col = _joined(rows, spec.columns)
    else:
        col = rows[spec.column].astype("string")
    if spec.pattern:
        col = col.str.extract(spec.pattern, expand=False).astype("string")
    if spec.map:
        table = {str(k): (None if v is None else _text(v)) for k, v in spec.map.items()}
        mapped = col.map(table).astype("string")
        hit = col.isin(list(table)).fillna(False)
        policy = spec.unmapped or "keep"
        if policy == "keep":
            col = mapped.where(hit, col)
        elif policy == "blank":
            col = mapped.where(hit, pd.NA)
        else:
            checks.add(
                col.notna() & ~hit,
                "BAD-VALUE",
                name
                + ": value '{}' has no mapping in the profile (column "
                + ", ".join(spec.source_columns).replace("{}", "")
                + ")",
                col,
            )
            col = mapped
    if spec.default is not None:
        col = col.fillna(_text(spec.default))
    if spec.otherwise is not None:
        col = col.fillna(_field(rows, spec.otherwise, name, checks))
    return col


def _joined(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Several columns as one value, joined by '|' (blank where all are blank)."""
    parts = [rows[c].astype("string") for c in columns]
    joined = parts[0].fillna("")
    for part in parts[1:]:
        joined = joined + "|" + part.fillna("")
    blank = pd.concat([p.isna() for p in parts], axis=1).all(axis=1)
    return joined.mask(blank)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_booleans(
    values: pd.Series, extra: dict[str, bool], field: str, checks: Checks
) -> pd.Series:
    """yes/no/true/false/1/0/blank (plus the profile's spellings) to a nullable boolean."""
    table = dict.fromkeys(TRUE_WORDS, True) | dict.fromkeys(FALSE_WORDS, False)
    table |= {k.lower(): v for k, v in extra.items()}
    codes, uniques = pd.factorize(values.astype("string").str.lower())
    parsed = pd.Series(uniques, dtype=object).map(table)
    lookup = np.append(parsed.to_numpy(dtype=object), None)
    unknown = np.append(parsed.isna().to_numpy(), False)
    checks.add(
        pd.Series(unknown[codes], index=values.index),
        "BAD-VALUE",
        field + ": '{}' is not yes/no",
        values,
    )
    return pd.Series(lookup[codes], index=values.index, dtype="boolean")


def parse_times(
    values: pd.Series, fmt: str | None, field: str, checks: Checks, timezone: str | None = None
) -> pd.Series:
    """Dates or date-times (ISO 8601 unless the profile gives a format) to UTC timestamps. A
    value with an offset (or Z) is that instant; one without is local time in `timezone` (the
    region's calendar, UK by default); a bare date is that day, stored as its UTC midnight.

    Each distinct text is parsed once: exports repeat the same dates many times."""
    codes, uniques = pd.factorize(values)
    texts = pd.Series(uniques, dtype="string")
    parsed = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns, UTC]")
    # Only ISO text or a format with %z can carry an offset ("05-01-2026" ends like one).
    offset = pd.Series(False, index=texts.index)
    if fmt is None or "%z" in fmt:
        offset = texts.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
    dated = texts.str.fullmatch(r"\d{4}-\d\d-\d\d").fillna(False) if fmt is None else None
    if offset.any():
        parsed[offset] = _in_range(
            pd.to_datetime(texts[offset], format=fmt or "ISO8601", errors="coerce", utc=True)
        )
    naive = ~offset
    if naive.any():
        local = _in_range(pd.to_datetime(texts[naive], format=fmt or "ISO8601", errors="coerce"))
        timed = (local - local.dt.normalize()) != pd.Timedelta(0)
        if dated is not None:
            timed &= ~dated[naive]
        stamps = local.dt.tz_localize("UTC")
        zone_name = timezone or TIMEZONE
        moved = (
            local[timed]
            .dt.tz_localize(zone_name, ambiguous=False, nonexistent="shift_forward")
            .dt.tz_convert("UTC")
        )
        stamps[timed] = moved
        parsed[naive] = stamps
    lookup = pd.DatetimeIndex(parsed).append(pd.DatetimeIndex([pd.NaT], tz="UTC"))
    result = pd.Series(lookup[codes], index=values.index)
    expected = f"format {fmt}" if fmt else "an ISO 8601 date"
    unread = values.notna() & result.isna()
    outside = pd.Series(False, index=values.index)
    if unread.any():  # a year pandas cannot hold (0026, 9999), told apart from a bad date
        year = values[unread].astype("string").str.extract(r"(?<!\d)(\d{4})(?!\d)")[0]
        far = ~pd.to_numeric(year, errors="coerce").between(1678, 2261)
        outside[unread] = far & year.notna()
    checks.add(
        outside,
        "IMPLAUSIBLE-DATE",
        field + ": '{}' is a date no record can have (its year is before 1678 or after 2261)",
        values,
    )
    checks.add(unread & ~outside, "BAD-DATE", field + ": '{}' is not " + expected, values)
    return result


def row_filters(
    rows: pd.DataFrame, profile: Profile, checks: Checks
) -> tuple[np.ndarray, np.ndarray]:
    """Rows the profile skips (`skip`, or outside `where`) and deletion markers (`withdraw`):
    read and accepted, neither an event nor a person."""
    none = np.zeros(len(rows), bool)
    filters = (profile.skip, profile.where, profile.withdraw)
    skip, where, withdraw = (_matches(rows, f, checks) for f in filters)
    skipped = (none if skip is None else skip) | (none if where is None else ~where)
    return skipped, (none if withdraw is None else withdraw) & ~skipped


def _matches(rows: pd.DataFrame, spec: RowFilter | None, checks: Checks) -> np.ndarray | None:
    """Rows whose column holds one of the filter's values (None without a filter). A file
    without the column has every row rejected."""
    if spec is None:
        return None
    if spec.column not in rows:
        checks.add(
            pd.Series(True, index=rows.index),
            "MISSING-FIELD",
            f"the file has no column {spec.column} the profile filters rows on",
        )
        return None
    return rows[spec.column].astype("string").isin(spec.values).fillna(False).to_numpy()


def _in_range(stamps: pd.Series) -> pd.Series:
    """Parsed times as nanoseconds; a year pandas cannot hold that way (0026, 9999) is NaT."""
    if stamps.dtype.kind != "M":
        return stamps
    unit = getattr(stamps.dtype, "unit", None) or np.datetime_data(stamps.dtype)[0]
    if unit == "ns":
        return stamps
    tz = getattr(stamps.dtype, "tz", None)
    low, high = (t.tz_localize(tz) if tz else t for t in (pd.Timestamp.min, pd.Timestamp.max))
    ns = f"datetime64[ns, {tz}]" if tz else "datetime64[ns]"
    return stamps.where((stamps >= low) & (stamps <= high)).astype(ns)


def require(frame: pd.DataFrame, names: tuple[str, ...], checks: Checks) -> None:
    """Reject rows where any required field is blank, naming each blank field."""
    for name in names:
        checks.add(frame[name].isna(), "MISSING-FIELD", f"{name} is blank")
