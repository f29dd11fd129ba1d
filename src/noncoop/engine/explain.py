"""Explained alerts: each decision turned into an alert with its window, its evidence records
(source file and line) and a message filled only from computed values.

A template can name `{pattern.value}` and `{window.start}`/`{window.end}` and nothing else: no
attribute access, no code, so a rule file can never run anything.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noncoop.asof import DAY, iso_day, long_day, utc_seconds
from noncoop.engine.alert import Alert, Evidence, Stored, Window, episode_id
from noncoop.engine.rules.model import message_pieces
from noncoop.engine.rules.pack import LoadedRule
from noncoop.engine.timeline import Timeline
from noncoop.vocab import word_list


@dataclass(frozen=True)
class Support:
    """What supports one decision: the child, the window (seconds), the evidence rows of the
    timeline and the values each of the rule's patterns offers to its message."""

    rule: LoadedRule
    child: int
    positions: list[int]
    values: dict[str, dict]
    start: int
    end: int
    held: tuple[int, int] | None = None  # first and last day the rule held (days since 1970)
    first_start: int | None = None  # the window's start as known on the first of those days
    fingerprint: str | None = None  # of what the alert is explained from (recall.py)


def render_message(template: str, values: dict[str, dict], window: Window) -> str:
    """Fill placeholders; a value the child's signals do not give reads 'none'. A window of one
    day reads "on 28 Jan 2026", not "between 28 Jan 2026 and 28 Jan 2026"."""
    if window.start == window.end:
        template = template.replace("between {window.start} and {window.end}", "on {window.start}")
    pieces, tail = message_pieces(template)
    out = []
    for text, owner, name in pieces:
        out.append(text)
        if owner == "window":
            out.append(long_day(getattr(window, name)))
        else:
            given = values.get(owner)
            out.append("none" if given is None else str(given.get(name, "none")))
    out.append(tail)
    text = "".join(out)
    return _agreed(text) if "(s)" in text else text


# "1 incident(s)" -> "1 incident", "3 day(s)" -> "3 days": a template writes a count's noun with
# "(s)", and the sentence agrees with the number filled in.
COUNTED = re.compile(r"\b(\d+) ([A-Za-z]+)\(s\)")


def _agreed(text: str) -> str:
    return COUNTED.sub(lambda m: f"{m[1]} {m[2]}{'' if m[1] == '1' else 's'}", text)


def explain(supports: list[Support], tl: Timeline) -> list[Alert]:
    """An explained alert for every decision; evidence records are built once for all rows."""
    if not supports:
        return []
    book = _evidence_book(tl, sorted({p for s in supports for p in s.positions}))
    # Each child's id, and which of the people whose records are read for a child are children
    # themselves: looked up once, not in the index of every child for each alert.
    wanted = np.unique([s.child for s in supports])
    names = dict(zip(wanted.tolist(), tl.subjects[wanted].astype(str).tolist(), strict=True))
    others = pd.Index(sorted({e.via_subject_id for e in book.records.values() if e.via_subject_id}))
    children = frozenset(others[tl.subjects.get_indexer(others) >= 0])
    ends = _last_cited(supports, tl)
    return [
        _alert(s, end, book, names[s.child], children)
        for s, end in zip(supports, ends, strict=True)
    ]


def _last_cited(supports: list[Support], tl: Timeline) -> list[int]:
    """The time of each support's last cited record, for all of them at once (a window runs
    from the first record cited to the last, never to the scan date); its end where it cites
    none."""
    counts = np.fromiter((len(s.positions) for s in supports), np.int64, len(supports))
    cited = itertools.chain.from_iterable(s.positions for s in supports)
    times = tl.t[np.fromiter(cited, np.int64, int(counts.sum()))]
    last = np.fromiter((s.end for s in supports), np.int64, len(supports))
    some = counts > 0
    if some.any():
        last[some] = np.maximum.reduceat(times, (np.cumsum(counts) - counts)[some])
    return last.tolist()


@dataclass(frozen=True)
class _Book:
    """The evidence record of every cited timeline row, and the household it was recorded in,
    by timeline position."""

    records: dict[int, Evidence]
    households: dict[int, str | None]


def _alert(
    support: Support,
    end: int,
    book: _Book,
    subject_id: str,
    children: frozenset[str],
) -> Alert:
    rule = support.rule
    window = Window(iso_day(support.start), iso_day(end))
    cited = tuple(map(book.records.__getitem__, support.positions))
    return Alert(
        **_about(support, subject_id, window),
        household_id=book.households[support.positions[0]] if cited else None,
        window=window,
        explanation=render_message(rule.rule.message, support.values, window)
        + _whose(cited, children),
        evidence=cited,
    )


def recalled(support: Support, stored: Stored, subject_id: str) -> Alert:
    """The alert the store holds for what supports it (the same fingerprint): its window,
    message and records as stored, and tonight's days held."""
    window = Window.of(stored.window_start, stored.window_end)
    return Alert.recalled(stored, window=window, **_about(support, subject_id, window))


def _about(support: Support, subject_id: str, window: Window) -> dict:
    """An alert's fields that its rule and the days it held give: all but its window, message
    and records."""
    rule, held, opened = support.rule, None, None
    if support.held:
        held = held_window(support.held)
        opened = iso_day(support.first_start) if support.first_start is not None else window.start
    # An episode is named by the day it began, as the store names an alert by the night it was
    # first raised; a single date's alert, not yet stored, by its window's start.
    raised = held.start if held else window.start
    return {
        **rule.said,
        "alert_id": episode_id(rule.id, subject_id, raised),
        "subject_id": subject_id,
        "held": held,
        "opened": opened,
        "fingerprint": support.fingerprint,
    }


def held_window(held: tuple[int, int]) -> Window:
    """The first and last day an episode held (days since 1970), as ISO days."""
    return Window.of(iso_day(held[0] * DAY), iso_day(held[1] * DAY))


def _whose(records: tuple[Evidence, ...], children: frozenset[str]) -> str:
    """Where an alert rests on a household adult's or a brother's or sister's records, the
    sentence says so."""
    others = {e.via_subject_id for e in records if e.via_subject_id}
    if not others:
        return ""
    adults = [o for o in others if o not in children]
    siblings = [o for o in others if o in children]
    parts = []
    if adults:
        who = "an adult" if len(adults) == 1 else "adults"
        parts.append(f"{who} in the household, {word_list(adults, False)}")
    if siblings:
        who = "a brother or sister" if len(siblings) == 1 else "brothers or sisters"
        parts.append(f"{who}, {word_list(siblings, False)}")
    lead = "recorded against" if all(e.via_subject_id for e in records) else "some records against"
    return f"; {lead} " + " and ".join(parts)


def _evidence_book(tl: Timeline, positions: list[int]) -> _Book:
    """Evidence records (with the household) for every cited timeline row, in one pass."""
    if not positions:
        return _Book({}, {})
    ev = tl.trace(positions)
    # A day, or the UTC time as recorded: from the stored instant, not the timeline's local
    # clock. Formatted by numpy: pandas' strftime costs ten times more.
    utc = utc_seconds(ev["occurred_at"])
    at = utc.astype("datetime64[s]")
    stamp = np.where(
        utc % DAY == 0,
        np.datetime_as_string(at, unit="D"),
        np.char.add(np.datetime_as_string(at, unit="s"), "Z"),
    )
    columns = [
        _texts(ev["event_id"]),
        _texts(ev["agency"]),
        _texts(ev["service"]),
        _texts(ev["event_type"]),
        stamp.tolist(),
        _texts(ev["source"]),
        _texts(ev["source_file"]),
        ev["source_line"].astype("int64").tolist(),
        _texts(ev["via_subject_id"]),
        _texts(ev["detail"]),
    ]
    return _Book(
        dict(zip(positions, map(Evidence.of, *columns), strict=True)),
        dict(zip(positions, _texts(ev["household_id"]), strict=True)),
    )


def _texts(values: pd.Series) -> list[str | None]:
    """A column as Python strings, None where blank."""
    return values.astype(object).where(values.notna(), None).tolist()
