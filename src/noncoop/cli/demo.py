"""`noncoop synth` and `noncoop demo`: a synthetic region, and a scan of one."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from noncoop.cli.options import EngineOpt, console
from noncoop.cli.scan import print_scan, scan_with_progress
from noncoop.cli.views import alert_panel, byte_progress
from noncoop.store.workspace import Workspace
from noncoop.synth.region import SynthOptions, synthesise


def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sources folder into.")],
    children: Annotated[int, typer.Option(min=1, help="Number of children.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 1,
    as_of: Annotated[str, typer.Option(help="Last day of the synthetic records.")] = "2026-03-31",
    months: Annotated[int, typer.Option(min=3, max=60, help="Months of history.")] = 24,
) -> None:
    """Write a synthetic multi-agency region (sources.yaml, exports, people.csv, truth.csv)."""
    options = SynthOptions(children=children, seed=seed, as_of=as_of, months=months)
    with byte_progress(console, children, "synthesising") as advance:
        summary = synthesise(out_dir, options, progress=lambda n: advance("synthesising", n))
    console.print(
        f"Wrote {summary.rows:,} rows for {children:,} children "
        f"({summary.planted:,} planted pattern instances, {summary.malformed:,} malformed rows) "
        f"to {out_dir}"
    )


def demo(
    children: Annotated[int, typer.Option(min=10, help="Number of synthetic children.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    engine: EngineOpt = "auto",
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep", help="Keep the synthetic sources and workspace in this folder to explore."
        ),
    ] = None,
) -> None:
    """Synthesise a small region, scan it, and explain one alert (in a temporary folder unless
    --keep is given)."""
    with tempfile.TemporaryDirectory(prefix="noncoop-demo-") as tmp:
        root = keep or Path(tmp)
        sources = root / "sources"
        options = SynthOptions(children=children, seed=seed)
        summary = synthesise(sources, options)
        console.print(
            f"Synthesised {children} children: {summary.rows:,} rows in "
            f"{len(summary.files)} exports under {sources}"
        )
        ws = Workspace(root / "workspace")
        result = scan_with_progress(sources, ws, None, options.as_of, engine, quiet=False)
        print_scan(result, limit=15)
        alerts = result.store.alerts
        if alerts:
            console.print(alert_panel(alerts[0]))
        if keep and alerts:
            child = alerts[0].subject_id
            console.print(
                "Next: "
                f"noncoop alerts -w {ws.root} · noncoop chronology {child} -w {ws.root} · "
                f"noncoop report {child} -w {ws.root} --format html --out {child}.html",
                highlight=False,
                soft_wrap=True,
            )
