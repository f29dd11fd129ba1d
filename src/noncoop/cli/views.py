"""Rich renderings for people at a terminal: progress while ingesting and the run summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from noncoop.alerts.groups import AlertGroup
from noncoop.alerts.model import AuditEntry, StoredAlert
from noncoop.diagnostics import Diagnostic
from noncoop.ingest.counts import IngestReport
from noncoop.ingest.counts import Progress as ProgressFn
from noncoop.vocab import EVENT_TYPES, MOST_SEVERE_FIRST, Level, in_words
from noncoop.yamlspec import ConfigInvalid


@contextmanager
def byte_progress(console: Console, total: int, label: str) -> Iterator[ProgressFn]:
    """A progress bar over bytes of input; yields the callback the pipeline calls."""
    columns = (
        TextColumn("[bold]{task.description}", justify="left"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(description: str, done: int) -> None:
            bar.update(task, advance=done, description=description[:60])

        yield advance


def refused_note(report: IngestReport) -> str:
    """For the one-line summary: new versions of exports not taken (empty or truncated)."""
    n = report.total.files_refused
    return f"{n} file(s) refused (empty or truncated, see warnings); " if n else ""


def ingest_table(report: IngestReport) -> Table:
    """Per-source counts; the last row is the total, which always reconciles."""
    table = Table(title="Ingest", title_justify="left")
    # A refused file (an empty or truncated export) gets a column of its own, shown in red.
    refused = report.total.files_refused > 0
    names = ["source", "files", "unchanged", *(["refused"] if refused else [])]
    names += ["rows read", "accepted", "quarantined", "new events", "withdrawn"]
    for name in names:
        if name == "source":
            # Names stay whole on an 80-column terminal: the counts' headings give way first.
            widest = max((len(n) for n in (*report.by_source, "total")), default=6)
            table.add_column(name, no_wrap=True, min_width=min(widest, 28))
        else:
            table.add_column(name, justify="right", style="red" if name == "refused" else None)

    def row(name: str, c) -> list[str]:
        return [
            name,
            f"{c.files}",
            f"{c.files_unchanged}",
            *([f"{c.files_refused}"] if refused else []),
            f"{c.rows_read:,}",
            f"{c.rows_accepted:,}",
            f"{c.rows_quarantined:,}",
            f"{c.new_events:,}",
            f"{c.withdrawn_events:,}",
        ]

    for name, counts in report.by_source.items():
        table.add_row(*row(name, counts))
    table.add_section()
    table.add_row(*row("total", report.total), style="bold")
    p = report.people
    other = [
        f"{name}: " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(c.other_kinds.items()))
        for name, c in report.by_source.items()
        if c.other_kinds
    ]
    table.caption = (
        f"people: {p.rows_read:,} rows, {p.rows_quarantined:,} quarantined"
        + "".join(f", {n:,} {kind}" for kind, n in sorted(p.other_kinds.items()))
        + " · "
        f"{report.events_stored:,} events in the store · {report.seconds:.1f}s"
        + ("\nread and accepted, not events: " + "; ".join(other) if other else "")
    )
    return table


def quarantine_table(rows: pd.DataFrame) -> Table:
    """Rejected rows counted by source and reason code (no row content is shown)."""
    table = Table(title="Quarantine", title_justify="left")
    for name in ("source", "reason", "rows", "first lines"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    if rows.empty:
        return table
    grouped = rows.groupby(["source", "reason_code"], sort=True)
    for (source, code), group in grouped:
        lines = ", ".join(
            f"{f}:{n}"
            for f, n in zip(group["source_file"][:3], group["source_line"][:3], strict=True)
        )
        table.add_row(str(source), str(code), f"{len(group):,}", lines)
    return table


def diagnostic_text(diagnostic: Diagnostic) -> str:
    """The code, its kind and short text, then the description."""
    d = diagnostic
    return f"{d.code} ({d.kind}): {d.short}\n\n{d.description}"


def print_config_errors(console: Console, exc: ConfigInvalid) -> None:
    """One line per problem, file:line:col first, so editors can jump to it."""
    for err in exc.errors:
        console.print(f"[red]error[/red] {err}", highlight=False, markup=True, soft_wrap=True)


LEVEL_STYLE = {
    Level.CRITICAL: "bold red",
    Level.HIGH: "red",
    Level.MEDIUM: "yellow",
    Level.LOW: "cyan",
    Level.INFO: "dim",
}


def alerts_summary(alerts: list[StoredAlert]) -> Table:
    """Alerts counted by pattern tag and level."""
    levels = MOST_SEVERE_FIRST
    table = Table(title="Alerts by pattern and level", title_justify="left")
    table.add_column("pattern")
    for level in levels:
        table.add_column(level, justify="right", style=LEVEL_STYLE[level])
    table.add_column("total", justify="right")
    counts: dict[str, dict[str, int]] = {}
    for a in alerts:
        tag = a.pattern
        counts.setdefault(tag, {}).setdefault(a.level, 0)
        counts[tag][a.level] += 1
    for tag in sorted(counts):
        row = counts[tag]
        table.add_row(
            tag.removeprefix("pattern:"),
            *[str(row.get(lv, "")) for lv in levels],
            str(sum(row.values())),
        )
    table.add_section()
    table.add_row(
        "total",
        *[str(sum(c.get(lv, 0) for c in counts.values())) for lv in levels],
        str(len(alerts)),
        style="bold",
    )
    return table


def alerts_table(alerts: list[StoredAlert], limit: int = 20, width: int = 160) -> Table:
    """The first alerts, most severe first. On a narrow terminal the id, status and window share
    one column so the explanation keeps room to be read."""
    table = Table(
        title=f"Alerts (first {min(limit, len(alerts))} of {len(alerts)})", title_justify="left"
    )
    wide = width >= 120
    names = ("alert", "level", "status", "child", "rule", "window") if wide else ("alert", "child")
    for name in names:
        table.add_column(name, no_wrap=name != "rule")
    table.add_column("explanation", ratio=1)
    for a in alerts[:limit]:
        triage = a.triage.state
        status = a.status if triage == "open" else f"{a.status} ({triage})"
        level = f"[{LEVEL_STYLE[a.level]}]{a.level}[/]"
        status = f"[{STATUS_STYLE.get(a.status, 'default')}]{status}[/]"
        window = f"{a.window.start}\n{a.window.end}"
        explanation = escape(a.explanation)
        if wide:
            row = [a.alert_id, level, status, a.subject_id, a.rule_id, window]
            table.add_row(*row, explanation)
        else:
            head = f"{a.alert_id}\n{level} {status}"
            table.add_row(head, a.subject_id, f"[bold]{a.rule_id}[/]\n{explanation}")
    return table


STATUS_STYLE = {"new": "bold", "reopened": "bold magenta", "resolved": "dim"}


def groups_table(groups: list[AlertGroup], limit: int = 20, width: int = 160) -> Table:
    """One row per household and pattern, most severe first: the children it concerns, the
    rules raised and the most severe alert's explanation (`noncoop alerts show` for each)."""
    alerts = sum(len(g.alerts) for g in groups)
    table = Table(
        title=f"Alerts by household (first {min(limit, len(groups))} of {len(groups)} rows, "
        f"{alerts} alerts; --flat for one row per alert)",
        title_justify="left",
    )
    wide = width >= 120
    names = ("household", "level", "pattern", "children", "window") if wide else ("household",)
    for name in names:
        table.add_column(name, no_wrap=name in ("household", "level", "window"))
    table.add_column("explanation", ratio=1)
    for g in groups[:limit]:
        lead = g.lead
        level = f"[{LEVEL_STYLE[g.level]}]{g.level}[/]"
        more = "".join(f"\n[dim]+ {rule} for {', '.join(who)}[/dim]" for rule, who in g.others())
        text = f"[bold]{lead.rule_id}[/] ({lead.alert_id}, {lead.subject_id})\n" + escape(
            lead.explanation
        )
        household = g.household_id or "—"
        children = ", ".join(g.children)
        if wide:
            window = f"{g.window[0]}\n{g.window[1]}"
            table.add_row(
                household, level, g.pattern.removeprefix("pattern:"), children, window, text + more
            )
        else:
            head = f"{household}\n{level}\n{children}"
            table.add_row(head, text + more)
    return table


def audit_table(entries: list[AuditEntry]) -> Table:
    """The audit log: runs and triage actions, oldest first."""
    table = Table(title="Audit log", title_justify="left")
    for name in ("#", "at", "who", "action", "as of", "alert", "details"):
        table.add_column(name, overflow="fold")
    for e in entries:
        d = e.details
        if e.action == "scan":
            alerts = ", ".join(f"{n} {k}" for k, n in d.get("alerts", {}).items() if n)
            summary = (
                f"{len(d.get('sources', []))} files, rules {d.get('rule_pack_sha256', '')[:12]}, "
                f"{d.get('events', 0):,} events; alerts: {alerts or 'none'}"
            )
        else:
            until = f" until {d['until']}" if d.get("until") else ""
            summary = f"{d.get('reason', '')}{until}"
        table.add_row(
            str(e.seq),
            e.at,
            e.actor,
            e.action,
            e.as_of or "",
            e.alert_id or "",
            escape(summary),
        )
    return table


def alert_panel(alert: StoredAlert) -> Panel:
    """One alert explained in full: what, when, evidence with file and line, guidance, actions."""
    lines = [
        f"[bold]{alert.title}[/bold] ({alert.rule_id}, {alert.level})",
        f"Child {alert.subject_id}, household {alert.household_id or '—'}",
        f"Window {alert.window.start} to {alert.window.end}",
        *_lifecycle_lines(alert),
        "",
        escape(alert.explanation),
        "",
        "[bold]Evidence[/bold]",
    ]
    for e in alert.evidence:
        via = f" (household member {e.via_subject_id})" if e.via_subject_id else ""
        where = ", ".join(in_words(c) for c in (e.agency, e.service) if c)
        what = EVENT_TYPES[e.event_type].words if e.event_type in EVENT_TYPES else e.event_type
        lines.append(
            f"  {e.occurred_at}  {escape(where)}: {escape(what)}{via}  "
            f"[dim]{e.source_file}:{e.source_line}[/dim]"
        )
    if alert.related:
        lines += ["", "[bold]Folded into this alert[/bold] (rules it supersedes, same days)"]
        for r in alert.related:
            lines.append(f"  {r.rule_id} ({r.level}): {escape(r.explanation)}")
    lines += ["", "[bold]Guidance[/bold]"] + [f"  {g}" for g in alert.guidance]
    lines += ["", "[bold]Recommended actions[/bold]"] + [f"  • {a}" for a in alert.actions]
    return Panel("\n".join(lines), title=f"alert {alert.alert_id}", expand=False)


def _lifecycle_lines(alert: StoredAlert) -> list[str]:
    t = alert.triage
    lines = [
        f"Status {alert.status} (first raised {alert.first_as_of}, "
        f"last scanned {alert.last_as_of}; rule version {alert.rule_version})"
    ]
    if alert.note:
        lines.append(f"[magenta]{escape(alert.note)}[/magenta]")
    if t.state != "open":
        until = f" until {t.until}" if t.until else ""
        lines.append(
            f"Triage: {t.state}{until} by {escape(t.by or '')} on {t.at}: {escape(t.reason or '')}"
        )
    return lines


def timings_line(timings: dict[str, float], events: int) -> str:
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    return f"{events:,} events evaluated · {parts}"


def rule_list(pack) -> Table:
    table = Table(title="Rules", title_justify="left")
    for name in ("id", "level", "status", "pattern", "title"):
        table.add_column(name)
    for r in sorted(pack.rules, key=lambda r: r.id):
        table.add_row(
            r.id,
            f"[{LEVEL_STYLE[r.rule.level]}]{r.rule.level}[/]",
            r.rule.status,
            r.rule.pattern_tag.removeprefix("pattern:"),
            r.rule.title,
        )
    return table


def rule_test_table(results) -> Table:
    table = Table(title="Rule tests", title_justify="left")
    for name in ("rule", "case", "expected", "actual", "result"):
        table.add_column(name, overflow="fold")
    for r in results:
        actual = "alert" if r.fired else "none"
        if r.missing_evidence:
            actual += f" (evidence not cited: {', '.join(r.missing_evidence)})"
        table.add_row(
            r.rule_id,
            r.name,
            r.expect,
            actual,
            "[green]pass[/green]" if r.passed else "[bold red]FAIL[/bold red]",
        )
    return table


def chronology_table(rows: pd.DataFrame, title: str) -> Table:
    """The chronology for a terminal: alert starts stand out, folded runs are dimmed; columns
    that are empty throughout are left out so the narrative keeps the width."""
    source = [
        f"{f}:{n}" if f else ""
        for f, n in zip(rows["source_file"], rows["source_line"], strict=True)
    ]
    cells = {
        "date": rows["date"],
        "until": rows["until"],
        "who": rows["subject_id"],
        "agency": rows["agency"].str.replace("_", " "),
        "service": rows["service"],
        "what": rows["what"].map(escape),
        "seen": rows["seen"],
        "alone": rows["seen_alone"],
        "source": pd.Series(source, index=rows.index, dtype=object),
    }
    shown = {k: v for k, v in cells.items() if k in ("date", "what") or (v.astype(str) != "").any()}
    table = Table(title=title, title_justify="left")
    for name in shown:
        if name == "what":
            table.add_column(name, ratio=1, min_width=28)
        else:
            table.add_column(name, no_wrap=name in ("date", "until", "who", "seen", "alone"))
    styles = [
        "bold magenta" if k == "alert" else ("dim italic" if n > 1 else "")
        for k, n in zip(rows["kind"], rows["count"], strict=True)
    ]
    for *cells, style in zip(
        *(v.astype(str).tolist() for v in shown.values()), styles, strict=True
    ):
        table.add_row(*cells, style=style)
    return table


def backtest_table(summary: pd.DataFrame, totals: pd.DataFrame, title: str, width: int) -> Table:
    """Per rule: episodes begun in each period, then the totals over the whole stretch. Where
    the periods do not fit the terminal as columns, they are listed in one column instead."""
    periods = sorted(summary["period"].unique())
    wide = 40 + 9 * (len(periods) + 3) <= width
    table = Table(title=title, title_justify="left")
    table.add_column("rule", no_wrap=True)
    for period in periods if wide else ():
        table.add_column(period, justify="right")
    for name in ("episodes", "children", "median days"):
        table.add_column(name, justify="right", style="bold")
    if not wide:
        table.add_column("episodes begun by period", ratio=1)
    whole = totals.set_index("rule_id")
    for rule, rows in summary.groupby("rule_id", sort=True):
        counts = rows.set_index("period")["episodes"]
        numbers = [
            str(int(whole.at[rule, "episodes"])),
            str(int(whole.at[rule, "children"])),
            f"{whole.at[rule, 'median_days']:g}",
        ]
        if wide:
            table.add_row(rule, *[str(counts.get(p, "")) for p in periods], *numbers)
        else:
            listed = " · ".join(f"{p} {n}" for p, n in counts.items())
            table.add_row(rule, *numbers, listed)
    return table


def changes_table(changed: pd.DataFrame, limit: int = 8) -> Table:
    """Per rule: children gained and lost against the other pack, naming the first few."""
    table = Table(title="Against the other pack", title_justify="left")
    for name in ("rule", "gained", "lost", "children (first alerted)"):
        table.add_column(name, justify="right" if name in ("gained", "lost") else "left")
    for rule, rows in changed.groupby("rule_id", sort=True):
        shown = ", ".join(
            f"{'+' if c == 'gained' else '-'}{s} ({d})"
            for c, s, d in rows[["change", "subject_id", "first_day"]].head(limit).to_numpy()
        )
        more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
        table.add_row(
            rule,
            str(int((rows["change"] == "gained").sum())),
            str(int((rows["change"] == "lost").sum())),
            shown + more,
        )
    if changed.empty:
        table.caption = "No rule gains or loses a child."
    return table
