"""Time a full `noncoop scan` of a synthetic region: ingest, patterns, decisions, peak memory.

Run by hand, not in CI; write the figures into the issue note:

    .venv/bin/python benchmarks/scan.py --children 10000
    .venv/bin/python benchmarks/scan.py --children 100000 --keep /tmp/region-100k

The scan runs in its own process under /usr/bin/time -v; its JSON output gives the split. A second
scan, as of the next day over the same (unchanged) files, then times a typical nightly run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from ingest import timed

from noncoop.engine.rules.load import load_rules
from noncoop.scan import history, shipped_rules
from noncoop.store.workspace import Workspace
from noncoop.synth.scoring import load_truth, score
from noncoop.vocab import pattern_tag


def report(night: str, children: int, data: dict, wall: float, peak: float) -> None:
    t = data["timings_s"]
    evaluated = data["events"]
    evaluate_s = t["timeline"] + t["patterns"] + t["decisions"]
    print(f"--- {night}, as of {data['as_of']}")
    print(f"children            {children:,}  ({data['engine']} engine)")
    print(f"events evaluated    {evaluated:,}  (children's own plus household events)")
    print(f"alerts              {len(data['alerts']):,}  {data['lifecycle']}")
    print(f"scan wall time      {wall:7.1f} s   peak {peak:.2f} GB")
    for name in ("ingest", "load", "timeline", "patterns", "decisions", "explanations", "store"):
        print(f"  {name:<17} {t[name]:7.1f} s")
    print(f"evaluation          {evaluate_s:7.1f} s   {evaluated / evaluate_s:,.0f} events/s")


def recall(region: Path, data: dict, children: int) -> None:
    """Planted patterns found, and background children alerted, per pattern tag: those planted
    to end in the weeks before the scan date."""
    alerted = ((a["subject_id"], pattern_tag(a["tags"])) for a in data["alerts"])
    since = (pd.Timestamp(data["as_of"]) - pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    table = score(alerted, load_truth(region / "truth.csv"), children, since=since)
    shown = table[["pattern", "planted", "found", "recall", "background_rate"]]
    print(shown.to_string(index=False))


def history_run(region: Path, workspace: Path, children: int, engine: str) -> None:
    """Every episode up to the first scan's date, timed in this process, with recall per tag
    over the whole history."""
    pack = load_rules([shipped_rules()]).enabled()
    clock = time.perf_counter()
    found = history(Workspace(workspace), pack, "2026-03-31", engine)
    wall = time.perf_counter() - clock
    print(f"--- history up to 2026-03-31: {len(found.alerts):,} episodes in {wall:.1f} s")
    for name, seconds in found.timings.items():
        print(f"  {name:<17} {seconds:7.1f} s")
    alerted = ((a.subject_id, a.pattern) for a in found.alerts)
    table = score(alerted, load_truth(region / "truth.csv"), children)
    shown = table[["pattern", "planted", "found", "recall", "background_rate"]]
    print(shown.to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--keep", type=Path, help="folder for the region (reused if present)")
    parser.add_argument(
        "--history", action="store_true", help="also time every episode up to the first date"
    )
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="noncoop-bench-"))
    region, workspace, out = root / "region", root / "scan-workspace", root / "alerts.json"
    cli = [sys.executable, "-m", "noncoop"]
    if not (region / "sources.yaml").exists():
        subprocess.run(
            [
                *cli,
                "synth",
                str(region),
                "--children",
                str(options.children),
                "--seed",
                str(options.seed),
            ],
            check=True,
            capture_output=True,
        )
    shutil.rmtree(workspace, ignore_errors=True)
    for night, as_of in (("first scan", "2026-03-31"), ("next night", "2026-04-01")):
        wall, peak = timed(
            [
                *cli,
                "scan",
                str(region),
                "--workspace",
                str(workspace),
                "--as-of",
                as_of,
                "--json",
                str(out),
                "--engine",
                options.engine,
                "--quiet",
            ]
        )
        data = json.loads(out.read_text())
        report(night, options.children, data, wall, peak)
        if night == "first scan":
            recall(region, data, options.children)
    if options.history:
        history_run(region, workspace, options.children, options.engine)
    if not options.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
