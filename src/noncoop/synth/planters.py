"""Planted patterns, one function per pattern tag: records written the way a family showing that
pattern would leave them in the agencies' exports, and the truth rows that score detection.

A planter reads the block's chosen children (`block.kids(tag)`) and adds rows through the block's
writers; the order below is the order the random generator is drawn in, so a seed gives the same
files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from noncoop.synth.block import Block


def plant_rebook_miss(block: Block) -> None:
    """Appointments booked then missed, rebooked, missed again: 4 misses in one chain."""
    kids = block.kids("pattern:rebook-miss")
    child, day = block.spread(kids, 4, 150)
    chain = np.repeat(block.chains(len(kids), "M"), 4)
    clinic = np.repeat(block.rng.choice(["GP", "Dental", "Paeds"], len(kids)), 4)
    block.appointment_rows(
        child, day, np.where(block.rng.random(len(child)) < 0.5, "3", "WNB"), clinic, chain
    )
    block.truth(kids, "pattern:rebook-miss", block.win_end[kids] - 150, block.win_end[kids])


def plant_ambivalence(block: Block) -> None:
    """Repeated cancellations by the family, each followed by a new booking."""
    kids = block.kids("pattern:ambivalence")
    child, day = block.spread(kids, 4, 110)
    block.appointment_rows(
        child,
        day,
        np.full(len(child), "2"),
        np.full(len(child), "Paeds"),
        np.repeat(block.chains(len(kids), "A"), 4),
    )
    block.truth(kids, "pattern:ambivalence", block.win_end[kids] - 110, block.win_end[kids])


def plant_isolation(block: Block) -> None:
    """Out of view: heavy school absence (in _attendance) and missed health appointments."""
    kids = block.kids("pattern:isolation")
    child, day = block.spread(kids, 2, 80)
    block.appointment_rows(
        child,
        day,
        np.full(len(child), "3"),
        np.full(len(child), "GP"),
        block.chains(len(child), "I"),
    )
    block.truth(kids, "pattern:isolation", block.win_end[kids] - 84, block.win_end[kids])


def plant_no_access(block: Block) -> None:
    """Repeated no access: the door not answered, a visit refused."""
    kids = block.kids("pattern:no-access")
    child, day = block.spread(kids, 4, 56)
    block.cp_rows(child, day, np.full(len(child), "N"), np.full(len(child), "N"))
    block.note_rows(block.la[kids], block.win_end[kids] - 30, "REF", "CP", "Not seen", "")
    block.truth(kids, "pattern:no-access", block.win_end[kids] - 56, block.win_end[kids])


def plant_child_not_seen(block: Block) -> None:
    """Visits go ahead but the child is not seen for more than six weeks."""
    kids = block.kids("pattern:child-not-seen")
    child, day = block.spread(kids, 4, 45)
    block.note_rows(block.la[child], day, "VIS", "CP", "Not seen", "")
    block.truth(kids, "pattern:child-not-seen", block.win_end[kids] - 56, block.win_end[kids])


def plant_not_seen_alone(block: Block) -> None:
    """Seen at every visit, never alone (background visits are set to not alone)."""
    kids = block.kids("pattern:not-seen-alone")
    block.truth(kids, "pattern:not-seen-alone", block.win_end[kids] - 100, block.win_end[kids])


def plant_missed_meetings(block: Block) -> None:
    """Core groups and conferences not attended."""
    kids = block.kids("pattern:missed-meetings")
    child, day = block.spread(kids, 3, 84)
    block.note_rows(block.la[child], day, "MTGX", "CP", "", "")
    block.truth(kids, "pattern:missed-meetings", block.win_end[kids] - 84, block.win_end[kids])


def plant_partial_hostility(block: Block) -> None:
    """Hostility seen by social care only, while health and school stay involved."""
    kids = block.kids("pattern:partial-hostility")
    child, day = block.spread(kids, 3, 80)
    note = block.rng.choice(["HOS2", "HOS3"], len(child))
    block.note_rows(block.adult_la[block.hh_local[child]], day, note, "CP", "", "")
    block.appointment_rows(
        child,
        day - 5,
        np.full(len(child), "5"),
        np.full(len(child), "GP"),
        block.chains(len(child), "P"),
    )
    block.truth(kids, "pattern:partial-hostility", block.win_end[kids] - 80, block.win_end[kids])


def plant_escalating_hostility(block: Block) -> None:
    """Escalation: silence, then verbal abuse, threats, and violence toward a worker."""
    kids = block.kids("pattern:escalating-hostility")
    child, day = block.spread(kids, 4, 120)
    levels_ordered = np.tile(["HOS1", "HOS2", "HOS3", ""], len(kids))
    notes = levels_ordered != ""
    hh = block.hh_local[child]
    block.note_rows(block.adult_la[hh[notes]], day[notes], levels_ordered[notes], "CP", "", "")
    block.police_rows(hh[~notes], day[~notes], np.full(int((~notes).sum()), "ASSAULT-WORKER"))
    block.truth(
        kids, "pattern:escalating-hostility", block.win_end[kids] - 120, block.win_end[kids]
    )


def plant_worker_safety(block: Block) -> None:
    """A threat to a worker and a violent incident within a month."""
    kids = block.kids("pattern:worker-safety")
    hh = block.hh_local[kids]
    block.police_rows(hh, block.win_end[kids] - 20, np.full(len(kids), "THREAT-WORKER"))
    block.note_rows(block.adult_la[hh], block.win_end[kids] - 5, "HOS4", "CP", "", "")
    block.truth(kids, "pattern:worker-safety", block.win_end[kids] - 20, block.win_end[kids])


PLANTERS: dict[str, Callable[[Block], None]] = {
    "pattern:rebook-miss": plant_rebook_miss,
    "pattern:ambivalence": plant_ambivalence,
    "pattern:isolation": plant_isolation,
    "pattern:no-access": plant_no_access,
    "pattern:child-not-seen": plant_child_not_seen,
    "pattern:not-seen-alone": plant_not_seen_alone,
    "pattern:missed-meetings": plant_missed_meetings,
    "pattern:partial-hostility": plant_partial_hostility,
    "pattern:escalating-hostility": plant_escalating_hostility,
    "pattern:worker-safety": plant_worker_safety,
}
