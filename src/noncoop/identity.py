"""Identity resolution: every agency identifier becomes one subject id, with role and household.

people.csv is the crosswalk. Identifiers that fail their check digit are quarantined, not matched,
and an event whose identifier is not in the crosswalk is quarantined, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from noncoop import quarantine
from noncoop.csvread import read_csv_batches
from noncoop.identifiers import identifier_valid, normalise

ID_SCHEMES = ("nhs", "upn", "la", "police", "local")
PEOPLE_COLUMNS = ("subject_id", "id_scheme", "id_value", "household_id", "date_of_birth", "role")


@dataclass
class Crosswalk:
    """Valid identifiers mapped to subjects, plus the subjects themselves."""

    links: pd.DataFrame  # id_scheme, id_value, subject_id, role, household_id, ambiguous, code
    subjects: pd.DataFrame  # subject_id, role, household_id, date_of_birth
    quarantined: pd.DataFrame
    rows_read: int

    def link(self, frame: pd.DataFrame, checks: quarantine.Checks) -> pd.DataFrame:
        """Subject, role and household for each row of `frame` (columns id_scheme, id_value).

        Rows that cannot be linked are recorded in `checks` with the reason. `link_code` is a
        number per identifier, stable for this crosswalk, for cheap composite keys. The work is
        done once per distinct identifier, not once per row.
        """
        raw_scheme = frame["id_scheme"].astype("string").str.lower()
        pair = raw_scheme.fillna("") + "\x1f" + frame["id_value"].astype("string").fillna("")
        codes, uniques = pd.factorize(pair)
        parts = pd.Series(uniques, dtype="string").str.split("\x1f", n=1, expand=True)
        parts = parts.reindex(columns=[0, 1])
        scheme = parts[0].replace("", pd.NA)
        value = normalise_by_scheme(parts[1].replace("", pd.NA), scheme)
        known = scheme.isin(ID_SCHEMES).fillna(False)
        valid = valid_by_scheme(value, scheme) & known
        keys = pd.DataFrame({"id_scheme": scheme, "id_value": value})
        found = keys.merge(self.links, how="left", on=["id_scheme", "id_value"], sort=False)
        ambiguous = found["ambiguous"].fillna(False).astype(bool)
        found = found.assign(
            unknown_scheme=~known & value.notna(),
            invalid=known & ~valid & value.notna(),
            ambiguous=valid & ambiguous,
            unlinked=valid & ~ambiguous & found["code"].isna(),
            adult_alone=(found["role"] == "adult") & found["household_id"].isna(),
        )
        out = found.iloc[codes].set_axis(frame.index)
        checks.add(
            out["unknown_scheme"],
            "UNKNOWN-SCHEME",
            "id_scheme '{}' is not one of nhs, upn, la, police, local",
            out["id_scheme"],
        )
        checks.add(
            out["invalid"],
            "INVALID-ID",
            "{} identifier fails its check digit or format",
            out["id_scheme"],
        )
        checks.add(
            out["ambiguous"],
            "AMBIGUOUS-ID",
            "{} identifier belongs to more than one person in people.csv",
            out["id_scheme"],
        )
        checks.add(
            out["unlinked"], "UNLINKED-ID", "{} identifier is not in people.csv", out["id_scheme"]
        )
        checks.add(
            out["adult_alone"],
            "ADULT-NO-HOUSEHOLD",
            "adult {} has no household_id in people.csv",
            out["subject_id"],
        )
        return pd.DataFrame(
            {
                "subject_id": out["subject_id"].astype("string"),
                "subject_role": out["role"],
                "household_id": out["household_id"].astype("string"),
                "id_scheme": out["id_scheme"].astype("string"),
                "id_value": out["id_value"].astype("string"),
                "link_code": out["code"].fillna(-1).astype("int64"),
            },
            index=frame.index,
        )


def normalise_by_scheme(values: pd.Series, schemes: pd.Series) -> pd.Series:
    """Normalise each identifier according to its own scheme."""
    out = values.astype("string").str.strip()
    for scheme in ("nhs", "upn"):
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


def load_people(path: Path) -> Crosswalk:
    """Read people.csv; invalid rows are quarantined under source 'people'."""
    file = path.name
    parts, rejected, read = [], [], 0
    for batch in read_csv_batches(path, "people", file):
        read += batch.rows_read
        rejected.append(batch.rejected)
        rows = batch.rows.reindex(columns=[*PEOPLE_COLUMNS, "_line"])
        checks = quarantine.Checks(rows.index)
        for col in ("subject_id", "id_scheme", "id_value"):
            checks.add(rows[col].isna(), "BAD-PERSON", f"{col} is blank")
        scheme = rows["id_scheme"].astype("string").str.lower()
        checks.add(
            ~scheme.isin(ID_SCHEMES).fillna(False) & scheme.notna(),
            "UNKNOWN-SCHEME",
            "id_scheme '{}' is not one of nhs, upn, la, police, local",
            scheme,
        )
        value = normalise_by_scheme(rows["id_value"], scheme)
        checks.add(
            ~valid_by_scheme(value, scheme) & value.notna() & scheme.isin(ID_SCHEMES),
            "INVALID-ID",
            "{} identifier fails its check digit or format",
            scheme,
        )
        role = rows["role"].astype("string").str.lower().fillna("child")
        checks.add(
            ~role.isin(["child", "adult"]), "BAD-PERSON", "role '{}' is not child or adult", role
        )
        dob = pd.to_datetime(rows["date_of_birth"], format="ISO8601", errors="coerce")
        checks.add(
            dob.isna() & rows["date_of_birth"].notna(),
            "BAD-PERSON",
            "date_of_birth is not an ISO date",
        )
        person = pd.DataFrame(
            {
                "subject_id": rows["subject_id"],
                "id_scheme": scheme,
                "id_value": value,
                "household_id": rows["household_id"],
                "date_of_birth": dob.dt.date,
                "role": role,
            }
        )
        kept, bad = checks.split(
            batch.rows.drop(columns="_line"), "people", file, rows["_line"], rows["subject_id"]
        )
        parts.append(person.loc[kept.index])
        rejected.append(bad)
    people = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PEOPLE_COLUMNS)
    return build_crosswalk(people, pd.concat(rejected, ignore_index=True), read)


def build_crosswalk(people: pd.DataFrame, rejected: pd.DataFrame, rows_read: int) -> Crosswalk:
    """Index valid people rows; an identifier claimed by two subjects is ambiguous for both."""
    subjects = (
        people.sort_values("subject_id")
        .groupby("subject_id", sort=True)
        .agg(
            role=("role", "first"),
            household_id=("household_id", "first"),
            date_of_birth=("date_of_birth", "first"),
        )
        .reset_index()
    )
    subjects["role"] = pd.Categorical(subjects["role"], categories=["child", "adult"])
    ids = people[["id_scheme", "id_value", "subject_id"]].drop_duplicates()
    ambiguous = ids.duplicated(["id_scheme", "id_value"], keep=False)
    links = ids[~ambiguous].merge(
        subjects[["subject_id", "role", "household_id"]], on="subject_id", how="left"
    )
    links["ambiguous"] = False
    shared = ids.loc[ambiguous, ["id_scheme", "id_value"]].drop_duplicates()
    links = pd.concat([links, shared.assign(ambiguous=True)], ignore_index=True)
    links["code"] = np.where(links["ambiguous"], np.nan, np.arange(len(links)))
    return Crosswalk(links=links, subjects=subjects, quarantined=rejected, rows_read=rows_read)


def household_view(events: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Events per child: each child's own events plus every adult event of their household.

    An adult event is repeated once per child in the household, with `via_subject_id` naming the
    adult, so a parent's hostility counts for every child it affects.
    """
    children = subjects.loc[subjects["role"] == "child", ["subject_id", "household_id"]].dropna()
    own = events[events["subject_role"] == "child"].assign(via_subject_id=pd.NA)
    adult = events[events["subject_role"] == "adult"]
    shared = adult.merge(
        children.rename(columns={"subject_id": "_child"}), on="household_id", how="inner"
    )
    shared = shared.assign(
        via_subject_id=shared["subject_id"], subject_id=shared["_child"], subject_role="child"
    ).drop(columns="_child")
    out = pd.concat([own, shared], ignore_index=True)
    out["via_subject_id"] = out["via_subject_id"].astype("string")
    out["subject_role"] = pd.Categorical(
        out["subject_role"].astype(str), categories=["child", "adult"]
    )
    order = np.lexsort((out["occurred_at"].to_numpy(), out["subject_id"].to_numpy(dtype=str)))
    return out.iloc[order].reset_index(drop=True)
