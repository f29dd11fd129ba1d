from pathlib import Path

import pytest

from noncoop.pipeline import ingest
from noncoop.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
REGION = ROOT / "fixtures" / "region"
PROFILES = ROOT / "fixtures" / "profiles"


@pytest.fixture
def region_ws(tmp_path):
    """The fixture region ingested into a fresh workspace: (workspace, report)."""
    ws = Workspace(tmp_path / "ws")
    report = ingest(REGION, ws)
    return ws, report
