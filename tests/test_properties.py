"""Property-based tests: whatever bytes an export or a configuration file holds, noncoop never
raises, and every row read is accepted or quarantined (rows_read = rows_accepted +
rows_quarantined), with the quarantine holding exactly the rows counted as quarantined.

Bounded so they run in CI in well under two minutes; each example is a fresh sources folder."""

import json
import tempfile
from pathlib import Path

from conftest import PROFILES, REGION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from noncoop.ingest.run import ingest
from noncoop.sources.load import load_profile, load_sources
from noncoop.store.workspace import Workspace
from noncoop.yamlspec import ConfigInvalid

BOUNDED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
PEOPLE = (REGION / "people.csv").read_text(encoding="utf-8")
CANONICAL = (
    "record_id,person_id,event_type,occurred_at,child_seen,detail\n"
    "R1,4000000012,visit.completed,2026-01-05,yes,\n"
    'R2,4000000012,visit.no_access,2026-01-06T10:30:00Z,no,"a, quoted ""note"""\n'
    "R3,4000000020,appointment.missed,2026-02-01,,x\n"
)
REGISTER = "UPN,Date,Session,Mark\nH801200001001,05/01/2026,AM,/\nH801200001001,05/01/2026,PM,N01\n"
SOURCES = {
    "contact-log": "  - {name: s, importer: contact-log, path: data.csv, id_scheme: nhs,"
    " agency: health}\n",
    "attendance": f"  - {{name: s, importer: attendance, path: data.csv,"
    f" profile: '{PROFILES / 'attendance_local.yaml'}'}}\n",
    "fhir": "  - {name: s, importer: fhir, path: data.ndjson, agency: health}\n",
}
# Bytes an export can hold that break readers: delimiters, quotes, line ends, NUL, bytes that
# are not UTF-8, a byte-order mark.
NASTY = st.sampled_from(
    [b",", b'"', b"\n", b"\r\n", b"\r", b"\x00", b"\xe9", b"\xff\xfe", b";", b"\t", b" ", b"9"]
)


def _ingested(importer: str, data: bytes) -> None:
    """Ingest one file of `data`; assert nothing raised and the counts reconcile exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "src"
        folder.mkdir()
        (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
        (folder / "sources.yaml").write_text("sources:\n" + SOURCES[importer])
        name = "data.ndjson" if importer == "fhir" else "data.csv"
        (folder / name).write_bytes(data)
        ws = Workspace(Path(tmp) / "ws")
        report = ingest(folder, ws)
        counts = report.by_source["s"]
        assert counts.rows_read == counts.rows_accepted + counts.rows_quarantined
        quarantined = ws.load_quarantine()
        assert (quarantined["source"] == "s").sum() == counts.rows_quarantined
        assert len(ws.load_events()) <= counts.rows_accepted + counts.rows_read


@st.composite
def mutated(draw, valid: str) -> bytes:
    """A valid export with a few bytes cut, doubled or replaced by troublesome ones."""
    data = bytearray(valid.encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "truncate", "double"]))
        if action == "insert":
            data[at:at] = draw(NASTY)
        elif action == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif action == "truncate":
            del data[at:]
        else:
            line = data[:at].rsplit(b"\n", 1)[-1]
            data[at:at] = line + b"\n"
    return bytes(data)


@BOUNDED
@given(st.binary(max_size=400))
def test_any_bytes_as_a_contact_log(data):
    _ingested("contact-log", data)


@BOUNDED
@given(mutated(CANONICAL))
def test_a_mutated_contact_log(data):
    _ingested("contact-log", data)


@BOUNDED
@given(mutated(REGISTER))
def test_a_mutated_register(data):
    _ingested("attendance", data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "id",
                    "status",
                    "start",
                    "period",
                    "participant",
                    "subject",
                    "entry",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
APPOINTMENT = {
    "resourceType": "Appointment",
    "id": "a1",
    "status": "noshow",
    "start": "2026-01-05T09:00:00Z",
    "participant": [
        {
            "actor": {
                "identifier": {
                    "system": "https://fhir.nhs.uk/Id/nhs-number",
                    "value": "4000000012",
                }
            }
        }
    ],
}


@BOUNDED
@given(st.lists(JSON, max_size=4), st.binary(max_size=60))
def test_any_json_lines_and_bytes_as_a_fhir_export(values, tail):
    lines = [json.dumps(APPOINTMENT), *(json.dumps(v) for v in values)]
    _ingested("fhir", "\n".join(lines).encode() + b"\n" + tail)


@BOUNDED
@given(mutated(json.dumps(APPOINTMENT) + "\n"))
def test_a_mutated_fhir_resource(data):
    _ingested("fhir", data)


YAML_BITS = st.sampled_from(
    [
        "sources:",
        "people:",
        "  - ",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "&a ",
        "*a",
        "!!python/object ",
        "'",
        '"',
        "\n",
        "  ",
        "name: x",
        "importer: fhir",
        "path: a.csv",
        "#",
        "- ",
        "? ",
        "|",
    ]
)


@BOUNDED
@given(st.lists(YAML_BITS | st.text(max_size=6), max_size=30))
def test_any_yaml_as_sources_or_profile_is_read_or_refused_with_a_location(bits):
    text = "".join(bits)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
        for name, load in (("sources.yaml", load_sources), ("p.yaml", load_profile)):
            (folder / name).write_text(text, encoding="utf-8")
            try:
                load(folder if name == "sources.yaml" else folder / name)
            except ConfigInvalid as exc:
                assert all(e.line >= 1 and e.column >= 1 and e.code for e in exc.errors)
