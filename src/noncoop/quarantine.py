"""Rejected input rows: what was wrong, where it came from, and the row itself, so nothing is lost.

Reason codes are stable so analysts can count and filter them; messages name record ids and
fields, never a person's name or free-text content.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def empty() -> pd.DataFrame:
    """An empty quarantine frame."""
    return frame("", "", [], [], [], [])


def frame(
    source: str | pd.Series,
    source_file: str | pd.Series,
    lines,
    keys,
    codes,
    reasons,
    raw=None,
) -> pd.DataFrame:
    """Build quarantine rows; `raw` holds each original row as JSON so it can be re-processed."""
    n = len(lines)
    return pd.DataFrame(
        {
            "source": _column(source, n),
            "source_file": _column(source_file, n),
            "source_line": pd.Series(np.asarray(lines, dtype=np.int64)),
            "record_key": pd.Series(list(keys), dtype="string"),
            "reason_code": pd.Series(list(codes), dtype="string"),
            "reason": pd.Series(list(reasons), dtype="string"),
            "raw": pd.Series(list(raw) if raw is not None else [None] * n, dtype="string"),
        }
    )


def _column(value: str | pd.Series, n: int) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.astype("string").reset_index(drop=True)
    return pd.Series([value] * n, dtype="string")


def raw_json(rows: pd.DataFrame) -> list[str]:
    """Each row's original column values as a JSON object string."""
    records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    return [json.dumps(r, ensure_ascii=False, default=str) for r in records]


class Checks:
    """Collects failed row checks over one batch and turns them into quarantine rows at once.

    Kept as arrays: a register block is a million rows, and a check that fails a few of them
    then costs only those rows, not an aligned assignment over the million."""

    def __init__(self, index: pd.Index):
        self.index = index
        self._failed = np.zeros(len(index), dtype=bool)
        # Each row's code and reasons, made when a check first fails.
        self._written: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def failed(self) -> pd.Series:
        return pd.Series(self._failed, index=self.index)

    @property
    def codes(self) -> pd.Series:
        return _blank_if_none(self._texts()[0], self.index)

    @property
    def reasons(self) -> pd.Series:
        return _blank_if_none(self._texts()[1], self.index)

    def _texts(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's code and reasons, None where it has none: an empty array of objects is
        made five times faster than one filled with blank text, and most blocks of a large
        register have a row or two that fail."""
        if self._written is None:
            n = len(self.index)
            self._written = (np.empty(n, dtype=object), np.empty(n, dtype=object))
        return self._written

    def add(self, mask: pd.Series, code: str, template: str, *values: pd.Series) -> None:
        """Record `code` where mask is true; `{}` in the template is filled from `values`, only
        for the failing rows, so checks on clean data cost nothing but the mask."""
        if not mask.index.equals(self.index):
            mask = mask.reindex(self.index)
        hit = mask.to_numpy(dtype=bool, na_value=False)
        if not hit.any():
            return
        rows = np.flatnonzero(hit)
        pieces = template.split("{}")
        text = np.full(len(rows), pieces[0], dtype=object)
        for piece, value in zip(pieces[1:], values, strict=True):
            if not value.index.equals(self.index):
                value = value.reindex(self.index)
            shown = value.iloc[rows].astype(object).fillna("").astype(str).to_numpy(object)
            text = text + shown + piece
        codes, reasons = self._texts()
        before = self._failed[rows]
        codes[rows[~before]] = code
        if before.any():
            text[before] = reasons[rows[before]] + "; " + text[before]
        reasons[rows] = text
        self._failed[rows] = True

    def clear(self, mask: np.ndarray) -> None:
        """Forget what was recorded for these rows (rows a profile skips need no fields)."""
        mask = np.asarray(mask, bool)
        self._failed[mask] = False
        for texts in self._written or ():
            texts[mask] = None

    def split(
        self, rows: pd.DataFrame, source: str, source_file: str, lines: pd.Series, keys: pd.Series
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows that passed, quarantine frame of rows that failed)."""
        quarantined = self.rejected(rows, source, source_file, lines, keys)
        return (rows[~self._failed], quarantined) if len(quarantined) else (rows, quarantined)

    def rejected(
        self, rows: pd.DataFrame, source: str, source_file: str, lines: pd.Series, keys: pd.Series
    ) -> pd.DataFrame:
        """The quarantine frame of the rows that failed."""
        bad = self._failed
        if not bad.any():
            return empty()
        codes, reasons = self._texts()
        return frame(
            source,
            source_file,
            lines[bad],
            keys[bad].fillna(""),
            codes[bad],
            reasons[bad],
            raw_json(rows[bad]),
        )


def _blank_if_none(texts: np.ndarray, index: pd.Index) -> pd.Series:
    """Texts by row, blank where a row has none."""
    return pd.Series(np.where(pd.isna(texts), "", texts), index=index, dtype=object)
