"""Selections compiled to boolean masks over the whole event table, one vector operation each."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from noncoop.engine.patterns.base import Masks
from noncoop.engine.rules.model import NUMERIC_FIELDS, Operators, Selection
from noncoop.engine.timeline import Timeline, category_mask, floats


def definition(model) -> str:
    """A selection or pattern spec as text, the same whenever it is written the same way."""
    if isinstance(model, list):
        return json.dumps([definition(m) for m in model])
    return model.model_dump_json(by_alias=True, exclude_none=True)


def rule_masks(select: dict[str, Selection], mask: Callable[[Selection], np.ndarray]) -> Masks:
    """A rule's selections as masks (made by `mask`), with their definitions."""
    return Masks(
        {name: mask(sel) for name, sel in select.items()},
        {name: definition(sel) for name, sel in select.items()},
    )


@dataclass(frozen=True)
class Recalled:
    """A selection's mask as an earlier night worked it out, with tonight's records merged in
    (unjudged): right but for the rows `added` tonight and, where the selection asks a derived
    field (worked out from a child's other records: health seen that week), all the rows of the
    children those records are of (`theirs`)."""

    mask: np.ndarray  # a copy of its own, to be put right in place
    added: np.ndarray
    theirs: np.ndarray


class MaskMemory(Protocol):
    """Masks known from an earlier night (by definition), and those worked out tonight."""

    def recall(self, definition: str) -> Recalled | None: ...

    def learn(self, definition: str, mask: np.ndarray) -> None: ...


def timeline_mask(
    tl: Timeline, selection: Selection | list[Selection], recalled: Recalled | None = None
) -> np.ndarray:
    """A selection's mask over a timeline; derived fields are worked out for the rows its other
    tests leave. From a `recalled` mask, only its stale rows are judged."""
    if recalled is None:
        return selection_mask(tl.events, selection, tl.derived)
    stale = recalled.theirs if _derives(tl, selection) else recalled.added
    if len(stale):
        taken = _Taken(tl.events, stale)
        recalled.mask[stale] = selection_mask(
            taken, selection, lambda name, rows: tl.derived(name, stale[rows])
        )
    return recalled.mask


def _derives(tl: Timeline, selection: Selection | list[Selection]) -> bool:
    """Whether the selection tests a field no record holds (DERIVED)."""
    chosen = selection if isinstance(selection, list) else [selection]
    return any(name not in tl.events for s in chosen for name in s.tests())


class _Taken:
    """The events at some rows only, read as `selection_mask` reads a frame (its length, its
    columns by name): a column taken when a test asks for it, not all of them for every
    selection."""

    def __init__(self, events: pd.DataFrame, rows: np.ndarray):
        self.events, self.rows = events, rows
        self.taken: dict[str, pd.Series] = {}

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.taken:
            column = self.events[name].iloc[self.rows]
            self.taken[name] = column.reset_index(drop=True)
        return self.taken[name]

    def __contains__(self, name: object) -> bool:
        return name in self.events

    def __len__(self) -> int:
        return len(self.rows)


def selection_mask(
    events: pd.DataFrame | _Taken,
    selection: Selection | list[Selection],
    derived: Callable[[str, np.ndarray], pd.Series] | None = None,
) -> np.ndarray:
    """True for every event that meets all of the selection's field tests (or, for a list,
    those of any one of its selections). A field the events do not hold is asked of `derived`
    (DERIVED fields of a timeline), for the rows still selected."""
    if isinstance(selection, list):
        return np.logical_or.reduce([selection_mask(events, s, derived) for s in selection])
    if not selection.household and "via_sibling" in events:
        # A brother's or sister's record is read only by selections that ask for the household.
        mask = ~events["via_sibling"].to_numpy(bool)
    else:
        mask = np.ones(len(events), dtype=bool)
    for name, test in selection.tests().items():
        derive = name not in events and derived is not None
        # Few rows left: test only those (a text prefix over ten million details is slow). The
        # rows are listed only then: listing ten million to count them cost more than a test.
        if derive or np.count_nonzero(mask) * 4 < len(mask):
            rows = np.flatnonzero(mask)
            taken = derived(name, rows) if derive else events[name].iloc[rows]
            mask[rows] = _field_mask(taken, test, name)
        else:
            mask &= _field_mask(events[name], test, name)
    return mask


def _field_mask(column: pd.Series, test: Any, name: str) -> np.ndarray:
    if isinstance(test, Operators):
        return _operators(column, test, name)
    values = test if isinstance(test, list) else [test]
    return _any_of(column, values)


def _any_of(column: pd.Series, values: list[Any]) -> np.ndarray:
    exact = [v for v in values if not (isinstance(v, str) and v.endswith("*"))]
    prefixes = [v[:-1] for v in values if isinstance(v, str) and v.endswith("*")]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Values and prefixes tested together on the categories: one pass over the rows.
        return category_mask(column, lambda names: _named(names, exact, prefixes))
    mask = np.zeros(len(column), dtype=bool)
    if exact and (column.dtype == bool or column.dtype == "boolean"):
        flags = (
            column.to_numpy(dtype=bool, na_value=False)
            if column.dtype == "boolean"
            else (column.to_numpy())
        )
        known = column.notna().to_numpy(bool)
        for value in exact:
            if isinstance(value, bool):
                mask |= known & (flags == value)
    elif exact:
        if column.dtype == "string":
            mask |= (
                column.astype("string").isin([str(v) for v in exact]).fillna(False).to_numpy(bool)
            )
        else:
            mask |= column.isin(exact).fillna(False).to_numpy(bool)
    for prefix in prefixes:
        mask |= _starts_with(column, prefix)
    return mask


def _named(names: pd.Index, exact: list[Any], prefixes: list[str]) -> np.ndarray:
    """Which of the names are one of the values or start with one of the prefixes."""
    hit = np.isin(names, [str(v) for v in exact])
    for prefix in prefixes:
        hit |= np.asarray(names.str.startswith(prefix), bool)
    return hit


def _starts_with(column: pd.Series, prefix: str) -> np.ndarray:
    """True where the value starts with `prefix`; a categorical column is tested on its few
    categories, not converted to ten million strings."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return category_mask(column, lambda names: names.str.startswith(prefix))
    return column.astype("string").str.startswith(prefix).fillna(False).to_numpy(bool)


def _operators(column: pd.Series, ops: Operators, name: str) -> np.ndarray:
    mask = np.ones(len(column), dtype=bool)
    if ops.eq is not None:
        mask &= _any_of(column, [ops.eq])
    if ops.ne is not None:
        mask &= ~_any_of(column, [ops.ne])
    if ops.any_of is not None:
        mask &= _any_of(column, ops.any_of)
    if ops.not_in is not None:
        mask &= ~_any_of(column, ops.not_in)
    if ops.exists is not None:
        present = column.notna().to_numpy(bool)
        mask &= present if ops.exists else ~present
    if ops.prefix is not None:
        mask &= _starts_with(column, ops.prefix)
    bounds = [
        (ops.gt, np.greater),
        (ops.gte, np.greater_equal),
        (ops.lt, np.less),
        (ops.lte, np.less_equal),
    ]
    if any(b is not None for b, _ in bounds):
        if name not in NUMERIC_FIELDS:
            raise ValueError(f"comparisons need a numeric field, not {name}")
        for bound, op in bounds:
            if bound is not None:
                mask &= _compared(column, op, bound)
    return mask


def _compared(column: pd.Series, op, bound: float) -> np.ndarray:
    """Where the column's number meets the bound; a blank never does. A stored number column
    is compared as it is (ten million small integers, not ten million floats made first)."""
    kind = column.dtype
    if pd.api.types.is_extension_array_dtype(kind) and pd.api.types.is_numeric_dtype(kind):
        return op(column.array, bound).to_numpy(dtype=bool, na_value=False)
    return op(floats(column), bound)


def shared_definitions(selections: list[Selection]) -> list[str]:
    """The definitions of the selections with `scope: household`: what decides which records
    `shared_records` marks."""
    return [s.model_dump_json() for s in selections if s.household]


def shared_records(events: pd.DataFrame, selections: list[Selection]) -> np.ndarray | None:
    """The stored events that selections with `scope: household` may read for a brother or
    sister, judged on what each record says (None when no selection asks). Such selections
    cannot test the child's own fields (RULE-INVALID), so the stored columns suffice."""
    chosen = [s for s in selections if s.household]
    household = dict(zip(shared_definitions(chosen), chosen, strict=True))
    if not household or not len(events):
        return None
    view = events
    if any("sessions_attended" in s.tests() for s in household.values()):
        attended = events["sessions_possible"] - events["sessions_absent"]
        view = events.assign(sessions_attended=attended)
    return np.logical_or.reduce([selection_mask(view, s) for s in household.values()])
