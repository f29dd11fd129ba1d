"""Time a full `noncoop scan` of a synthetic region: ingest, patterns, decisions, peak memory.

Run by hand, not in CI; write the figures into the issue note:

    .venv/bin/python benchmarks/scan.py --children 10000
    .venv/bin/python benchmarks/scan.py --children 100000 --keep /tmp/region-100k

The scan runs in its own process under /usr/bin/time -v; its JSON output gives the split. The
first scan evaluates every episode of the history; a second scan, as of the next day over the same
(unchanged) files, then times a typical nightly run. `--single` also times, in this process, the
evaluation of the first date alone (what a scan did before it saw the history), for the ratio.

`--pairs N` times N such pairs, each from a fresh workspace, the next night straight after its
first scan (so both meet the machine in the same state), and prints each night's share of its
first scan and the medians: how the goal "a next night under 10% of the first scan" is judged.
noncoop's modules are compiled first, as installing them does (see peer.py).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from ingest import settle, timed

from noncoop.engine.decide import resolve_engine
from noncoop.engine.evaluate import evaluate
from noncoop.engine.rules.load import load_rules
from noncoop.scan import declared_coverage, shipped_rules
from noncoop.store.workspace import Workspace
from noncoop.synth.scoring import load_traps, load_truth, score, score_traps
from noncoop.vocab import pattern_tag


def report(night: str, children: int, data: dict, wall: float, peak: float) -> None:
    t = data["timings_s"]
    evaluated = data["events"]
    stages = [
        n for n in ("timeline", "patterns", "decisions", "episodes", "explanations") if n in t
    ]
    evaluate_s = sum(t[n] for n in stages)
    print(f"--- {night}, as of {data['as_of']}")
    print(f"children            {children:,}  ({data['engine']} engine)")
    print(f"events evaluated    {evaluated:,}  (children's own plus household events)")
    print(f"alerts              {len(data['alerts']):,}  {data['lifecycle']}")
    print(f"scan wall time      {wall:7.1f} s   peak {peak:.2f} GB")
    for name in ("ingest", "load", *stages, "store"):
        print(f"  {name:<17} {t[name]:7.1f} s")
    print(f"evaluation          {evaluate_s:7.1f} s   {evaluated / evaluate_s:,.0f} events/s")
    # The "phases add up to the wall time within 5%": what they miss is the process's
    # end, after the alert file's last byte (the system freeing its memory).
    phases = sum(t.values())
    short = 100 * (wall - phases) / wall
    print(f"phases, summed      {phases:7.2f} s   {short:.1f}% short of the wall")


def recall(region: Path, data: dict, children: int) -> None:
    """Planted patterns found, and background children alerted, per pattern tag: those planted
    to end in the weeks before the scan date, by the alerts still holding; and every one planted,
    by all the alerts the first scan recorded over the history."""
    truth = load_truth(region / "truth.csv")
    since = (pd.Timestamp(data["as_of"]) - pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    live = [a for a in data["alerts"] if a["status"] != "resolved"]
    for heading, alerts, start in (
        ("as of the date", live, since),
        ("history", data["alerts"], None),
    ):
        alerted = ((a["subject_id"], pattern_tag(a["tags"])) for a in alerts)
        table = score(alerted, truth, children, since=start)
        print(f"recall, {heading}:")
        print(
            table[["pattern", "planted", "found", "recall", "background_rate"]].to_string(
                index=False
            )
        )
    raised = (
        (a["subject_id"], a["rule_id"], a["level"], a["window"]["start"], a["window"]["end"])
        for a in data["alerts"]
    )
    print("ordinary-family traps alerted at medium or above (history):")
    print(score_traps(raised, load_traps(region / "truth.csv")).to_string(index=False))


def single_date(workspace: Path, engine: str) -> None:
    """The first date alone, evaluated in this process on the events the scan stored."""
    ws, pack = Workspace(workspace), load_rules([shipped_rules()]).enabled()
    events, subjects = ws.load_events(as_of="2026-03-31"), ws.load_subjects()
    coverage = declared_coverage(ws.declared_coverage(), pd.Timestamp("2026-03-31"))
    clock = time.perf_counter()
    found = evaluate(events, subjects, pack, "2026-03-31", resolve_engine(engine), coverage)
    wall = time.perf_counter() - clock
    print(f"--- the date alone: {len(found.alerts):,} alerts in {wall:.1f} s")
    for name, seconds in found.timings.items():
        print(f"  {name:<17} {seconds:7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--keep", type=Path, help="folder for the region (reused if present)")
    parser.add_argument(
        "--single", action="store_true", help="also time the first date alone, for the ratio"
    )
    parser.add_argument(
        "--pairs", type=int, default=1, help="first scan and next night this many times"
    )
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="noncoop-bench-"))
    region, workspace, out = root / "region", root / "scan-workspace", root / "alerts.json"
    cli = [sys.executable, "-m", "noncoop"]
    scan = [*cli, "scan", str(region), "--engine", options.engine, "--quiet", "--workspace"]
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
    compileall.compile_dir(Path(__file__).parents[1] / "src" / "noncoop", quiet=1)
    settle(region)
    timed_pairs = []
    for pair in range(options.pairs):
        shutil.rmtree(workspace, ignore_errors=True)
        walls = []
        for night, as_of in (("first scan", "2026-03-31"), ("next night", "2026-04-01")):
            os.sync()  # nothing left over to write while the scan runs
            wall, peak = timed([*scan, str(workspace), "--as-of", as_of, "--json", str(out)])
            walls.append(wall)
            if pair == 0:
                data = json.loads(out.read_text())
                report(night, options.children, data, wall, peak)
                if night == "first scan":
                    recall(region, data, options.children)
        timed_pairs.append(walls)
        print(
            f"pair {pair + 1}: first scan {walls[0]:.1f} s, next night {walls[1]:.2f} s, "
            f"{100 * walls[1] / walls[0]:.1f}% of it"
        )
    if options.pairs > 1:
        first, next_night = (statistics.median(w[i] for w in timed_pairs) for i in (0, 1))
        share = statistics.median(100 * n / f for f, n in timed_pairs)
        print(
            f"median of {options.pairs} pairs: first scan {first:.1f} s, next night "
            f"{next_night:.2f} s, the night {share:.1f}% of its first scan"
        )
    if options.single:
        single_date(workspace, options.engine)
    if not options.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
