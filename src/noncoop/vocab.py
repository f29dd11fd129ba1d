"""The shared vocabulary, each word defined once: alert levels (ordered), event types with their
plain words and display kinds, identifier schemes, roles, hostility levels and pattern tags.

Every stage imports these from here; none keeps a copy. The names are part of the contract in
DESIGN.md: extend, never rename.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache


class Level(StrEnum):
    """How urgent an alert is, least to most severe; levels compare by severity."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for critical up to 4 for info: sorting by rank lists the most severe first."""
        return len(LEVELS) - 1 - LEVELS.index(self)

    # str's own comparisons would order levels alphabetically; these order them by severity.
    def __lt__(self, other: object) -> bool:
        return self._order(other) < 0

    def __le__(self, other: object) -> bool:
        return self._order(other) <= 0

    def __gt__(self, other: object) -> bool:
        return self._order(other) > 0

    def __ge__(self, other: object) -> bool:
        return self._order(other) >= 0

    def _order(self, other: object) -> int:
        return LEVELS.index(self) - LEVELS.index(Level(other))


LEVELS: tuple[Level, ...] = tuple(Level)
MOST_SEVERE_FIRST: tuple[Level, ...] = tuple(reversed(LEVELS))


@cache
def level_rank(level: str) -> int:
    """Sort key that lists the most severe level first (looked up once per level: a night sorts
    its 22,000 alerts by it at 100k children)."""
    return Level(level).rank


@dataclass(frozen=True)
class EventType:
    """One canonical event type: its name, what it is in words, and how reports mark it.

    `kind` groups types for display (kept, booked, missed, no access, hostility, …); `folded`
    names a run of them in a chronology ("4 appointments booked"), where runs may fold."""

    name: str
    words: str
    kind: str = "other"
    folded: str | None = None


_EVENT_TYPES = (
    EventType("appointment.booked", "Appointment booked", "booked", "appointments booked"),
    EventType("appointment.attended", "Appointment attended", "kept", "appointments attended"),
    EventType("appointment.missed", "Appointment missed (child not brought)", "missed"),
    EventType(
        "appointment.cancelled_by_family", "Appointment cancelled by the family", "cancelled"
    ),
    EventType("appointment.cancelled_by_service", "Appointment cancelled by the service"),
    EventType("appointment.cancelled", "Appointment cancelled (by whom not recorded)"),
    EventType("appointment.late", "Arrived late for the appointment", "late"),
    EventType(
        "visit.completed", "Home visit completed", "kept", "home visits completed, child seen"
    ),
    EventType("visit.no_access", "Home visit: no access", "no_access"),
    EventType("visit.refused", "Home visit refused", "no_access"),
    EventType("visit.cut_short", "Home visit cut short", "no_access"),
    EventType(
        "meeting.attended",
        "Meeting attended by the family",
        "kept",
        "meetings attended by the family",
    ),
    EventType("meeting.not_attended", "Meeting not attended by the family", "missed"),
    EventType("school.absence", "Absent from school", "absence"),
    EventType("school.attendance_summary", "School attendance", "attendance"),
    EventType("school.move", "Moved school"),
    EventType("school.elective_home_education", "Taken off roll for elective home education"),
    EventType("hostility.recorded", "Hostility towards a worker recorded", "hostility"),
    EventType("contact.excessive", "Excessive contact with workers", "hostility"),
    EventType("contact.call", "Phone call with the family"),
    EventType("address.change", "Change of address"),
    EventType("household.unknown_adult", "Unknown adult present in the household"),
    EventType("concern.raised", "Concern raised"),
    # A conference or review whose record says it took place but not who of the family came
    # (the Standard Safeguarding Dataset records none): neither kept nor missed.
    EventType("meeting.held", "Meeting held (family attendance not recorded)"),
    EventType("child.missing", "Reported missing or absent from home or care"),
)
EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _EVENT_TYPES}

# Agencies, services and other codes as a sentence says them; any other code reads with its
# underscores as spaces ("paediatric_diabetes" -> "paediatric diabetes").
WORDS: dict[str, str] = {
    "social_care": "social care",
    "gp": "GP",
    "cp": "child protection",
    "cp_visit": "child protection visits",
    "cin_visit": "child in need visits",
    "cla_visit": "looked-after child visits",
    "cp_conference": "child protection conference",
    "cp_review": "child protection review",
    "front_door": "front door (contacts and referrals)",
    "missing": "missing episodes",
    "health_visitor": "health visiting",
    "incident": "police incidents",
}


# What a record is, as a count in a sentence says it: "on 2 visits and 1 phone call". Looked up
# by the event type, then by its family (the part before the dot).
NOUNS: dict[str, tuple[str, str]] = {
    "visit": ("visit", "visits"),
    "appointment": ("appointment", "appointments"),
    "meeting": ("meeting", "meetings"),
    "school": ("school record", "school records"),
    "contact.call": ("phone call", "phone calls"),
    "child.missing": ("missing episode", "missing episodes"),
    "concern.raised": ("concern raised", "concerns raised"),
    "contact": ("contact", "contacts"),
    "hostility.recorded": ("separate note", "separate notes"),
}


def record_noun(event_type: str, agency: str | None) -> tuple[str, str]:
    """What one record is called in a sentence, singular and plural; a hostility record by the
    police is an incident they attended."""
    if event_type == "hostility.recorded" and agency == "police":
        return ("police incident", "police incidents")
    found = NOUNS.get(event_type) or NOUNS.get(event_type.split(".")[0])
    return found or ("record", "records")


def counted_nouns(kinds: Mapping[tuple[str, str | None], int]) -> str:
    """Records counted by what they are, most first, from how many there are of each (event
    type, agency): "2 visits and 1 phone call"."""
    counts: dict[tuple[str, str], int] = {}
    for (event_type, agency), n in kinds.items():
        noun = record_noun(event_type, agency)
        counts[noun] = counts.get(noun, 0) + n
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    parts = [f"{n} {one if n == 1 else many}" for (one, many), n in ordered]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def in_words(code: str) -> str:
    """A code as words for a sentence."""
    return WORDS.get(code, code.replace("_", " "))


def word_list(codes: Iterable[str], as_words: bool = True) -> str:
    """Distinct codes (as words, or ids as they are), in order: "education, health and social
    care"."""
    words = sorted({in_words(c) if as_words else c for c in codes})
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# What a DfE attendance code for an absent session means (school attendance guidance; F and H
# are codes of registers before August 2024). A school.absence event's detail is the code.
ABSENCE_CODES: dict[str, str] = {
    "C": "other authorised circumstances",
    "C1": "regulated performance or employment",
    "C2": "part-time timetable",
    "E": "suspended or excluded",
    "F": "agreed extended family holiday",
    "H": "agreed family holiday",
    "I": "illness",
    "J": "interview",
    "J1": "interview",
    "M": "medical or dental appointment",
    "R": "religious observance",
    "S": "study leave",
    "T": "parent travelling for work",
    "G": "holiday not agreed",
    "N": "no reason yet given",
    "O": "other unauthorised absence",
    "U": "arrived after registers closed",
}
UNAUTHORISED_ABSENCE: tuple[str, ...] = ("G", "N", "O", "U")


def absence_words(code: str) -> str:
    """An absence code as a reader says it: "N: no reason yet given, unauthorised"."""
    kind = "unauthorised" if code in UNAUTHORISED_ABSENCE else "authorised"
    meaning = ABSENCE_CODES.get(code)
    return f"{code}: {meaning}, {kind}" if meaning else f"{code}, {kind}"


ID_SCHEMES: tuple[str, ...] = ("nhs", "upn", "la", "police", "local")
CHECKED_SCHEMES: tuple[str, ...] = ("nhs", "upn")  # schemes with a check digit or letter
ROLES: tuple[str, ...] = ("child", "adult")

HOSTILITY: dict[int, str] = {
    1: "silence or avoidance",
    2: "verbal abuse",
    3: "intimidation or threats",
    4: "violence or damage",
}
HOSTILITY_LEVELS: tuple[int, ...] = tuple(HOSTILITY)
HOSTILITY_RANGE = f"{min(HOSTILITY)}-{max(HOSTILITY)}"

PATTERN_PREFIX = "pattern:"
PATTERN_TAGS: tuple[str, ...] = (
    "pattern:rebook-miss",
    "pattern:isolation",
    "pattern:partial-hostility",
    "pattern:no-access",
    "pattern:child-not-seen",
    "pattern:not-seen-alone",
    "pattern:escalating-hostility",
    "pattern:worker-safety",
    "pattern:missed-meetings",
    "pattern:ambivalence",
    "pattern:other",
)


def pattern_tag(tags: Iterable[str]) -> str | None:
    """The one `pattern:*` tag among a rule's or alert's tags."""
    return next((t for t in tags if t.startswith(PATTERN_PREFIX)), None)


def as_pattern_tag(text: str) -> str:
    """`rebook-miss` or `pattern:rebook-miss`, as the full tag."""
    return text if text.startswith(PATTERN_PREFIX) else PATTERN_PREFIX + text
