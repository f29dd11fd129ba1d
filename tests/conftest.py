import shutil
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
