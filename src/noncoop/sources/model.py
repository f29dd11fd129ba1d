"""The declarative inputs as strict models: `sources.yaml` and the mapping profiles that describe
each agency export. An unknown key is an error; loading (load.py) reports it with file:line:col.
"""

from __future__ import annotations

import codecs
import re
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from noncoop.events import EVENT_TYPES
from noncoop.vocab import ID_SCHEMES
from noncoop.yamlspec import StrictModel

Importer = Literal["contact-log", "attendance", "fhir"]
# A profile may also describe a people file: a crosswalk extract such as ssd_linked_identifiers.
ProfileImporter = Literal["contact-log", "attendance", "fhir", "people"]
IdScheme = Literal[ID_SCHEMES]  # type: ignore[valid-type]

CONTACT_LOG_FIELDS = (
    "record_id",
    "id_scheme",
    "person_id",
    "agency",
    "service",
    "event_type",
    "occurred_at",
    "chain_id",
    "child_seen",
    "child_seen_alone",
    "hostility_level",
    "detail",
)
ATTENDANCE_FIELDS = ("upn", "date", "session", "code")
PEOPLE_FIELDS = ("subject_id", "id_scheme", "id_value", "household_id", "date_of_birth", "role")
FIELDS_BY_IMPORTER = {
    "contact-log": CONTACT_LOG_FIELDS,
    "attendance": ATTENDANCE_FIELDS,
    "fhir": (),
    "people": PEOPLE_FIELDS,
}


class FieldSpec(StrictModel):
    """Where one canonical field comes from: a source column (or several, joined: a composite
    record key), a constant, or a column with a default."""

    column: str | None = None
    columns: list[str] | None = Field(
        default=None, min_length=2, description="several columns joined by '|' (a composite key)"
    )
    value: str | int | bool | None = None
    default: str | int | bool | None = None
    map: dict[str, str | int | bool | None] | None = None
    unmapped: Literal["keep", "blank", "reject"] | None = None
    format: str | None = Field(default=None, description="strptime format for dates")
    # The part of the column's value a regular expression's first group captures (a person id
    # inside a workflow step id); a value it does not match is blank.
    pattern: str | None = None
    # A column the file may lack: read as blank, not every row rejected.
    optional: bool = False
    # Where this gives no value, another column's: a hostility level written on the visit or
    # call where it happened, when the note type does not say one. A file without that column
    # has nothing there to read.
    otherwise: FieldSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_origin(self) -> FieldSpec:
        origins = [x for x in (self.column, self.columns, self.value) if x is not None]
        if len(origins) != 1:
            raise ValueError(
                "give exactly one of 'column' (a source column), 'columns' (several, joined) "
                "or 'value' (a constant)"
            )
        if self.value is not None and (self.map or self.unmapped or self.default is not None):
            raise ValueError("a constant 'value' takes no 'map', 'unmapped' or 'default'")
        if self.unmapped and not self.map:
            raise ValueError("'unmapped' needs a 'map'")
        if self.otherwise is not None and self.otherwise.column is None:
            raise ValueError("'otherwise' names a column")
        if self.format is not None:
            _check_format(self.format)
        if self.pattern is not None:
            try:
                groups = re.compile(self.pattern).groups
            except re.error as exc:
                raise ValueError(f"'pattern' is not a regular expression: {exc}") from None
            if groups != 1:
                raise ValueError("'pattern' captures exactly one group: the value to keep")
        return self

    @property
    def source_columns(self) -> list[str]:
        """The source columns this field reads."""
        return self.columns or ([self.column] if self.column else [])


def _check_format(fmt: str) -> None:
    """A date format's directives must all be ones strptime knows: '%Q' fails every row."""
    if "%" not in fmt:
        raise ValueError(f"'{fmt}' has no % directive (e.g. '%d/%m/%Y %H:%M')")
    try:
        datetime.strptime("", fmt)
    except ValueError as exc:
        if "directive" in str(exc) or "stray" in str(exc):
            raise ValueError(f"'{fmt}' is not a date format: {exc}") from None


class RowFilter(StrictModel):
    """Rows whose column holds one of the values."""

    column: str
    values: list[str] = Field(min_length=1)


class Profile(StrictModel):
    """A mapping profile: how one system's export becomes canonical rows."""

    description: str = ""
    importer: ProfileImporter
    encoding: str = "utf-8"
    delimiter: str = ","
    # Only rows whose column holds one of the values are read (identifier types the crosswalk
    # uses); the others are accepted and counted apart, as skipped rows are.
    where: RowFilter | None = None
    # Rows read and accepted that are not events (a trailer, a test patient), counted apart.
    skip: RowFilter | None = None
    # Deletion markers: such a row withdraws its record (by its record key) from the store,
    # wherever in the source it was imported from.
    withdraw: RowFilter | None = None
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    codes: dict[str, str] = Field(
        default_factory=dict, description="attendance: local sub-code -> statutory DfE code"
    )
    booleans: dict[str, bool] = Field(
        default_factory=dict, description="extra yes/no spellings, e.g. {'Seen': true}"
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, name: str) -> str:
        try:
            codecs.lookup(name)
        except LookupError:
            raise ValueError(
                f"'{name}' is not a text encoding (e.g. utf-8, cp1252, latin-1, utf-16)"
            ) from None
        return name

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError("delimiter must be a single character")
        return v

    @model_validator(mode="after")
    def _known_fields(self) -> Profile:
        allowed = FIELDS_BY_IMPORTER[self.importer]
        unknown = [f for f in self.fields if f not in allowed]
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {unknown} for importer {self.importer}; "
                f"expected some of: {', '.join(allowed)}"
            )
        spec = self.fields.get("event_type")
        if spec and spec.map:
            bad = sorted({str(v) for v in spec.map.values() if v not in EVENT_TYPES and v})
            if bad:
                raise ValueError(f"fields.event_type.map maps to unknown event type(s) {bad}")
        if self.codes and self.importer != "attendance":
            raise ValueError("'codes' applies to the attendance importer only")
        if (self.skip or self.where) and self.importer not in ("contact-log", "people"):
            raise ValueError("'skip' and 'where' apply to contact logs and people files only")
        if self.withdraw and self.importer != "contact-log":
            raise ValueError("'withdraw' applies to the contact-log importer only")
        return self


class Covers(StrictModel):
    """The period a feed holds records for; `to` left out means it runs up to each scan's date."""

    from_: date = Field(alias="from")
    to: date | None = None

    def period(self) -> tuple[str, str | None]:
        """ISO dates; no end means up to each scan's date."""
        return self.from_.isoformat(), self.to.isoformat() if self.to else None

    @model_validator(mode="after")
    def _ordered(self) -> Covers:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"'to' ({self.to}) is before 'from' ({self.from_})")
        return self


class SourceSpec(StrictModel):
    """One agency feed in sources.yaml."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    importer: Importer
    path: str
    agency: str | None = None
    service: str | None = None
    id_scheme: IdScheme | None = None
    # FHIR: identifier systems read as people.csv schemes, beside the NHS number (a trust's
    # local MRN system as `local`, for one).
    identifiers: dict[str, IdScheme] = Field(default_factory=dict)
    profile: str | None = None
    # Exports are read from inside the sources folder; a path (or a link) leading out of it is
    # refused unless the source says so.
    allow_outside: bool = False
    covers: Covers | None = Field(
        default=None,
        description="declared period of the feed; otherwise the span of its events is used",
    )


class PeopleFile(StrictModel):
    """One file of the identity crosswalk: people.csv's layout, or another through a profile."""

    path: str
    profile: str | None = None


class SourcesFile(StrictModel):
    """The whole sources.yaml."""

    # The crosswalk: one file, or several read together (an SSD's person, family and linked
    # identifier extracts), each in people.csv's layout or through a profile.
    people: list[PeopleFile] = Field(
        default_factory=lambda: [PeopleFile(path="people.csv")], min_length=1
    )
    # The region's calendar: naive times in the exports are its local time, and days (the
    # as-of cut, windows, gaps, chronology dates) are its local days.
    timezone: str = "Europe/London"
    # The most of a source's stored events one run may withdraw because a new version of a file
    # no longer has them; a new version withdrawing more (a truncated export), and more than 10,
    # is refused unless the run is told --accept-withdrawals. An empty one is always refused so.
    max_withdrawn_share: float = Field(default=0.5, gt=0, le=1)
    # Dates no record can have are quarantined: before earliest_date (a year typed 1900 or
    # 0026), or more than days_ahead after the day of the ingest (a booking months ahead is
    # normal, years ahead a typing slip).
    earliest_date: date = date(1990, 1, 1)
    days_ahead: int = Field(default=400, ge=0)
    sources: list[SourceSpec]

    @field_validator("people", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        """`people: people.csv` and `people: {path: …}` are a list of one."""
        items = value if isinstance(value, list) else [value]
        return [{"path": v} if isinstance(v, str) else v for v in items]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{name}' is not an IANA timezone (e.g. Europe/London)") from None
        return name

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {dupes}")
        return self
