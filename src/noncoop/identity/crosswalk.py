"""Identity resolution: every agency identifier becomes one subject id, with role and household.

people.csv is the crosswalk. Identifiers that fail their check digit are quarantined, not matched,
and an event whose identifier is not in the crosswalk is quarantined, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.identity.identifiers import identifier_valid, normalise
from noncoop.sources.csvread import read_csv_batches, read_header
from noncoop.sources.load import LoadedPeople
from noncoop.sources.mapping import (
    apply_fields,
    missing_columns,
    reject_missing_columns,
    row_filters,
)
from noncoop.sources.model import PEOPLE_FIELDS, Profile
from noncoop.vocab import CHECKED_SCHEMES, ID_SCHEMES, ROLES

SCHEME_NAMES = ", ".join(ID_SCHEMES)
PEOPLE_COLUMNS = PEOPLE_FIELDS


@dataclass
class Crosswalk:
    """Valid identifiers mapped to subjects, plus the subjects themselves."""

    links: pd.DataFrame  # id_scheme, id_value, subject_id, role, household_id, ambiguous, code
    subjects: pd.DataFrame  # subject_id, role, household_id, date_of_birth
    quarantined: pd.DataFrame
    rows_read: int
    skipped: int = 0  # rows read and accepted that a profile filtered out (not people)
    _born: np.ndarray | None = None  # date of birth per link, worked out on first use
    _index: dict | None = None  # per scheme: its identifiers and their rows, made on first use

    def link(self, frame: pd.DataFrame, checks: quarantine.Checks) -> pd.DataFrame:
        """Subject, role and household for each row of `frame` (columns id_scheme, id_value);
        rows that cannot be linked are recorded in `checks` with the reason."""
        codes = self.resolve(frame["id_scheme"], frame["id_value"], checks)
        return self.identity(codes).set_axis(frame.index)

    def resolve(
        self, scheme: pd.Series | str, value: pd.Series, checks: quarantine.Checks
    ) -> np.ndarray:
        """A link code per row (-1 where the identifier cannot be linked, with the reason in
        `checks`). Codes index the crosswalk, so they make cheap integer keys; the work is done
        once per distinct identifier, not once per row."""
        v_codes, v_uniques = pd.factorize(value.astype("string"))
        if isinstance(scheme, str):
            s_codes, s_uniques = np.zeros(len(value), np.int64), pd.Index([scheme])
        else:
            s_codes, s_uniques = pd.factorize(scheme.astype("string").str.lower())
        width = len(v_uniques) + 1
        codes, combos = pd.factorize((s_codes.astype(np.int64) + 1) * width + v_codes + 1)
        combos = np.asarray(combos, dtype=np.int64)
        pairs = pd.DataFrame(
            {
                "id_scheme": _take(s_uniques, combos // width - 1),
                "id_value": _take(v_uniques, combos % width - 1),
            }
        )
        pairs["id_value"] = normalise_by_scheme(pairs["id_value"], pairs["id_scheme"])
        known = pairs["id_scheme"].isin(ID_SCHEMES).fillna(False)
        present = pairs["id_value"].notna()
        valid = valid_by_scheme(pairs["id_value"], pairs["id_scheme"]) & known
        found = self._found(pairs)
        ambiguous = found["ambiguous"].fillna(False).astype(bool)
        row_scheme = scheme if isinstance(scheme, pd.Series) else None
        for mask, code, template in (
            (
                ~known & present,
                "UNKNOWN-SCHEME",
                "id_scheme '{}' is not one of " + SCHEME_NAMES,
            ),
            (
                known & ~valid & present,
                "INVALID-ID",
                "{} identifier fails its check digit or format",
            ),
            (
                valid & ambiguous,
                "AMBIGUOUS-ID",
                "{} identifier belongs to more than one person in people.csv",
            ),
            (
                valid & ~ambiguous & found["code"].isna(),
                "UNLINKED-ID",
                "{} identifier is not in people.csv",
            ),
        ):
            rows = pd.Series(mask.to_numpy(bool)[codes], index=value.index)
            if row_scheme is None:
                checks.add(rows, code, template.replace("{}", str(scheme)))
            else:
                checks.add(rows, code, template, row_scheme)
        alone = ((found["role"] == "adult") & found["household_id"].isna()).to_numpy(bool)[codes]
        if alone.any():
            subject = found["subject_id"].astype(object).to_numpy()[codes]
            checks.add(
                pd.Series(alone, index=value.index),
                "ADULT-NO-HOUSEHOLD",
                "adult {} has no household_id in people.csv",
                pd.Series(subject, index=value.index),
            )
        return found["code"].fillna(-1).to_numpy(np.int64)[codes]

    def _found(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The crosswalk's row for each (id_scheme, id_value) pair, blank where it has none.
        Each scheme's identifiers are indexed once, on first use: a merge hashed the whole
        crosswalk again for every block of a register."""
        if self._index is None:
            by_scheme = self.links.groupby("id_scheme", observed=True, sort=False).indices
            self._index = {
                scheme: (pd.Index(self.links["id_value"].iloc[rows]), rows)
                for scheme, rows in by_scheme.items()
            }
        at = np.full(len(pairs), -1, dtype=np.int64)
        for scheme, (index, rows) in self._index.items():
            asked = (pairs["id_scheme"] == scheme).to_numpy(dtype=bool, na_value=False)
            if asked.any():
                hit = index.get_indexer(pairs["id_value"][asked])
                at[asked] = np.where(hit >= 0, rows[hit], -1)
        found = self.links.set_axis(pd.RangeIndex(len(self.links))).reindex(at)
        return found.reset_index(drop=True)

    def births(self, codes: np.ndarray) -> np.ndarray:
        """The date of birth of the person each link code names (NaT where none is known, or
        the code is -1)."""
        if self._born is None:
            dob = pd.to_datetime(self.subjects.set_index("subject_id")["date_of_birth"])
            born = self.links["subject_id"].map(dob).astype("datetime64[ns]").to_numpy()
            self._born = np.append(born, np.datetime64("NaT", "ns"))
        return self._born[np.where(codes >= 0, codes, len(self._born) - 1)]

    def identity(self, codes: np.ndarray) -> pd.DataFrame:
        """Subject, role, household and identifier for link codes (-1 gives blanks)."""
        linked = codes >= 0
        links = (
            self.links
            if len(self.links)
            else pd.DataFrame(
                [
                    {
                        "subject_id": pd.NA,
                        "role": pd.NA,
                        "household_id": pd.NA,
                        "id_scheme": pd.NA,
                        "id_value": pd.NA,
                    }
                ]
            )
        )
        rows = links.iloc[np.where(linked, codes, 0)].reset_index(drop=True)
        blank = ~linked
        return pd.DataFrame(
            {
                "subject_id": rows["subject_id"].astype("string").mask(blank),
                "subject_role": rows["role"].mask(blank),
                "household_id": rows["household_id"].astype("string").mask(blank),
                "id_scheme": rows["id_scheme"].astype("string").mask(blank),
                "id_value": rows["id_value"].astype("string").mask(blank),
                "link_code": codes,
            }
        )


def _take(uniques: pd.Index, positions: np.ndarray) -> pd.Series:
    """Values at positions of a factorize result, NA where the position is -1."""
    values = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
    if len(values) == 0:
        return pd.Series(pd.NA, index=range(len(positions)), dtype="string")
    out = values.take(np.where(positions >= 0, positions, 0)).reset_index(drop=True)
    return out.mask(positions < 0)


def normalise_by_scheme(values: pd.Series, schemes: pd.Series) -> pd.Series:
    """Normalise each identifier according to its own scheme."""
    out = values.astype("string").str.strip()
    for scheme in CHECKED_SCHEMES:
        mask = (schemes == scheme).fillna(False)
        if mask.any():
            out[mask] = normalise(out[mask], scheme)
    return out


def valid_by_scheme(values: pd.Series, schemes: pd.Series) -> pd.Series:
    """Check-digit validity of each identifier under its own scheme."""
    ok = pd.Series(False, index=values.index)
    for scheme in ID_SCHEMES:
        mask = (schemes == scheme).fillna(False)
        if mask.any():
            ok[mask] = identifier_valid(values[mask], scheme).to_numpy()
    return ok


def load_people(inputs: Path | Sequence[LoadedPeople]) -> Crosswalk:
    """Read the crosswalk: people.csv, or several files each in its layout or through a
    profile (an SSD's ssd_linked_identifiers). Invalid rows are quarantined under source
    'people'; rows a profile filters out are counted as skipped."""
    if isinstance(inputs, Path):
        inputs = [LoadedPeople(inputs, Profile(importer="people"), "canonical")]
    blocks = [block for entry in inputs for block in _people_blocks(entry)]
    people = (
        pd.concat([b.people for b in blocks], ignore_index=True)
        if blocks
        else pd.DataFrame(columns=PEOPLE_COLUMNS)
    )
    rejected = [r for b in blocks for r in (b.unreadable, b.rejected)]
    people, conflicts = _without_conflicts(people)
    rejected = pd.concat([*rejected, conflicts], ignore_index=True)
    return build_crosswalk(
        people[list(PEOPLE_COLUMNS)],
        rejected,
        sum(b.rows_read for b in blocks),
        sum(b.skipped for b in blocks),
    )


@dataclass
class _PeopleBlock:
    """One block of a people file: its valid people rows, the rows rejected (unreadable lines,
    invalid values) and the rows its profile filtered out."""

    rows_read: int
    people: pd.DataFrame
    unreadable: pd.DataFrame
    rejected: pd.DataFrame
    skipped: int


def _people_blocks(entry: LoadedPeople) -> Iterator[_PeopleBlock]:
    profile, path, file = entry.profile, entry.path, entry.path.name
    header = read_header(path, profile.encoding, profile.delimiter)
    absent = missing_columns(profile, PEOPLE_COLUMNS, header)
    for batch in read_csv_batches(path, "people", file, profile.encoding, profile.delimiter):
        checks = quarantine.Checks(batch.rows.index)
        reject_missing_columns(checks, absent)
        rows = apply_fields(batch.rows, profile, PEOPLE_COLUMNS, checks)
        skipped, _ = row_filters(batch.rows, profile, checks)
        person = _checked(rows, checks)
        checks.clear(skipped)
        lines = batch.rows["_line"]
        original = batch.rows.drop(columns="_line")
        kept, bad = checks.split(original, "people", file, lines, rows["subject_id"])
        use = person.index.isin(kept.index) & ~skipped
        dropped = int((skipped & ~checks.failed.to_numpy()).sum())
        person = person.assign(_file=file, _line=lines.to_numpy())[use]
        yield _PeopleBlock(batch.rows_read, person, batch.rejected, bad, dropped)


AGREE = ("household_id", "role", "date_of_birth")  # one value per person, on every row given


def _without_conflicts(people: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row of a person whose rows disagree on household, role or date of birth is
    rejected, naming two lines that disagree: linking a child's records to the wrong household
    would count another family's records for them. A blank value agrees with any."""
    if people.empty:
        return people, quarantine.empty()
    clash = pd.Series(False, index=people.index)
    told: dict[str, str] = {}
    for column in AGREE:
        given = people.dropna(subset=[column])
        firsts = given.drop_duplicates(["subject_id", column])
        twice = firsts["subject_id"].duplicated(keep=False)
        if not twice.any():
            continue
        clash |= people["subject_id"].isin(firsts.loc[twice, "subject_id"])
        for subject, rows in firsts[twice].groupby("subject_id", sort=False):
            if subject in told:
                continue
            a, b = rows.iloc[0], rows.iloc[1]
            told[subject] = (
                f"{subject} is given {column.replace('_', ' ')} {a[column]} "
                f"({a['_file']}:{a['_line']}) and {b[column]} ({b['_file']}:{b['_line']}); "
                "every row of a person must agree"
            )
    if not clash.any():
        return people, quarantine.empty()
    bad = people[clash]
    rejected = quarantine.frame(
        "people",
        bad["_file"].astype(str).reset_index(drop=True),
        bad["_line"].tolist(),
        bad["subject_id"].astype(str).tolist(),
        ["PEOPLE-CONFLICT"] * len(bad),
        [told[s] for s in bad["subject_id"]],
        quarantine.raw_json(bad[list(PEOPLE_COLUMNS)]),
    )
    return people[~clash], rejected


def _checked(rows: pd.DataFrame, checks: quarantine.Checks) -> pd.DataFrame:
    """A block's people rows normalised, with every invalid value recorded in `checks`."""
    for col in ("subject_id", "id_scheme", "id_value"):
        checks.add(rows[col].isna(), "BAD-PERSON", f"{col} is blank")
    scheme = rows["id_scheme"].astype("string").str.lower()
    checks.add(
        ~scheme.isin(ID_SCHEMES).fillna(False) & scheme.notna(),
        "UNKNOWN-SCHEME",
        "id_scheme '{}' is not one of " + SCHEME_NAMES,
        scheme,
    )
    value = normalise_by_scheme(rows["id_value"], scheme)
    checks.add(
        ~valid_by_scheme(value, scheme) & value.notna() & scheme.isin(ID_SCHEMES),
        "INVALID-ID",
        "{} identifier fails its check digit or format",
        scheme,
    )
    # Blank is left blank here (it agrees with any role given on the person's other rows) and
    # read as child once the person's rows are put together.
    role = rows["role"].astype("string").str.lower()
    checks.add(
        role.notna() & ~role.isin(ROLES).fillna(False),
        "BAD-PERSON",
        "role '{}' is not child or adult",
        role,
    )
    dob = pd.to_datetime(rows["date_of_birth"], format="ISO8601", errors="coerce")
    checks.add(
        dob.isna() & rows["date_of_birth"].notna(),
        "BAD-PERSON",
        "date_of_birth is not an ISO date",
    )
    return pd.DataFrame(
        {
            "subject_id": rows["subject_id"],
            "id_scheme": scheme,
            "id_value": value,
            "household_id": rows["household_id"],
            "date_of_birth": dob.dt.date,
            "role": role,
        }
    )


def build_crosswalk(
    people: pd.DataFrame, rejected: pd.DataFrame, rows_read: int, skipped: int = 0
) -> Crosswalk:
    """Index valid people rows; an identifier claimed by two subjects is ambiguous for both. A
    subject's role, household and date of birth are the first given, in file order."""
    subjects = (
        people.sort_values("subject_id", kind="stable")
        .groupby("subject_id", sort=True)
        .agg(
            role=("role", "first"),
            household_id=("household_id", "first"),
            date_of_birth=("date_of_birth", "first"),
        )
        .reset_index()
    )
    subjects["role"] = pd.Categorical(subjects["role"].fillna("child"), categories=ROLES)
    ids = people[["id_scheme", "id_value", "subject_id"]].drop_duplicates()
    ambiguous = ids.duplicated(["id_scheme", "id_value"], keep=False)
    links = ids[~ambiguous].merge(
        subjects[["subject_id", "role", "household_id"]], on="subject_id", how="left"
    )
    links["ambiguous"] = False
    shared = ids.loc[ambiguous, ["id_scheme", "id_value"]].drop_duplicates()
    links = pd.concat([links, shared.assign(ambiguous=True)], ignore_index=True)
    links["code"] = np.where(links["ambiguous"], np.nan, np.arange(len(links)))
    return Crosswalk(links, subjects, rejected, rows_read, skipped)
