"""Time the evaluation of a workspace's stored events with each executor, and check that every
executor gives the alerts the local one gives.

Run by hand, not in CI; write the figures into the issue note:

    .venv/bin/python benchmarks/executors.py --workspace WS --as-of 2026-03-31
    .venv/bin/python benchmarks/executors.py --workspace WS --executors local,spark \\
        --spark-master 'local[2]'

Each executor runs in a process of its own (the evaluation a scan runs: every episode of the
history, the whole pack, python decisions), while this one samples the resident memory of that
process and all it starts (worker processes, Spark's JVM and its Python workers) every 0.1 s.
Printed: wall time, the executor's phases, the seconds spent inside shards (Spark), the peak of
the whole process tree and of each kind of process, and whether the alerts equal local's.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from noncoop.engine.rules.load import load_rules
from noncoop.scan import shipped_rules
from noncoop.scan.executors import EXECUTORS, SparkOptions
from noncoop.scan.run import Where, _job
from noncoop.store.workspace import Workspace


def run_one(args: argparse.Namespace) -> None:
    """In the child process: one executor's evaluation, its answer pickled to `args.out`."""
    pack = load_rules([Path(args.rules)] if args.rules else [shipped_rules()]).enabled()
    where = Where(args.run, args.shards, SparkOptions(args.spark_master))
    clock = time.perf_counter()
    job = _job(Workspace(args.workspace), pack, pd.Timestamp(args.as_of), "python", True, where)
    done = EXECUTORS[args.run](job)
    wall = time.perf_counter() - clock
    with open(args.out, "wb") as out:
        pickle.dump((done.evaluation, done.timings, done.work, wall), out)


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            parents.setdefault(parent, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _rss(pid: int) -> tuple[str, int]:
    """A process's kind (driver, worker, java) and resident bytes."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
        with open(f"/proc/{pid}/status") as f:
            kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return "gone", 0
    kind = "java" if b"java" in command.split(b"\0")[0] else "python"
    if kind == "python" and (b"spawn" in command or b"pyspark" in command):
        kind = "python worker"
    return kind, kb * 1024


def sampled(command: list[str]) -> tuple[float, dict[str, float]]:
    """Run a command; the peak of its process tree's memory, in all and by kind of process."""
    child = subprocess.Popen(command)
    peaks: dict[str, float] = {"all": 0.0}
    while child.poll() is None:
        sizes = [_rss(pid) for pid in _tree(child.pid)]
        peaks["all"] = max(peaks["all"], sum(size for _, size in sizes))
        for kind, size in sizes:
            peaks[kind] = max(peaks.get(kind, 0.0), size)
        time.sleep(0.1)
    if child.returncode:
        raise SystemExit(f"{command[-1]} failed ({child.returncode})")
    return peaks["all"], peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--as-of", default="2026-03-31")
    parser.add_argument("--rules", help="a rules folder (default: the shipped pack)")
    parser.add_argument("--executors", default="local,processes,spark")
    parser.add_argument("--shards", type=int)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return run_one(args)
    with tempfile.TemporaryDirectory() as tmp:
        answers = {}
        for executor in args.executors.split(","):
            out = Path(tmp) / f"{executor}.pickle"
            command = [
                sys.executable,
                __file__,
                *sys.argv[1:],
                "--run",
                executor,
                "--out",
                str(out),
            ]
            _, peaks = sampled(command)
            evaluation, timings, work, wall = pickle.loads(out.read_bytes())
            answers[executor] = evaluation
            print(f"--- {executor}: {len(evaluation.alerts):,} alerts, {wall:.1f} s wall")
            print("  phases  " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
            if work:
                print(
                    "  inside shards (summed)  "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in work.items())
                )
            print("  peak memory  " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in peaks.items()))
        base = answers.get("local")
        for executor, evaluation in answers.items():
            if base is not None and executor != "local":
                same = (evaluation.alerts, evaluation.folded, evaluation.signals) == (
                    base.alerts,
                    base.folded,
                    base.signals,
                )
                print(f"{executor}: alerts identical to local: {same}")


if __name__ == "__main__":
    main()
