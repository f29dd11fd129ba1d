"""Ordinary families the rules must leave alone, one function per trap: records that look like a
pattern at a glance but are explained by what else the record shows. Each is listed in truth.csv
(`pattern` = `trap:…`) so a scan can be scored on staying quiet at medium and above.

A trap gets the block and its children (school age, no planted pattern, not open to social
care, one trap per household), adds their rows through the block's writers and returns how many
days before the end of each child's window it starts. Trap children draw from their own random
generator, so the rest of the region is as it would be without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from noncoop.synth.block import Block

Trap = Callable[["Block", np.ndarray], int]


def chronic_illness(block: Block, kids: np.ndarray) -> int:
    """A child with type 1 diabetes: 44 clinic and nurse contacts in a year, all but two kept,
    half a day of school missed for each one kept (M) and a little illness (I): about 12% of
    sessions absent, all of it explained."""
    child, day = block.spread(kids, 44, 360)
    missed = np.tile(np.isin(np.arange(44), [5, 35]), len(kids))
    outcome = np.where(missed, "3", "5")
    block.appointment_rows(child, day, outcome, "Diabetes", block.chains(len(child), "TD"))
    block.mark_sessions(child[~missed], day[~missed], day[~missed] + 1, "M01", 0.5)
    block.mark_sessions(kids, block.win_end[kids] - 360, block.win_end[kids], "I01", 0.03)
    return 360


def service_cancellations(block: Block, kids: np.ndarray) -> int:
    """Four appointments cancelled by the service, each rebooked and kept two weeks later."""
    child, day = block.spread(kids, 4, 150)
    chain = block.chains(len(child), "TC")
    block.appointment_rows(child, day, "4", "Paeds", chain)
    block.appointment_rows(child, day + 14, "5", "Paeds", chain)
    return 150


def hospital_stay(block: Block, kids: np.ndarray) -> int:
    """Three weeks on a ward: every school session coded with the local hospital sub-code
    (I02, mapped to I), and the ward's contact with the child every day."""
    start = block.win_end[kids] - 21
    block.mark_sessions(kids, start, block.win_end[kids], "I02", 1.0)
    child = np.repeat(kids, 21)
    day = np.repeat(start, 21) + np.tile(np.arange(21), len(kids))
    block.appointment_rows(child, day, "5", "Ward", block.chains(len(child), "TW"))
    return 21


def sessions_marked(days: int, code: str) -> Trap:
    """A trap of `days` days of school sessions all marked with one code."""

    def trap(block: Block, kids: np.ndarray) -> int:
        block.mark_sessions(kids, block.win_end[kids] - days, block.win_end[kids], code, 1.0)
        return days

    return trap


# A fortnight's family holiday in term time (G, unauthorised).
holiday = sessions_marked(14, "G01")
# A move between schools: two weeks off the old school's roll before the new one starts (Z, not
# on roll, so not a possible session).
school_move = sessions_marked(14, "Z")


def single_police_incident(block: Block, kids: np.ndarray) -> int:
    """One police call-out where a parent was verbally abusive to officers, and nothing else."""
    block.police_rows(
        block.hh_local[kids], block.win_end[kids] - 10, np.full(len(kids), "ABUSE-WORKER")
    )
    return 10


TRAPS: dict[str, Trap] = {
    "trap:chronic-illness": chronic_illness,
    "trap:service-cancellations": service_cancellations,
    "trap:hospital-stay": hospital_stay,
    "trap:holiday": holiday,
    "trap:school-move": school_move,
    "trap:single-police-incident": single_police_incident,
}
