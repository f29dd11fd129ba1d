"""PDF: A4 with embedded Unicode fonts (text stays extractable), written with fpdf2, without a
browser or network."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

from noncoop.reports.report import EARLIER, PREAMBLE, Report


def render_pdf(report: Report) -> bytes:
    """A4 PDF with embedded Unicode fonts (text stays extractable), made without a browser."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4")
    pdf.set_title(report.heading)
    pdf.set_creator("noncoop")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(14, 14, 14)
    pdf.add_font("DejaVu", "", fonts / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.add_font("DejaVu", "I", fonts / "DejaVuSans-Oblique.ttf")
    pdf.add_page()
    case = report.case
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))

    def text(value: str, size: float = 9, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(0, size * 0.5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def table(headers: list[str], rows: list[list], widths: tuple | None = None, size=7) -> None:
        pdf.set_font("DejaVu", "", size)
        with pdf.table(
            col_widths=widths, headings_style=heading, line_height=size * 0.5, text_align="LEFT"
        ) as t:
            t.row(headers)
            for row in rows:
                t.row([str(v) for v in row])
        pdf.ln(2)

    text(report.heading, 15, "B", 2)
    text(f"{report.dated} {PREAMBLE}")
    for note in case.notes:
        text(note, 8, "I")
    text("Child and household", 12, "B")
    table(*report.people_table(), size=8)
    text("Agencies involved and engagement", 12, "B")
    table(*report.engagement_table(), size=6.5)
    text(f"Open alerts ({len(case.alerts)})", 12, "B")
    if not case.alerts:
        text("No open alerts.")
    for i, alert in enumerate(case.alerts, 1):
        text(f"{i}. {alert.title}", 10, "B", 0.5)
        text(report.facts(alert), 7.5)
        text(alert.explanation, 9, "I")
        for r in report.related(alert):
            text(r, 8, "I")
        text("Evidence", 8.5, "B", 0.5)
        table(
            *report.evidence_table(alert),
            (14, 14, 14, 40, 26, 20),
        )
        text("Guidance", 8.5, "B", 0.5)
        for g in alert.guidance:
            text(g, 8)
        text("Recommended actions", 8.5, "B", 0.5)
        for a in alert.actions:
            text(f"• {a}", 8, gap=0.5)
        pdf.ln(2)
    if case.earlier:
        text(f"{EARLIER} ({len(case.earlier)})", 12, "B")
        table(*report.earlier_table(), (16, 14, 28, 28, 16, 70), size=6.5)
    pdf.add_page()
    text("Timeline", 12, "B")
    pdf.image(io.BytesIO(report.figure_png), w=pdf.epw)
    pdf.ln(3)
    text("Chronology", 12, "B")
    table(
        *report.chronology_table(),
        (15, 15, 14, 14, 14, 60, 8, 8, 24),
        size=6,
    )
    return bytes(pdf.output())
