"""Synthetic multi-agency region: realistic background plus planted instances of every pattern
family, with a truth file so detection can be scored. Entirely made up; safe to commit and share.

Children are generated in blocks with numpy and streamed to the exports, so a region of 100,000
children never needs more than one block in memory. The same seed always gives the same files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from noncoop.synth.block import PATTERNS, Block
from noncoop.synth.calendar import Calendar
from noncoop.synth.exports import SOURCES_YAML, Exports

BLOCK = 2000  # children per block: one block's rows are in memory at a time

__all__ = ["PATTERNS", "SynthOptions", "SynthSummary", "synthesise"]


@dataclass(frozen=True)
class SynthOptions:
    """What to generate."""

    children: int = 1000
    seed: int = 1
    as_of: str = "2026-03-31"
    months: int = 24


@dataclass
class SynthSummary:
    """What was written: rows per file, planted pattern instances and malformed rows."""

    files: dict[str, int] = field(default_factory=dict)
    planted: int = 0
    malformed: int = 0

    @property
    def rows(self) -> int:
        return sum(n for name, n in self.files.items() if name != "truth.csv")


def synthesise(
    out_dir: Path, options: SynthOptions, progress: Callable[[int], None] | None = None
) -> SynthSummary:
    """Write a complete sources folder (sources.yaml, profiles, exports, people.csv, truth.csv)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    profiles = out / "profiles"
    profiles.mkdir(exist_ok=True)
    for item in resources.files("noncoop.profiles").iterdir():
        if item.name.endswith(".yaml"):
            with resources.as_file(item) as src:
                shutil.copyfile(src, profiles / item.name)
    (out / "sources.yaml").write_text(SOURCES_YAML.format(seed=options.seed), encoding="utf-8")
    exports = Exports(out)
    summary = SynthSummary()
    calendar = Calendar(options.as_of, options.months)
    try:
        for first in range(0, options.children, BLOCK):
            count = min(BLOCK, options.children - first)
            rng = np.random.default_rng([options.seed, first])
            earlier = np.random.default_rng([options.seed, first, 1])
            traps = np.random.default_rng([options.seed, first, 2])
            block = Block(first, count, rng, calendar, earlier, traps)
            planted, malformed = block.write(exports)
            summary.planted += planted
            summary.malformed += malformed
            if progress:
                progress(count)
    finally:
        summary.files = exports.close()
    return summary
