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
    """Collects failed row checks over one batch and turns them into quarantine rows at once."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.failed = pd.Series(False, index=index)
        self.codes = pd.Series("", index=index, dtype=object)
        self.reasons = pd.Series("", index=index, dtype=object)

    def add(self, mask: pd.Series, code: str, template: str, *values: pd.Series) -> None:
        """Record `code` where mask is true; `{}` in the template is filled from `values`, only
        for the failing rows, so checks on clean data cost nothing but the mask."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        pieces = template.split("{}")
        text = pd.Series(pieces[0], index=mask.index[mask.to_numpy()], dtype=object)
        for piece, value in zip(pieces[1:], values, strict=True):
            text = text + value[mask].astype(object).fillna("").astype(str) + piece
        first = mask & ~self.failed
        self.codes[first] = code
        sep = np.where(self.failed[mask], "; ", "")
        self.reasons[mask] = self.reasons[mask] + sep + text
        self.failed |= mask

    def clear(self, mask: np.ndarray) -> None:
        """Forget what was recorded for these rows (rows a profile skips need no fields)."""
        mask = pd.Series(np.asarray(mask, bool), index=self.index)
        self.failed &= ~mask
        self.codes[mask] = ""
        self.reasons[mask] = ""

    def split(
        self, rows: pd.DataFrame, source: str, source_file: str, lines: pd.Series, keys: pd.Series
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows that passed, quarantine frame of rows that failed)."""
        bad = self.failed.to_numpy()
        if not bad.any():
            return rows, empty()
        quarantined = frame(
            source,
            source_file,
            lines[bad],
            keys[bad].fillna(""),
            self.codes[bad],
            self.reasons[bad],
            raw_json(rows[bad]),
        )
        return rows[~bad], quarantined
