"""The strategy-meeting report: who, which agencies and how engagement with each looks, the open
alerts explained with their evidence, guidance and actions, the timeline and the chronology.

One structure, three renderings: Markdown (figure beside it), HTML (one self-contained file that
prints well) and PDF (fpdf2, no browser or network).
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

from noncoop.reports.casefile import CaseFile
from noncoop.reports.chronology import chronology
from noncoop.reports.figure import figure_bytes
from noncoop.reports.render.markdown import md_table
from noncoop.vocab import EVENT_TYPES

PREAMBLE = (
    "Prepared by noncoop from the agencies' records. An alert is a prompt for professional "
    "judgement and information sharing, not a verdict about a family."
)
ENGAGEMENT_COLUMNS = (
    "agency",
    "records",
    "appointments kept / missed",
    "visits completed / no access",
    "meetings attended / not",
    "hostility recorded",
    "school attendance",
    "first",
    "last",
)
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CHRONOLOGY_HEADERS = (
    "date",
    "until",
    "who",
    "agency",
    "service",
    "what",
    "seen",
    "alone",
    "source",
)


@dataclass
class Report:
    case: CaseFile
    engagement: pd.DataFrame
    chronology: pd.DataFrame
    figure_png: bytes

    @property
    def heading(self) -> str:
        return f"Strategy meeting report: {self.case.title}"

    @property
    def dated(self) -> str:
        return f"Records up to {self.case.as_of:%-d %B %Y}."


def build_report(case: CaseFile) -> Report:
    return Report(case, engagement(case.events), chronology(case), figure_bytes(case, "png"))


def engagement(events: pd.DataFrame) -> pd.DataFrame:
    """Per agency: records, appointments kept and missed, visits, meetings, hostility, school."""
    kind = events["event_type"].astype(str)
    agency = events["agency"].astype(str)

    def count(*types: str) -> pd.Series:
        return kind.isin(types).groupby(agency).sum()

    possible = events["sessions_possible"].astype("Float64").fillna(0).groupby(agency).sum()
    absent = events["sessions_absent"].astype("Float64").fillna(0).groupby(agency).sum()
    hostile = kind == "hostility.recorded"
    worst = events["hostility_level"].astype("Float64").where(hostile).groupby(agency).max()
    at = events["occurred_at"].groupby(agency)
    table = pd.DataFrame(
        {
            "records": agency.groupby(agency).size(),
            "kept": count("appointment.attended", "appointment.late"),
            "missed": count("appointment.missed", "appointment.cancelled_by_family"),
            "completed": count("visit.completed"),
            "no_access": count("visit.no_access", "visit.refused", "visit.cut_short"),
            "met": count("meeting.attended"),
            "not_met": count("meeting.not_attended"),
            "hostile": hostile.groupby(agency).sum(),
            "worst": worst,
            "possible": possible,
            "absent": absent,
            "first": at.min(),
            "last": at.max(),
        }
    )
    pair = lambda a, b: table[a].astype(int).astype(str) + " / " + table[b].astype(int).astype(str)  # noqa: E731
    out = pd.DataFrame(
        {
            "agency": table.index.str.replace("_", " "),
            "records": table["records"].astype(int).astype(str),
            "appointments kept / missed": pair("kept", "missed"),
            "visits completed / no access": pair("completed", "no_access"),
            "meetings attended / not": pair("met", "not_met"),
            "hostility recorded": [
                f"{int(n)} (highest level {int(w)})" if n else "none"
                for n, w in zip(table["hostile"], table["worst"].fillna(0), strict=True)
            ],
            "school attendance": [
                f"{(p - a) / p:.0%} of {int(p)} sessions" if p else ""
                for p, a in zip(table["possible"], table["absent"], strict=True)
            ],
            "first": table["first"].dt.strftime("%Y-%m-%d"),
            "last": table["last"].dt.strftime("%Y-%m-%d"),
        }
    )
    return out.reset_index(drop=True)


def _people_rows(case: CaseFile) -> list[list[str]]:
    return [
        [r.subject_id, r.role, "" if pd.isna(r.age) else f"{r.age:.0f}", str(r.household_id or "")]
        for r in case.people.itertuples()
    ]


def _evidence_rows(alert: dict) -> list[list[str]]:
    return [
        [
            e.occurred_at[:10],
            e.agency or "",
            e.service or "",
            EVENT_TYPES[e.event_type].words
            + (f" (household member {e.via_subject_id})" if e.via_subject_id else ""),
            f"{e.source_file}:{e.source_line}",
            e.event_id,
        ]
        for e in alert.evidence
    ]


def _chronology_rows(report: Report) -> list[list[str]]:
    c = report.chronology
    return [
        [
            r.date,
            r.until,
            r.subject_id,
            r.agency.replace("_", " "),
            r.service,
            r.what,
            r.seen,
            r.seen_alone,
            f"{r.source_file}:{r.source_line}" if r.source_file else "",
        ]
        for r in c.itertuples()
    ]


def _alert_facts(alert: dict) -> str:
    return (
        f"Rule {alert.rule_id} · level {alert.level} · status {alert.status} · "
        f"alert {alert.alert_id} · window {alert.window.start} to {alert.window.end}"
    )


# Markdown ---------------------------------------------------------------------------------------
def render_markdown(report: Report, figure_name: str) -> str:
    """Markdown with the timeline as a PNG beside it (`figure_name`)."""
    case = report.case
    out = [f"# {report.heading}", "", f"{report.dated} {PREAMBLE}", ""]
    out += [f"_{note}_" for note in case.notes] + ([""] if case.notes else [])
    out += ["## Child and household", ""]
    out += md_table(["id", "role", "age", "household"], _people_rows(case))
    out += ["## Agencies involved and engagement", ""]
    out += md_table(list(ENGAGEMENT_COLUMNS), report.engagement.values.tolist())
    out += [f"## Open alerts ({len(case.alerts)})", ""]
    if not case.alerts:
        out += ["No open alerts.", ""]
    for i, alert in enumerate(case.alerts, 1):
        out += [
            f"### {i}. {alert.title}",
            "",
            _alert_facts(alert),
            "",
            f"> {alert.explanation}",
            "",
        ]
        out += ["**Evidence**", ""]
        out += md_table(
            ["date", "agency", "service", "what", "source", "event"], _evidence_rows(alert)
        )
        out += ["**Guidance**", ""] + [f"> {g}" for g in alert.guidance] + [""]
        out += ["**Recommended actions**", ""] + [f"- {a}" for a in alert.actions] + [""]
    out += ["## Timeline", "", f"![Timeline of events by agency]({figure_name})", ""]
    out += ["## Chronology", ""]
    out += md_table(list(CHRONOLOGY_HEADERS), _chronology_rows(report))
    return "\n".join(out)


# HTML -------------------------------------------------------------------------------------------
CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; margin: 1.5em; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; border-bottom: 1px solid #999; }
h2, h3 { page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; }
th, td { border: 1px solid #aaa; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #eee; } thead { display: table-header-group; }
td.date { white-space: nowrap; }
tr { page-break-inside: avoid; }
blockquote { margin: 0.4em 0; padding-left: 0.8em; border-left: 3px solid #777; }
.facts { color: #444; } .alert-row td { font-weight: bold; background: #f3f3f3; }
.folded td { color: #555; font-style: italic; }
figure img { width: 100%; } figure { margin: 0; page-break-inside: avoid; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; font-size: 9pt; } }
"""


def render_html(report: Report) -> str:
    """One self-contained HTML file: styles inline, the figure as a data URI, no external links."""
    case = report.case
    e = html.escape
    figure = base64.b64encode(report.figure_png).decode()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.heading)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(report.heading)}</h1>",
        f"<p>{e(report.dated)} {e(PREAMBLE)}</p>",
        *[f"<p><em>{e(n)}</em></p>" for n in case.notes],
        "<h2>Child and household</h2>",
        _html_table(["id", "role", "age", "household"], _people_rows(case)),
        "<h2>Agencies involved and engagement</h2>",
        _html_table(list(ENGAGEMENT_COLUMNS), report.engagement.values.tolist()),
        f"<h2>Open alerts ({len(case.alerts)})</h2>",
    ]
    if not case.alerts:
        parts.append("<p>No open alerts.</p>")
    for i, alert in enumerate(case.alerts, 1):
        parts += [
            f"<h3>{i}. {e(alert.title)}</h3>",
            f'<p class="facts">{e(_alert_facts(alert))}</p>',
            f"<blockquote>{e(alert.explanation)}</blockquote>",
            "<h4>Evidence</h4>",
            _html_table(
                ["date", "agency", "service", "what", "source", "event"], _evidence_rows(alert)
            ),
            "<h4>Guidance</h4>",
            *[f"<blockquote>{e(g)}</blockquote>" for g in alert.guidance],
            "<h4>Recommended actions</h4>",
            "<ul>" + "".join(f"<li>{e(a)}</li>" for a in alert.actions) + "</ul>",
        ]
    parts += [
        "<h2>Timeline</h2>",
        f'<figure><img alt="Timeline of events by agency" src="data:image/png;base64,{figure}">'
        "<figcaption>One lane per agency; shapes show the kind of event, hatching the alert "
        "windows.</figcaption></figure>",
        "<h2>Chronology</h2>",
        _html_table(
            list(CHRONOLOGY_HEADERS),
            _chronology_rows(report),
            classes=[
                "alert-row" if k == "alert" else ("folded" if n > 1 else "")
                for k, n in zip(report.chronology["kind"], report.chronology["count"], strict=True)
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _html_table(headers: list[str], rows: list[list], classes: list[str] | None = None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="date">{e(str(v))}</td>'
            if ISO_DAY.match(str(v))
            else f"<td>{e(str(v))}</td>"
            for v in row
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# PDF --------------------------------------------------------------------------------------------
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
    table(["id", "role", "age", "household"], _people_rows(case), size=8)
    text("Agencies involved and engagement", 12, "B")
    table(list(ENGAGEMENT_COLUMNS), report.engagement.values.tolist(), size=6.5)
    text(f"Open alerts ({len(case.alerts)})", 12, "B")
    if not case.alerts:
        text("No open alerts.")
    for i, alert in enumerate(case.alerts, 1):
        text(f"{i}. {alert.title}", 10, "B", 0.5)
        text(_alert_facts(alert), 7.5)
        text(alert.explanation, 9, "I")
        text("Evidence", 8.5, "B", 0.5)
        table(
            ["date", "agency", "service", "what", "source", "event"],
            _evidence_rows(alert),
            (14, 14, 14, 40, 26, 20),
        )
        text("Guidance", 8.5, "B", 0.5)
        for g in alert.guidance:
            text(g, 8)
        text("Recommended actions", 8.5, "B", 0.5)
        for a in alert.actions:
            text(f"• {a}", 8, gap=0.5)
        pdf.ln(2)
    pdf.add_page()
    text("Timeline", 12, "B")
    pdf.image(io.BytesIO(report.figure_png), w=pdf.epw)
    pdf.ln(3)
    text("Chronology", 12, "B")
    table(
        list(CHRONOLOGY_HEADERS),
        _chronology_rows(report),
        (15, 15, 14, 14, 14, 60, 8, 8, 24),
        size=6,
    )
    return bytes(pdf.output())


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
