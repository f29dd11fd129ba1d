"""Writing a report to a file in the format asked for."""

from __future__ import annotations

from pathlib import Path

from noncoop.reports.render.html import render_html
from noncoop.reports.render.markdown import render_markdown
from noncoop.reports.render.pdf import render_pdf
from noncoop.reports.report import Report


def write_report(report: Report, fmt: str, out: Path) -> list[Path]:
    """Write the report; Markdown also writes its figure beside it. Returns the files written."""
    out = Path(out)
    if fmt == "md":
        figure = out.with_name(out.stem + "-timeline.png")
        figure.write_bytes(report.figure_png)
        out.write_text(render_markdown(report, figure.name), encoding="utf-8")
        return [out, figure]
    if fmt == "html":
        out.write_text(render_html(report), encoding="utf-8")
    elif fmt == "pdf":
        out.write_bytes(render_pdf(report))
    else:
        raise ValueError(f"unknown report format {fmt!r}; expected md, html or pdf")
    return [out]
