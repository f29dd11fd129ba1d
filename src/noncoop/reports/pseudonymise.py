"""Pseudonymisation, a stage between the case file and any rendering, for sharing beyond the core
group: every id becomes a stable keyed hash, dates can move by a per-case offset, free text goes.

The key comes from NONCOOP_PSEUDONYM_KEY or a key file and is never written into a report; the
same key gives the same pseudonyms, so reports shared on different days still line up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd

from noncoop.alerts.model import StoredAlert, Triage
from noncoop.engine.alert import Window
from noncoop.reports.casefile import CaseFile

KEY_VARIABLE = "NONCOOP_PSEUDONYM_KEY"
PREFIXES = {"event_id": "E", "subject_id": "P", "household_id": "H", "chain_id": "K"}
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
LONG_DATE = re.compile(rf"\b(\d{{1,2}}) ({MONTHS}) (\d{{4}})\b")
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


class KeyMissing(RuntimeError):
    """Pseudonymisation was asked for without a key."""


def load_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key: from the key file if given, else from the environment."""
    if key_file is not None:
        key = Path(key_file).read_bytes().strip()
    else:
        key = os.environ.get(KEY_VARIABLE, "").encode()
    if len(key) < 16:
        raise KeyMissing(
            f"pseudonymising needs a key of at least 16 characters in {KEY_VARIABLE} or a "
            "--key-file; it is never stored in the report"
        )
    return key


class Pseudonymiser:
    """Keyed, stable replacements for ids, and an optional date offset per case."""

    def __init__(self, key: bytes, shift_dates: bool = False):
        self._key = key
        self.shift_dates = shift_dates

    def pseudonym(self, value: object, prefix: str) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return value
        digest = hmac.new(self._key, f"{prefix}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:10]}"

    def offset(self, anchor: str) -> pd.Timedelta:
        """Between 7 and 60 days either way, fixed for the case, never zero."""
        if not self.shift_dates:
            return pd.Timedelta(0)
        digest = hmac.new(self._key, f"shift:{anchor}".encode(), hashlib.sha256).digest()
        days = 7 + digest[0] % 54
        return pd.Timedelta(days=days if digest[1] % 2 else -days)

    def apply(self, case: CaseFile) -> CaseFile:
        """The case with ids replaced, free text dropped and, if asked, dates moved."""
        anchor = case.household_id or ",".join(case.children)
        shift = self.offset(anchor)
        people = case.people.copy()
        for column, prefix in (("subject_id", "P"), ("household_id", "H")):
            people[column] = self._column(people[column], prefix)
        people["date_of_birth"] = (pd.to_datetime(people["date_of_birth"]) + shift).dt.date
        events = case.events.copy()
        for column, prefix in PREFIXES.items():
            if column in events:
                events[column] = self._column(events[column], prefix)
        events["detail"] = pd.NA
        events["occurred_at"] = events["occurred_at"] + shift
        return replace(
            case,
            subject=self.pseudonym(case.subject, "P"),
            household_id=self.pseudonym(case.household_id, "H"),
            people=people,
            events=events,
            alerts=[self._alert(a, shift) for a in case.alerts],
            earlier=[self._alert(a, shift) for a in case.earlier],
            as_of=case.as_of + shift,
            notes=[
                *case.notes,
                "Pseudonymised: ids are keyed hashes, free text is omitted"
                + (", dates are shifted" if self.shift_dates else "")
                + ".",
            ],
        )

    def _column(self, values: pd.Series, prefix: str) -> pd.Series:
        """A column's ids replaced, each distinct id hashed once."""
        codes, uniques = pd.factorize(values.astype(object))
        keyed = pd.array([self.pseudonym(v, prefix) for v in uniques] + [None], dtype="string")
        return pd.Series(keyed[codes], index=values.index)

    def _named(self, text: str, evidence) -> str:
        """An explanation with the household adults it names (see engine.explain) pseudonymised."""
        adults = {e.via_subject_id for e in evidence if e.via_subject_id}
        return _ids_in(text, {a: self.pseudonym(a, "P") for a in adults})

    def _evidence(self, evidence, shift: pd.Timedelta) -> tuple:
        return tuple(
            replace(
                e,
                event_id=self.pseudonym(e.event_id, "E"),
                occurred_at=_shift_text(e.occurred_at, shift),
                via_subject_id=self.pseudonym(e.via_subject_id, "P") if e.via_subject_id else None,
                detail=None,
            )
            for e in evidence
        )

    def _alert(self, alert: StoredAlert, shift: pd.Timedelta) -> StoredAlert:
        day = lambda text: _shift_text(text, shift)  # noqa: E731
        evidence = self._evidence(alert.evidence, shift)
        related = tuple(
            replace(
                r,
                window=Window(day(r.window.start), day(r.window.end)),
                explanation=day(self._named(r.explanation, r.evidence)),
                evidence=self._evidence(r.evidence, shift),
            )
            for r in alert.related
        )
        return replace(
            alert,
            alert_id=self.pseudonym(alert.alert_id, "A"),
            subject_id=self.pseudonym(alert.subject_id, "P"),
            household_id=self.pseudonym(alert.household_id, "H"),
            window=Window(day(alert.window.start), day(alert.window.end)),
            explanation=day(self._named(alert.explanation, alert.evidence)),
            evidence=evidence,
            related=related,
            note=None,
            triage=Triage(alert.triage.state),
            first_as_of=day(alert.first_as_of),
            changed_as_of=day(alert.changed_as_of),
            last_as_of=day(alert.last_as_of),
        )


def _ids_in(text: str, ids: dict[str, str]) -> str:
    """Whole-word ids in a text replaced, longest first so that A1 never eats into A10."""
    for real in sorted(ids, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(real)}\b", ids[real], text)
    return text


def _shift_text(text: str, shift: pd.Timedelta) -> str:
    """Dates written in a text (`4 Jan 2026` or `2026-01-04`), moved by the offset."""
    if not shift or not text:
        return text
    text = LONG_DATE.sub(
        lambda m: (pd.Timestamp(f"{m[1]} {m[2]} {m[3]}") + shift).strftime("%-d %b %Y"), text
    )
    return ISO_DATE.sub(lambda m: (pd.Timestamp(m[1]) + shift).strftime("%Y-%m-%d"), text)
