"""Households: each child's own events plus every event of the adults in their household.

An adult's event (a parent's hostility, a police incident) counts for every child of the
household; alerts are always about a child.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from noncoop.asof import to_seconds
from noncoop.vocab import ROLES


@dataclass
class HouseholdRows:
    """Where each child's events are: positions into the event table in (child, time) order,
    the child each row counts for, and whether it is an adult's event shared with the child."""

    rows: np.ndarray
    child: np.ndarray  # codes into `children`
    children: pd.Index
    shared: np.ndarray


def household_rows(
    events: pd.DataFrame, subjects: pd.DataFrame, seconds: np.ndarray
) -> HouseholdRows:
    """Each child's own events plus every adult event of their household, as positions.

    Identifiers are factorised once, so ten million events cost one dictionary encoding, a merge
    over the adults' events only, and one integer sort."""
    is_child = (events["subject_role"] == "child").to_numpy(bool)
    codes, ids = pd.factorize(events["subject_id"])
    ids = np.asarray(ids, dtype=object).astype(str)
    kids = subjects.loc[subjects["role"].astype(str) == "child", ["subject_id", "household_id"]]
    child_ids = ids[np.unique(codes[is_child & (codes >= 0)])]
    children = pd.Index(
        np.unique(np.concatenate([kids["subject_id"].astype(str).to_numpy(), child_ids]))
    )
    to_child = children.get_indexer(ids)
    own_rows = np.flatnonzero(is_child)
    own_codes = to_child[codes[own_rows]]
    adult_rows = np.flatnonzero(~is_child)
    pairs = (
        pd.DataFrame(
            {
                "row": adult_rows,
                "household_id": events["household_id"].take(adult_rows).astype(object).to_numpy(),
            }
        )
        .dropna()
        .merge(kids.dropna().astype(object), on="household_id")
    )
    rows = np.concatenate([own_rows, pairs["row"].to_numpy(np.int64)])
    child = np.concatenate([own_codes, children.get_indexer(pairs["subject_id"].astype(str))])
    shared = np.concatenate([np.zeros(len(own_rows), bool), np.ones(len(pairs), bool)])
    order = np.lexsort((seconds[rows], child))
    return HouseholdRows(rows[order], child[order].astype(np.int64), children, shared[order])


def household_view(events: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Events per child: each child's own events plus every adult event of their household.

    An adult event is repeated once per child in the household, with `via_subject_id` naming the
    adult, so a parent's hostility counts for every child it affects. Rows are in (child, time)
    order.
    """
    view = shared_view(events, household_rows(events, subjects, to_seconds(events["occurred_at"])))
    view["subject_id"] = view["subject_id"].astype("string")
    return view


def shared_view(events: pd.DataFrame, where: HouseholdRows) -> pd.DataFrame:
    """The event rows `where` names, re-attributed to the child they count for."""
    view = events.take(where.rows).reset_index(drop=True)
    via = pd.Series(pd.NA, index=view.index, dtype="string")
    via[where.shared] = view["subject_id"][where.shared].astype("string")
    view["via_subject_id"] = via
    view["subject_id"] = pd.Categorical.from_codes(where.child, categories=where.children)
    view["subject_role"] = pd.Categorical.from_codes(np.zeros(len(view), np.int8), categories=ROLES)
    return view
