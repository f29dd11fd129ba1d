"""Planted patterns, one function per pattern tag: records written the way a family showing that
pattern would leave them in the agencies' exports, and the truth rows that score detection.

A planter gets the block and the children chosen for its pattern, adds their rows through the
block's writers and returns how many days before the end of each child's window the planted
pattern starts (its truth window). The order below is the order the random generator is drawn in,
so a seed gives the same files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from noncoop.synth.block import Block

Planter = Callable[["Block", np.ndarray], int]


def plant_rebook_miss(block: Block, kids: np.ndarray) -> int:
    """Appointments booked then missed, rebooked, missed again: 4 misses in one chain."""
    child, day = block.spread(kids, 4, 150)
    chain = np.repeat(block.chains(len(kids), "M"), 4)
    clinic = np.repeat(block.rng.choice(["GP", "Dental", "Paeds"], len(kids)), 4)
    block.appointment_rows(
        child, day, np.where(block.rng.random(len(child)) < 0.5, "3", "WNB"), clinic, chain
    )
    return 150


def plant_ambivalence(block: Block, kids: np.ndarray) -> int:
    """Repeated cancellations by the family, each followed by a new booking."""
    child, day = block.spread(kids, 4, 110)
    block.appointment_rows(child, day, "2", "Paeds", np.repeat(block.chains(len(kids), "A"), 4))
    return 110


def plant_isolation(block: Block, kids: np.ndarray) -> int:
    """Out of view: heavy school absence (in _attendance) and missed health appointments."""
    child, day = block.spread(kids, 2, 80)
    block.appointment_rows(child, day, "3", "GP", block.chains(len(child), "I"))
    return 84


def plant_no_access(block: Block, kids: np.ndarray) -> int:
    """Repeated no access: the door not answered, a visit refused."""
    child, day = block.spread(kids, 4, 56)
    block.cp_rows(child, day, "N", "N")
    block.note_rows(block.la[kids], block.win_end[kids] - 30, "REF", "CP", "Not seen", "")
    return 56


def case_notes(per_kid: int, span: int, note_type: str, seen: str, window: int) -> Planter:
    """A planter of social care case notes of one type, `per_kid` of them over `span` days."""

    def plant(block: Block, kids: np.ndarray) -> int:
        child, day = block.spread(kids, per_kid, span)
        block.note_rows(block.la[child], day, note_type, "CP", seen, "")
        return window

    return plant


# Visits go ahead but the child is not seen for more than six weeks.
plant_child_not_seen = case_notes(4, 45, "VIS", "Not seen", window=56)
# Core groups and conferences not attended.
plant_missed_meetings = case_notes(3, 84, "MTGX", "", window=84)


def plant_not_seen_alone(block: Block, kids: np.ndarray) -> int:
    """Seen at every visit, never alone (background visits are set to not alone)."""
    return 100


def plant_partial_hostility(block: Block, kids: np.ndarray) -> int:
    """Hostility seen by social care only, while health stays involved with every child of the
    household: the adult's hostility counts for each of them, so each is seen by the GP.

    Half the families have it written as practitioners mostly do, as a level on the visit or call
    where it happened (threatened on a home visit, a visit refused with abuse, the parent phoning
    abusively); the other half as separate hostility notes against the adult."""
    child, day = block.spread(kids, 3, 80)
    on_visits = np.repeat(block.rng.random(len(kids)) < 0.5, 3)
    step = np.tile(np.arange(3), len(kids))
    hh = block.hh_local[child]
    noted = ~on_visits
    note = block.rng.choice(["HOS2", "HOS3"], len(child))
    block.note_rows(block.adult_la[hh[noted]], day[noted], note[noted], "CP", "", "")
    kinds = (("VIS", "Seen", "3"), ("REF", "Not seen", "2"), ("TEL", "", "2"))
    for i, (note_type, seen, level) in enumerate(kinds):
        at = on_visits & (step == i)
        # A call is from the parent: it is recorded against the adult.
        person = block.adult_la[hh[at]] if note_type == "TEL" else block.la[child[at]]
        block.note_rows(person, day[at], note_type, "CP", seen, "", level)
    block.appointment_rows(child, day - 5, "5", "GP", block.chains(len(child), "P"))
    # The household's other children: a GP appointment near each hostility record too.
    member = np.flatnonzero(np.isin(block.hh_local, hh) & (block.pattern == ""))
    rows = np.flatnonzero(block.hh_local[member][:, None] == hh[None, :])
    sibling, at = member[rows // len(hh)], rows % len(hh)
    block.appointment_rows(sibling, day[at] - 4, "5", "GP", block.chains(len(sibling), "PS"))
    return 80


def plant_escalating_hostility(block: Block, kids: np.ndarray) -> int:
    """Escalation: silence, then verbal abuse, threats, and violence toward a worker. Half the
    families have the first three written as levels on the social worker's visits (the third cut
    short), half as separate notes against the adult; the violence is a police incident."""
    child, day = block.spread(kids, 4, 120)
    on_visits = np.repeat(block.rng.random(len(kids)) < 0.5, 4)
    levels_ordered = np.tile(["HOS1", "HOS2", "HOS3", ""], len(kids))
    notes = levels_ordered != ""
    hh = block.hh_local[child]
    apart = notes & ~on_visits
    block.note_rows(block.adult_la[hh[apart]], day[apart], levels_ordered[apart], "CP", "", "")
    visit = notes & on_visits
    note_type = np.where(levels_ordered[visit] == "HOS3", "CUT", "VIS")
    level = np.array([code.removeprefix("HOS") for code in levels_ordered[visit]], dtype=object)
    block.note_rows(block.la[child[visit]], day[visit], note_type, "CP", "Seen", "", level)
    block.police_rows(hh[~notes], day[~notes], np.full(int((~notes).sum()), "ASSAULT-WORKER"))
    return 120


def plant_worker_safety(block: Block, kids: np.ndarray) -> int:
    """A threat to a worker and a violent incident within a month. The violence is recorded by
    social care and, for half the families, by the police too on the same day: one incident,
    two records."""
    hh = block.hh_local[kids]
    block.police_rows(hh, block.win_end[kids] - 20, np.full(len(kids), "THREAT-WORKER"))
    block.note_rows(block.adult_la[hh], block.win_end[kids] - 5, "HOS4", "CP", "", "")
    twice = block.rng.random(len(kids)) < 0.5
    block.police_rows(
        hh[twice], block.win_end[kids][twice] - 5, np.full(int(twice.sum()), "ASSAULT-WORKER")
    )
    return 20


PLANTERS: dict[str, Planter] = {
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
