"""The synthetic region's files: their columns, sources.yaml, and the writer that appends blocks of
rows and knows the physical line each row lands on (so truth.csv can name it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from noncoop.sources.model import CONTACT_LOG_FIELDS

FILES: dict[str, tuple[str, ...]] = {
    "people.csv": ("subject_id", "id_scheme", "id_value", "household_id", "date_of_birth", "role"),
    "gp.csv": ("AppointmentRef", "NHSNumber", "ApptDate", "Clinic", "ReferralRef", "Outcome"),
    "health_visiting.csv": CONTACT_LOG_FIELDS,
    "attendance.csv": ("UPN", "Date", "Session", "Mark"),
    "cp_visits.csv": (
        "cppv_cp_visit_id",
        "cppv_person_id",
        "cppv_cp_visit_date",
        "cppv_cp_visit_seen",
        "cppv_cp_visit_seen_alone",
        "cppv_cp_visit_bedroom",
    ),
    "casenotes.csv": (
        "NoteID",
        "PersonRef",
        "NoteDate",
        "NoteType",
        "Team",
        "Seen",
        "SeenAlone",
        "HostilityLevel",
        "NoteText",
    ),
    "police.csv": ("IncidentRef", "PNCRef", "IncidentDateTime", "IncidentType"),
    "truth.csv": (
        "subject_id",
        "pattern",
        "window_start",
        "window_end",
        "source",
        "source_file",
        "source_line",
        "reason_code",
    ),
}

SOURCES_YAML = """\
# Synthetic region written by `noncoop synth` (seed {seed}). Every record is made up.
people: people.csv
sources:
  - name: gp
    importer: contact-log
    path: gp.csv
    profile: profiles/health_outcomes.yaml
  - name: health_visiting
    importer: contact-log
    path: health_visiting.csv
    agency: health
    service: health_visitor
    id_scheme: nhs
  - name: school
    importer: attendance
    path: attendance.csv
    profile: profiles/attendance_local.yaml
  - name: cp_visits
    importer: contact-log
    path: cp_visits.csv
    profile: profiles/ssd_cp_visits.yaml
  - name: casenotes
    importer: contact-log
    path: casenotes.csv
    profile: profiles/casenotes.yaml
  - name: police
    importer: contact-log
    path: police.csv
    profile: profiles/police_incidents.yaml
"""

KEYS = {
    "gp.csv": ("AppointmentRef", "G"),
    "health_visiting.csv": ("record_id", "HV"),
    "cp_visits.csv": ("cppv_cp_visit_id", "V"),
    "casenotes.csv": ("NoteID", "N"),
    "police.csv": ("IncidentRef", "P"),
}

# The column naming the person in each file whose rows are about a child (or an adult).
PERSON_COLUMN = {
    "gp.csv": "NHSNumber",
    "health_visiting.csv": "person_id",
    "cp_visits.csv": "cppv_person_id",
    "casenotes.csv": "PersonRef",
}
SOURCE_OF_FILE = {
    "gp.csv": "gp",
    "health_visiting.csv": "health_visiting",
    "attendance.csv": "school",
    "cp_visits.csv": "cp_visits",
    "casenotes.csv": "casenotes",
    "police.csv": "police",
    "people.csv": "people",
}


class Exports:
    """Open CSV exports; appends blocks of rows and knows the line each row lands on."""

    def __init__(self, folder: Path):
        self.handles = {}
        self.lines = {}
        for name, columns in FILES.items():
            fh = open(folder / name, "wb")  # noqa: SIM115 - closed in close()
            fh.write((",".join(columns) + "\n").encode())
            self.handles[name] = fh
            self.lines[name] = 1

    def append(self, name: str, frame: pd.DataFrame) -> np.ndarray:
        """Write rows; returns their line numbers."""
        if frame.empty:
            return np.array([], dtype=np.int64)
        if name in KEYS:
            column, prefix = KEYS[name]
            numbers = np.arange(self.lines[name], self.lines[name] + len(frame)).astype(str)
            frame = frame.assign(**{column: np.char.add(prefix, numbers)})
        table = pa.Table.from_pandas(frame[list(FILES[name])].astype(str), preserve_index=False)
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        self.handles[name].write(sink.getvalue().to_pybytes())
        lines = np.arange(self.lines[name] + 1, self.lines[name] + 1 + len(frame))
        self.lines[name] += len(frame)
        return lines

    def append_raw(self, name: str, text: str) -> int:
        """Write one deliberately malformed line; returns its line number."""
        self.handles[name].write((text + "\n").encode())
        self.lines[name] += 1
        return self.lines[name]

    def close(self) -> dict[str, int]:
        for fh in self.handles.values():
            fh.close()
        return {name: n - 1 for name, n in self.lines.items()}
