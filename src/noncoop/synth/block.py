"""One block of synthetic children: households, background records as the agencies would hold
them, the planted patterns (planters.py) and a few deliberately malformed rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from noncoop.identity.identifiers import UPN_LETTERS
from noncoop.synth.calendar import Calendar
from noncoop.synth.exports import FILES, PERSON_COLUMN, SOURCE_OF_FILE, Exports
from noncoop.synth.planters import PLANTERS
from noncoop.synth.traps import TRAPS
from noncoop.vocab import PATTERN_TAGS

PATTERNS = tuple(t for t in PATTERN_TAGS if t != "pattern:other")
HOUSEHOLD_PATTERNS = (
    "pattern:partial-hostility",
    "pattern:escalating-hostility",
    "pattern:worker-safety",
    "trap:single-police-incident",
)
TRAP_RATE = 0.004  # share of children given each ordinary-family trap (traps.py)
PLANT_RATE = 0.012  # share of children carrying each planted pattern
HISTORIC_SHARE = 1 / 3  # of planted patterns, the share that ended 60-200 days before as_of
ON_PLAN_RATE = 0.05  # background children open to social care with visits


def nhs_numbers(index: np.ndarray) -> np.ndarray:
    """Unique valid NHS numbers: of two adjacent 9-digit stems at least one has a check digit."""
    stems = []
    for offset in (0, 1):
        stem = 400_000_000 + 2 * index + offset
        digits = (stem[:, None] // 10 ** np.arange(8, -1, -1)) % 10
        check = 11 - (digits @ np.arange(10, 1, -1)) % 11
        check = np.where(check == 11, 0, check)
        stems.append((stem, check))
    (s0, c0), (s1, c1) = stems
    stem = np.where(c0 == 10, s1, s0)
    check = np.where(c0 == 10, c1, c0)
    return (stem * 10 + check).astype(str)


def upns(index: np.ndarray) -> np.ndarray:
    """Unique valid UPNs: LA 801, then an 9-digit serial, with the check letter in front."""
    body = np.char.add("801", np.char.zfill((100_000_000 + index).astype(str), 9))
    digits = np.frombuffer(body.astype("S12").tobytes(), np.uint8).reshape(-1, 12) - ord("0")
    letters = np.array(list(UPN_LETTERS))[(digits.astype(np.int64) @ np.arange(2, 14)) % 23]
    return np.char.add(letters, body)


class Block:
    """One block of children with their households, background records and planted patterns."""

    def __init__(
        self,
        first: int,
        count: int,
        rng: np.random.Generator,
        cal: Calendar,
        earlier: np.random.Generator | None = None,
        traps: np.random.Generator | None = None,
    ):
        self.rng = rng
        self.cal = cal
        idx = np.arange(first, first + count)
        self.idx = idx
        self.kid = np.char.add("C", np.char.zfill(idx.astype(str), 7))
        self.nhs = nhs_numbers(idx)
        self.upn = upns(idx)
        self.la = np.char.add("LA1", np.char.zfill(idx.astype(str), 7))
        age_days = rng.integers(30, 17 * 365, count)
        self.dob = cal.end - pd.to_timedelta(age_days, unit="D")
        self.age = age_days / 365.25
        self.born_day = (cal.days - 1 - age_days).astype(np.int64)  # may be before the start
        # Households: runs of 1-3 consecutive children share one, with one or two adults.
        new_household = rng.random(count) < 0.55
        new_household[0] = True
        hh_local = np.cumsum(new_household) - 1
        self.hh_count = int(hh_local[-1]) + 1
        hh_first = first * 2  # households numbered apart from children, never colliding
        self.household = np.char.add("H", np.char.zfill((hh_first + hh_local).astype(str), 7))
        self.hh_local = hh_local
        hh_ids = np.char.add(
            "H", np.char.zfill((hh_first + np.arange(self.hh_count)).astype(str), 7)
        )
        self.adult_hh = hh_ids
        self.adult_id = np.char.add(
            "A", np.char.zfill((hh_first + np.arange(self.hh_count)).astype(str), 7)
        )
        self.adult_la = np.char.add(
            "LA9", np.char.zfill((hh_first + np.arange(self.hh_count)).astype(str), 7)
        )
        self.adult_pn = np.char.add(
            "PN", np.char.zfill((hh_first + np.arange(self.hh_count)).astype(str), 7)
        )
        self.school_age = (self.age >= 5) & (self.age < 16)
        self.under5 = self.age < 5
        self.pattern = self._assign_patterns()
        self.on_plan = (rng.random(count) < ON_PLAN_RATE) | np.isin(
            self.pattern,
            [
                "pattern:no-access",
                "pattern:child-not-seen",
                "pattern:not-seen-alone",
                "pattern:missed-meetings",
                "pattern:partial-hostility",
                "pattern:escalating-hostility",
                "pattern:worker-safety",
            ],
        )
        # Planted windows end in the last weeks before as_of; a third of them (drawn from their
        # own generator, so the rest of the region stays as it was) ended months before, and
        # the family's records went back to the usual after it.
        self.win_end = cal.days - 1 - rng.integers(3, 25, count)
        self.pattern_stop = np.full(count, cal.days)  # first day the pattern no longer shows
        if earlier is not None:
            past = (self.pattern != "") & (earlier.random(count) < HISTORIC_SHARE)
            self.win_end[past] = cal.days - 1 - earlier.integers(60, 200, int(past.sum()))
            self.pattern_stop[past] = self.win_end[past] + 1
        self.trap = self._assign_traps(traps)
        # A trap family is an ordinary one: not open to social care.
        self.on_plan &= ~np.isin(self.hh_local, self.hh_local[self.trap != ""])
        self.rows: dict[str, list[pd.DataFrame]] = {name: [] for name in FILES}
        self.truth_rows: list[pd.DataFrame] = []
        self.marks: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, float]] = []

    def _assign_patterns(self) -> np.ndarray:
        n = len(self.idx)
        pattern = np.full(n, "", dtype=object)
        draw = self.rng.random(n)
        for i, tag in enumerate(PATTERNS):
            chosen = (draw >= i * PLANT_RATE) & (draw < (i + 1) * PLANT_RATE)
            if tag in ("pattern:isolation", "pattern:not-seen-alone"):
                chosen &= self.school_age
            pattern[chosen] = tag
        # One planted pattern per household keeps the truth unambiguous for household events.
        keep = pd.Series(pattern != "").groupby(self.hh_local).cumsum().to_numpy() <= 1
        pattern[~keep] = ""
        return pattern.astype(str)

    def _assign_traps(self, rng: np.random.Generator | None) -> np.ndarray:
        """Ordinary-family traps for school-age children of households with no planted
        pattern, one per household."""
        trap = np.full(len(self.idx), "", dtype=object)
        if rng is None:
            return trap.astype(str)
        planted = np.isin(self.hh_local, self.hh_local[self.pattern != ""])
        draw = rng.random(len(self.idx))
        for i, tag in enumerate(TRAPS):
            chosen = (draw >= i * TRAP_RATE) & (draw < (i + 1) * TRAP_RATE)
            trap[chosen & self.school_age & ~planted] = tag
        keep = pd.Series(trap != "").groupby(self.hh_local).cumsum().to_numpy() <= 1
        trap[~keep] = ""
        return trap.astype(str)

    def mark_sessions(self, kids, start, stop, code: str, share: float) -> None:
        """School sessions of the children on days `[start, stop)` marked with `code` (each
        with probability `share`), over what the register would otherwise say."""
        kids = np.asarray(kids)
        start, stop = (np.broadcast_to(v, len(kids)) for v in (start, stop))
        self.marks.append((kids, np.asarray(start), np.asarray(stop), code, share))

    # ------------------------------------------------------------------ writing
    def write(self, ex: Exports) -> tuple[int, int]:
        self._people()
        self._appointments()
        self._health_visiting()
        self._social_care()
        self._police()
        for tag, plant in PLANTERS.items():
            kids = self.kids(tag)
            days = plant(self, kids)
            self.truth(kids, tag, self.win_end[kids] - days, self.win_end[kids])
        for tag, trap in TRAPS.items():
            kids = np.flatnonzero(self.trap == tag)
            days = trap(self, kids)
            self.truth(kids, tag, self.win_end[kids] - days, self.win_end[kids])
        lines_by_file = {}
        for name, parts in self.rows.items():
            if name == "truth.csv" or not parts:
                continue
            frame = self._after_birth(name, pd.concat(parts, ignore_index=True))
            if "_day" in frame:
                frame = frame.sort_values("_day", kind="stable")
            lines_by_file[name] = ex.append(name, frame)
        self._attendance(ex)
        malformed = self._malformed(ex)
        truth = pd.concat(self.truth_rows, ignore_index=True) if self.truth_rows else None
        if truth is not None:
            truth["source_line"] = truth["source_line"].astype("Int64")
            ex.append("truth.csv", truth.astype("string").fillna(""))
        planted = int((self.pattern != "").sum())
        return planted, malformed

    def _after_birth(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Nothing is recorded about a child before it is born: rows dated earlier (background
        drawn over the whole period, windows reaching back past a baby's birth) are left out."""
        column = PERSON_COLUMN.get(name)
        if column is None or "_day" not in frame:
            return frame
        born = pd.Series(np.concatenate([self.born_day] * 2), index=[*self.nhs, *self.la])
        birth = frame[column].map(born)  # NaN for an adult
        return frame[~(frame["_day"] < birth).to_numpy(bool)]

    def _add(self, name: str, **columns) -> None:
        self.rows[name].append(pd.DataFrame(columns))

    def _people(self) -> None:
        dob = self.dob.strftime("%Y-%m-%d").to_numpy()
        n = len(self.idx)
        for scheme, values, who in (
            ("nhs", self.nhs, None),
            ("la", self.la, None),
            ("upn", self.upn, self.school_age),
        ):
            mask = np.ones(n, bool) if who is None else who
            self._add(
                "people.csv",
                subject_id=self.kid[mask],
                id_scheme=scheme,
                id_value=values[mask],
                household_id=self.household[mask],
                date_of_birth=dob[mask],
                role="child",
            )
        adult_dob = self.cal.end - pd.to_timedelta(
            self.rng.integers(20 * 365, 50 * 365, self.hh_count), unit="D"
        )
        for scheme, values in (("la", self.adult_la), ("police", self.adult_pn)):
            self._add(
                "people.csv",
                subject_id=self.adult_id,
                id_scheme=scheme,
                id_value=values,
                household_id=self.adult_hh,
                date_of_birth=adult_dob.strftime("%Y-%m-%d").to_numpy(),
                role="adult",
            )

    def appointment_rows(
        self,
        child: np.ndarray,
        day: np.ndarray,
        outcome: np.ndarray | str,
        clinic: np.ndarray | str,
        chain: np.ndarray,
    ) -> None:
        """An appointment is two rows: the booking (outcome 0) and, once it has passed, the
        outcome; rows dated after as_of stay booked. One outcome or clinic may stand for all."""
        outcome, clinic = (np.broadcast_to(v, len(child)) for v in (outcome, clinic))
        lead = self.rng.integers(5, 21, len(day))
        booked = np.maximum(day - lead, 0)
        self._add(
            "gp.csv",
            NHSNumber=self.nhs[child],
            ApptDate=self.cal.date(booked, "%d/%m/%Y"),
            Clinic=clinic,
            ReferralRef=chain,
            Outcome="0",
            _day=booked,
        )
        past = day <= self.cal.days - 1
        self._add(
            "gp.csv",
            NHSNumber=self.nhs[child[past]],
            ApptDate=self.cal.date(day[past], "%d/%m/%Y"),
            Clinic=clinic[past],
            ReferralRef=chain[past],
            Outcome=outcome[past],
            _day=day[past],
        )

    def chains(self, n: int, tag: str) -> np.ndarray:
        return np.char.add(f"R{self.idx[0]:07d}{tag}", np.arange(n).astype(str))

    def _appointments(self) -> None:
        """Routine GP, dental and other health appointments, nearly all attended."""
        rng, n = self.rng, len(self.idx)
        per_child = rng.poisson(3.5 * self.cal.days / 365, n)
        child = np.repeat(np.arange(n), per_child)
        day = rng.integers(0, self.cal.days + 30, len(child))
        outcome = rng.choice(
            ["5", "6", "3", "2", "4", "7"], len(child), p=[0.88, 0.03, 0.035, 0.025, 0.025, 0.005]
        )
        clinic = rng.choice(
            ["GP", "Dental", "Audiology", "Paeds"], len(child), p=[0.6, 0.3, 0.05, 0.05]
        )
        # A child kept out of view is not brought to the appointments that fall in the window
        # either: the family's other bookings are missed too, not kept.
        hidden = (self.pattern[child] == "pattern:isolation") & (
            (day > self.win_end[child] - 90) & (day < self.pattern_stop[child])
        )
        outcome = np.where(hidden & np.isin(outcome, ["5", "6"]), "3", outcome)
        self.appointment_rows(child, day, outcome, clinic, self.chains(len(child), "B"))

    def _health_visiting(self) -> None:
        """Health visitor contacts for under-fives, in the canonical contact-log layout."""
        rng = self.rng
        kids = np.flatnonzero(self.under5)
        per_child = rng.poisson(4 * self.cal.days / 365, len(kids))
        child = np.repeat(kids, per_child)
        day = rng.integers(0, self.cal.days, len(child))
        no_access = rng.random(len(child)) < 0.03
        self._hv_rows(child, day, np.where(no_access, "visit.no_access", "visit.completed"))

    def _hv_rows(self, child: np.ndarray, day: np.ndarray, event_type: np.ndarray) -> None:
        seen = np.where(event_type == "visit.completed", "yes", "no")
        self._add(
            "health_visiting.csv",
            id_scheme="nhs",
            person_id=self.nhs[child],
            agency="health",
            service="health_visitor",
            event_type=event_type,
            occurred_at=self.cal.date(day, "%Y-%m-%d"),
            chain_id="",
            child_seen=seen,
            child_seen_alone="",
            hostility_level="",
            detail="",
            _day=day,
        )

    def _social_care(self) -> None:
        """Children on plans: a visit every 10-16 days, core groups every six weeks."""
        rng = self.rng
        kids = np.flatnonzero(self.on_plan)
        start = np.where(
            self.pattern[kids] != "", 0, rng.integers(0, self.cal.days // 2, len(kids))
        )
        visits = (self.cal.days - start) // 13
        child = np.repeat(kids, visits)
        step = np.concatenate([np.arange(v) for v in visits]) if len(visits) else np.array([], int)
        day = np.repeat(start, visits) + step * 13 + rng.integers(0, 4, len(child))
        day = np.minimum(day, self.cal.days - 1)
        seen = np.where(rng.random(len(child)) < 0.96, "Y", "N")
        can_be_alone = self.age[child] >= 4
        alone = np.where((seen == "Y") & can_be_alone & (rng.random(len(child)) < 0.8), "Y", "N")
        # Planted families replace the background in their window with what they plant.
        pat = self.pattern[child]
        in_window = (day >= self.win_end[child] - 100) & (day < self.pattern_stop[child])
        drop = in_window & np.isin(pat, ["pattern:child-not-seen", "pattern:no-access"])
        alone = np.where(in_window & (pat == "pattern:not-seen-alone"), "N", alone)
        keep = ~drop
        self.cp_rows(child[keep], day[keep], seen[keep], alone[keep])
        meetings = (self.cal.days - start) // 42
        m_child = np.repeat(kids, meetings)
        m_step = (
            np.concatenate([np.arange(v) for v in meetings]) if len(meetings) else np.array([], int)
        )
        m_day = np.minimum(np.repeat(start, meetings) + m_step * 42 + 5, self.cal.days - 1)
        pat = self.pattern[m_child]
        in_window = (m_day >= self.win_end[m_child] - 100) & (m_day < self.pattern_stop[m_child])
        keep = ~((pat == "pattern:missed-meetings") & in_window)
        self.note_rows(self.la[m_child[keep]], m_day[keep], "MTG", "CP", "", "")

    def cp_rows(self, child, day, seen, alone) -> None:
        """Child protection visits in the SSD extract's layout; one flag may stand for all."""
        seen, alone = (np.broadcast_to(v, len(child)) for v in (seen, alone))
        bedroom = np.where((seen == "Y") & (self.rng.random(len(child)) < 0.8), "Y", "N")
        self._add(
            "cp_visits.csv",
            cppv_person_id=self.la[child],
            cppv_cp_visit_date=self.cal.date(day, "%Y-%m-%d"),
            cppv_cp_visit_seen=seen,
            cppv_cp_visit_seen_alone=alone,
            cppv_cp_visit_bedroom=bedroom,
            _day=day,
        )

    def note_rows(self, person, day, note_type, team, seen, alone, level="") -> None:
        """Case notes; `level` is the hostility level written on the note (blank for none)."""
        minutes = self.rng.integers(9 * 60, 17 * 60, len(day))
        stamp = (
            (self.cal.start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(minutes, unit="m"))
            .strftime("%d/%m/%Y %H:%M")
            .to_numpy()
        )
        self._add(
            "casenotes.csv",
            PersonRef=person,
            NoteDate=stamp,
            NoteType=note_type,
            Team=team,
            Seen=seen,
            SeenAlone=alone,
            HostilityLevel=level,
            NoteText="synthetic note text (never imported)",
            _day=day,
        )

    def _police(self) -> None:
        """Occasional police concerns about a household adult."""
        hh = np.flatnonzero(self.rng.random(self.hh_count) < 0.02)
        day = self.rng.integers(0, self.cal.days, len(hh))
        self.police_rows(hh, day, np.full(len(hh), "DOMESTIC"))
        # A little background hostility seen once by one agency.
        hh = np.flatnonzero(self.rng.random(self.hh_count) < 0.005)
        day = self.rng.integers(0, self.cal.days, len(hh))
        self.note_rows(self.adult_la[hh], day, "HOS1", "CIN", "", "")

    def police_rows(self, hh, day, incident) -> None:
        stamp = (
            (self.cal.start + pd.to_timedelta(day, unit="D") + pd.Timedelta(hours=20))
            .strftime("%d/%m/%Y %H:%M")
            .to_numpy()
        )
        self._add(
            "police.csv",
            PNCRef=self.adult_pn[hh],
            IncidentDateTime=stamp,
            IncidentType=incident,
            _day=day,
        )

    def _attendance(self, ex: Exports) -> None:
        """Session registers for school-age children: about 94% attendance, more absence in an
        isolation window."""
        rng, cal = self.rng, self.cal
        kids = np.flatnonzero(self.school_age)
        days = cal.school_day
        n_k, n_d = len(kids), len(days)
        if n_k == 0:
            return
        rate = rng.beta(1.2, 18, n_k)
        # On roll from the term the child turns four: no register before it.
        on_roll = days[None, :] >= (self.born_day[kids] + 4 * 365)[:, None]
        iso = self.pattern[kids] == "pattern:isolation"
        in_window = (days[None, :] > (self.win_end[kids] - 84)[:, None]) & (
            days[None, :] <= self.win_end[kids][:, None]
        )
        p = np.where(iso[:, None] & in_window, 0.45, rate[:, None])
        p = np.repeat(p, 2, axis=1)  # AM and PM
        absent = rng.random(p.shape) < p
        absence_codes = np.array(["I01", "I02", "M01", "N01", "O01", "G01", "C"])
        present_codes = np.array(["/", "\\", "L"])
        code = np.where(
            absent,
            absence_codes[
                rng.choice(len(absence_codes), p.shape, p=[0.4, 0.1, 0.1, 0.15, 0.1, 0.05, 0.1])
            ],
            present_codes[rng.choice(3, p.shape, p=[0.49, 0.49, 0.02])],
        )
        self._marked(code, kids, np.repeat(days, 2))
        frame = pd.DataFrame(
            {
                "UPN": np.repeat(self.upn[kids], 2 * n_d),
                "Date": np.tile(np.repeat(cal.school_text, 2), n_k),
                "Session": np.tile(np.array(["AM", "PM"]), n_k * n_d),
                "Mark": code.ravel(),
            }
        )[np.repeat(on_roll, 2, axis=1).ravel()]
        ex.append("attendance.csv", frame)

    def _marked(self, code: np.ndarray, kids: np.ndarray, session_day: np.ndarray) -> None:
        """The registers with the sessions traps marked (mark_sessions), in place."""
        for who, start, stop, mark, share in self.marks:
            row = np.searchsorted(kids, who)
            inside = (session_day[None, :] >= start[:, None]) & (
                session_day[None, :] < stop[:, None]
            )
            inside &= self.rng.random(inside.shape) < share
            r, c = np.nonzero(inside)
            code[row[r], c] = mark

    # ------------------------------------------------------------------ planted patterns
    def kids(self, tag: str) -> np.ndarray:
        return np.flatnonzero(self.pattern == tag)

    def truth(self, kids: np.ndarray, tag: str, start: np.ndarray, end: np.ndarray) -> None:
        if tag in HOUSEHOLD_PATTERNS:
            # An adult's behaviour counts for every child in the household.
            siblings = np.flatnonzero(np.isin(self.hh_local, self.hh_local[kids]))
            where = np.searchsorted(self.hh_local[kids], self.hh_local[siblings])
            kids, start, end = siblings, start[where], end[where]
        # A child born during the window is part of it from its birth; one born after, not.
        start = np.maximum(start, self.born_day[kids])
        kids, start, end = kids[start <= end], start[start <= end], end[start <= end]
        self.truth_rows.append(
            pd.DataFrame(
                {
                    "subject_id": self.kid[kids],
                    "pattern": tag,
                    "window_start": self.cal.date(start, "%Y-%m-%d"),
                    "window_end": self.cal.date(end, "%Y-%m-%d"),
                }
            )
        )

    def spread(self, kids: np.ndarray, per_kid: int, span: int) -> tuple[np.ndarray, np.ndarray]:
        """`per_kid` event days per child, evenly spread over `span` days ending at its window."""
        child = np.repeat(kids, per_kid)
        step = np.tile(np.arange(per_kid), len(kids))
        end = self.win_end[child]
        day = end - span + (step + 1) * span // per_kid - self.rng.integers(0, 3, len(child))
        return child, np.maximum(day, 0)

    # ------------------------------------------------------------------ malformed rows
    def _malformed(self, ex: Exports) -> int:
        """A few deliberately bad rows per block, each recorded in truth with its reason."""
        k = self.idx[0]
        # The oldest child's identifiers: every date below is after its birth.
        oldest = int(np.argmax(self.age))
        good_nhs, good_la = self.nhs[oldest], self.la[oldest]
        bad_nhs = good_nhs[:-1] + str((int(good_nhs[-1]) + 1) % 10)
        unlinked = nhs_numbers(np.array([10_000_000 + k]))[0]
        day = self.cal.date(np.array([self.cal.days // 2]), "%d/%m/%Y")[0]
        cases = [
            ("gp.csv", f"X{k}a,{good_nhs},31/02/2026,GP,RX{k},5", "BAD-DATE"),
            ("gp.csv", f"X{k}b,{good_nhs},{day},GP,RX{k},9", "BAD-VALUE"),
            ("gp.csv", f"X{k}c,{bad_nhs},{day},GP,RX{k},5", "INVALID-ID"),
            ("gp.csv", f"X{k}d,{unlinked},{day},GP,RX{k},5", "UNLINKED-ID"),
            ("gp.csv", f"X{k}e,{good_nhs},{day}", "CSV-MALFORMED"),
            ("cp_visits.csv", f"X{k}f,{good_la},not a date,Y,Y,Y", "BAD-DATE"),
            ("casenotes.csv", f"X{k}g,{good_la},{day} 10:00,XYZ,CP,,,,synthetic", "BAD-VALUE"),
            (
                "health_visiting.csv",
                f"X{k}h,nhs,{good_nhs},health,health_visitor,visit.complete,2026-01-01,,yes,,,",
                "BAD-EVENT-TYPE",
            ),
            ("police.csv", f"X{k}i,PN-UNKNOWN,{day} 10:00,DOMESTIC", "UNLINKED-ID"),
        ]
        if self.school_age.any():
            upn = self.upn[np.flatnonzero(self.school_age)[0]]
            cases.append(("attendance.csv", f"{upn},{day},AM,ZZ", "BAD-ATTENDANCE-CODE"))
        cases.append(
            (
                "people.csv",
                f"{self.kid[oldest]},nhs,{bad_nhs},{self.household[oldest]},"
                f"{self.dob[oldest]:%Y-%m-%d},child",
                "INVALID-ID",
            )
        )
        rows = []
        for name, text, reason in cases:
            line = ex.append_raw(name, text)
            rows.append(
                {
                    "source": SOURCE_OF_FILE[name],
                    "source_file": name,
                    "source_line": line,
                    "reason_code": reason,
                }
            )
        self.truth_rows.append(pd.DataFrame(rows))
        return len(cases)
