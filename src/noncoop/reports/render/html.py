"""HTML: one self-contained file (styles inline, the figure as a data URI, no external links)
that prints on A4."""

from __future__ import annotations

import base64
import html
import re

from noncoop.reports.report import EARLIER, PREAMBLE, Report

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
        _html_table(*report.people_table()),
        "<h2>Agencies involved and engagement</h2>",
        _html_table(*report.engagement_table()),
        f"<h2>Open alerts ({len(case.alerts)})</h2>",
    ]
    if not case.alerts:
        parts.append("<p>No open alerts.</p>")
    for i, alert in enumerate(case.alerts, 1):
        parts += [
            f"<h3>{i}. {e(alert.title)}</h3>",
            f'<p class="facts">{e(report.facts(alert))}</p>',
            f"<blockquote>{e(alert.explanation)}</blockquote>",
            *[f"<p><em>{e(r)}</em></p>" for r in report.related(alert)],
            "<h4>Evidence</h4>",
            _html_table(*report.evidence_table(alert)),
            "<h4>Guidance</h4>",
            *[f"<blockquote>{e(g)}</blockquote>" for g in alert.guidance],
            "<h4>Recommended actions</h4>",
            "<ul>" + "".join(f"<li>{e(a)}</li>" for a in alert.actions) + "</ul>",
        ]
    if case.earlier:
        parts += [f"<h2>{EARLIER} ({len(case.earlier)})</h2>", _html_table(*report.earlier_table())]
    parts += [
        "<h2>Timeline</h2>",
        f'<figure><img alt="Timeline of events by agency" src="data:image/png;base64,{figure}">'
        "<figcaption>One lane per agency; shapes show the kind of event, hatching the alert "
        "windows.</figcaption></figure>",
        "<h2>Chronology</h2>",
        _html_table(
            *report.chronology_table(),
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
