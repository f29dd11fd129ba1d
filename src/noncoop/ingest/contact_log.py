"""Contact logs: one row per appointment, visit, meeting or incident, in the canonical layout or
any other layout described by a mapping profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.events import EVENT_TYPES, conform, event_id_numbers, event_ids
from noncoop.identity.crosswalk import Crosswalk
from noncoop.ingest.base import ImportBlock
from noncoop.ingest.plausible import check_dates
from noncoop.sources.csvread import header_warnings, read_csv_batches, read_header
from noncoop.sources.load import LoadedSource
from noncoop.sources.mapping import (
    apply_fields,
    fields_without_columns,
    missing_columns,
    parse_booleans,
    parse_times,
    reject_missing_columns,
    require,
    row_filters,
)
from noncoop.sources.model import CONTACT_LOG_FIELDS
from noncoop.store.keyset import KeySet
from noncoop.vocab import HOSTILITY_LEVELS, HOSTILITY_RANGE

REQUIRED = ("record_id", "person_id", "event_type", "occurred_at", "agency", "id_scheme")
CANONICAL_REQUIRED = REQUIRED[:4]  # agency and id_scheme may come from sources.yaml


def read_contact_log(
    path: Path, source: LoadedSource, source_file: str, people: Crosswalk
) -> Iterator[ImportBlock]:
    """Yield linked canonical events block by block; every rejected row is kept with a reason."""
    profile = source.profile
    header = read_header(path, profile.encoding, profile.delimiter)
    # Without a profile naming them, the canonical columns must be in the header.
    absent = missing_columns(profile, CONTACT_LOG_FIELDS, header, CANONICAL_REQUIRED)
    # A field whose column the file lacks is reported once, as the missing column.
    lacking = fields_without_columns(profile, CANONICAL_REQUIRED, header)
    required = [f for f in REQUIRED if f not in lacking]
    warnings = header_warnings(path, profile.encoding, profile.delimiter)
    seen = KeySet()
    for batch in read_csv_batches(
        path, source.name, source_file, profile.encoding, profile.delimiter
    ):
        rows = batch.rows
        checks = quarantine.Checks(rows.index)
        reject_missing_columns(checks, absent)
        fields = _fields(rows, source, checks, required)
        keys = fields["record_id"]
        ids = pd.Series(pd.NA, index=rows.index, dtype="string")
        present = keys.notna().to_numpy()
        ids[present] = event_ids(source.name, keys[present].astype(str))
        _duplicates(ids, keys, rows["_line"], seen, checks)
        who = people.link(
            pd.DataFrame({"id_scheme": fields["id_scheme"], "id_value": fields["person_id"]}),
            checks,
        )
        links = who["link_code"].to_numpy()
        check_dates(fields["occurred_at"], links, people, source, "occurred_at", checks)
        skipped, marked = row_filters(rows, profile, checks)
        # A skipped row needs no fields, a deletion marker only its record key.
        checks.clear(skipped | (marked & keys.notna().to_numpy()))
        good = ~checks.failed.to_numpy()
        gone = ids[marked & good]
        withdraw = event_id_numbers(gone) if len(gone) else np.zeros(0, np.uint64)
        other = {
            "rows skipped by the profile": int((skipped & good).sum()),
            "deletion markers": int((marked & good).sum()),
        }
        # A record and its deletion marker in one block: the marker wins.
        events_ok = good & ~skipped & ~marked & ~ids.isin(gone).fillna(False).to_numpy()
        original = rows.drop(columns="_line")
        _, rejected = checks.split(original, source.name, source_file, rows["_line"], keys)
        events = pd.DataFrame(
            {
                "event_id": ids,
                "subject_id": who["subject_id"],
                "subject_role": who["subject_role"],
                "household_id": who["household_id"],
                **fields.drop(columns=["record_id", "person_id", "id_scheme"]),
                "source": source.name,
                "source_file": source_file,
                "source_line": rows["_line"],
                "record_key": keys,
                "id_scheme": who["id_scheme"],
                "id_value": who["id_value"],
            }
        )[events_ok]
        rejected = pd.concat([batch.rejected, rejected], ignore_index=True)
        yield ImportBlock(
            conform(events),
            rejected,
            batch.rows_read,
            int(good.sum()),
            other={k: v for k, v in other.items() if v},
            warnings=warnings,
            withdraw=withdraw,
        )


def _fields(
    rows: pd.DataFrame, source: LoadedSource, checks: quarantine.Checks, required: list[str]
) -> pd.DataFrame:
    """The canonical fields of a block, parsed (times, yes/no, levels); bad values go to checks."""
    profile, spec = source.profile, source.spec
    fields = apply_fields(rows, profile, CONTACT_LOG_FIELDS, checks)
    for name, default in (
        ("agency", spec.agency),
        ("service", spec.service),
        ("id_scheme", spec.id_scheme),
    ):
        if default:
            fields[name] = fields[name].fillna(default)
    fields["agency"] = fields["agency"].str.lower()
    fields["service"] = fields["service"].str.lower()
    require(fields, tuple(required), checks)  # a column the file lacks is said once, above
    checks.add(
        fields["event_type"].notna() & ~fields["event_type"].isin(EVENT_TYPES),
        "BAD-EVENT-TYPE",
        "event_type '{}' is not a canonical event type",
        fields["event_type"],
    )
    fields["occurred_at"] = parse_times(
        fields["occurred_at"],
        _format(profile, "occurred_at"),
        "occurred_at",
        checks,
        source.timezone,
    )
    for flag in ("child_seen", "child_seen_alone"):
        fields[flag] = parse_booleans(fields[flag], profile.booleans, flag, checks)
    level = pd.to_numeric(fields["hostility_level"], errors="coerce")
    checks.add(
        fields["hostility_level"].notna() & ~level.isin(HOSTILITY_LEVELS),
        "BAD-VALUE",
        f"hostility_level '{{}}' is not {HOSTILITY_RANGE}",
        fields["hostility_level"],
    )
    fields["hostility_level"] = level
    return fields


def _format(profile, field: str) -> str | None:
    spec = profile.fields.get(field)
    return spec.format if spec else None


def _duplicates(
    ids: pd.Series, keys: pd.Series, lines: pd.Series, seen: KeySet, checks: quarantine.Checks
) -> None:
    """A record key that repeats within the file is rejected, citing the line it first appeared."""
    present = ids.notna()
    numbers = pd.Series(np.zeros(len(ids), np.uint64), index=ids.index)
    numbers[present] = event_id_numbers(ids[present])
    repeat_here = present & numbers.duplicated(keep="first")
    if repeat_here.any():
        first_line = lines.groupby(numbers).transform("min")
        checks.add(
            repeat_here,
            "DUPLICATE-RECORD",
            "record_id '{}' repeats an earlier row (first at line {})",
            keys,
            first_line,
        )
    repeat_prior = present & pd.Series(seen.contains(numbers.to_numpy()), index=ids.index)
    checks.add(
        repeat_prior & ~repeat_here,
        "DUPLICATE-RECORD",
        "record_id '{}' repeats a row in an earlier block of this file",
        keys,
    )
    seen.add(numbers[present].to_numpy())
