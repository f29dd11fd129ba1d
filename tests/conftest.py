import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace
from noncoop.synth.region import SynthOptions, synthesise

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "fixtures" / "region"
PROFILES = ROOT / "src" / "noncoop" / "profiles"


@pytest.fixture
def region_ws(tmp_path):
    """The fixture region ingested into a fresh workspace: (workspace, report)."""
    ws = Workspace(tmp_path / "ws")
    report = ingest(REGION, ws)
    return ws, report


@pytest.fixture(scope="session")
def synthetic_region(tmp_path_factory):
    """A synthetic region of 400 children, ingested: (sources folder, workspace). Shared: do not
    change it."""
    root = tmp_path_factory.mktemp("synthetic")
    synthesise(root / "src", SynthOptions(children=400, seed=5))
    ws = Workspace(root / "ws")
    ingest(root / "src", ws)
    return root / "src", ws


def copy_region(dest: Path) -> Path:
    """A copy of the fixture region that can be changed; its profiles are the shipped ones."""
    shutil.copytree(REGION, dest)
    sources = dest / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(text.replace("../../src/noncoop/profiles", str(PROFILES)), encoding="utf-8")
    return dest


UNSEEN_AS_OF = "2026-03-31"
# A built region: C1 (household H1) is visited by social care and never seen; C2 (H2) was seen
# by health visiting 120 days ago and only visited unseen since; the children of H3 to H6 are
# seen every fortnight by both. Alone, C1's shard holds no record of a child seen, and C2's
# none from health visiting in the last six weeks, so neither could judge the gap.
PEOPLE = "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n" + "".join(
    f"C{i},la,LA-{i},H{i},2018-01-01,child\n" for i in range(1, 7)
)
SOURCES = """people: people.csv
sources:
  - {name: sc, importer: contact-log, path: sc.csv, agency: social_care, service: social_worker,
     id_scheme: la}
  - {name: hv, importer: contact-log, path: hv.csv, agency: health, service: health_visitor,
     id_scheme: la}
"""


def unseen_region(folder: Path) -> Workspace:
    """The built region above, written to `folder` and ingested beside it (`ws`)."""
    folder.mkdir()
    as_of = date.fromisoformat(UNSEEN_AS_OF)
    day = lambda back: (as_of - timedelta(days=back)).isoformat()  # noqa: E731
    header = "record_id,person_id,event_type,occurred_at,child_seen,detail\n"
    sc = [f"S1-{b},LA-1,visit.completed,{day(b)},no," for b in (100, 70, 40, 20, 5)]
    sc += [f"S2-{b},LA-2,visit.completed,{day(b)},no," for b in (90, 60, 30, 10)]
    hv = [f"H2-120,LA-2,visit.completed,{day(120)},yes,"]
    for i in range(3, 7):
        sc += [f"S{i}-{b},LA-{i},visit.completed,{day(b)},yes," for b in range(3, 200, 14)]
        hv += [f"H{i}-{b},LA-{i},visit.completed,{day(b)},yes," for b in range(2, 200, 14)]
    (folder / "sc.csv").write_text(header + "\n".join(sc) + "\n", encoding="utf-8")
    (folder / "hv.csv").write_text(header + "\n".join(hv) + "\n", encoding="utf-8")
    (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    ws = Workspace(folder.parent / "ws")
    ingest(folder, ws)
    return ws
