"""Every diagnostic code noncoop gives, each with a short text and a longer description.

Two kinds: configuration errors (sources.yaml, profiles, rule files), reported with file:line:col
and stopping the run before it starts; and reasons a row is rejected, kept in the quarantine with
its file and line while the rest of the file is read. `noncoop rules validate --explain CODE`
prints a description; docs/rules.md lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CONFIG = "configuration error"
    ROW = "rejected row"


@dataclass(frozen=True)
class Diagnostic:
    """One code of the catalogue."""

    code: str
    kind: Kind
    short: str
    description: str


CONFIG_FILES = {"SOURCES": "sources.yaml", "PROFILE": "a mapping profile", "RULE": "a rule file"}


def _per_file(prefix: str, what: str) -> tuple[Diagnostic, ...]:
    """The codes every strictly validated YAML file can give, for one kind of file."""
    return (
        Diagnostic(
            f"{prefix}-UNKNOWN-KEY",
            Kind.CONFIG,
            f"an unknown key in {what}",
            "Keys are never ignored: a misspelt key would silently change what the file means. "
            "The message lists the keys expected at that place.",
        ),
        Diagnostic(
            f"{prefix}-MISSING-KEY",
            Kind.CONFIG,
            f"a required key is missing from {what}",
            "The message names the key and where it belongs; docs/rules.md and the README "
            "describe each key.",
        ),
        Diagnostic(
            f"{prefix}-INVALID",
            Kind.CONFIG,
            f"a value in {what} is not what is expected there",
            "The value has the wrong type or breaks a rule of the format (for example a date "
            "that does not parse, two keys that exclude each other, a level that does not "
            "exist). The message says what was expected.",
        ),
        Diagnostic(
            f"{prefix}-UNREADABLE",
            Kind.CONFIG,
            f"{what} cannot be read",
            "The file is missing, not readable by this user, or not UTF-8 text.",
        ),
    )


_CONFIG = (
    Diagnostic(
        "YAML-SYNTAX",
        Kind.CONFIG,
        "the file is not valid YAML",
        "The YAML parser stopped at the position given: typically a bad indent, an unclosed "
        "quote or bracket, or a duplicate key in one mapping.",
    ),
    Diagnostic(
        "YAML-REFUSED",
        Kind.CONFIG,
        "the YAML is valid but not read",
        "A configuration holds plain data: a tag such as !!python/object is refused (nothing in "
        "a YAML file is ever executed), and so is a file that expands beyond the bounds (more "
        "than 20 reuses of anchors, 100,000 values, 2 MB, or values nested 50 levels deep): a "
        "few hundred lines is normal.",
    ),
    *(d for prefix, what in CONFIG_FILES.items() for d in _per_file(prefix, what)),
    Diagnostic(
        "SOURCES-MISSING",
        Kind.CONFIG,
        "the folder has no sources.yaml",
        "A sources folder describes its exports in sources.yaml: the people file and, for "
        "each source, its importer, path and optional profile.",
    ),
    Diagnostic(
        "SOURCES-PEOPLE",
        Kind.CONFIG,
        "the people file named in sources.yaml is not there",
        "Every event is linked to a child through the people file (identity crosswalk); "
        "without it nothing can be linked, so the run does not start.",
    ),
    Diagnostic(
        "SOURCES-OUTSIDE",
        Kind.CONFIG,
        "a source's path leads outside the sources folder",
        "Exports are read from inside the sources folder, so a folder copied elsewhere reads "
        "the same files and nothing outside it reaches the quarantine. An absolute path, '..' "
        "or a link pointing out is refused unless the source declares allow_outside: true.",
    ),
    Diagnostic(
        "SOURCES-SHARED-FILE",
        Kind.CONFIG,
        "one file is read by two sources",
        "Each source stores its own copy of every record it reads, so a file named by two "
        "sources would be stored twice and counted twice by the rules.",
    ),
    Diagnostic(
        "PROFILE-IMPORTER",
        Kind.CONFIG,
        "the profile is written for another importer",
        "A profile declares the importer it maps for (contact-log, attendance, fhir); the "
        "source using it must use the same importer.",
    ),
    Diagnostic(
        "RULE-NAME",
        Kind.CONFIG,
        "a selection or pattern name is not a plain name",
        "Names are lower case letters, digits and underscores, starting with a letter, so "
        "that conditions and message placeholders can refer to them.",
    ),
    Diagnostic(
        "RULE-UNKNOWN-SELECTION",
        Kind.CONFIG,
        "a pattern uses a selection that is not defined",
        "Every selection a pattern names (select, versus, open, until, steps, numerator, "
        "denominator) must be defined under `select:` in the same rule.",
    ),
    Diagnostic(
        "RULE-UNKNOWN-EVENT-TYPE",
        Kind.CONFIG,
        "an event type is not in the canonical vocabulary",
        "Selections and inline tests must name canonical event types (DESIGN.md), or a prefix "
        "ending in `*` such as `appointment.*`.",
    ),
    Diagnostic(
        "RULE-CONDITION",
        Kind.CONFIG,
        "the condition is not well formed",
        "A condition is a pattern or signal name, or a mapping with exactly one of all, any "
        "or not; `within` (such as 90d) applies to all.",
    ),
    Diagnostic(
        "RULE-PLACEHOLDER",
        Kind.CONFIG,
        "a message placeholder cannot be filled",
        "A placeholder is {pattern.value}, where the value is one the kind of pattern offers "
        "(docs/rules.md), or {window.start} / {window.end}. Nothing else can appear, so a "
        "message can never run anything.",
    ),
    Diagnostic(
        "RULE-TESTS",
        Kind.CONFIG,
        "the rule lacks a test that fires or a near miss that does not",
        "Every rule carries inline tests: at least one case that must raise an alert "
        "(expect: alert) and one realistic near miss that must not (expect: none).",
    ),
    Diagnostic(
        "RULE-DUPLICATE-ID",
        Kind.CONFIG,
        "two rule files use the same id",
        "Rule ids name alerts in the store and the audit; each must be used by one file only.",
    ),
    Diagnostic(
        "RULE-UNKNOWN-SIGNAL",
        Kind.CONFIG,
        "the condition names something that is neither a pattern nor a concluded signal",
        "A condition may use the rule's own patterns and signals that other rules conclude "
        "(`conclude:`). Check the spelling against both.",
    ),
    Diagnostic(
        "RULE-CYCLE",
        Kind.CONFIG,
        "rules conclude signals, or supersede each other, in a circle",
        "A rule that uses a concluded signal runs after the rule that concludes it, so no "
        "rule may need, directly or through others, the signal it concludes itself. Rules "
        "superseding each other (`related: supersedes`), directly or through others, would "
        "fold each other's alerts away, so that is refused too.",
    ),
)

_ROWS = (
    Diagnostic(
        "CSV-MALFORMED",
        Kind.ROW,
        "the line does not have as many fields as the header",
        "Usually a stray delimiter or an unquoted comma inside a value; the line is kept as "
        "written. Where a stray quote paired with one lines later, the reason names both lines "
        "and the lines between are read again as the rows they are.",
    ),
    Diagnostic(
        "CSV-DELIMITER",
        Kind.ROW,
        "the file is delimited by another character",
        "The header is one column holding ';', a tab or '|': the export uses that delimiter. "
        "Every line is kept; declare `delimiter:` in the source's profile and ingest again.",
    ),
    Diagnostic(
        "CSV-UNCLOSED-QUOTE",
        Kind.ROW,
        "a quote opened on the line is never closed",
        "The value ran to the end of the file, taking every later line with it. The line is "
        "quarantined and the lines after it are read again as the rows they are.",
    ),
    Diagnostic(
        "CSV-ENCODING",
        Kind.ROW,
        "the line is not valid text in the file's encoding",
        "Declare the export's encoding in its profile (`encoding: cp1252`, for example).",
    ),
    Diagnostic(
        "FILE-UNREADABLE",
        Kind.ROW,
        "the file could not be read to the end",
        "What was read before the failure is kept and counted; the file is read again on the "
        "next run. A changed file that fails this way leaves its last good version in place.",
    ),
    Diagnostic(
        "JSON-MALFORMED",
        Kind.ROW,
        "the line or document is not valid JSON",
        "FHIR input is read as a Bundle, a single resource or NDJSON (one resource a line).",
    ),
    Diagnostic(
        "XML-MALFORMED",
        Kind.ROW,
        "a FHIR XML document is not well-formed",
        "The whole document is kept in the quarantine (its first 10,000 characters) as one "
        "record: XML cannot be read in part. Check the export for truncation.",
    ),
    Diagnostic(
        "MISSING-FIELD",
        Kind.ROW,
        "a field the event needs is blank or its column is missing",
        "Record id, person id, event type and date are needed for every event (agency and "
        "identifier scheme may come from sources.yaml).",
    ),
    Diagnostic(
        "BAD-VALUE",
        Kind.ROW,
        "a value is not one the field allows",
        "For example a yes/no field holding another word, a hostility level outside 1-4, or "
        "a code that the profile's map does not know (with `unmapped: reject`).",
    ),
    Diagnostic(
        "BAD-DATE",
        Kind.ROW,
        "the date does not parse",
        "Dates are ISO 8601 unless the profile gives a `format` for the column.",
    ),
    Diagnostic(
        "IMPLAUSIBLE-DATE",
        Kind.ROW,
        "no record can have this date",
        "Before the region's earliest_date (1990 unless sources.yaml says otherwise: a year "
        "typed 1900 or 0026), more than days_ahead (400) after the day of the ingest, or before "
        "the person's date of birth in the crosswalk.",
    ),
    Diagnostic(
        "BAD-EVENT-TYPE",
        Kind.ROW,
        "the event type is not in the canonical vocabulary",
        "Map the system's own values to canonical event types in the profile.",
    ),
    Diagnostic(
        "BAD-ATTENDANCE-CODE",
        Kind.ROW,
        "the attendance mark is not a DfE code and the profile does not map it",
        "Map a school system's local sub-codes to statutory codes under `codes:` in the "
        "register's profile.",
    ),
    Diagnostic(
        "DUPLICATE-RECORD",
        Kind.ROW,
        "the record repeats an earlier row of the same file",
        "The first row is kept; the message names the line it first appeared on.",
    ),
    Diagnostic(
        "UNKNOWN-SCHEME",
        Kind.ROW,
        "the identifier scheme is not nhs, upn, la, police or local",
        "Set `id_scheme` in the export, in sources.yaml or in the profile.",
    ),
    Diagnostic(
        "INVALID-ID",
        Kind.ROW,
        "the identifier fails its check digit or format",
        "An NHS number that fails its modulus-11 check or a UPN whose check letter does not "
        "hold is never matched: a mistyped number could attach one child's records to "
        "another child.",
    ),
    Diagnostic(
        "AMBIGUOUS-ID",
        Kind.ROW,
        "the identifier belongs to more than one person in the people file",
        "Resolve the duplicate in the people file; until then the records are not linked "
        "to either person.",
    ),
    Diagnostic(
        "UNLINKED-ID",
        Kind.ROW,
        "the identifier is not in the people file",
        "Add the person's identifier to the people file; the rows are linked on the next "
        "run (the file is read again when the people file changes).",
    ),
    Diagnostic(
        "ADULT-NO-HOUSEHOLD",
        Kind.ROW,
        "an adult's record cannot count for any child",
        "An adult's events count for the children of their household; give the adult a "
        "household_id in the people file.",
    ),
    Diagnostic(
        "BAD-PERSON",
        Kind.ROW,
        "a row of the people file is incomplete or wrong",
        "subject_id, id_scheme and id_value are needed; role is child or adult; "
        "date_of_birth is an ISO date.",
    ),
    Diagnostic(
        "PEOPLE-CONFLICT",
        Kind.ROW,
        "a person's rows disagree on household, role or date of birth",
        "Every row of the person is kept back, naming two lines that disagree: records linked "
        "to the wrong household would count for another family's children. Their records are "
        "quarantined as unlinked until the crosswalk agrees; a blank value agrees with any.",
    ),
)

CATALOGUE: dict[str, Diagnostic] = {d.code: d for d in (*_CONFIG, *_ROWS)}


def describe(code: str) -> Diagnostic | None:
    """The catalogue entry for a code (any case), or None."""
    return CATALOGUE.get(code.strip().upper())
