"""The alert lifecycle, as a pure function of the store's rows and tonight's alerts.

An alert is an episode of one rule for one child. Tonight's alert of a rule and child that has an
active episode continues it (`ongoing`); one that comes back within REOPEN_DAYS of a resolved
episode's window reopens it; otherwise it starts a new episode. An active episode that tonight's
scan of its rule does not find is `resolved`. Every row keeps its state from before the last night
that touched it, so re-running that night starts from the same place and changes nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime, timedelta

from noncoop.alerts.model import ACTIVE, QUIET, STATUSES, StoredAlert, StoreUpdate
from noncoop.engine.alert import Alert, Folded, episode_id

REOPEN_DAYS = 30  # an alert back within this many days of its last window is the same episode
TRIAGE_FIELDS = (
    "triage",
    "triage_by",
    "triage_reason",
    "triage_at",
    "snoozed_until",
    "triage_evidence",
)
LIFECYCLE = ("status", "note", "changed_as_of", *TRIAGE_FIELDS)
CONTENT = (
    "rule_version",
    "household_id",
    "title",
    "level",
    "pattern",
    "tags",
    "window_start",
    "window_end",
    "explanation",
    "evidence",
    "guidance",
    "actions",
    "related",
    "fingerprint",
)
COLUMNS = (
    "alert_id",
    "rule_id",
    "subject_id",
    *CONTENT,
    *LIFECYCLE,
    "first_as_of",
    "touched_as_of",
    "prior",
)
JSON_COLUMNS = ("tags", "evidence", "guidance", "actions", "related", "triage_evidence")
# What a re-run of a night needs of a row's state before that night (content comes from the run).
PRIOR = (*LIFECYCLE, "window_start", "window_end")


def reconcile(
    stored: list[dict],
    alerts: list[Alert],
    versions: dict[str, str],
    as_of: str,
    folded: Sequence[Alert | Folded] = (),
) -> tuple[StoreUpdate, list[dict], list[str]]:
    """The store's rows after a scan as of `as_of`: matched, new, reopened and resolved episodes.

    `stored` are the store's rows (JSON columns read), in the store's order. Works from each
    row's state before the night being scanned, so a re-run of that night gives the same rows.
    Returns the update, the rows to write and the ids of rows to drop (episodes that only a
    previous run of this same night had created). Plain dicts throughout: a night's tens of
    thousands of rows are matched by key, where pandas' merges cost more than the matching."""
    base, absent, touched = _baseline(stored, as_of)
    by_id, active, by_key, latest = _indexed(base)
    matched: list[tuple[int, str]] = []
    for i, found in enumerate(alerts):
        key = (found.rule_id, found.subject_id)
        ids = by_key.get(key) or [_reopened(found, latest.get(key))]
        # A new episode is named by its rule, its child and tonight: the day it was first raised.
        matched += [(i, a or episode_id(found.rule_id, found.subject_id, as_of)) for a in ids]
    # Triage given to an episode that only an earlier run of this night had created carries over.
    carried = {r["alert_id"]: r for r in absent}

    def now(alert_id: str) -> dict | None:
        # What this run reports is measured against the store as it is now, so a second scan of
        # the same night reports nothing new even though it writes the same rows as the first:
        # a row as stored, which is its state before tonight unless tonight touched it.
        return touched.get(alert_id) or by_id.get(alert_id)

    rows, out, counts = [], [], dict.fromkeys((*STATUSES, "quiet"), 0)
    for i, alert_id in matched:
        version = versions.get(alerts[i].rule_id, "")
        before, kept = by_id.get(alert_id), carried.get(alert_id)
        if kept is None and _as_it_was(alerts[i], before, version, as_of):
            # Its row would be written back as it is: not made again (most of a night's).
            counts["ongoing"] += 1
            out.append(StoredAlert.of(alerts[i], before, "ongoing", touched=as_of))
            continue
        row = _found_row(alerts[i], alert_id, version, before, kept, as_of)
        rows.append(row)
        status = _reported(row, now(alert_id))
        counts["quiet" if row["triage"] in QUIET else status] += 1
        out.append(StoredAlert.of(alerts[i], row, status))
    # Only the rules this run evaluated can resolve their alerts: a run with part of the pack
    # (an analyst trying one rule) leaves every other alert as it is.
    found_ids = {a for _, a in matched}
    gone = [r for r in active if r["alert_id"] not in found_ids and r["rule_id"] in versions]
    # Folded tonight into the alert of a rule superseding it, rather than no longer met.
    into = {(f.rule_id, f.subject_id) for f in folded if not f.held or f.held.end >= as_of}
    for before in gone:
        row = {**before, "status": "resolved", "changed_as_of": as_of}
        row["note"] = resolved_note(as_of, (before["rule_id"], before["subject_id"]) in into)
        rows.append(_touched(row, before, as_of))
    resolved = [r["alert_id"] for r in gone if now(r["alert_id"])["status"] != "resolved"]
    counts["resolved"] = len(resolved)
    return StoreUpdate(out, resolved, counts), rows, [r["alert_id"] for r in absent]


def _as_it_was(alert: Alert, before: dict | None, version: str, as_of: str) -> bool:
    """Whether tonight finds an episode as the store holds it and leaves it so: the same
    fingerprint (so the same content, recall.py), ongoing and awake, not yet touched tonight,
    and its state before the last night that changed it already its state now. `_found_row`
    would give it back as it is but for the night touched, which is not written for a live row
    (its rule's scan says so)."""
    return (
        before is not None
        and alert.fingerprint is not None
        and before.get("fingerprint") == alert.fingerprint
        and before["rule_version"] == version
        and before["status"] == "ongoing"
        and before["note"] is None
        and before["triage"] not in QUIET
        and before["touched_as_of"] != as_of
        and _prior_is_now(before)
    )


def _prior_is_now(row: dict) -> bool:
    """Whether a row's state before the last night that touched it is its state now: compared
    as two tuples, not a dict made for each of a night's 20,000 rows."""
    prior = row["prior"]
    return prior.keys() == _PRIOR_KEYS and _prior_of(prior) == _prior_of(row)


_PRIOR_KEYS = frozenset(PRIOR)
_prior_of = operator.itemgetter(*PRIOR)


_ByKey = dict[tuple[str, str], list[str]]  # alert ids by rule and child
_Latest = dict[tuple[str, str], dict]  # a row by rule and child


def _indexed(base: list[dict]) -> tuple[dict[str, dict], list[dict], _ByKey, _Latest]:
    """The rows as they stood before the night, by id; the active ones, and their ids by rule
    and child; and each rule and child's resolved episode with the latest window end (of those
    ending on the same day, the last in the store's order). In one pass over a store's tens of
    thousands of rows, not four."""
    by_id: dict[str, dict] = {}
    active: list[dict] = []
    by_key: _ByKey = {}
    latest: _Latest = {}
    for row in base:
        alert_id, status = row["alert_id"], row["status"]
        by_id[alert_id] = row
        if status in ACTIVE:
            active.append(row)
            by_key.setdefault((row["rule_id"], row["subject_id"]), []).append(alert_id)
        elif status == "resolved":
            key = (row["rule_id"], row["subject_id"])
            held = latest.get(key)
            if held is None or _end(row) >= _end(held):
                latest[key] = row
    return by_id, active, by_key, latest


def _end(row: dict) -> str:
    """A row's window end for ordering; one not known orders last, as the latest."""
    return row["window_end"] or "~"


def _reopened(alert: Alert, resolved: dict | None) -> str | None:
    """The resolved episode the alert takes back, if it returns soon enough (None: a new one).
    An episode is judged by its window as known the day it began holding."""
    if resolved is None or resolved["window_end"] is None:
        return None
    start = datetime.fromisoformat(alert.opened or alert.window.start)
    horizon = datetime.fromisoformat(resolved["window_end"]) + timedelta(days=REOPEN_DAYS)
    return resolved["alert_id"] if start <= horizon else None


def resolved_note(day: str, folded: bool = False) -> str:
    if folded:
        return (
            f"resolved on {day}: folded into the alert of a rule superseding it, which now "
            "holds for the child (listed there as related)"
        )
    return f"resolved on {day}: the evidence no longer meets the rule"


_STATE = operator.itemgetter("status", "changed_as_of")


def _reported(row: dict, now: dict | None) -> str:
    """The alert's status for this run: `ongoing` if the store already said what it says now
    (its status and the day that last changed, as the row stored `now` says them)."""
    unchanged = now is not None and _STATE(now) == _STATE(row)
    return "ongoing" if unchanged and row["status"] in ACTIVE else row["status"]


def _found_row(
    alert: Alert,
    alert_id: str,
    version: str,
    before: dict | None,
    carried: dict | None,
    as_of: str,
) -> dict:
    """The stored row for an alert found tonight, its lifecycle moved on from `before`."""
    content = content_of(alert, alert_id, version)
    if before is None:
        lifecycle = dict.fromkeys(LIFECYCLE)
        lifecycle.update(status="new", changed_as_of=as_of, triage="open")
        if carried is not None:
            lifecycle.update({k: carried[k] for k in TRIAGE_FIELDS})
        row = {**content, **lifecycle, "first_as_of": as_of, "touched_as_of": as_of}
        row["prior"] = None
    else:
        lifecycle = {k: before[k] for k in LIFECYCLE}
        if before["status"] == "resolved":
            lifecycle.update(status="reopened", changed_as_of=as_of, note=f"reopened on {as_of}")
        else:
            lifecycle.update(status="ongoing", note=None)
        row = _touched(
            {**content, **lifecycle, "first_as_of": before["first_as_of"]}, before, as_of
        )
    _wake(row, alert, as_of)
    return row


def content_of(alert: Alert, alert_id: str, version: str) -> dict:
    """The row's columns that come from the alert as last found."""
    return {
        "alert_id": alert_id,
        "rule_id": alert.rule_id,
        "subject_id": alert.subject_id,
        "rule_version": version,
        "household_id": alert.household_id,
        "title": alert.title,
        "level": alert.level,
        "pattern": alert.pattern,
        "tags": list(alert.tags),
        "window_start": alert.window.start,
        "window_end": alert.window.end,
        "explanation": alert.explanation,
        # A recalled alert's as the store holds them: written back unchanged, never re-encoded.
        "evidence": alert.stored_text("evidence") or [e.record for e in alert.evidence],
        "guidance": list(alert.guidance),
        "actions": list(alert.actions),
        "related": alert.stored_text("related") or alert.related_records(),
        "fingerprint": alert.fingerprint,
    }


def _wake(row: dict, alert: Alert, as_of: str) -> None:
    """A closed or snoozed alert speaks again when new evidence arrives or the snooze ends."""
    triage = row["triage"]
    if triage not in QUIET:
        return
    known = set(row["triage_evidence"] or [])
    new = [i for i in alert.evidence_ids if i not in known]
    if new:
        row.update(
            status="reopened",
            changed_as_of=as_of,
            triage="open",
            note=f"reopened on {as_of}: {len(new)} new record(s) since {triage} by "
            f"{row['triage_by']} on {str(row['triage_at'])[:10]}",
        )
    elif triage == "snoozed" and row["snoozed_until"] and row["snoozed_until"] < as_of:
        row.update(triage="open", note=f"snooze by {row['triage_by']} ended {row['snoozed_until']}")


def _touched(row: dict, before: dict, as_of: str) -> dict:
    """Mark the row as touched tonight, keeping the state it had before tonight."""
    row["prior"] = {k: before[k] for k in PRIOR}
    row["touched_as_of"] = as_of
    return row


def _baseline(stored: list[dict], as_of: str) -> tuple[list[dict], list[dict], dict[str, dict]]:
    """Each stored row as it stood before the night `as_of` (itself, unless that night touched
    it), and apart the rows that night created, which have no earlier state (absent); and by id
    the rows that night touched, as stored."""
    base, absent, touched = [], [], {}
    for row in stored:
        if row["touched_as_of"] != as_of:
            base.append(row)
            continue
        touched[row["alert_id"]] = row
        if row["prior"] is None:
            absent.append(row)
        else:
            base.append({**row, **row["prior"]})
    return base, absent, touched
