import shutil
from pathlib import Path

import pytest

from noncoop.ingest.run import ingest
from noncoop.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "fixtures" / "region"
PROFILES = ROOT / "src" / "noncoop" / "profiles"


@pytest.fixture
def region_ws(tmp_path):
    """The fixture region ingested into a fresh workspace: (workspace, report)."""
    ws = Workspace(tmp_path / "ws")
    report = ingest(REGION, ws)
    return ws, report


def copy_region(dest: Path) -> Path:
    """A copy of the fixture region that can be changed; its profiles are the shipped ones."""
    shutil.copytree(REGION, dest)
    sources = dest / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(text.replace("../../src/noncoop/profiles", str(PROFILES)), encoding="utf-8")
    return dest
