"""Households: each child's own events plus every event of the adults in their household.

An adult's event (a parent's hostility, a police incident) counts for every child of the
household; alerts are always about a child.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noncoop.asof import to_seconds
from noncoop.events import tie_numbers
from noncoop.vocab import ROLES


@dataclass
class HouseholdRows:
    """Where each child's events are: positions into the event table in (child, time) order,
    the child each row counts for, and whether it is an adult's event shared with the child."""

    rows: np.ndarray
    child: np.ndarray  # codes into `children`
    children: pd.Index
    shared: np.ndarray  # an adult's event, or a brother's or sister's (`sibling`)
    sibling: np.ndarray
    seconds: np.ndarray  # each row's time, as given


def household_rows(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    seconds: np.ndarray,
    share: np.ndarray | None = None,
) -> HouseholdRows:
    """Each child's own events plus every adult event of their household, as positions; and the
    children's events marked in `share` for each brother and sister too.

    Identifiers are factorised once, so ten million events cost one dictionary encoding, a merge
    over the adults' (and shared) events only, and one integer sort."""
    is_child = (events["subject_role"] == "child").to_numpy(bool)
    people = events["subject_id"]
    if isinstance(people.dtype, pd.CategoricalDtype):  # loaded as codes already
        codes, ids = people.cat.codes.to_numpy(), people.cat.categories
    else:
        codes, ids = pd.factorize(people)
    ids = np.asarray(ids, dtype=object).astype(str)
    kids = subjects.loc[subjects["role"].astype(str) == "child", ["subject_id", "household_id"]]
    # The people with a child's record: marked per person, not by sorting ten million codes.
    has_child_record = np.zeros(len(ids) + 1, bool)
    has_child_record[codes[is_child]] = True  # a blank (-1) marks the spare last slot
    child_ids = ids[has_child_record[:-1]]
    children = pd.Index(
        np.unique(np.concatenate([kids["subject_id"].astype(str).to_numpy(), child_ids]))
    )
    to_child = children.get_indexer(ids)
    own_rows = np.flatnonzero(is_child)
    own_codes = to_child[codes[own_rows]]
    adult_rows = np.flatnonzero(~is_child)
    # Each person's household, from the crosswalk (as every stored event's is, re-linked when
    # it changes): the event table need not carry ten million copies of it.
    by_person = subjects.set_index(subjects["subject_id"].astype(str))["household_id"]
    household = np.append(by_person.reindex(ids).to_numpy(object), None)  # per person code
    pairs = _with_household_children(household[codes[adult_rows]], adult_rows, kids)
    sibling_rows = np.flatnonzero(is_child & share) if share is not None else adult_rows[:0]
    siblings = _with_household_children(household[codes[sibling_rows]], sibling_rows, kids)
    # A child's own record is not its own sibling's.
    siblings = siblings[siblings["subject_id"].to_numpy() != ids[codes[siblings["row"]]]]
    rows = np.concatenate([own_rows, pairs["row"].to_numpy(np.int64), siblings["row"]])
    child = np.concatenate(
        [
            own_codes,
            children.get_indexer(pairs["subject_id"].astype(str)),
            children.get_indexer(siblings["subject_id"].astype(str)),
        ]
    )
    n_own, n_adult, n_sibling = len(own_rows), len(pairs), len(siblings)
    shared = np.r_[np.zeros(n_own, bool), np.ones(n_adult + n_sibling, bool)]
    sibling = np.r_[np.zeros(n_own + n_adult, bool), np.ones(n_sibling, bool)]
    order, in_order = _by_child_and_time(
        child, seconds[rows], lambda at: tie_numbers(events, rows[at])
    )
    return HouseholdRows(
        rows[order],
        child[order].astype(np.int64, copy=False),
        children,
        shared[order],
        sibling[order],
        in_order,
    )


def _by_child_and_time(
    child: np.ndarray, seconds: np.ndarray, numbers: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The order of rows by child, then time, then event id (`numbers` of rows): the same
    whatever order the events came in; and the rows' seconds in that order. One stable sort of
    a single integer key (child above, seconds below) costs half a two-key lexsort, and less
    again on exports already in time order; only the rows recorded at the same moment as
    another are then put in id order."""
    if not len(child):
        return np.zeros(0, np.int64), seconds[:0]
    low = int(seconds.min())
    span = int(seconds.max()) - low
    if span >= 1 << 34 or int(child.max()) >= 1 << 29:  # centuries apart: three keys
        order = np.lexsort((numbers(np.arange(len(child))), seconds, child))
        return order, seconds[order]
    # In place: each step over ten million rows would otherwise be a fresh array.
    key = child.astype(np.int64)
    key <<= 34
    key += seconds
    key -= low
    order = np.argsort(key, kind="stable")
    key = key[order]
    same = key[1:] == key[:-1]
    if same.any():
        run = np.cumsum(np.r_[True, ~same])  # each (child, second) in turn
        tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        rows = order[tied]
        order[tied] = rows[np.lexsort((numbers(rows), run[tied]))]
    # The seconds in order are the sorted keys' low bits: no second gather of ten million.
    key &= (1 << 34) - 1
    key += low
    return order, key


def _with_household_children(
    household: np.ndarray, rows: np.ndarray, kids: pd.DataFrame
) -> pd.DataFrame:
    """(row, subject_id) for each of the rows (whose households are `household`) and each child
    of the row's household."""
    return (
        pd.DataFrame({"row": rows, "household_id": household})
        .dropna()
        .merge(kids.dropna().astype(object), on="household_id")
    )


def household_view(events: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Events per child: each child's own events plus every adult event of their household.

    An adult event is repeated once per child in the household, with `via_subject_id` naming the
    adult, so a parent's hostility counts for every child it affects. Rows are in (child, time)
    order.
    """
    view = shared_view(events, household_rows(events, subjects, to_seconds(events["occurred_at"])))
    view["subject_id"] = view["subject_id"].astype("string")
    return view


def shared_view(
    events: pd.DataFrame, where: HouseholdRows, columns: list[str] | None = None
) -> pd.DataFrame:
    """The event rows `where` names, re-attributed to the child they count for; only `columns`
    of them when given (the rules' working set: the record's trace stays in `events`, read
    through `where.rows` for the evidence of the alerts that fire)."""
    taken = events if columns is None else events[[c for c in columns if c in events]]
    view = taken.take(where.rows).reset_index(drop=True)
    if columns is None:
        via = pd.Series(pd.NA, index=view.index, dtype="string")
        via[where.shared] = view["subject_id"][where.shared].astype("string")
        view["via_subject_id"] = via
    view["via_sibling"] = where.sibling
    view["subject_id"] = pd.Categorical.from_codes(where.child, categories=where.children)
    view["subject_role"] = pd.Categorical.from_codes(np.zeros(len(view), np.int8), categories=ROLES)
    return view
