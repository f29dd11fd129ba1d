"""Re-linking the store after people.csv changed: every stored event takes the identity its
identifier links to now, and one whose identifier no longer links leaves for the quarantine.
"""

from __future__ import annotations

import pandas as pd

from noncoop import quarantine
from noncoop.events import conform
from noncoop.identity.crosswalk import Crosswalk
from noncoop.store.workspace import Workspace


def relink_store(ws: Workspace, people: Crosswalk) -> tuple[int, pd.DataFrame]:
    """Re-resolve the identity of every stored event after people.csv changed.

    Events whose identifier still links take the subject, role and household it links to now;
    events whose identifier no longer links are taken out of the store and returned as
    quarantine rows, so no record stays attached to the wrong child and none is lost.
    """
    changed, detached = 0, []
    for part in ws.event_parts():
        events = pd.read_parquet(part)
        checks = quarantine.Checks(events.index)
        who = people.link(events[["id_scheme", "id_value"]], checks)
        bad = checks.failed
        moved = ~bad & (
            (who["subject_id"] != events["subject_id"]).fillna(True)
            | (who["household_id"].fillna("") != events["household_id"].fillna(""))
            | (who["subject_role"].astype(str) != events["subject_role"].astype(str))
        )
        if not bad.any() and not moved.any():
            continue
        changed += int(moved.sum())
        for column in ("subject_id", "household_id", "subject_role"):
            events[column] = who[column].where(~bad, events[column].astype(who[column].dtype))
        detached.append(
            quarantine.frame(
                events["source"][bad],
                events["source_file"][bad],
                events["source_line"][bad],
                events["record_key"][bad].fillna(""),
                checks.codes[bad],
                "identifier no longer links after people.csv changed: " + checks.reasons[bad],
                quarantine.raw_json(events[bad].astype(str)),
            )
        )
        ws.write_events(conform(events[~bad.to_numpy()]), part.stem)
    return changed, pd.concat(detached, ignore_index=True) if detached else quarantine.empty()
