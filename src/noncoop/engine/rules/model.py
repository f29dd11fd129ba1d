"""The rule language: strict models for one YAML rule file.

Metadata (id, title, level, guidance, tags, actions) is kept apart from detection logic
(selections, patterns, condition, message) and from the rule's own tests, as in Sigma.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from noncoop.engine.patterns import KINDS
from noncoop.vocab import HOSTILITY, PATTERN_TAGS, Level, pattern_tag
from noncoop.yamlspec import StrictModel

# A message's placeholder, `{pattern.value}` or `{window.start}`: its inside is group 1.
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@lru_cache(maxsize=1024)
def message_pieces(template: str) -> tuple[tuple[tuple[str, str, str], ...], str]:
    """A valid message cut once into each placeholder's (text before it, owner, name) and the
    text after the last: a night fills each rule's message for thousands of children."""
    # split gives the text between placeholders at even places, their insides at odd ones.
    parts = PLACEHOLDER.split(template)
    placed = tuple(
        (text, *inside.split(".")) for text, inside in zip(parts[:-1:2], parts[1::2], strict=True)
    )
    return placed, parts[-1]


NUMERIC_FIELDS = (
    "hostility_level",
    "sessions_possible",
    "sessions_absent",
    "sessions_attended",
    "age",
)
NAME = r"^[a-z][a-z0-9_]*$"  # selection, pattern and signal names


class Guidance(StrictModel):
    """The passage a rule rests on."""

    document: str
    section: str
    passage: str


class Related(StrictModel):
    """Another rule this one relates to, as Sigma's `related`. `supersedes`: on a day both hold
    for a child, the other rule's alert is folded into this one's and listed with it, not raised
    on its own (one fact, one alert). `similar`: for readers only."""

    id: str = Field(pattern=r"^NC-[A-Z0-9-]+$")
    type: Literal["supersedes", "similar"]


class Operators(StrictModel):
    """Comparisons for one selection field."""

    eq: Any = None
    ne: Any = None
    any_of: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    exists: bool | None = None
    prefix: str | None = None


FieldTest = str | int | float | bool | list[str | int | float | bool] | Operators


class Selection(StrictModel):
    """A named filter over canonical event fields; every field listed must match."""

    agency: FieldTest | None = None
    service: FieldTest | None = None
    event_type: FieldTest | None = None
    chain_id: FieldTest | None = None
    child_seen: FieldTest | None = None
    child_seen_alone: FieldTest | None = None
    hostility_level: FieldTest | None = None
    sessions_possible: FieldTest | None = None
    sessions_absent: FieldTest | None = None
    sessions_attended: FieldTest | None = None
    detail: FieldTest | None = None
    source: FieldTest | None = None
    age: FieldTest | None = None
    via_adult: FieldTest | None = None
    # Whether health saw the child in the seven days up to the record's (a medical absence
    # confirmed).
    health_seen_week: FieldTest | None = None
    # `household`: also the records of the child's brothers and sisters, for what the adults do
    # whichever child's record notes it (hostility on a visit for the baby counts for its
    # brother). `child` (the default): the child's own records and the household adults'.
    scope: Literal["child", "household"] = "child"

    def tests(self) -> dict[str, FieldTest]:
        """The field tests, without the scope."""
        return {k: v for k, v in self if v is not None and k != "scope"}

    @property
    def household(self) -> bool:
        return self.scope == "household"


def _one_kind(self: Any) -> Any:
    """A pattern names exactly one kind."""
    given = [k for k in KINDS if getattr(self, k) is not None]
    if len(given) != 1:
        raise ValueError(
            f"a pattern is exactly one of: {', '.join(KINDS)} (found {given or 'none'})"
        )
    return self


class _PatternBase(StrictModel):
    """What every pattern offers whatever its kind: the kind's name and its spec."""

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


# Exactly one kind of pattern; the keys are the registered kinds (engine/patterns).
Pattern = create_model(
    "Pattern",
    __base__=_PatternBase,
    __validators__={"_one_kind": model_validator(mode="after")(_one_kind)},
    **{name: (kind.spec | None, None) for name, kind in KINDS.items()},
)


class TestEvent(StrictModel):
    """One event of an inline test, dated by days from the test's as_of (negative = before)."""

    id: str | None = None
    day: int
    type: str
    agency: str = "health"
    service: str | None = None
    chain: str | None = None
    seen: bool | None = None
    alone: bool | None = None
    level: int | None = Field(default=None, ge=min(HOSTILITY), le=max(HOSTILITY))
    possible: int | None = None
    absent: int | None = None
    detail: str | None = None
    source: str | None = None
    adult: bool = False
    sibling: bool = False  # recorded on a brother's or sister's record (child C2)


class RuleTest(StrictModel):
    """A case that must fire (`alert`) or must not (`none`)."""

    name: str
    expect: Literal["alert", "none"]
    as_of: date = date(2026, 3, 31)
    age: float = 8
    events: list[TestEvent] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    feeds: dict[str, int] = Field(
        default_factory=dict,
        description="source -> day its data ends; other feeds are taken to run to as_of",
    )
    from_: int | None = Field(
        default=None, alias="from", description="an episode that began on this day (expect: alert)"
    )
    until: int | None = Field(default=None, description="... and held up to this day (0: still)")

    @model_validator(mode="after")
    def _episode(self) -> RuleTest:
        if (self.from_ is None) != (self.until is None):
            raise ValueError("an episode test gives both 'from' and 'until'")
        if self.from_ is not None:
            if self.expect != "alert":
                raise ValueError("'from' and 'until' describe an expected alert (expect: alert)")
            if not self.from_ <= self.until <= 0:
                raise ValueError("an episode runs from 'from' to 'until', both on or before as_of")
        return self

    @property
    def episode(self) -> tuple[int, int] | None:
        """The days (from as_of) an expected episode held, if the test names them."""
        return None if self.from_ is None else (self.from_, self.until)


class Rule(StrictModel):
    """One rule file."""

    id: str = Field(pattern=r"^NC-[A-Z0-9-]+$")
    title: str
    status: Literal["experimental", "test", "stable", "deprecated"]
    level: Level
    description: str
    guidance: list[Guidance] = Field(min_length=1)
    tags: list[str]
    falsepositives: list[str] = Field(min_length=1)
    actions: list[str] = Field(min_length=1)
    thresholds: str = ""
    related: list[Related] = Field(default_factory=list)
    select: dict[str, Selection | list[Selection]] = Field(
        default_factory=dict, description="a mapping of field tests, or a list of them (any)"
    )
    patterns: dict[str, Pattern] = Field(default_factory=dict)
    condition: Any
    conclude: str | None = Field(default=None, pattern=NAME)
    message: str
    tests: list[RuleTest] = Field(default_factory=list)

    @property
    def supersedes(self) -> list[str]:
        """The ids of the rules this one supersedes."""
        return [r.id for r in self.related if r.type == "supersedes"]

    @field_validator("tags")
    @classmethod
    def _one_pattern_tag(cls, tags: list[str]) -> list[str]:
        found = [t for t in tags if t.startswith("pattern:")]
        if len(found) != 1:
            raise ValueError(f"tags need exactly one pattern:* tag (found {found or 'none'})")
        if found[0] not in PATTERN_TAGS:
            raise ValueError(f"'{found[0]}' is not one of {', '.join(PATTERN_TAGS)}")
        return tags

    def selections(self) -> list[Selection]:
        """Every selection, those written as a list of alternatives one by one."""
        return [s for chosen in self.select.values() for s in listed(chosen)]

    @property
    def pattern_tag(self) -> str:
        tag = pattern_tag(self.tags)
        assert tag is not None  # the validator requires exactly one
        return tag


def listed(chosen: Selection | list[Selection]) -> list[Selection]:
    """A selection written as one filter or as a list of alternatives, as a list."""
    return chosen if isinstance(chosen, list) else [chosen]
