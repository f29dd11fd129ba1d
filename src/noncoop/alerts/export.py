"""Flat exports of stored alerts: one row per alert and evidence record, for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterator

from noncoop.alerts.model import StoredAlert

ALERT_CSV_COLUMNS = (
    "alert_id",
    "rule_id",
    "level",
    "status",
    "triage",
    "subject_id",
    "household_id",
    "window_start",
    "window_end",
    "explanation",
    "event_id",
    "occurred_at",
    "agency",
    "service",
    "event_type",
    "source",
    "source_file",
    "source_line",
    "detail",
)


def alert_csv_rows(alerts: list[StoredAlert]) -> Iterator[dict]:
    """Each alert repeated once per evidence record (once with blanks if it has none)."""
    for a in alerts:
        head = {
            "alert_id": a.alert_id,
            "rule_id": a.rule_id,
            "level": a.level,
            "status": a.status,
            "triage": a.triage.state,
            "subject_id": a.subject_id,
            "household_id": a.household_id,
            "window_start": a.window.start,
            "window_end": a.window.end,
            "explanation": a.explanation,
        }
        if not a.evidence:
            yield head
        for evidence in a.evidence:
            yield {**head, **evidence.to_json()}
