"""The explained alert the engine concludes: rule, child, window, every evidence record with its
source file and line, the guidance passage and the recommended actions.

`to_json()` gives the alert JSON contract of DESIGN.md (fields may be added, never renamed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

import orjson

from noncoop.vocab import pattern_tag

T = TypeVar("T")

# How deep a scan's JSON file holds an alert's evidence and related alerts (the file, its list of
# alerts, an alert, the list): the store keeps their text laid out so, for a night to write the
# alerts it finds as they were from their text as it is (Alert.laid_out).
LAID_OUT = 3


def relaid(text: str, depth: int, was: int = 0) -> str:
    """JSON text laid out by two spaces as if `was` levels in, laid out `depth` levels in."""
    return text if depth == was else text.replace("\n" + "  " * was, "\n" + "  " * depth)


def frozen_made(cls: type[T], fields: Iterable[tuple[str, Any]]) -> T:
    """A frozen dataclass with these (name, value) fields, set as its `__init__` sets them less
    a call to `object.__setattr__` for each: for what a night makes by the ten thousand (a
    night at 100k children makes 80,000 evidence records, and a window and a triage for each
    of its 22,000 alerts)."""
    made = object.__new__(cls)
    vars(made).update(fields)
    return made


@dataclass(frozen=True)
class Window:
    """First and last day (ISO) the alert's evidence covers."""

    start: str
    end: str

    def to_json(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}

    @classmethod
    def of(cls, start: str, end: str) -> Window:
        return frozen_made(cls, (("start", start), ("end", end)))


@dataclass(frozen=True)
class Evidence:
    """One record an alert rests on, traceable to its source file and line."""

    event_id: str
    agency: str | None
    service: str | None
    event_type: str
    occurred_at: str  # a day, or a UTC time where the record has one
    source: str
    source_file: str
    source_line: int
    via_subject_id: str | None = None  # the household adult whose record it is
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's evidence record; the optional fields only where they hold a value."""
        return dict(self.record)

    @property
    def record(self) -> dict[str, Any]:
        """`to_json()` made once and shared, for writing out only (never to be changed): a
        record is written to the store and to the JSON, for every alert citing it. Kept in the
        instance's dict by hand: functools.cached_property takes a lock on every first read
        before Python 3.12, a fifth of a second for a night's 80,000 records."""
        values = vars(self)  # the fields by name: cheaper than getattr
        record = values.get("_record")
        if record is None:
            record = {name: values[name] for name in EVIDENCE_FIELDS}
            for name in OPTIONAL:
                if record[name] is None:
                    del record[name]
            values["_record"] = record
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Evidence:
        return cls.of(*map(record.get, EVIDENCE_FIELDS))

    @classmethod
    def of(cls, *values: Any) -> Evidence:
        """The record of these field values, in EVIDENCE_FIELDS order."""
        return frozen_made(cls, zip(EVIDENCE_FIELDS, values, strict=True))


# Read once: dataclasses.asdict and fields() cost more than the records they serialise.
EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))
OPTIONAL = ("via_subject_id", "detail")


@dataclass(frozen=True)
class Related:
    """The alert of a superseded rule, folded into the alert of the rule superseding it: it held
    for the same child on the same days, and is listed with it instead of raised on its own."""

    rule_id: str
    title: str
    level: str
    window: Window
    explanation: str
    evidence: tuple[Evidence, ...]
    relation: str = "superseded"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level,
            "relation": self.relation,
            "window": self.window.to_json(),
            "explanation": self.explanation,
            "evidence": [e.record for e in self.evidence],
        }

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Related:
        return cls(
            rule_id=record["rule_id"],
            title=record["title"],
            level=record["level"],
            window=Window(**record["window"]),
            explanation=record["explanation"],
            evidence=tuple(Evidence.from_json(e) for e in record["evidence"]),
            relation=record.get("relation", "superseded"),
        )


@lru_cache(maxsize=256)
def _pattern(tags: tuple[str, ...]) -> str | None:
    """A rule's pattern tag, found once per rule rather than for each of its alerts."""
    return pattern_tag(tags)


def episode_id(rule_id: str, subject_id: str, day: str) -> str:
    """An alert's id: its rule, its child and the day it was first raised."""
    return hashlib.sha256(f"{rule_id}|{subject_id}|{day}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One rule met for one child over one window."""

    alert_id: str
    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    subject_id: str
    household_id: str | None
    window: Window
    explanation: str
    evidence: tuple[Evidence, ...]
    guidance: tuple[str, ...]
    actions: tuple[str, ...]
    # The days the rule held, for an alert found over the whole history (an episode).
    held: Window | None = field(default=None, kw_only=True)
    # For an episode: its window's start as known on the first day it held, which a nightly scan
    # that day would have seen (and the alert id rests on).
    opened: str | None = field(default=None, kw_only=True)
    # Alerts of superseded rules folded into this one (one fact, one alert).
    related: tuple[Related, ...] = field(default=(), kw_only=True)
    # What the alert was explained from (recall.py): the same fingerprint, the same alert. Not
    # part of what the alert says, so not compared: a single date's alerts have none.
    fingerprint: str | None = field(default=None, kw_only=True, compare=False)

    @classmethod
    def recalled(cls, stored: Stored, **fields: Any) -> Alert:
        """The alert as the store holds it (`stored`: its window given among the other `fields`,
        as made from the stored days); its evidence and related alerts stay the stored JSON
        text until something asks for them as records (`__getattr__`): most nights write them
        back as they are."""
        alert = object.__new__(cls)
        vars(alert).update(
            fields,
            household_id=stored.household_id,
            explanation=stored.explanation,
            _stored=stored,
        )
        return alert

    def __getattr__(self, name: str) -> Any:
        """A recalled alert's evidence and related alerts, read from the stored text when first
        asked for (only called for names the instance does not hold)."""
        stored = vars(self).get("_stored")
        if stored is None or name not in ("evidence", "related"):
            raise AttributeError(name)
        records = orjson.loads(getattr(stored, name) or "[]")
        maker = Evidence.from_json if name == "evidence" else Related.from_json
        value = vars(self)[name] = tuple(map(maker, records))
        return value

    def stored_text(self, name: str) -> str | None:
        """The JSON text the store holds for a recalled alert's `evidence` or `related` (None:
        the alert was explained tonight)."""
        stored = vars(self).get("_stored")
        return getattr(stored, name) if stored is not None else None

    def _unread(self, name: str) -> str | None:
        """The stored text of `evidence` or `related` where it has not been read into records
        yet (then the text is what to write out, not the records)."""
        return self.stored_text(name) if name not in vars(self) else None

    def evidence_records(self) -> list[dict[str, Any]]:
        """The evidence as the contract's records (shared with the alert: for writing out)."""
        text = self._unread("evidence")
        if text is not None:
            return orjson.loads(text)
        return [e.record for e in self.evidence]

    def laid_out(self, name: str, depth: int) -> orjson.Fragment | None:
        """A recalled alert's `evidence` or `related` as its stored text, laid out for a JSON file
        indented by two spaces where the list stands `depth` levels in (None: there is no such
        text, as for an alert explained tonight, or a list stored empty or on one line). The
        store lays it out where a scan's file holds it (LAID_OUT), so most nights write it as it
        is; text laid out at another depth (at the top level, in a store written before) is
        laid out again."""
        text = self.stored_text(name)
        stored = None if text is None else _laid_depth(text)
        if stored is None:
            return None
        return orjson.Fragment(relaid(text, depth, stored))

    def related_records(self) -> list[dict[str, Any]]:
        """The related alerts as the contract's records."""
        text = self._unread("related")
        if text is not None:
            return orjson.loads(text) if text != "[]" else []  # most alerts list none
        return [r.to_json() for r in self.related]

    @property
    def pattern(self) -> str | None:
        return _pattern(self.tags)

    def as_related(self) -> Related:
        """This alert, folded into another's."""
        return Related(
            self.rule_id, self.title, self.level, self.window, self.explanation, self.evidence
        )

    @property
    def evidence_ids(self) -> list[str]:
        return [e.event_id for e in self.evidence]

    def content_json(
        self, after_rule: dict[str, Any] | None = None, evidence: Any = None, related: Any = None
    ) -> dict[str, Any]:
        """Every field of the alert as JSON, in the contract's order, with `after_rule`'s after
        the rule id (its evidence records shared with the alert: for writing out), and the
        `evidence` and `related` alerts given in place of the records (laid out already:
        `laid_out`)."""
        related = self.related_records() if related is None else related
        return {
            "alert_id": self.alert_id,
            "rule_id": self.rule_id,
            **(after_rule or {}),
            "title": self.title,
            "level": self.level,
            "tags": list(self.tags),
            "subject_id": self.subject_id,
            "household_id": self.household_id,
            "window": self.window.to_json(),
            "explanation": self.explanation,
            "evidence": self.evidence_records() if evidence is None else evidence,
            "guidance": list(self.guidance),
            "actions": list(self.actions),
            **({"held": self.held.to_json()} if self.held else {}),
            **({"related": related} if related else {}),
        }

    def to_json(self) -> dict[str, Any]:
        """The contract's alert, as a newly found alert."""
        return {**self.content_json(), "status": "new"}


class Stored(NamedTuple):
    """What the store holds of an alert that the engine did not work out again: the columns
    that come from its records (evidence and related alerts as the JSON text stored)."""

    household_id: str | None
    window_start: str
    window_end: str
    explanation: str
    evidence: str
    related: str | None

    def whole(self) -> bool:
        """Whether its evidence and related alerts are whole lists as the store writes them. A
        text cut short or written over otherwise is not written out as it is, into a file that
        would then not be JSON: its alert is explained again from its records."""
        return _whole(self.evidence) and (self.related is None or _whole(self.related))


def _whole(text: str) -> bool:
    """A list on one line, or laid out by two spaces from its opening bracket to a closing one
    on a line of its own, one level shallower than its items."""
    depth = _laid_depth(text)
    if depth is None:
        return text.startswith("[") and text.endswith("]") and "\n" not in text
    return text.endswith("\n" + "  " * depth + "]")


def _laid_depth(text: str) -> int | None:
    """How many levels in a list of objects was laid out by two spaces (None: it was not)."""
    first = _FIRST_ITEM.match(text)
    return None if first is None else len(first.group(1)) // 2 - 1


_FIRST_ITEM = re.compile(r"\[\n((?:  )+)\{")


class Folded(NamedTuple):
    """An alert folded tonight into an alert recalled rather than explained (recall.py), which
    lists it as the store holds it: what the store must know of it."""

    rule_id: str
    subject_id: str
    held: Window | None
