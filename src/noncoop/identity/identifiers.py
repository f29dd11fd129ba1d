"""Check digits for the national identifiers (NHS number, UPN), vectorised over whole columns.

An identifier that fails its check is quarantined, never matched: a mistyped NHS number could
otherwise attach one child's records to another child.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_LETTER_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(UPN_LETTERS):
    _LETTER_VALUE[ord(_c)] = _i


def normalise(values: pd.Series, scheme: str) -> pd.Series:
    """Canonical spelling: NHS numbers lose spaces and dashes, UPNs are upper case."""
    s = values.astype("string").str.strip()
    if scheme == "nhs":
        return s.str.replace(r"[\s-]", "", regex=True)
    if scheme == "upn":
        return s.str.upper()
    return s


def _digits(values: pd.Series, width: int) -> np.ndarray:
    """Bytes of fixed-width ASCII strings as an (n, width) uint8 matrix."""
    raw = values.fillna("").to_numpy(dtype=f"S{width}")
    return np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(len(values), width)


def nhs_number_valid(values: pd.Series) -> pd.Series:
    """True where the value is a 10-digit NHS number whose modulus-11 check digit holds."""
    s = normalise(values, "nhs")
    shaped = s.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(s), dtype=bool)
    if shaped.any():
        d = _digits(s[shaped], 10).astype(np.int64) - ord("0")
        total = d[:, :9] @ np.arange(10, 1, -1)
        check = 11 - total % 11
        check = np.where(check == 11, 0, check)
        result[shaped] = (check != 10) & (check == d[:, 9])
    return pd.Series(result, index=values.index)


def upn_valid(values: pd.Series) -> pd.Series:
    """True where the value is a 13-character UPN (or temporary UPN) whose check letter holds."""
    s = normalise(values, "upn")
    shaped = (
        s.str.fullmatch(rf"[{UPN_LETTERS}]\d{{11}}[0-9{UPN_LETTERS}]").fillna(False).to_numpy(bool)
    )
    result = np.zeros(len(s), dtype=bool)
    if shaped.any():
        b = _digits(s[shaped], 13).astype(np.int64)
        body = b[:, 1:] - ord("0")
        last = b[:, 12]
        is_letter = last >= ord("A")
        body[:, 11] = np.where(is_letter, _LETTER_VALUE[last], body[:, 11])
        total = body @ np.arange(2, 14)
        result[shaped] = _LETTER_VALUE[b[:, 0]] == total % 23
    return pd.Series(result, index=values.index)


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it; used by the synthetic generator."""
    values = [_LETTER_VALUE[ord(c)] if c.isalpha() else int(c) for c in body.upper()]
    return UPN_LETTERS[sum(v * w for v, w in zip(values, range(2, 14), strict=True)) % 23]


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine NHS-number digits, or None where no valid number exists."""
    check = 11 - sum(int(c) * w for c, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


VALIDATORS = {"nhs": nhs_number_valid, "upn": upn_valid}


def identifier_valid(values: pd.Series, scheme: str) -> pd.Series:
    """Check identifiers of one scheme; schemes without a check digit only need to be non-blank."""
    if scheme in VALIDATORS:
        return VALIDATORS[scheme](values)
    s = values.astype("string").str.strip()
    return (s.notna() & (s != "")).astype(bool)
