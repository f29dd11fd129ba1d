"""Stage 8, scan: ingest what is new, evaluate the rule pack as of a date, record the alerts.
run.py (the nightly scan and its JSON), executors.py (where the evaluation runs: local, in
shards on every core, or on Spark via spark.py; the same alerts from each).

May import: every earlier stage and the shared modules.
"""

from noncoop.scan.executors import SparkOptions, Where
from noncoop.scan.run import (
    ScanResult,
    collector_paused,
    declared_coverage,
    history,
    scan,
    scan_json,
    shipped_rules,
)

__all__ = [
    "ScanResult",
    "SparkOptions",
    "Where",
    "collector_paused",
    "declared_coverage",
    "history",
    "scan",
    "scan_json",
    "shipped_rules",
]
