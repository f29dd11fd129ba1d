"""`noncoop rules backtest`: what a pack would have raised over history, and what a threshold
change would gain or lose, without touching the alert store."""

import csv
import json
import shutil

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.engine.rules.load import load_rules
from noncoop.ingest.run import ingest
from noncoop.scan import history
from noncoop.store.workspace import Workspace
from noncoop.synth.region import SynthOptions, synthesise

FROM, TO = "2025-10-01", "2026-03-31"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest")
    synthesise(root / "region", SynthOptions(children=400, seed=5))
    workspace = Workspace(root / "ws")
    ingest(root / "region", workspace)
    return workspace


def backtest(ws, tmp_path, *args):
    out = tmp_path / "b.json"
    result = CliRunner().invoke(
        app,
        [
            "rules",
            "backtest",
            *args,
            "-w",
            str(ws.root),
            "--from",
            FROM,
            "--to",
            TO,
            "--engine",
            "python",
            "--json",
            str(out),
            "--csv",
            str(tmp_path / "b.csv"),
            "--plot",
            str(tmp_path / "b.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_counts_every_episode_begun_in_the_stretch(ws, tmp_path):
    result, data = backtest(ws, tmp_path)
    pack = load_rules(ROOT / "rules").enabled()
    begun = [a for a in history(ws, pack, TO, "python").alerts if FROM <= a.held.start <= TO]
    assert sum(r["episodes"] for r in data["rules"]) == len(begun) > 20
    assert sum(p["episodes"] for p in data["periods"]) == len(begun)
    assert {p["period"] for p in data["periods"]} <= {f"2025-{m}" for m in ("10", "11", "12")} | {
        f"2026-0{m}" for m in (1, 2, 3)
    }
    assert "NC-PARTIAL-HOSTILITY" in result.output and "median" in result.output
    rows = list(csv.DictReader((tmp_path / "b.csv").open(encoding="utf-8")))
    assert len(rows) == len(data["periods"]) and set(rows[0]) >= {"rule_id", "period", "episodes"}
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    assert not ws.alerts_path.exists()  # nothing was stored


def test_a_lower_threshold_gains_children_and_loses_none(ws, tmp_path):
    lower = tmp_path / "pack"
    shutil.copytree(ROOT / "rules", lower, ignore=shutil.ignore_patterns("__init__.py"))
    rule = lower / "NC-NO-ACCESS.yaml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("min: 3, within: 60d", "min: 2, within: 60d"), encoding="utf-8")
    result, data = backtest(ws, tmp_path, str(lower), "--against", str(ROOT / "rules"))
    changed = data["changes"]
    assert changed and {c["rule_id"] for c in changed} == {"NC-NO-ACCESS"}
    assert {c["change"] for c in changed} == {"gained"}
    assert "Against the other pack" in result.output
    assert (tmp_path / "b-changes.csv").exists()
