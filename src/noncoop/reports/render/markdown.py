"""Markdown: the report with its timeline figure beside it, and tables escaped so a cell's text can
never break them."""

from __future__ import annotations

import pandas as pd

from noncoop.reports.report import EARLIER, PREAMBLE, Report


def md_table(headers: list[str], rows: list[list]) -> list[str]:
    """Lines of a Markdown table, followed by a blank line."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(report: Report, figure_name: str) -> str:
    """Markdown with the timeline as a PNG beside it (`figure_name`)."""
    case = report.case
    out = [f"# {report.heading}", "", f"{report.dated} {PREAMBLE}", ""]
    out += [f"_{note}_" for note in case.notes] + ([""] if case.notes else [])
    out += ["## Child and household", ""]
    out += md_table(*report.people_table())
    out += ["## Agencies involved and engagement", ""]
    out += md_table(*report.engagement_table())
    out += [f"## Open alerts ({len(case.alerts)})", ""]
    if not case.alerts:
        out += ["No open alerts.", ""]
    for i, alert in enumerate(case.alerts, 1):
        out += [
            f"### {i}. {alert.title}",
            "",
            report.facts(alert),
            "",
            f"> {alert.explanation}",
            "",
            *[line for r in report.related(alert) for line in (f"_{r}_", "")],
        ]
        out += ["**Evidence**", ""]
        out += md_table(*report.evidence_table(alert))
        out += ["**Guidance**", ""] + [f"> {g}" for g in alert.guidance] + [""]
        out += ["**Recommended actions**", ""] + [f"- {a}" for a in alert.actions] + [""]
    if case.earlier:
        out += [f"## {EARLIER} ({len(case.earlier)})", ""]
        out += md_table(*report.earlier_table())
    out += ["## Timeline", "", f"![Timeline of events by agency]({figure_name})", ""]
    out += ["## Chronology", ""]
    out += md_table(*report.chronology_table())
    return "\n".join(out)


def chronology_markdown(rows: pd.DataFrame) -> str:
    """The chronology's rows as one Markdown table."""
    return "\n".join(md_table(list(rows.columns), rows.values.tolist()))
