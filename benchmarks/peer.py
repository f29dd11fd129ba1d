"""Pair noncoop's nightly scan with the hand-written DuckDB peer on the same stored events.

Run by hand, not in CI; write the figures into the issue note:

    .venv/bin/python benchmarks/peer.py --region /tmp/region-10k --peer-python peer-venv/bin/python
    .venv/bin/python benchmarks/peer.py --children 100000 --keep /tmp/region-100k \
        --peer-python peer-venv/bin/python --runs 3

The peer (../shared/peers/pack_peer.py, in its own virtual environment with duckdb) evaluates six
shipped rules as of one date over the last 365 days. The same work for noncoop is the nightly scan
of that date with the history already stored: a first scan as of the day before (timed apart, as
the history scan) builds a workspace, and each timed noncoop run scans a fresh copy of it as of
the date. The two sides alternate (noncoop, peer, noncoop, peer, ...), after one untimed pair
(--warm-up) while the machine settles from the history scan, and each is timed as a whole
process under /usr/bin/time, with nothing left to write to disk when it starts (os.sync); the
ratio is of the medians of CPU seconds (user + system), which repeat within a few percent where
wall time is noisy. The medians of noncoop's own phases follow
(its `timings_s`: `start` is the process's start-up, its imports; `rules` the rule loading).
Both sides' (rule, child) pairs are compared at the end. A region written just before is left
to settle first (benchmarks/ingest.py `settle`): otherwise every timed night hashes its files
again, as the ingest rightly does for files that may have changed unseen.

noncoop's modules are compiled once first, as installing a package does: an editable install
on a machine that sets PYTHONDONTWRITEBYTECODE would otherwise compile all of them in every
timed run (0.15 CPU s, a sixth of a 10k night), which no installed copy does.
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
from pathlib import Path

from ingest import settle

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "peers"
SIX = (
    "NC-REBOOK-MISS",
    "NC-ISOLATION",
    "NC-PARTIAL-HOSTILITY",
    "NC-CHILD-NOT-SEEN-SW",
    "NC-ESCALATING-HOSTILITY",
    "NC-NO-ACCESS",
)
NONCOOP = [sys.executable, "-m", "noncoop"]


def timed(command: list[str], out: Path | None = None) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, peak GB) of one whole process."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as stats:
        subprocess.run(
            ["/usr/bin/time", "-o", stats.name, "-f", "%U %S %e %M", *command],
            check=True,
            stdout=subprocess.DEVNULL if out is None else out.open("w"),
            stderr=subprocess.DEVNULL,
        )
        user, system, wall, peak_kb = stats.read().split()
    return float(user) + float(system), float(wall), int(peak_kb) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--region", type=Path, help="an existing synthetic region")
    parser.add_argument("--children", type=int, default=10_000, help="synthesise this many")
    parser.add_argument("--keep", type=Path, help="where to write (and reuse) the region")
    parser.add_argument("--as-of", default="2026-04-01", help="the night both sides evaluate")
    parser.add_argument("--history-as-of", default="2026-03-31", help="the first scan's date")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warm-up",
        type=int,
        default=1,
        help="untimed pairs first: the history scan leaves the machine's memory to settle",
    )
    parser.add_argument("--peer-python", required=True, help="python with duckdb for the peer")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "src" / "noncoop", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="noncoop-peer-"))
    try:
        region = args.region or args.keep or work / "region"
        if not (region / "sources.yaml").exists():
            subprocess.run(
                [*NONCOOP, "synth", str(region), "--children", str(args.children)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        settle(region)
        rules = work / "six"
        rules.mkdir()
        for rule in SIX:
            shutil.copy(ROOT / "rules" / f"{rule}.yaml", rules)
        base = work / "history"
        scan = [*NONCOOP, "scan", str(region), "--rules", str(rules), "--engine", "python", "-q"]
        cpu, wall, peak = timed([*scan, "-w", str(base), "--as-of", args.history_as_of])
        print(
            f"history scan (first, as of {args.history_as_of}): {cpu:.2f} CPU s, "
            f"{wall:.1f} s wall, {peak:.2f} GB"
        )
        ours, theirs, phases = [], [], []
        result, pairs = work / "scan.json", work / "pairs.csv"
        peer_run = [args.peer_python, str(PEERS / "pack_peer.py"), str(base), "--as-of", args.as_of]
        for run in range(-args.warm_up, args.runs):
            night = work / "night"
            shutil.rmtree(night, ignore_errors=True)
            shutil.copytree(base, night, symlinks=True)
            # Each side starts with nothing waiting to be written: the copy just made (1.5 GB at
            # 100k children) and the other side's output would otherwise be flushed while it runs.
            os.sync()
            our_run = timed([*scan, "-w", str(night), "--as-of", args.as_of, "--json", str(result)])
            os.sync()
            their_run = timed([*peer_run, "--out", str(pairs)])
            if run < 0:
                print(f"warm-up: noncoop {our_run[0]:.2f} CPU s, peer {their_run[0]:.2f} CPU s")
                continue
            ours.append(our_run)
            theirs.append(their_run)
            phases.append(json.loads(result.read_text())["timings_s"])
            print(
                f"run {run + 1}: noncoop {ours[-1][0]:.2f} CPU s ({ours[-1][2]:.2f} GB), "
                f"peer {theirs[-1][0]:.2f} CPU s ({theirs[-1][2]:.2f} GB)"
            )
        mine = statistics.median(c for c, _, _ in ours)
        peer = statistics.median(c for c, _, _ in theirs)
        print(f"median CPU s: noncoop {mine:.2f}, peer {peer:.2f}, ratio {mine / peer:.2f}x")
        # Where noncoop's runs went, start-up (its imports) and rule loading first.
        medians = {name: statistics.median(p[name] for p in phases) for name in phases[-1]}
        print(
            "noncoop phases, median wall s: "
            + ", ".join(f"{k} {v:.3f}" for k, v in medians.items())
        )
        holding = work / "holding.json"
        data = json.loads(result.read_text())
        data["alerts"] = [a for a in data["alerts"] if a["status"] != "resolved"]
        holding.write_text(json.dumps(data))
        subprocess.run(
            [args.peer_python, str(PEERS / "compare_alerts.py"), str(pairs), str(holding)],
            check=True,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
