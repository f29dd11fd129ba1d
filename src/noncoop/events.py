"""The canonical event: the one shape every importer produces and every rule reads.

The column set, names and event-type vocabulary are a contract (DESIGN.md): extend, never rename.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from noncoop import vocab
from noncoop.vocab import HOSTILITY_LEVELS, HOSTILITY_RANGE, ROLES

EVENT_TYPES: tuple[str, ...] = tuple(vocab.EVENT_TYPES)

TIME_UNIT = "us"
TIMESTAMP_DTYPE = pd.DatetimeTZDtype(unit=TIME_UNIT, tz="UTC")

STRING = pd.StringDtype()

# Column -> dtype. Categoricals keep 10 million rows small; the store writes them as dictionaries.
EVENT_COLUMNS: dict[str, object] = {
    "event_id": STRING,
    "subject_id": STRING,
    "subject_role": pd.CategoricalDtype(list(ROLES)),
    "household_id": STRING,
    "agency": "category",
    "service": "category",
    "event_type": pd.CategoricalDtype(list(EVENT_TYPES)),
    "occurred_at": TIMESTAMP_DTYPE,
    "chain_id": STRING,
    "child_seen": "boolean",
    "child_seen_alone": "boolean",
    "hostility_level": "Int8",
    "sessions_possible": "Int32",
    "sessions_absent": "Int32",
    "detail": STRING,
    "source": "category",
    "source_file": "category",
    "source_line": "int64",
}

# Extra (non-contract) columns: the source record key and the identifier the event was linked by.
TRACE_COLUMNS: dict[str, object] = {
    "record_key": STRING,
    "id_scheme": "category",
    "id_value": STRING,
}

# Canonical columns no rule reads, only the evidence of an alert: a scan loads them for the rows
# its alerts cite (store.workspace.TraceReader).
LAZY_COLUMNS: tuple[str, ...] = ("event_id", "household_id", "source_file", "source_line")

# Not a contract column: each stored event's id as the number `event_numbers` gives it, written
# beside it so that a scan puts events recorded at the same moment in the order of their ids
# without reading ten million ids.
EVENT_NUMBER = "event_number"

REQUIRED_NOT_NULL = (
    "event_id",
    "subject_id",
    "subject_role",
    "agency",
    "event_type",
    "occurred_at",
    "source",
    "source_file",
    "source_line",
)

_HEX_VALUE = np.zeros(256, dtype=np.uint64)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint64)
_NIBBLE_SHIFT = np.arange(60, -1, -4, dtype=np.uint64)
_NIBBLE = _HEX_VALUE.astype(np.uint8)
_IS_HEX = np.zeros(256, bool)
_IS_HEX[np.frombuffer(b"0123456789abcdef", np.uint8)] = True


def _utf8_buffers(values, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and UTF-8 bytes of strings as one contiguous Arrow array, without copying them
    out one by one."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    if isinstance(arr, pa.ChunkedArray):  # pandas' Arrow-backed strings arrive in chunks
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    if arr.null_count:
        raise ValueError(f"{what} must not be null")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if len(arr) else np.zeros(0, np.uint8)
    return offsets, data


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_HEX_CHARS = np.frombuffer(b"0123456789abcdef", np.uint8)


def event_ids(source: str, record_keys: Iterable[str]) -> np.ndarray:
    """Stable event ids: a re-import of the same source record always gets the same id.

    The id is the 64-bit FNV-1a hash of `source`, a separator and the record key (UTF-8), in
    hexadecimal, computed for all keys at once: one pass per byte position, not per record.
    """
    offsets, data = _utf8_buffers(record_keys, "record keys")
    return spelled_ids(_fnv(offsets, data, f"{source}\x1f".encode()))


def string_hashes(values: Iterable[str] | pd.Series | np.ndarray) -> np.ndarray:
    """The 64-bit FNV-1a hash of each string: the same in every process and on every machine,
    as Python's own `hash` is not."""
    return _fnv(*_utf8_buffers(values, "values"))


def _fnv(offsets: np.ndarray, data: np.ndarray, prefix: bytes = b"") -> np.ndarray:
    """The 64-bit FNV-1a hash of `prefix` and each string, all strings at once."""
    n = len(offsets) - 1
    state = _FNV_OFFSET
    with np.errstate(over="ignore"):
        for byte in prefix:
            state = (state ^ np.uint64(byte)) * _FNV_PRIME
        h = np.full(n, state, dtype=np.uint64)
        starts, lengths = offsets[:-1], np.diff(offsets)
        if n and (lengths == lengths[0]).all():
            # Keys of one length (the usual case): the bytes already form a matrix.
            width = int(lengths[0])
            matrix = data[offsets[0] : offsets[-1]].reshape(n, width)
            for j in range(width):
                h = (h ^ matrix[:, j]) * _FNV_PRIME
        else:
            last = np.maximum(offsets[1:] - 1, 0)
            for j in range(int(lengths.max()) if n else 0):
                byte = data[np.minimum(starts + j, last)] if len(data) else 0
                h = np.where(lengths > j, (h ^ byte) * _FNV_PRIME, h)
    return h


def event_numbers(ids: Iterable[str] | pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A number for each event id that orders events as their ids do: the 64-bit number an
    id's 16 hexadecimal digits spell (every id the ingest makes), and for any other id (made by
    hand) its hash. Events recorded at the same moment are put in this order, so a scan gives the
    same alerts whatever order its events arrive in."""
    return _numbered_ids(ids)[0]


def _numbered_ids(ids) -> tuple[np.ndarray, bool]:
    """`event_numbers`, and whether every id is the number's 16 hexadecimal digits."""
    offsets, data = _utf8_buffers(ids, "event ids")
    sizes = np.diff(offsets)
    if len(sizes) and (sizes == 16).all():  # as the ingest makes them: the bytes form a matrix
        digits = data[offsets[0] : offsets[-1]].reshape(-1, 16)
        if _IS_HEX[digits].all():
            return _hex_value(digits), True
    # Ids made by hand (tests, other tools): the hex ones read, the others hashed.
    numbers = np.zeros(len(sizes), np.uint64)
    hexed = np.flatnonzero(sizes == 16)
    digits = data[offsets[hexed][:, None] + np.arange(16)].reshape(-1, 16)
    good = _IS_HEX[digits].all(axis=1)
    numbers[hexed[good]] = _hex_value(digits[good])
    other = np.setdiff1d(np.arange(len(sizes)), hexed[good])
    if len(other):
        picked = data[np.repeat(offsets[other], sizes[other]) + _within(sizes[other])]
        numbers[other] = _fnv(np.r_[0, np.cumsum(sizes[other])], picked)
    return numbers, not len(other)


def numbered(events: pd.DataFrame) -> pd.DataFrame:
    """Events as the store writes them: with each one's `EVENT_NUMBER`, and marked (`attrs`,
    which the part keeps) where every id is its number's digits (`SPELLED`)."""
    numbers, spelled = _numbered_ids(events["event_id"])
    out = events.assign(**{EVENT_NUMBER: numbers})
    out.attrs[SPELLED] = spelled
    return out


# A part whose every event id is its EVENT_NUMBER in 16 lowercase hexadecimal digits (as every
# id the ingest makes is): an alert's evidence spells the ids from the numbers rather than read
# ten million of them to cite a few thousand.
SPELLED = "noncoop_ids_spelled"


def spelled_ids(numbers: np.ndarray) -> np.ndarray:
    """The event ids that 64-bit numbers spell (16 lowercase hexadecimal digits each), as the
    ingest makes every id."""
    numbers = np.asarray(numbers, np.uint64)
    nibbles = ((numbers[:, None] >> _NIBBLE_SHIFT) & np.uint64(0xF)).astype(np.uint8)
    return _HEX_CHARS[nibbles].view("S16").ravel().astype(str)


def tie_numbers(events: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The `EVENT_NUMBER` of some rows of an event table: stored, or worked out from their ids."""
    if EVENT_NUMBER in events:
        return events[EVENT_NUMBER].to_numpy()[rows]
    return event_numbers(events["event_id"].take(rows))


def _within(sizes: np.ndarray) -> np.ndarray:
    """0, 1, … size-1 for each size, end to end."""
    ends = np.cumsum(sizes)
    return np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def _hex_value(digits: np.ndarray) -> np.ndarray:
    """Rows of 16 lowercase hexadecimal digits (bytes) as 64-bit numbers: two digits a byte,
    read big-end first, with no 64-bit temporary per digit."""
    nibbles = _NIBBLE[digits].reshape(-1, 8, 2)
    packed = (nibbles[:, :, 0] << 4) | nibbles[:, :, 1]
    return np.ascontiguousarray(packed).view(">u8").ravel().astype(np.uint64)


def event_id_numbers(ids: Iterable[str] | pd.Series) -> np.ndarray:
    """The 64-bit numbers behind hex event ids, decoded straight from the Arrow buffer, for fast
    set operations on millions of ids."""
    offsets, data = _utf8_buffers(ids, "event ids")
    if (np.diff(offsets) != 16).any():
        raise ValueError("event ids are 16 hexadecimal characters")
    return _hex_value(data[offsets[0] : offsets[-1]].reshape(-1, 16))


def empty_events() -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    return conform(pd.DataFrame({name: [] for name in {**EVENT_COLUMNS, **TRACE_COLUMNS}}))


def conform(frame: pd.DataFrame, trace: bool = True, only: list[str] | None = None) -> pd.DataFrame:
    """The frame with exactly the canonical (and, with `trace`, trace) columns, in order and in
    their dtypes (or only the columns named in `only`); columns already in the right dtype are
    not copied."""
    columns = {**EVENT_COLUMNS, **(TRACE_COLUMNS if trace else {})}
    if only is not None:
        columns = {name: columns[name] for name in only}
    out = {}
    for name, dtype in columns.items():
        col = frame[name] if name in frame else _blank(dtype, frame.index)
        if name == "occurred_at":
            if col.dtype != TIMESTAMP_DTYPE:
                col = pd.to_datetime(col, utc=True).astype(TIMESTAMP_DTYPE)
        elif dtype == "category":
            if not isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype("category")
        elif col.dtype != dtype:
            col = col.astype(dtype)
        out[name] = col
    # Not copied: the columns are taken as they are (copy-on-write keeps the input safe).
    return pd.DataFrame(out, index=frame.index, copy=False).reset_index(drop=True)


def _blank(dtype: object, index: pd.Index) -> pd.Series:
    """A column of blanks made in its dtype: made as objects and converted, each took tens of
    milliseconds a block."""
    try:
        return pd.Series(pd.NA, index=index, dtype=dtype)
    except (TypeError, ValueError):
        return pd.Series(pd.NA, index=index)


def validate_events(frame: pd.DataFrame) -> list[str]:
    """List every way the frame breaks the canonical event contract (empty list = valid)."""
    problems: list[str] = []
    missing = [c for c in EVENT_COLUMNS if c not in frame.columns]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
        return problems
    for name in REQUIRED_NOT_NULL:
        nulls = int(frame[name].isna().sum())
        if nulls:
            problems.append(f"{name}: {nulls} null value(s)")
    if (
        not isinstance(frame["occurred_at"].dtype, pd.DatetimeTZDtype)
        or str(frame["occurred_at"].dt.tz) != "UTC"
    ):
        problems.append("occurred_at: expected a UTC timestamp column")
    unknown = set(frame["event_type"].dropna().astype(str)) - set(EVENT_TYPES)
    if unknown:
        problems.append(f"event_type: unknown value(s) {sorted(unknown)}")
    roles = set(frame["subject_role"].dropna().astype(str)) - set(ROLES)
    if roles:
        problems.append(f"subject_role: unknown value(s) {sorted(roles)}")
    levels = pd.to_numeric(frame["hostility_level"], errors="coerce").dropna()
    if (~levels.isin(HOSTILITY_LEVELS)).any():
        problems.append(f"hostility_level: values must be {HOSTILITY_RANGE}")
    if frame["event_id"].duplicated().any():
        problems.append(f"event_id: {int(frame['event_id'].duplicated().sum())} duplicate id(s)")
    return problems
