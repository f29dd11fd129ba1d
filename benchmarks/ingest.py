"""Time `noncoop synth` and `noncoop ingest` on a synthetic region and report peak memory.

Run by hand, not in CI; write the figures into the issue note:

    .venv/bin/python benchmarks/ingest.py --children 10000
    .venv/bin/python benchmarks/ingest.py --children 100000 --keep /tmp/region-100k

Each step runs as its own process under /usr/bin/time -v, so the peak resident memory is the
step's own.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from noncoop.ingest.run import RACY_NS


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GB of one command."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *args], capture_output=True, text=True, check=True
    )
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return seconds, int(rss.group(1)) / 1024**2


def settle(region: Path) -> None:
    """Wait until the region's files are older than the ingest's "racy" span (ingest/run.py):
    a file written just before the first scan is hashed again by the next night, rightly, as it
    may have changed unseen, and that night would not be one of unchanged inputs."""
    newest = max(f.stat().st_mtime_ns for f in region.iterdir())
    wait = (newest + RACY_NS - time.time_ns()) / 1e9
    if wait > 0:
        time.sleep(wait + 0.1)


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder to keep the region and workspace in")
    options = parser.parse_args()
    root = options.keep or Path(tempfile.mkdtemp(prefix="noncoop-bench-"))
    region, workspace = root / "region", root / "workspace"
    shutil.rmtree(region, ignore_errors=True)
    shutil.rmtree(workspace, ignore_errors=True)
    cli = [sys.executable, "-m", "noncoop"]
    synth_s, synth_gb = timed(
        [
            *cli,
            "synth",
            str(region),
            "--children",
            str(options.children),
            "--seed",
            str(options.seed),
        ]
    )
    size = sum(p.stat().st_size for p in region.glob("*.csv")) / 1024**3
    rows = sum(_lines(p) - 1 for p in region.glob("*.csv") if p.name != "truth.csv")
    ingest_s, ingest_gb = timed([*cli, "ingest", str(region), "--workspace", str(workspace)])
    again_s, _ = timed([*cli, "ingest", str(region), "--workspace", str(workspace)])

    import pyarrow.parquet as pq

    events = sum(pq.ParquetFile(p).metadata.num_rows for p in (workspace / "events").glob("*"))
    print(f"children            {options.children:,}")
    print(f"input               {rows:,} rows, {size:.2f} GB of CSV")
    print(f"events stored       {events:,}")
    print(f"synth               {synth_s:7.1f} s   peak {synth_gb:.2f} GB")
    print(
        f"ingest              {ingest_s:7.1f} s   peak {ingest_gb:.2f} GB   "
        f"{rows / ingest_s:,.0f} rows/s, {events / ingest_s:,.0f} events/s"
    )
    print(f"ingest, unchanged   {again_s:7.1f} s")
    if not options.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
